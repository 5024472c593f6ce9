/* Accounts, sessions and API tokens in PostgreSQL (auth/auth_pg.h). Binary values (hashes,
 * TOTP secrets) travel as hex text: every parameter is text. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/base/hex.h"

#include "auth/auth_pg.h"
#include "common/jw.h"
#include "common/log.h"
#include "store/pgconn.h"

#define MAX_PARAMS 8

/* sql with n text parameters. @return the result (PQclear it), NULL after a logged error. */
static PGresult *run(struct wcol_pgconn *q, const char *sql, int n, const char *const *v)
{
    return wcol_pgconn_run(q, sql, n, v, NULL, NULL);
}

/* A statement's count of changed rows. @return it, -EIO. */
static int64_t changes(struct wcol_pgconn *q, const char *sql, int n, const char *const *v)
{
    PGresult *r = run(q, sql, n, v);
    int64_t k = r != NULL ? strtoll(PQcmdTuples(r), NULL, 10) : -EIO;

    PQclear(r);
    return k;
}

static const char *i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

static const char *hex32(char buf[65], const uint8_t sha[32])
{
    ward_hex_encode(sha, 32, buf);
    return buf;
}

static int64_t ival(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- credentials ---- */

static int cred(struct wcol_pgconn *q, const char *sql, const uint8_t sha[32],
                struct wcol_auth_cred *c)
{
    char h[65];
    const char *v[] = { hex32(h, sha) };
    PGresult *r = run(q, sql, 1, v);

    memset(c, 0, sizeof(*c));
    if (r == NULL) {
        return -EIO;
    }
    if (PQntuples(r) == 1) {
        c->found = true;
        snprintf(c->name, sizeof(c->name), "%s", PQgetvalue(r, 0, 0));
        snprintf(c->role, sizeof(c->role), "%s", PQgetvalue(r, 0, 1));
        snprintf(c->devices, sizeof(c->devices), "%s", PQgetvalue(r, 0, 2));
        snprintf(c->from, sizeof(c->from), "%s", PQgetvalue(r, 0, 3));
        c->expires_ms = ival(r, 0, 4);
        c->revoked = !PQgetisnull(r, 0, 5);
    }
    PQclear(r);
    return 0;
}

int wcol_authpg_session(struct wcol_pgconn *q, const uint8_t sha[32], struct wcol_auth_cred *c)
{
    return cred(q,
                "SELECT s.user_name, u.role, '*', '', s.expires_ms, s.revoked_ms FROM "
                "op_sessions AS s JOIN op_users AS u ON u.name = s.user_name WHERE s.sha256 = "
                "decode($1, 'hex')",
                sha, c);
}

int wcol_authpg_token(struct wcol_pgconn *q, const uint8_t sha[32], struct wcol_auth_cred *c)
{
    return cred(q,
                "SELECT name, role, devices, from_cidr, expires_ms, revoked_ms FROM op_tokens "
                "WHERE sha256 = decode($1, 'hex')",
                sha, c);
}

void wcol_authpg_token_used(struct wcol_pgconn *q, const uint8_t sha[32], int64_t now_ms)
{
    char h[65], t[24];
    const char *v[] = { hex32(h, sha), i64(t, now_ms) };

    (void)changes(q,
                  "UPDATE op_tokens SET last_used_ms = $2, uses = uses + 1 WHERE sha256 = "
                  "decode($1, 'hex')",
                  2, v);
}

int wcol_authpg_account(struct wcol_pgconn *q, const char *user, struct wcol_auth_account *acc)
{
    const char *v[] = { user };
    PGresult *r = run(q,
                      "SELECT role, pw_hash, encode(totp_secret, 'hex'), totp_last_step, "
                      "failures, locked_until_ms FROM op_users WHERE name = $1",
                      1, v);

    memset(acc, 0, sizeof(*acc));
    if (r == NULL) {
        return -EIO;
    }
    if (PQntuples(r) == 1) {
        const char *hex = PQgetvalue(r, 0, 2);
        size_t n = strlen(hex) / 2;

        acc->found = true;
        acc->role = wcol_role_parse(PQgetvalue(r, 0, 0));
        snprintf(acc->pw_hash, sizeof(acc->pw_hash), "%s", PQgetvalue(r, 0, 1));
        if (n > 0 && n <= sizeof(acc->secret) && ward_hex_decode(hex, acc->secret, n) == 0) {
            acc->secret_len = n;
        }
        acc->last_step = ival(r, 0, 3);
        acc->failures = ival(r, 0, 4);
        acc->locked_until_ms = ival(r, 0, 5);
    }
    PQclear(r);
    return 0;
}

void wcol_authpg_save_failures(struct wcol_pgconn *q, const char *user, int64_t failures,
                               int64_t locked_until)
{
    char f[24], l[24];
    const char *v[] = { user, i64(f, failures), i64(l, locked_until) };

    (void)changes(q, "UPDATE op_users SET failures = $2, locked_until_ms = $3 WHERE name = $1", 3,
                  v);
}

int wcol_authpg_login_ok(struct wcol_pgconn *q, const char *user, int64_t step)
{
    char s[24];
    const char *v[] = { user, i64(s, step) };
    /* The step taken only if no collector took it (or a later one) since it was read: a code
     * is used once across the cluster. */
    int64_t k = changes(q,
                        "UPDATE op_users SET failures = 0, locked_until_ms = 0, totp_last_step = "
                        "$2 WHERE name = $1 AND totp_last_step < $2",
                        2, v);

    return k < 0 ? -EIO : k == 1 ? 0 : -EACCES;
}

int wcol_authpg_session_start(struct wcol_pgconn *q, const uint8_t sha[32], const char *user,
                              const char *source, int64_t now_ms, int64_t expires_ms)
{
    char h[65], t[24], e[24];
    const char *v[] = { hex32(h, sha), user, source, i64(t, now_ms), i64(e, expires_ms) };
    int64_t k = changes(q,
                        "INSERT INTO op_sessions (sha256, user_name, source, created_ms, "
                        "expires_ms) VALUES (decode($1, 'hex'), $2, $3, $4, $5)",
                        5, v);

    /* Ended sessions are of no use to anyone: the table stays small. */
    (void)changes(q,
                  "DELETE FROM op_sessions WHERE expires_ms < $1::bigint - 86400000 OR "
                  "revoked_ms < $1::bigint - 86400000",
                  1, &v[3]);
    return k == 1 ? 0 : -EIO;
}

int wcol_authpg_session_end(struct wcol_pgconn *q, const uint8_t sha[32], int64_t now_ms)
{
    char h[65], t[24];
    const char *v[] = { hex32(h, sha), i64(t, now_ms) };

    return changes(q,
                   "UPDATE op_sessions SET revoked_ms = $2 WHERE sha256 = decode($1, 'hex') AND "
                   "revoked_ms IS NULL",
                   2, v) < 0
               ? -EIO
               : 0;
}

void wcol_authpg_end_sessions(struct wcol_pgconn *q, const char *user, int64_t now_ms)
{
    char t[24];
    const char *v[] = { user, i64(t, now_ms) };

    (void)changes(q,
                  "UPDATE op_sessions SET revoked_ms = $2 WHERE user_name = $1 AND revoked_ms "
                  "IS NULL",
                  2, v);
}

/* ---- accounts ---- */

/* A statement that changes one row. @return 0, absent (no row changed), -EIO. */
static int change1(struct wcol_pgconn *q, const char *sql, int n, const char *const *v, int absent)
{
    int64_t k = changes(q, sql, n, v);

    return k < 0 ? -EIO : k == 1 ? 0 : absent;
}

int wcol_authpg_user_insert(struct wcol_pgconn *q, const char *name, const char *role,
                            const char *hash, int64_t now_ms)
{
    char t[24];
    const char *v[] = { name, role, hash, i64(t, now_ms) };

    return change1(q,
                   "INSERT INTO op_users (name, role, pw_hash, created_ms, changed_ms) VALUES "
                   "($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING",
                   4, v, -EEXIST);
}

int wcol_authpg_user_totp(struct wcol_pgconn *q, const char *name, const uint8_t *secret,
                          size_t len, int64_t now_ms)
{
    char hex[2 * WCOL_TOTP_SECRET_LEN + 1], t[24];
    const char *v[] = { name, hex, i64(t, now_ms) };

    if (len > WCOL_TOTP_SECRET_LEN) {
        return -EINVAL;
    }
    ward_hex_encode(secret, len, hex);
    return change1(q,
                   "UPDATE op_users SET totp_secret = decode($2, 'hex'), totp_last_step = 0, "
                   "changed_ms = $3 WHERE name = $1",
                   3, v, -ENOENT);
}

int wcol_authpg_user_passwd(struct wcol_pgconn *q, const char *name, const char *hash,
                            int64_t now_ms)
{
    char t[24];
    const char *v[] = { name, hash, i64(t, now_ms) };

    return change1(q,
                   "UPDATE op_users SET pw_hash = $2, failures = 0, locked_until_ms = 0, "
                   "changed_ms = $3 WHERE name = $1",
                   3, v, -ENOENT);
}

int wcol_authpg_user_remove(struct wcol_pgconn *q, const char *name)
{
    const char *v[] = { name };

    return change1(q, "DELETE FROM op_users WHERE name = $1", 1, v, -ENOENT);
}

/* {"KEY": [...]}: each row of sql written by row. @return 0, -EIO. */
static int list_json(struct wcol_pgconn *q, const char *sql, const char *key,
                     void (*row)(struct wcol_jw *, const PGresult *, int, int64_t),
                     struct wcol_jw *w, int64_t now_ms)
{
    PGresult *r = run(q, sql, 0, NULL);

    wcol_jw_key(w, key);
    wcol_jw_arr_begin(w);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        wcol_jw_obj_begin(w);
        row(w, r, i, now_ms);
        wcol_jw_obj_end(w);
    }
    wcol_jw_arr_end(w);
    int rc = r != NULL ? 0 : -EIO;

    PQclear(r);
    return rc;
}

static void user_row(struct wcol_jw *w, const PGresult *r, int i, int64_t now_ms)
{
    wcol_jw_kstr(w, "name", PQgetvalue(r, i, 0));
    wcol_jw_kstr(w, "role", PQgetvalue(r, i, 1));
    wcol_jw_key(w, "totp");
    wcol_jw_bool(w, PQgetvalue(r, i, 2)[0] == 't');
    wcol_jw_kint(w, "failures", ival(r, i, 3));
    wcol_jw_key(w, "locked");
    wcol_jw_bool(w, ival(r, i, 4) > now_ms);
    wcol_jw_kint(w, "locked_until_ms", ival(r, i, 4));
    wcol_jw_kint(w, "created_ms", ival(r, i, 5));
    wcol_jw_kint(w, "changed_ms", ival(r, i, 6));
}

int wcol_authpg_users_json(struct wcol_pgconn *q, struct wcol_jw *w, int64_t now_ms)
{
    return list_json(q,
                     "SELECT name, role, totp_secret IS NOT NULL, failures, locked_until_ms, "
                     "created_ms, changed_ms FROM op_users ORDER BY name",
                     "users", user_row, w, now_ms);
}

/* ---- API tokens ---- */

int wcol_authpg_token_insert(struct wcol_pgconn *q, const struct wcol_token_spec *spec,
                             const char *from, const uint8_t sha[32], const char *actor,
                             int64_t now_ms)
{
    char h[65], t[24], e[24];
    const char *v[] = {
        spec->name,     hex32(h, sha), wcol_role_name(spec->role), spec->devices, from,
        i64(t, now_ms), actor,         i64(e, spec->expires_ms)
    };

    /* names are never reused, revoked ones included */
    return change1(q,
                   "INSERT INTO op_tokens (name, sha256, role, devices, from_cidr, "
                   "created_ms, created_by, expires_ms) VALUES ($1, decode($2, 'hex'), $3, "
                   "$4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                   8, v, -EEXIST);
}

int wcol_authpg_token_revoke(struct wcol_pgconn *q, const char *name, int64_t now_ms)
{
    char t[24];
    const char *v[] = { name, i64(t, now_ms) };

    return change1(q,
                   "UPDATE op_tokens SET revoked_ms = $2 WHERE name = $1 AND revoked_ms IS "
                   "NULL",
                   2, v, -ENOENT);
}

static void opt_int(struct wcol_jw *w, const char *key, const PGresult *r, int row, int col)
{
    wcol_jw_key(w, key);
    if (PQgetisnull(r, row, col)) {
        wcol_jw_null(w);
    } else {
        wcol_jw_int(w, ival(r, row, col));
    }
}

static void token_row(struct wcol_jw *w, const PGresult *r, int i, int64_t now_ms)
{
    const char *state = !PQgetisnull(r, i, 7)     ? "revoked"
                        : ival(r, i, 6) <= now_ms ? "expired"
                                                  : "active";

    wcol_jw_kstr(w, "name", PQgetvalue(r, i, 0));
    wcol_jw_kstr(w, "state", state);
    wcol_jw_kstr(w, "role", PQgetvalue(r, i, 1));
    wcol_jw_kstr(w, "devices", PQgetvalue(r, i, 2));
    wcol_jw_kstr(w, "from", PQgetvalue(r, i, 3));
    wcol_jw_kint(w, "created_ms", ival(r, i, 4));
    wcol_jw_kstr(w, "created_by", PQgetvalue(r, i, 5));
    wcol_jw_kint(w, "expires_ms", ival(r, i, 6));
    opt_int(w, "revoked_ms", r, i, 7);
    opt_int(w, "last_used_ms", r, i, 8);
    wcol_jw_kint(w, "uses", ival(r, i, 9));
}

int wcol_authpg_tokens_json(struct wcol_pgconn *q, struct wcol_jw *w, int64_t now_ms)
{
    return list_json(q,
                     "SELECT name, role, devices, from_cidr, created_ms, created_by, expires_ms, "
                     "revoked_ms, last_used_ms, uses FROM op_tokens ORDER BY name",
                     "tokens", token_row, w, now_ms);
}
