/* Credentials to principals: sessions, API tokens, the tokens file; login and logout. */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/sha256.h>

#include "ward/base/hex.h"

#include "api/tokens.h"
#include "audit/audit.h"
#include "auth/auth_impl.h"
#include "auth/pwhash.h"
#include "auth/totp.h"
#include "common/clock.h"
#include "common/log.h"

static const char *const s_roles[] = { "none", "viewer", "operator", "admin" };

const char *wcol_role_name(enum wcol_role r)
{
    return (unsigned)r <= WCOL_ROLE_ADMIN ? s_roles[r] : "none";
}

enum wcol_role wcol_role_parse(const char *s)
{
    for (int r = WCOL_ROLE_VIEWER; s != NULL && r <= WCOL_ROLE_ADMIN; r++) {
        if (strcmp(s, s_roles[r]) == 0) {
            return (enum wcol_role)r;
        }
    }
    return WCOL_ROLE_NONE;
}

bool wcol_name_valid(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    return n >= 1 && n <= WCOL_USER_MAX && name[0] >= 'a' && name[0] <= 'z' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

bool wcol_principal_scoped(const struct wcol_principal *p)
{
    return strcmp(p->devices, "*") != 0;
}

bool wcol_principal_sees(const struct wcol_principal *p, const char *device)
{
    return !wcol_principal_scoped(p) || fnmatch(p->devices, device, 0) == 0;
}

/* "ADDR:PORT" or "[V6]:PORT" to an address; @return AF_INET, AF_INET6 or -1. */
static int parse_addr(const char *s, uint8_t out[16])
{
    char host[64];
    const char *colon = strrchr(s, ':');
    size_t n = colon != NULL ? (size_t)(colon - s) : strlen(s);

    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (end == NULL) {
            return -1;
        }
        s++;
        n = (size_t)(end - s);
    } else if (colon != NULL && strchr(s, ':') != colon) {
        n = strlen(s); /* a bare v6 address */
    }
    if (n >= sizeof(host)) {
        return -1;
    }
    memcpy(host, s, n);
    host[n] = '\0';
    if (inet_pton(AF_INET, host, out) == 1) {
        return AF_INET;
    }
    return inet_pton(AF_INET6, host, out) == 1 ? AF_INET6 : -1;
}

/* "NET/BITS" (or a bare address). @return the family, -1 when malformed. */
static int parse_cidr(const char *cidr, uint8_t net[16], long *bits)
{
    char buf[80], *slash, *end;

    snprintf(buf, sizeof(buf), "%s", cidr);
    slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash++ = '\0';
    }
    if (strchr(buf, ':') != NULL && buf[0] != '[') {
        if (inet_pton(AF_INET6, buf, net) != 1) {
            return -1;
        }
    } else if (inet_pton(AF_INET, buf, net) != 1) {
        return -1;
    }
    int fam = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
    long max = fam == AF_INET ? 32 : 128;

    *bits = max;
    if (slash != NULL) {
        *bits = strtol(slash, &end, 10);
        if (*slash == '\0' || *end != '\0' || *bits < 0 || *bits > max) {
            return -1;
        }
    }
    return fam;
}

bool wcol_cidr_valid(const char *cidr)
{
    uint8_t net[16];
    long bits;

    return cidr != NULL && strlen(cidr) < 64 && parse_cidr(cidr, net, &bits) > 0;
}

bool wcol_cidr_match(const char *cidr, const char *addr)
{
    uint8_t net[16], ip[16];
    long bits;

    if (cidr == NULL || cidr[0] == '\0') {
        return true;
    }
    int fam = parse_cidr(cidr, net, &bits);

    if (fam < 0 || parse_addr(addr, ip) != fam) {
        return false;
    }
    for (long i = 0; i < bits; i++) {
        uint8_t m = (uint8_t)(0x80u >> (i % 8));

        if ((net[i / 8] & m) != (ip[i / 8] & m)) {
            return false;
        }
    }
    return true;
}

void wcol_auth_audit(struct wcol_auth *a, const char *actor, const char *source, const char *action,
                     const char *target, const char *outcome, const char *detail)
{
    struct wcol_audit_entry e = { .actor = actor,
                                  .source = source,
                                  .action = action,
                                  .target = target,
                                  .outcome = outcome,
                                  .detail = detail };

    if (a->audit == NULL) {
        return;
    }
    if (strcmp(outcome, "ok") == 0) {
        (void)wcol_audit_record(a->audit, &e);
    } else {
        (void)wcol_audit_refusal(a->audit, &e);
    }
}

int wcol_auth_new_secret(const char *prefix, char out[WCOL_SECRET_LEN], uint8_t sha[32])
{
    uint8_t raw[32];

    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        return -EIO;
    }
    snprintf(out, WCOL_SECRET_LEN, "%s", prefix);
    ward_hex_encode(raw, sizeof(raw), out + strlen(prefix));
    return mbedtls_sha256((const unsigned char *)out, strlen(out), sha, 0) == 0 ? 0 : -EIO;
}

int wcol_auth_run(struct wcol_auth *a, const char *sql, int n, const char *const *params)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(a->db, sql, -1, &st, NULL);

    for (int i = 0; rc == SQLITE_OK && i < n; i++) {
        sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        wcol_log_error("auth: storage failed: %s", sqlite3_errmsg(a->db));
    }
    return rc;
}

int wcol_auth_change(struct wcol_auth *a, const char *sql, int n, const char *const *params,
                     int absent)
{
    if (wcol_auth_run(a, sql, n, params) != SQLITE_DONE) {
        return -EIO;
    }
    return sqlite3_changes(a->db) == 1 ? 0 : absent;
}

/* Accounts, sessions and API tokens: secrets as hashes only (TOTP secrets excepted, codes are
 * computed from them). In the collector's database, created here (see audit/audit.c). */
static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS users ("
    "  name TEXT PRIMARY KEY, role TEXT NOT NULL, pw_hash TEXT NOT NULL, totp_secret BLOB,"
    "  totp_last_step INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,"
    "  locked_until_ms INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL,"
    "  changed_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sessions ("
    "  sha256 BLOB PRIMARY KEY, user TEXT NOT NULL, source TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, revoked_ms INTEGER"
    ") WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS api_tokens ("
    "  name TEXT PRIMARY KEY, sha256 BLOB NOT NULL UNIQUE, role TEXT NOT NULL,"
    "  devices TEXT NOT NULL, from_cidr TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    "  created_by TEXT NOT NULL, expires_ms INTEGER NOT NULL, revoked_ms INTEGER,"
    "  last_used_ms INTEGER, uses INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;";

int wcol_auth_open(struct wcol_auth **out, const char *db_path, const struct wcol_auth_config *cfg,
                   struct wcol_audit *audit)
{
    struct wcol_auth *a = calloc(1, sizeof(*a));

    *out = NULL;
    if (a == NULL) {
        return -ENOMEM;
    }
    a->cfg = *cfg;
    a->audit = audit;
    if (cfg->pg_conninfo != NULL) {
        int rc = wcol_pgconn_open(&a->pg, cfg->pg_conninfo, "auth"); /* tables: store/store_pg.c */

        if (rc != 0) {
            wcol_log_error("auth: cannot reach the accounts in PostgreSQL");
            wcol_auth_close(a);
            return rc;
        }
        *out = a;
        return 0;
    }
    if (sqlite3_open_v2(db_path, &a->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        wcol_log_error("auth: cannot open %s: %s", db_path,
                       a->db ? sqlite3_errmsg(a->db) : "out of memory");
        wcol_auth_close(a);
        return -EIO;
    }
    sqlite3_busy_timeout(a->db, 5000);
    if (sqlite3_exec(a->db, s_schema, NULL, NULL, NULL) != SQLITE_OK) {
        wcol_log_error("auth: cannot create the account tables in %s: %s", db_path,
                       sqlite3_errmsg(a->db));
        wcol_auth_close(a);
        return -EIO;
    }
    *out = a;
    return 0;
}

void wcol_auth_close(struct wcol_auth *a)
{
    if (a != NULL) {
        sqlite3_close(a->db);
        wcol_pgconn_close(a->pg);
        free(a);
    }
}

void wcol_auth_get_stats(const struct wcol_auth *a, struct wcol_auth_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (a != NULL) {
        *out = a->stats;
    }
}

void wcol_auth_count_refusal(struct wcol_auth *a)
{
    if (a != NULL) {
        a->stats.refused++;
    }
}

/* ---- bearer credentials ---- */

/* The row of a presented secret in the SQLite backend. @return 0 (c filled), -EIO. */
static int sqlite_cred(struct wcol_auth *a, const char *sql, const uint8_t sha[32],
                       struct wcol_auth_cred *c)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(a->db, sql, -1, &st, NULL);

    memset(c, 0, sizeof(*c));
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, sha, 32, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        c->found = true;
        snprintf(c->name, sizeof(c->name), "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(c->role, sizeof(c->role), "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(c->devices, sizeof(c->devices), "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(c->from, sizeof(c->from), "%s", (const char *)sqlite3_column_text(st, 3));
        c->expires_ms = sqlite3_column_int64(st, 4);
        c->revoked = sqlite3_column_type(st, 5) != SQLITE_NULL;
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

/* A credential that could not be looked up (the database away): 503, not 401. */
static const char s_unavailable[] =
    "the accounts database is unavailable (reconnecting); retry shortly";

static int session_principal(struct wcol_auth *a, const uint8_t sha[32], int64_t now_ms,
                             struct wcol_principal *p, const char **why)
{
    struct wcol_auth_cred c;
    int rc = a->pg != NULL
                 ? wcol_authpg_session(a->pg, sha, &c)
                 : sqlite_cred(a,
                               "SELECT s.user, u.role, '*', '', s.expires_ms, s.revoked_ms FROM "
                               "sessions AS s JOIN users AS u ON u.name = s.user WHERE s.sha256 "
                               "= ?1",
                               sha, &c);

    *why = "unknown or ended session (wardctl login)";
    if (rc != 0) {
        *why = s_unavailable;
        return -EAGAIN;
    }
    if (!c.found) {
        return -EACCES;
    }
    snprintf(p->name, sizeof(p->name), "%s", c.name);
    p->role = wcol_role_parse(c.role);
    p->kind = WCOL_PRINCIPAL_SESSION;
    snprintf(p->devices, sizeof(p->devices), "*");
    memcpy(p->secret_sha256, sha, 32);
    if (c.revoked) {
        *why = "session ended (logged out or account changed); wardctl login";
        return -EACCES;
    }
    if (c.expires_ms <= now_ms) {
        *why = "session expired; wardctl login";
        return -EACCES;
    }
    return p->role != WCOL_ROLE_NONE ? 0 : -EACCES;
}

/* Every use of a token recorded: last used, count. */
static void token_used(struct wcol_auth *a, const uint8_t sha[32], int64_t now_ms)
{
    sqlite3_stmt *up = NULL;

    if (a->pg != NULL) {
        wcol_authpg_token_used(a->pg, sha, now_ms);
        return;
    }
    if (sqlite3_prepare_v2(a->db,
                           "UPDATE api_tokens SET last_used_ms = ?2, uses = uses + 1 WHERE "
                           "sha256 = ?1",
                           -1, &up, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(up, 1, sha, 32, SQLITE_STATIC);
        sqlite3_bind_int64(up, 2, now_ms);
        (void)sqlite3_step(up);
    }
    sqlite3_finalize(up);
}

static int token_principal(struct wcol_auth *a, const uint8_t sha[32], const char *source,
                           int64_t now_ms, struct wcol_principal *p, const char **why)
{
    struct wcol_auth_cred c;
    int rc = a->pg != NULL ? wcol_authpg_token(a->pg, sha, &c)
                           : sqlite_cred(a,
                                         "SELECT name, role, devices, from_cidr, expires_ms, "
                                         "revoked_ms FROM api_tokens WHERE sha256 = ?1",
                                         sha, &c);

    *why = "unknown API token";
    p->name[0] = '\0';
    if (rc != 0) {
        *why = s_unavailable;
        return -EAGAIN;
    }
    if (!c.found) {
        return -EACCES;
    }
    snprintf(p->name, sizeof(p->name), "token:%s", c.name);
    p->role = wcol_role_parse(c.role);
    p->kind = WCOL_PRINCIPAL_TOKEN;
    snprintf(p->devices, sizeof(p->devices), "%s", c.devices);
    if (c.revoked) {
        *why = "API token revoked";
        return -EACCES;
    }
    if (c.expires_ms <= now_ms) {
        *why = "API token expired";
        return -EACCES;
    }
    if (!wcol_cidr_match(c.from, source)) {
        *why = "API token not valid from this address";
        return -EACCES;
    }
    if (p->role == WCOL_ROLE_NONE) {
        return -EACCES;
    }
    token_used(a, sha, now_ms);
    a->stats.token_uses++;
    return 0;
}

int wcol_auth_bearer(struct wcol_auth *a, const struct wcol_tokens *file, const char *header,
                     size_t len, const char *source, int64_t now_ms, struct wcol_principal *p,
                     const char **why)
{
    char secret[WCOL_SECRET_LEN + 8];
    uint8_t sha[32];
    const char *name = NULL;
    int rc = -EACCES;

    memset(p, 0, sizeof(*p));
    *why = "a valid bearer token is required (wardctl login, or --token-file)";
    if (header == NULL || len < 8 || strncasecmp(header, "Bearer ", 7) != 0) {
        return -EACCES; /* no credential at all: not worth an audit entry each */
    }
    size_t off = 7;

    while (off < len && header[off] == ' ') {
        off++;
    }
    bool ours = len - off == WCOL_SECRET_LEN - 1 && (strncmp(header + off, "wardS_", 6) == 0 ||
                                                     strncmp(header + off, "wardT_", 6) == 0);

    if (ours && a != NULL) {
        memcpy(secret, header + off, len - off);
        secret[len - off] = '\0';
        (void)mbedtls_sha256((const unsigned char *)secret, strlen(secret), sha, 0);
        rc = secret[4] == 'S' ? session_principal(a, sha, now_ms, p, why)
                              : token_principal(a, sha, source, now_ms, p, why);
    } else if ((name = wcol_tokens_check(file, header, len)) != NULL) {
        snprintf(p->name, sizeof(p->name), "%s", name);
        p->role = WCOL_ROLE_ADMIN;
        p->kind = WCOL_PRINCIPAL_FILE_TOKEN;
        snprintf(p->devices, sizeof(p->devices), "*");
        return 0;
    } else {
        *why = "unknown bearer token";
    }
    if (rc != 0 && rc != -EAGAIN && a != NULL) {
        a->stats.refused++;
        wcol_auth_audit(a, p->name[0] ? p->name : "-", source, "auth.refused", "", "refused", *why);
    }
    return rc;
}

/* ---- login ---- */

static struct src_slot *source_slot(struct wcol_auth *a, const char *source, int64_t now_ms)
{
    char addr[64];
    struct src_slot *oldest = &a->src[0];
    const char *colon = strrchr(source, ':');
    size_t n = colon != NULL ? (size_t)(colon - source) : strlen(source);

    /* the address without the port: one client, many connections */
    snprintf(addr, sizeof(addr), "%.*s", (int)(n < sizeof(addr) ? n : sizeof(addr) - 1), source);
    for (int i = 0; i < SOURCES_TRACKED; i++) {
        if (strcmp(a->src[i].addr, addr) == 0) {
            if (now_ms - a->src[i].window_ms >= 60000) {
                a->src[i].window_ms = now_ms;
                a->src[i].failures = 0;
            }
            return &a->src[i];
        }
        if (a->src[i].window_ms < oldest->window_ms) {
            oldest = &a->src[i];
        }
    }
    snprintf(oldest->addr, sizeof(oldest->addr), "%s", addr);
    oldest->window_ms = now_ms;
    oldest->failures = 0;
    return oldest;
}

static int load_account(struct wcol_auth *a, const char *user, struct wcol_auth_account *acc)
{
    if (a->pg != NULL) {
        return wcol_authpg_account(a->pg, user, acc);
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(a->db,
                                "SELECT role, pw_hash, totp_secret, totp_last_step, failures, "
                                "locked_until_ms FROM users WHERE name = ?1",
                                -1, &st, NULL);

    memset(acc, 0, sizeof(*acc));
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        acc->found = true;
        acc->role = wcol_role_parse((const char *)sqlite3_column_text(st, 0));
        snprintf(acc->pw_hash, sizeof(acc->pw_hash), "%s",
                 (const char *)sqlite3_column_text(st, 1));
        int n = sqlite3_column_bytes(st, 2);

        if (n > 0 && n <= WCOL_TOTP_SECRET_LEN) {
            memcpy(acc->secret, sqlite3_column_blob(st, 2), (size_t)n);
            acc->secret_len = (size_t)n;
        }
        acc->last_step = sqlite3_column_int64(st, 3);
        acc->failures = sqlite3_column_int64(st, 4);
        acc->locked_until_ms = sqlite3_column_int64(st, 5);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static void save_failures(struct wcol_auth *a, const char *user, int64_t failures,
                          int64_t locked_until)
{
    char f[24], l[24];
    const char *p[] = { user, f, l };

    if (a->pg != NULL) {
        wcol_authpg_save_failures(a->pg, user, failures, locked_until);
        return;
    }
    snprintf(f, sizeof(f), "%lld", (long long)failures);
    snprintf(l, sizeof(l), "%lld", (long long)locked_until);
    (void)wcol_auth_run(a,
                        "UPDATE users SET failures = CAST(?2 AS INTEGER), locked_until_ms = "
                        "CAST(?3 AS INTEGER) WHERE name = ?1",
                        3, p);
}

static int login_failed(struct wcol_auth *a, const char *user, struct wcol_auth_account *acc,
                        const char *source, struct src_slot *src, int64_t now_ms,
                        const char *detail)
{
    a->stats.logins_failed++;
    src->failures++;
    wcol_auth_audit(a, user, source, "user.login.failed", user, "refused", detail);
    if (!acc->found) {
        return -EACCES;
    }
    acc->failures++;
    if (a->cfg.max_failures > 0 && acc->failures >= a->cfg.max_failures) {
        char d[96];

        a->stats.lockouts++;
        snprintf(d, sizeof(d), "%lld failed logins in a row; locked for %llu s",
                 (long long)acc->failures, (unsigned long long)(a->cfg.lockout_ms / 1000));
        save_failures(a, user, 0, now_ms + (int64_t)a->cfg.lockout_ms);
        /* A lock-out is always written: it is not a flood (one per N failures). */
        wcol_auth_audit(a, "collector", source, "user.lock", user, "ok", d);
        wcol_log_warn("%s: account %s locked after %lld failed logins", source, user,
                      (long long)acc->failures);
        return -EACCES;
    }
    save_failures(a, user, acc->failures, acc->locked_until_ms);
    return -EACCES;
}

static int start_session(struct wcol_auth *a, const char *user, const char *source, int64_t now_ms,
                         char token[WCOL_SECRET_LEN], int64_t *expires_ms)
{
    uint8_t sha[32];
    sqlite3_stmt *st = NULL;

    if (a->pg != NULL) {
        *expires_ms = now_ms + (int64_t)a->cfg.session_ms;
        return wcol_auth_new_secret("wardS_", token, sha) != 0
                   ? -EIO
                   : wcol_authpg_session_start(a->pg, sha, user, source, now_ms, *expires_ms);
    }
    if (wcol_auth_new_secret("wardS_", token, sha) != 0 ||
        sqlite3_prepare_v2(a->db,
                           "INSERT INTO sessions (sha256, user, source, created_ms, expires_ms) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK) {
        return -EIO;
    }
    *expires_ms = now_ms + (int64_t)a->cfg.session_ms;
    sqlite3_bind_blob(st, 1, sha, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    sqlite3_bind_int64(st, 5, *expires_ms);
    int rc = sqlite3_step(st);

    sqlite3_finalize(st);
    /* Ended sessions are of no use to anyone: the table stays small. */
    char now[24];
    const char *p[] = { now };

    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    (void)wcol_auth_run(a,
                        "DELETE FROM sessions WHERE expires_ms < CAST(?1 AS INTEGER) - 86400000 "
                        "OR revoked_ms < CAST(?1 AS INTEGER) - 86400000",
                        1, p);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int wcol_auth_login(struct wcol_auth *a, const char *user, const char *password, const char *code,
                    const char *source, int64_t now_ms, char token[WCOL_SECRET_LEN],
                    int64_t *expires_ms, enum wcol_role *role)
{
    struct src_slot *src = source_slot(a, source, now_ms);
    struct wcol_auth_account acc;
    char step[24];

    if (a->cfg.source_failures > 0 && src->failures >= a->cfg.source_failures) {
        a->stats.throttled++;
        wcol_auth_audit(a, wcol_name_valid(user) ? user : "-", source, "user.login.throttled", user,
                        "refused", "too many failed logins from this address");
        return -EAGAIN;
    }
    if (!wcol_name_valid(user) || load_account(a, user, &acc) != 0) {
        memset(&acc, 0, sizeof(acc));
    }
    if (acc.found && acc.locked_until_ms > now_ms) {
        a->stats.logins_failed++;
        wcol_auth_audit(a, user, source, "user.login.locked", user, "refused", "account locked");
        return -EBUSY;
    }
    /* The hash is computed for an unknown user too: the answer takes as long either way. */
    bool pw_ok = wcol_pw_verify(acc.found ? acc.pw_hash : wcol_pw_dummy(), password);

    if (!acc.found) {
        return login_failed(a, wcol_name_valid(user) ? user : "-", &acc, source, src, now_ms,
                            "no such user");
    }
    if (!pw_ok) {
        return login_failed(a, user, &acc, source, src, now_ms, "wrong password");
    }
    int64_t s = wcol_totp_check(acc.secret, acc.secret_len, code, (uint64_t)(now_ms / 1000),
                                (uint64_t)acc.last_step);

    if (s < 0 || acc.secret_len == 0) {
        return login_failed(a, user, &acc, source, src, now_ms,
                            "wrong, expired or already used TOTP code");
    }
    snprintf(step, sizeof(step), "%lld", (long long)s);
    const char *p[] = { user, step };
    int rc = a->pg != NULL ? wcol_authpg_login_ok(a->pg, user, s)
             : wcol_auth_run(a,
                             "UPDATE users SET failures = 0, locked_until_ms = 0, "
                             "totp_last_step = CAST(?2 AS INTEGER) WHERE name = ?1",
                             2, p) != SQLITE_DONE
                 ? -EIO
                 : 0;

    if (rc == -EACCES) { /* another collector took this code first */
        return login_failed(a, user, &acc, source, src, now_ms,
                            "wrong, expired or already used TOTP code");
    }
    if (rc != 0 || start_session(a, user, source, now_ms, token, expires_ms) != 0) {
        return -EIO;
    }
    *role = acc.role;
    a->stats.logins_ok++;
    wcol_auth_audit(a, user, source, "user.login", user, "ok", wcol_role_name(acc.role));
    return 0;
}

int wcol_auth_logout(struct wcol_auth *a, const struct wcol_principal *p, const char *source)
{
    sqlite3_stmt *st = NULL;

    if (p->kind != WCOL_PRINCIPAL_SESSION) {
        return -EINVAL;
    }
    if (a->pg != NULL) {
        int rc = wcol_authpg_session_end(a->pg, p->secret_sha256, wcol_now_wall_ms());

        wcol_auth_audit(a, p->name, source, "user.logout", p->name, "ok", "");
        return rc;
    }
    if (sqlite3_prepare_v2(a->db,
                           "UPDATE sessions SET revoked_ms = ?2 WHERE sha256 = ?1 AND revoked_ms "
                           "IS NULL",
                           -1, &st, NULL) != SQLITE_OK) {
        return -EIO;
    }
    sqlite3_bind_blob(st, 1, p->secret_sha256, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, wcol_now_wall_ms());
    int rc = sqlite3_step(st);

    sqlite3_finalize(st);
    wcol_auth_audit(a, p->name, source, "user.logout", p->name, "ok", "");
    return rc == SQLITE_DONE ? 0 : -EIO;
}
