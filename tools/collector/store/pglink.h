/*
 * The state of one PostgreSQL connection of the collector and its reconnect without blocking
 * the event loop (docs/storage.md, "Reconnecting"): a lost connection is started again with
 * PQresetStart() and driven with PQresetPoll() whenever its socket is ready, from the user's
 * next call or from the event loop's tick (wcol_pglink_tick_all), never waiting on the socket
 * but once, at most WCOL_PGLINK_WAIT_MS, for an attempt the caller itself started.
 * A connection the kernel gave up (ETIMEDOUT: keepalives, tcp_user_timeout) takes the loop's
 * other connections to the same host down with it, so that the loop waits on one of them only.
 * Attempts that fail are spaced by a bounded, jittered backoff; one that has stayed on one host
 * of the conninfo longer than its connect_timeout (and its tcp_user_timeout) is abandoned. While
 * the connection is not usable every caller fails at once (the store's batch: 503, the agents keep
 * their events).
 *
 * Every link registers itself (at most WCOL_PGLINK_MAX) so that /v1/health, wardctl health
 * and /metrics show each one's state. A link is used from the collector's main loop, or,
 * marked with wcol_pglink_own_thread(), from one thread of its own (the history writer, the
 * inventory's): the loop's tick leaves those alone, and their state changes under a lock so
 * that the loop reads it whole (wcol_pglink_list copies).
 */
#ifndef WCOL_STORE_PGLINK_H_
#define WCOL_STORE_PGLINK_H_

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#define WCOL_PGLINK_MAX            32
#define WCOL_PGLINK_BACKOFF_MIN_MS 200u
#define WCOL_PGLINK_BACKOFF_MAX_MS 2000u
/* How often the loop looks at a connection being made (its socket is not in the epoll set). */
#define WCOL_PGLINK_STEP_MS 10u
/* The most a caller waits for an attempt it started itself (once per attempt). */
#define WCOL_PGLINK_WAIT_MS 50u

struct wcol_jw;

enum wcol_pglink_state {
    WCOL_PGLINK_CONNECTED,
    WCOL_PGLINK_CONNECTING, /* an attempt under way */
    WCOL_PGLINK_DOWN,       /* waiting for the next attempt */
};

struct wcol_pglink {
    PGconn *c;
    char who[24]; /* "storage", "auth", ...: the prefix of its log lines, its name in health */
    enum wcol_pglink_state state;
    PostgresPollingStatusType polling;
    uint64_t down_since;    /* monotonic ms the connection was lost; 0 connected */
    uint64_t attempt_start; /* monotonic ms the attempt under way reached its host */
    char host_at[64];       /* "host:port" the attempt under way is at */
    uint64_t next_try;      /* monotonic ms of the next attempt (DOWN) */
    uint32_t backoff_ms;
    uint32_t timeout_ms; /* an attempt's limit per host: connect_timeout, > tcp_user_timeout */
    uint64_t attempts;   /* attempts since the loss */
    uint64_t attempts_failed;
    uint64_t reconnects; /* connections made again, since the start */
    uint64_t losses;
    bool fresh; /* connected again: the user has not been told yet */
    bool registered;
    bool own_thread;          /* used from a thread of its own, not the main loop */
    uint64_t jitter;          /* the backoff's random part (xorshift) */
    char last_error[200];     /* the last attempt's failure, one line ("" none) */
    uint64_t prepared;        /* statements the server holds prepared for this connection now */
    uint64_t unprepared_runs; /* statements run unprepared (parsed and planned each time) */
};

/** Take over c (connected) as who's link and register it. @return 0, -ENOSPC (too many). */
int wcol_pglink_init(struct wcol_pglink *l, PGconn *c, const char *who);
/** Unregister (the PGconn stays the caller's to PQfinish). */
void wcol_pglink_fini(struct wcol_pglink *l);
/** l is used from one thread of its own, not the main loop (before that thread uses it). */
void wcol_pglink_own_thread(struct wcol_pglink *l);

/**
 * Whether the connection may be used now: a lost connection is noticed here and its reconnect
 * started (waiting at most WCOL_PGLINK_WAIT_MS for it) or driven a step, without waiting. @return 1
 * usable and just connected again (the caller prepares its statements again), 0 usable, -EAGAIN not
 * connected (nothing waited).
 */
int wcol_pglink_ready(struct wcol_pglink *l, uint64_t now);

/** Give the connection up (a protocol state the user cannot recover): reconnect from scratch. */
void wcol_pglink_drop(struct wcol_pglink *l, uint64_t now, const char *why);

/**
 * A query on l just failed: when its connection broke, it is lost from now (and on a timeout
 * the main loop's other connections to that host with it), not at l's next use, so that no
 * other connection's query waits on the same dead host first. Nothing is reconnected here.
 */
void wcol_pglink_query_failed(struct wcol_pglink *l, uint64_t now);

/** The connection holds n prepared statements now, and ran `unprepared` more without. */
void wcol_pglink_statements(struct wcol_pglink *l, unsigned n, unsigned unprepared);

/** Drive every registered link's reconnect a step (the event loop, each pass). */
void wcol_pglink_tick_all(uint64_t now);
/** Milliseconds until a registered link wants its next step (-1: none). */
int wcol_pglink_due_in(uint64_t now);

const char *wcol_pglink_state_name(enum wcol_pglink_state s);
/** The registered link called who, NULL none. */
const struct wcol_pglink *wcol_pglink_find(const char *who);
/** Copies of the registered links: n of them into out (at most cap). @return n. */
unsigned wcol_pglink_list(struct wcol_pglink *out, unsigned cap);

/** "state", "down_for_s", "reconnects", ... of l into the open object of w. */
void wcol_pglink_fields(const struct wcol_pglink *l, struct wcol_jw *w, uint64_t now);
/** "postgresql": {who: {fields}, ...} of every registered link; nothing when none. */
void wcol_pglink_health(struct wcol_jw *w, uint64_t now);

#endif /* WCOL_STORE_PGLINK_H_ */
