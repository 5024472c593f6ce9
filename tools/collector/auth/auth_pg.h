/*
 * Accounts, sessions and API tokens in PostgreSQL (the op_users, op_sessions and op_tokens
 * tables of the store's schema, store/store_pg.c): with `--storage postgresql:` every collector
 * on the database sees the same accounts, sessions and tokens (docs/storage.md). The SQLite
 * backend is auth.c's own; auth.c, users.c and apitokens.c call these when the auth has a
 * PostgreSQL connection. One blocking round trip per call, as the store's API reads; a lost
 * connection is reset at the next call. Every function returns -EIO (logged) on a database
 * error.
 */
#ifndef WCOL_AUTH_AUTH_PG_H_
#define WCOL_AUTH_AUTH_PG_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "auth/pwhash.h"
#include "auth/totp.h"
#include "store/pgconn.h"

struct wcol_jw;

/** What a presented session or API token names (both backends fill it). */
struct wcol_auth_cred {
    bool found, revoked;
    char name[WCOL_USER_MAX + 1];
    char role[16];
    char devices[WCOL_GLOB_MAX + 1]; /* tokens */
    char from[64];                   /* tokens: CIDR or "" */
    int64_t expires_ms;
};

/** An account as login needs it. */
struct wcol_auth_account {
    bool found;
    enum wcol_role role;
    char pw_hash[WCOL_PW_ENC_MAX];
    uint8_t secret[WCOL_TOTP_SECRET_LEN];
    size_t secret_len;
    int64_t last_step, failures, locked_until_ms;
};

/** @return 0 (c filled, c->found false when unknown), -EIO. */
int wcol_authpg_session(struct wcol_pgconn *q, const uint8_t sha[32], struct wcol_auth_cred *c);
int wcol_authpg_token(struct wcol_pgconn *q, const uint8_t sha[32], struct wcol_auth_cred *c);
void wcol_authpg_token_used(struct wcol_pgconn *q, const uint8_t sha[32], int64_t now_ms);
int wcol_authpg_account(struct wcol_pgconn *q, const char *user, struct wcol_auth_account *acc);
void wcol_authpg_save_failures(struct wcol_pgconn *q, const char *user, int64_t failures,
                               int64_t locked_until);
/** Failures reset and the TOTP step taken, unless another collector took it or a later one
 *  first. @return 0, -EACCES (the step was used), -EIO. */
int wcol_authpg_login_ok(struct wcol_pgconn *q, const char *user, int64_t step);
/** @return 0, -EIO. Ended sessions older than a day are deleted. */
int wcol_authpg_session_start(struct wcol_pgconn *q, const uint8_t sha[32], const char *user,
                              const char *source, int64_t now_ms, int64_t expires_ms);
int wcol_authpg_session_end(struct wcol_pgconn *q, const uint8_t sha[32], int64_t now_ms);
void wcol_authpg_end_sessions(struct wcol_pgconn *q, const char *user, int64_t now_ms);

/** @return 0, -EEXIST, -EIO. */
int wcol_authpg_user_insert(struct wcol_pgconn *q, const char *name, const char *role,
                            const char *hash, int64_t now_ms);
/** @return 0, -ENOENT, -EIO. */
int wcol_authpg_user_totp(struct wcol_pgconn *q, const char *name, const uint8_t *secret,
                          size_t len, int64_t now_ms);
int wcol_authpg_user_passwd(struct wcol_pgconn *q, const char *name, const char *hash,
                            int64_t now_ms);
int wcol_authpg_user_remove(struct wcol_pgconn *q, const char *name);
/** {"users": [...]}: @return 0, -EIO. */
int wcol_authpg_users_json(struct wcol_pgconn *q, struct wcol_jw *w, int64_t now_ms);

/** @return 0, -EEXIST, -EIO. */
int wcol_authpg_token_insert(struct wcol_pgconn *q, const struct wcol_token_spec *spec,
                             const char *from, const uint8_t sha[32], const char *actor,
                             int64_t now_ms);
/** @return 0, -ENOENT, -EIO. */
int wcol_authpg_token_revoke(struct wcol_pgconn *q, const char *name, int64_t now_ms);
/** {"tokens": [...]}: @return 0, -EIO. */
int wcol_authpg_tokens_json(struct wcol_pgconn *q, struct wcol_jw *w, int64_t now_ms);

#endif /* WCOL_AUTH_AUTH_PG_H_ */
