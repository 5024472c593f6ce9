/*
 * Who may use the operator API (docs/security.md): accounts with a password (argon2id,
 * auth/pwhash.h) and a TOTP second factor (auth/totp.h) that log in for an expiring session,
 * API tokens for machines and third parties (scoped to a role, a device glob, optionally a
 * source network, expiring, revocable), and the `ward-pki token` file's tokens, which stay
 * admin tokens. Every presented credential becomes a principal; the route table
 * (auth/policy.h) says which role each request needs.
 *
 * Secrets at rest: only SHA-256 of session and API tokens, the argon2id hash of passwords.
 * TOTP secrets must be kept in clear to compute codes: the database is mode 0600.
 * Everything runs on the collector's event loop; the tables (users, sessions, api_tokens) live
 * in the collector's database, created by wcol_auth_open and reached through a connection of
 * its own (the store's schema versions stay the store's, as with the incidents' tables).
 */
#ifndef WCOL_AUTH_AUTH_H_
#define WCOL_AUTH_AUTH_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wcol_audit;
struct wcol_auth;
struct wcol_jw;
struct wcol_tokens;

enum wcol_role {
    WCOL_ROLE_NONE = 0, /* not authenticated: only POST /v1/login */
    WCOL_ROLE_VIEWER,   /* read */
    WCOL_ROLE_OPERATOR, /* acknowledge, assign, note, silence, drill */
    WCOL_ROLE_ADMIN,    /* accounts, tokens, devices, configuration, the audit log */
};

enum wcol_principal_kind {
    WCOL_PRINCIPAL_FILE_TOKEN, /* a `ward-pki token` of the tokens file: admin */
    WCOL_PRINCIPAL_SESSION,    /* a logged-in account */
    WCOL_PRINCIPAL_TOKEN,      /* an API token (wardctl token create) */
};

#define WCOL_USER_MAX    32  /* bytes of a user or token name */
#define WCOL_GLOB_MAX    128 /* bytes of a device glob */
#define WCOL_SECRET_LEN  71  /* "wardS_" or "wardT_", 64 hex digits, NUL */
#define WCOL_OTPAUTH_MAX 256

struct wcol_principal {
    char name[WCOL_USER_MAX + 8]; /* user; "token:NAME"; the token file's NAME */
    enum wcol_role role;
    enum wcol_principal_kind kind;
    char devices[WCOL_GLOB_MAX + 1]; /* fnmatch glob of the devices it may see; "*" all */
    uint8_t secret_sha256[32];       /* of the session token (logout revokes it) */
};

struct wcol_auth_config {
    unsigned max_failures;    /* failed logins in a row that lock an account */
    uint64_t lockout_ms;      /* how long */
    uint64_t session_ms;      /* a session's lifetime */
    unsigned source_failures; /* failed logins per minute from one address */
    const char *pg_conninfo;  /* accounts in PostgreSQL (shared by collectors), not db_path */
};

struct wcol_auth_stats {
    uint64_t logins_ok, logins_failed, lockouts, throttled;
    uint64_t refused; /* requests refused: 401 (no valid credential) or 403 (role, scope) */
    uint64_t token_uses;
};

const char *wcol_role_name(enum wcol_role r);
/** @return the role of a name ("viewer", "operator", "admin"), WCOL_ROLE_NONE otherwise. */
enum wcol_role wcol_role_parse(const char *s);
/** Is name a valid user or token name: [a-z][a-z0-9._-]{0,31}? */
bool wcol_name_valid(const char *name);
/** May p see device id? */
bool wcol_principal_sees(const struct wcol_principal *p, const char *device);
/** Is p limited to some devices (a glob other than "*")? */
bool wcol_principal_scoped(const struct wcol_principal *p);

/** @return 0, -EIO (logged), -ENOMEM. audit may be NULL (nothing audited). */
int wcol_auth_open(struct wcol_auth **out, const char *db_path, const struct wcol_auth_config *cfg,
                   struct wcol_audit *audit);
void wcol_auth_close(struct wcol_auth *a);
void wcol_auth_get_stats(const struct wcol_auth *a, struct wcol_auth_stats *out);
/** Count a refused request (the API's 401/403). */
void wcol_auth_count_refusal(struct wcol_auth *a);

/**
 * The principal of an Authorization header ("Bearer X"): a session, an API token, or a
 * token of the tokens file. A refusal is audited (rate-limited) and counted.
 * @return 0 (p filled), -EACCES (*why: one phrase for the 401 answer), -EAGAIN the session
 *         or API token could not be looked up (the database away: *why for a 503 answer).
 */
int wcol_auth_bearer(struct wcol_auth *a, const struct wcol_tokens *file, const char *header,
                     size_t len, const char *source, int64_t now_ms, struct wcol_principal *p,
                     const char **why);

/**
 * Log in: password and TOTP code checked, failures counted per account (lock-out) and per
 * source (throttle), all audited. On success token gets a new session token (shown once).
 * @return 0, -EACCES (wrong user, password or code), -EBUSY (account locked), -EAGAIN (too
 *         many failures from source), -EIO.
 */
int wcol_auth_login(struct wcol_auth *a, const char *user, const char *password, const char *code,
                    const char *source, int64_t now_ms, char token[WCOL_SECRET_LEN],
                    int64_t *expires_ms, enum wcol_role *role);

/** Revoke p's session. @return 0, -EINVAL (not a session), -EIO. */
int wcol_auth_logout(struct wcol_auth *a, const struct wcol_principal *p, const char *source);

/* Accounts (admin). actor/source: who asked, for the audit log. */
/** @return 0 (otpauth: the TOTP enrolment URI, shown once), -EEXIST, -EINVAL, -EIO. */
int wcol_auth_user_add(struct wcol_auth *a, const char *name, enum wcol_role role,
                       const char *password, const char *actor, const char *source,
                       char otpauth[WCOL_OTPAUTH_MAX]);
/** @return 0, -ENOENT, -EINVAL, -EIO. */
int wcol_auth_user_passwd(struct wcol_auth *a, const char *name, const char *password,
                          const char *actor, const char *source);
/** A new TOTP secret (the old codes stop working). @return 0, -ENOENT, -EIO. */
int wcol_auth_user_totp_reset(struct wcol_auth *a, const char *name, const char *actor,
                              const char *source, char otpauth[WCOL_OTPAUTH_MAX]);
/** Remove the account and end its sessions. @return 0, -ENOENT, -EIO. */
int wcol_auth_user_remove(struct wcol_auth *a, const char *name, const char *actor,
                          const char *source);
/** {"users": [...]} without secrets. @return 0, -EIO. */
int wcol_auth_users_json(struct wcol_auth *a, struct wcol_jw *w, int64_t now_ms);

/* API tokens (admin). */
struct wcol_token_spec {
    const char *name;
    enum wcol_role role;
    const char *devices; /* glob, "*" for all */
    const char *from;    /* CIDR or "" */
    int64_t expires_ms;  /* absolute */
};
/** @return 0 (token: the secret, shown once), -EEXIST, -EINVAL, -EIO. */
int wcol_auth_token_create(struct wcol_auth *a, const struct wcol_token_spec *spec,
                           const char *actor, const char *source, char token[WCOL_SECRET_LEN]);
/** @return 0, -ENOENT (no such token, or already revoked), -EIO. */
int wcol_auth_token_revoke(struct wcol_auth *a, const char *name, const char *actor,
                           const char *source);
/** {"tokens": [...]} without secrets. @return 0, -EIO. */
int wcol_auth_tokens_json(struct wcol_auth *a, struct wcol_jw *w, int64_t now_ms);

/** Is cidr "ADDR/BITS" or an address, v4 or v6? */
bool wcol_cidr_valid(const char *cidr);

/** Does the address "ADDR:PORT" (or "[V6]:PORT") lie in cidr ("" matches all)? A malformed
 *  cidr matches nothing. */
bool wcol_cidr_match(const char *cidr, const char *addr);

#endif /* WCOL_AUTH_AUTH_H_ */
