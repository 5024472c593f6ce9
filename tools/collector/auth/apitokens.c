/* API tokens: create, revoke, list (auth.h). Only their SHA-256 is stored. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth_impl.h"
#include "common/clock.h"
#include "common/jw.h"

static bool glob_valid(const char *g)
{
    size_t n = g != NULL ? strlen(g) : 0;

    return n >= 1 && n <= WCOL_GLOB_MAX &&
           strspn(g, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-*?[]!") == n;
}

/* @return 0, -EEXIST, -EIO. */
static int sqlite_insert(struct wcol_auth *a, const struct wcol_token_spec *spec, const char *from,
                         const uint8_t sha[32], const char *actor, int64_t now)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO api_tokens (name, sha256, role, devices, from_cidr, "
                           "created_ms, created_by, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                           "?7, ?8) ON CONFLICT DO NOTHING",
                           -1, &st, NULL) != SQLITE_OK) {
        return -EIO;
    }
    sqlite3_bind_text(st, 1, spec->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, sha, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, wcol_role_name(spec->role), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, spec->devices, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, from, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_text(st, 7, actor, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, spec->expires_ms);
    int rc = sqlite3_step(st);

    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return -EIO;
    }
    /* names are never reused, revoked ones included */
    return sqlite3_changes(a->db) == 1 ? 0 : -EEXIST;
}

int wcol_auth_token_create(struct wcol_auth *a, const struct wcol_token_spec *spec,
                           const char *actor, const char *source, char token[WCOL_SECRET_LEN])
{
    uint8_t sha[32];
    const char *from = spec->from != NULL ? spec->from : "";
    int64_t now = wcol_now_wall_ms();

    if (!wcol_name_valid(spec->name) || spec->role == WCOL_ROLE_NONE ||
        !glob_valid(spec->devices) || spec->expires_ms <= now ||
        (from[0] != '\0' && !wcol_cidr_valid(from))) {
        return -EINVAL;
    }
    if (wcol_auth_new_secret("wardT_", token, sha) != 0) {
        return -EIO;
    }
    int rc = a->pg != NULL ? wcol_authpg_token_insert(a->pg, spec, from, sha, actor, now)
                           : sqlite_insert(a, spec, from, sha, actor, now);

    if (rc != 0) {
        return rc;
    }
    char detail[WCOL_GLOB_MAX + 128];

    snprintf(detail, sizeof(detail), "role=%s devices=%s from=%s expires_ms=%lld",
             wcol_role_name(spec->role), spec->devices, from[0] ? from : "any",
             (long long)spec->expires_ms);
    wcol_auth_audit(a, actor, source, "token.create", spec->name, "ok", detail);
    return 0;
}

int wcol_auth_token_revoke(struct wcol_auth *a, const char *name, const char *actor,
                           const char *source)
{
    char now[24];
    const char *p[] = { name, now };

    snprintf(now, sizeof(now), "%lld", (long long)wcol_now_wall_ms());
    int rc = a->pg != NULL ? wcol_authpg_token_revoke(a->pg, name, wcol_now_wall_ms())
                           : wcol_auth_change(a,
                                              "UPDATE api_tokens SET revoked_ms = CAST(?2 AS "
                                              "INTEGER) WHERE name = ?1 AND revoked_ms IS NULL",
                                              2, p, -ENOENT);

    if (rc != 0) {
        return rc;
    }
    wcol_auth_audit(a, actor, source, "token.revoke", name, "ok", "");
    return 0;
}

static void opt_int(struct wcol_jw *w, const char *key, sqlite3_stmt *st, int col)
{
    wcol_jw_key(w, key);
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        wcol_jw_null(w);
    } else {
        wcol_jw_int(w, sqlite3_column_int64(st, col));
    }
}

int wcol_auth_tokens_json(struct wcol_auth *a, struct wcol_jw *w, int64_t now_ms)
{
    if (a->pg != NULL) {
        return wcol_authpg_tokens_json(a->pg, w, now_ms);
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(a->db,
                                "SELECT name, role, devices, from_cidr, created_ms, created_by, "
                                "expires_ms, revoked_ms, last_used_ms, uses FROM api_tokens "
                                "ORDER BY name",
                                -1, &st, NULL);

    wcol_jw_key(w, "tokens");
    wcol_jw_arr_begin(w);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *state = sqlite3_column_type(st, 7) != SQLITE_NULL ? "revoked"
                            : sqlite3_column_int64(st, 6) <= now_ms   ? "expired"
                                                                      : "active";

        wcol_jw_obj_begin(w);
        wcol_jw_kstr(w, "name", (const char *)sqlite3_column_text(st, 0));
        wcol_jw_kstr(w, "state", state);
        wcol_jw_kstr(w, "role", (const char *)sqlite3_column_text(st, 1));
        wcol_jw_kstr(w, "devices", (const char *)sqlite3_column_text(st, 2));
        wcol_jw_kstr(w, "from", (const char *)sqlite3_column_text(st, 3));
        wcol_jw_kint(w, "created_ms", sqlite3_column_int64(st, 4));
        wcol_jw_kstr(w, "created_by", (const char *)sqlite3_column_text(st, 5));
        wcol_jw_kint(w, "expires_ms", sqlite3_column_int64(st, 6));
        opt_int(w, "revoked_ms", st, 7);
        opt_int(w, "last_used_ms", st, 8);
        wcol_jw_kint(w, "uses", sqlite3_column_int64(st, 9));
        wcol_jw_obj_end(w);
        rc = SQLITE_OK;
    }
    wcol_jw_arr_end(w);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}
