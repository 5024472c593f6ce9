/*
 * Browser sessions of the operator dashboard: a bounded table in memory (lost on restart, as a
 * session should be). A session is created once a principal has proved who it is (today: an
 * operator bearer token, api/tokens.h; later the password + TOTP login), and carries a random
 * id (the cookie's value), a random CSRF token (sent back in the X-CSRF-Token header of every
 * state-changing request), the principal's name and the credential it logged in with, as an
 * Authorization value: every request of the session is authorized with it again, so a token
 * taken out of the tokens file (or an account disabled) ends its sessions at their next
 * request. Ids are compared in constant time; the credential is wiped when the session ends.
 * With the PostgreSQL storage the sessions live in the database, shared by every collector on
 * it (dash/session_pg.h); the table here then only holds the sessions being served.
 */
#ifndef WCOL_DASH_SESSION_H_
#define WCOL_DASH_SESSION_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WCOL_SESSIONS_MAX        64
#define WCOL_SESSION_TOKEN_HEX   64 /* 32 random bytes */
#define WCOL_SESSION_WHO_MAX     64
#define WCOL_SESSION_BEARER_MAX  (7 + 512) /* "Bearer " + the longest token api/tokens.c takes */
#define WCOL_SESSION_IDLE_MS     (30u * 60u * 1000u)       /* unused for 30 minutes: gone */
#define WCOL_SESSION_LIFETIME_MS (12u * 60u * 60u * 1000u) /* log in again after 12 hours */
#define WCOL_SESSION_COOKIE      "__Host-ward_session"

struct wcol_session {
    char id[WCOL_SESSION_TOKEN_HEX + 1];
    char csrf[WCOL_SESSION_TOKEN_HEX + 1];
    char who[WCOL_SESSION_WHO_MAX + 1];
    char bearer[WCOL_SESSION_BEARER_MAX + 1]; /* "Bearer TOKEN" */
    uint64_t created_ms, used_ms;             /* monotonic */
    bool live;
};

struct wcol_session_stats {
    uint64_t logins, login_failures, logouts, expired, evicted, csrf_refused;
    uint64_t store_errors; /* PostgreSQL: a session not created, checked or ended for an error */
};

struct wcol_pgconn;

struct wcol_sessions {
    struct wcol_session s[WCOL_SESSIONS_MAX];
    struct wcol_session_stats stats;
    struct wcol_pgconn *pg; /* the shared sessions (dash/session_pg.h), or NULL: this table */
};

/**
 * A new session for who, who proved it with the Authorization value bearer ("Bearer TOKEN");
 * when the table is full the least recently used one is evicted.
 * @return the session (its id and csrf set), NULL when no random bytes could be read or
 *         bearer is longer than WCOL_SESSION_BEARER_MAX.
 */
const struct wcol_session *wcol_session_create(struct wcol_sessions *t, const char *who,
                                               const char *bearer, uint64_t now_ms);

/**
 * The live session named by a Cookie header value (WCOL_SESSION_COOKIE=ID among others);
 * refreshes its idle timer. @return NULL when absent, unknown or expired.
 */
const struct wcol_session *wcol_session_check(struct wcol_sessions *t, const char *cookie,
                                              size_t len, uint64_t now_ms);

/** The live session with this id, without refreshing its idle timer (an open event stream
 *  does not keep its session alive). @return NULL when it ended or expired. */
const struct wcol_session *wcol_session_find(struct wcol_sessions *t, const char *id,
                                             uint64_t now_ms);

/** Does an X-CSRF-Token header value match the session's token (constant time)? */
bool wcol_session_csrf_ok(const struct wcol_session *s, const char *hdr, size_t len);

/** End a session (logout, or its credential is no longer valid); the caller counts why.
 *  @return 0, -EIO (PostgreSQL: it could not be ended there, it lives on elsewhere). */
int wcol_session_destroy(struct wcol_sessions *t, const struct wcol_session *s);

/** Live sessions now (expired ones are dropped on the way): with PostgreSQL, those of every
 *  collector on it, 0 when the database cannot be read. */
unsigned wcol_sessions_active(struct wcol_sessions *t, uint64_t now_ms);

#endif /* WCOL_DASH_SESSION_H_ */
