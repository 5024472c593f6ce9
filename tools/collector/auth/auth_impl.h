/* The parts of auth/ (auth.c, users.c, apitokens.c); not for other folders. */
#ifndef WCOL_AUTH_AUTH_IMPL_H_
#define WCOL_AUTH_AUTH_IMPL_H_

#include <sqlite3.h>

#include "auth/auth.h"
#include "auth/auth_pg.h"

#define SOURCES_TRACKED 64 /* addresses whose failed logins are counted (oldest forgotten) */

struct src_slot {
    char addr[64];
    int64_t window_ms;
    unsigned failures;
};

struct wcol_auth {
    sqlite3 *db;            /* the SQLite backend, or */
    struct wcol_pgconn *pg; /* the PostgreSQL one (auth/auth_pg.h) */
    struct wcol_auth_config cfg;
    struct wcol_audit *audit;
    struct wcol_auth_stats stats;
    struct src_slot src[SOURCES_TRACKED];
};

/** An audit entry: outcome "ok" unlimited, anything else through the refusal limit. */
void wcol_auth_audit(struct wcol_auth *a, const char *actor, const char *source, const char *action,
                     const char *target, const char *outcome, const char *detail);

/** A new secret "PREFIXhex(32 random bytes)" and its SHA-256. @return 0, -EIO. */
int wcol_auth_new_secret(const char *prefix, char out[WCOL_SECRET_LEN], uint8_t sha[32]);

/** Prepare, bind text params (NULL: null), step once. @return the sqlite3 step code. */
int wcol_auth_run(struct wcol_auth *a, const char *sql, int n, const char *const *params);

/** wcol_auth_run for a statement that changes one row. @return 0, absent (no row changed),
 *  -EIO. */
int wcol_auth_change(struct wcol_auth *a, const char *sql, int n, const char *const *params,
                     int absent);

/** A new TOTP secret for name, stored; otpauth gets its URI. @return 0, -ENOENT, -EIO. */
int wcol_auth_new_totp(struct wcol_auth *a, const char *name, char otpauth[WCOL_OTPAUTH_MAX]);

#endif /* WCOL_AUTH_AUTH_IMPL_H_ */
