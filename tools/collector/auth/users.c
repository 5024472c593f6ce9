/* Accounts: add, password, TOTP reset, remove, list (auth.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "auth/auth_impl.h"
#include "auth/pwhash.h"
#include "auth/totp.h"
#include "common/clock.h"
#include "common/jw.h"

/* The secret stored in the SQLite backend. @return 0, -ENOENT, -EIO. */
static int sqlite_totp(struct wcol_auth *a, const char *name, const uint8_t *secret, size_t len)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(a->db,
                           "UPDATE users SET totp_secret = ?2, totp_last_step = 0, changed_ms = "
                           "?3 WHERE name = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        return -EIO;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, secret, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, wcol_now_wall_ms());
    int rc = sqlite3_step(st);

    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return -EIO;
    }
    return sqlite3_changes(a->db) == 1 ? 0 : -ENOENT;
}

int wcol_auth_new_totp(struct wcol_auth *a, const char *name, char otpauth[WCOL_OTPAUTH_MAX])
{
    uint8_t secret[WCOL_TOTP_SECRET_LEN];
    char b32[WCOL_TOTP_B32_MAX];

    if (getrandom(secret, sizeof(secret), 0) != (ssize_t)sizeof(secret) ||
        wcol_b32_encode(secret, sizeof(secret), b32, sizeof(b32)) != 0) {
        return -EIO;
    }
    int rc = a->pg != NULL
                 ? wcol_authpg_user_totp(a->pg, name, secret, sizeof(secret), wcol_now_wall_ms())
                 : sqlite_totp(a, name, secret, sizeof(secret));

    if (rc != 0) {
        return rc;
    }
    snprintf(otpauth, WCOL_OTPAUTH_MAX,
             "otpauth://totp/ward:%s?secret=%s&issuer=ward&algorithm=SHA1&digits=6&period=30", name,
             b32);
    return 0;
}

/* Sessions of name end (a changed password, a new secret, a removed account). */
static void end_sessions(struct wcol_auth *a, const char *name)
{
    char now[24];
    const char *p[] = { name, now };

    if (a->pg != NULL) {
        wcol_authpg_end_sessions(a->pg, name, wcol_now_wall_ms());
        return;
    }
    snprintf(now, sizeof(now), "%lld", (long long)wcol_now_wall_ms());
    (void)wcol_auth_run(a,
                        "UPDATE sessions SET revoked_ms = CAST(?2 AS INTEGER) WHERE user = ?1 AND "
                        "revoked_ms IS NULL",
                        2, p);
}

/* @return 0, -EEXIST, -EIO. */
static int user_insert(struct wcol_auth *a, const char *const p[4])
{
    return wcol_auth_change(a,
                            "INSERT INTO users (name, role, pw_hash, created_ms, changed_ms) "
                            "VALUES (?1, ?2, ?3, CAST(?4 AS INTEGER), CAST(?4 AS INTEGER)) "
                            "ON CONFLICT DO NOTHING",
                            4, p, -EEXIST);
}

int wcol_auth_user_add(struct wcol_auth *a, const char *name, enum wcol_role role,
                       const char *password, const char *actor, const char *source,
                       char otpauth[WCOL_OTPAUTH_MAX])
{
    char hash[WCOL_PW_ENC_MAX], now[24];

    if (!wcol_name_valid(name) || role == WCOL_ROLE_NONE || wcol_pw_weak(password) != NULL) {
        return -EINVAL;
    }
    if (wcol_pw_hash(password, hash, sizeof(hash)) != 0) {
        return -EIO;
    }
    snprintf(now, sizeof(now), "%lld", (long long)wcol_now_wall_ms());
    const char *p[] = { name, wcol_role_name(role), hash, now };
    int rc = a->pg != NULL ? wcol_authpg_user_insert(a->pg, name, p[1], hash, wcol_now_wall_ms())
                           : user_insert(a, p);

    if (rc != 0) {
        return rc;
    }
    rc = wcol_auth_new_totp(a, name, otpauth);
    if (rc == 0) {
        wcol_auth_audit(a, actor, source, "user.add", name, "ok", wcol_role_name(role));
    }
    return rc;
}

int wcol_auth_user_passwd(struct wcol_auth *a, const char *name, const char *password,
                          const char *actor, const char *source)
{
    char hash[WCOL_PW_ENC_MAX], now[24];

    if (wcol_pw_weak(password) != NULL) {
        return -EINVAL;
    }
    if (wcol_pw_hash(password, hash, sizeof(hash)) != 0) {
        return -EIO;
    }
    snprintf(now, sizeof(now), "%lld", (long long)wcol_now_wall_ms());
    const char *p[] = { name, hash, now };

    int rc = a->pg != NULL ? wcol_authpg_user_passwd(a->pg, name, hash, wcol_now_wall_ms())
                           : wcol_auth_change(a,
                                              "UPDATE users SET pw_hash = ?2, failures = 0, "
                                              "locked_until_ms = 0, changed_ms = CAST(?3 AS "
                                              "INTEGER) WHERE name = ?1",
                                              3, p, -ENOENT);

    if (rc != 0) {
        return rc;
    }
    end_sessions(a, name);
    wcol_auth_audit(a, actor, source, "user.passwd", name, "ok", "password set, sessions ended");
    return 0;
}

int wcol_auth_user_totp_reset(struct wcol_auth *a, const char *name, const char *actor,
                              const char *source, char otpauth[WCOL_OTPAUTH_MAX])
{
    int rc = wcol_auth_new_totp(a, name, otpauth);

    if (rc == 0) {
        end_sessions(a, name);
        wcol_auth_audit(a, actor, source, "user.totp_reset", name, "ok",
                        "new TOTP secret, sessions ended");
    }
    return rc;
}

int wcol_auth_user_remove(struct wcol_auth *a, const char *name, const char *actor,
                          const char *source)
{
    const char *p[] = { name };

    int rc = a->pg != NULL
                 ? wcol_authpg_user_remove(a->pg, name)
                 : wcol_auth_change(a, "DELETE FROM users WHERE name = ?1", 1, p, -ENOENT);

    if (rc != 0) {
        return rc;
    }
    end_sessions(a, name);
    wcol_auth_audit(a, actor, source, "user.remove", name, "ok", "");
    return 0;
}

int wcol_auth_users_json(struct wcol_auth *a, struct wcol_jw *w, int64_t now_ms)
{
    if (a->pg != NULL) {
        return wcol_authpg_users_json(a->pg, w, now_ms);
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(a->db,
                                "SELECT name, role, totp_secret IS NOT NULL, failures, "
                                "locked_until_ms, created_ms, changed_ms FROM users ORDER BY name",
                                -1, &st, NULL);

    wcol_jw_key(w, "users");
    wcol_jw_arr_begin(w);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        wcol_jw_obj_begin(w);
        wcol_jw_kstr(w, "name", (const char *)sqlite3_column_text(st, 0));
        wcol_jw_kstr(w, "role", (const char *)sqlite3_column_text(st, 1));
        wcol_jw_key(w, "totp");
        wcol_jw_bool(w, sqlite3_column_int(st, 2) != 0);
        wcol_jw_kint(w, "failures", sqlite3_column_int64(st, 3));
        wcol_jw_key(w, "locked");
        wcol_jw_bool(w, sqlite3_column_int64(st, 4) > now_ms);
        wcol_jw_kint(w, "locked_until_ms", sqlite3_column_int64(st, 4));
        wcol_jw_kint(w, "created_ms", sqlite3_column_int64(st, 5));
        wcol_jw_kint(w, "changed_ms", sqlite3_column_int64(st, 6));
        wcol_jw_obj_end(w);
        rc = SQLITE_OK;
    }
    wcol_jw_arr_end(w);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}
