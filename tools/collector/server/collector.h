/*
 * ward-collector internals: the process context shared by the server loop, the connection
 * state machine and the request handlers (ingest, operator API). No mbedTLS type here: the
 * TLS state is behind a pointer, and a connection is opaque outside server/ (server/conn.h).
 *
 * One thread, one epoll instance (edge-triggered), no blocking call on the hot path except
 * the storage commit, which is batched: every request that completes in one pass of the
 * loop joins one transaction, and none is answered before it committed (group commit).
 */
#ifndef WCOL_SERVER_COLLECTOR_H_
#define WCOL_SERVER_COLLECTOR_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "api/tokens.h"
#include "server/retention.h"
#include "dash/session.h"
#include "dash/stream.h"
#include "commit/bus.h"
#include "commit/group.h"
#include "common/log.h"
#include "export/metrics.h"
#include "fleet/fleet.h"
#include "history/hist.h"
#include "http/http.h"
#include "ward/wire/decode.h"
#include "server/srcmap.h"
#include "store/store.h"
#include "tls/tls_config.h"

#define WCOL_COLLECTOR_VERSION "0.1.0"

struct wcol_collector_config {
    const char *listen;      /* device listener, "ADDR:PORT" (port 0: any free port) */
    const char *api_listen;  /* operator API listener */
    const char *state_dir;   /* database, ticket keys, ports file */
    const char *db_path;     /* SQLite store; incidents.db beside it */
    const char *storage;     /* --storage as given, NULL: SQLite at db_path */
    const char *pg_conninfo; /* PostgreSQL store when not NULL */
    const char *tokens_path;
    struct wcol_tls_paths tls;
    unsigned max_conns;             /* device connections */
    unsigned max_api_conns;         /* operator connections */
    unsigned max_unauth_conns;      /* device connections not yet authenticated */
    unsigned max_unauth_per_source; /* the same, from one source address (both ports) */
    size_t max_head;
    size_t max_body;
    unsigned max_headers;
    unsigned handshake_timeout_ms;
    unsigned request_timeout_ms; /* from a request's first byte to its last */
    unsigned idle_timeout_ms;    /* keep-alive connection with no request */
    unsigned write_timeout_ms;   /* response not taken by the peer */
    size_t max_devices;
    unsigned silent_factor;
    unsigned default_interval_ms; /* heartbeat interval of a device that announces none */
    unsigned check_interval_ms;   /* how often silence and the CRL file are checked */
    unsigned max_group;           /* requests per commit */
    unsigned commit_interval_us;  /* under load, the least time between group commits */
    unsigned loops;               /* device-port event loops (0: one per core; server/worker.h) */
    unsigned busy_timeout_ms;     /* storage lock wait */
    unsigned max_events;          /* per request */
    unsigned max_sensors;         /* per device in its merged health snapshot */
    uint64_t retention_ms;        /* events older than this are deleted (0: keep all) */
    const char *user;             /* run as this user once ports and files are open (or NULL) */
    const char *alerting_path;    /* receivers, routes, runbooks, incident policy (or NULL) */
    struct wcol_history_config history; /* history/hist.h: tiers, queue, trends */
    struct wcol_stream_config stream;   /* dash/stream.h: the dashboard's event streams */
    /* Accounts and the audit log (auth/auth.h, audit/audit.h; docs/security.md). */
    unsigned login_max_failures;    /* failed logins in a row that lock an account (0: never) */
    uint64_t login_lockout_ms;      /* for how long */
    unsigned login_source_failures; /* failed logins per minute from one address (0: no cap) */
    uint64_t session_ms;            /* a login session's lifetime */
    uint64_t audit_checkpoint_ms;   /* how often the audit head is signed (0: at stop only) */
    unsigned audit_refusals;        /* refusal entries per minute, the rest summarised */
    /* Scheduled backups (backup/schedule.h): dir NULL for none; key NULL: not encrypted. */
    const char *backup_dir;
    uint64_t backup_every_ms;
    unsigned backup_keep;
    const char *backup_key;
    const char *min_agent_version; /* inventory/inventory.h: older agents are outdated */
    const char *enroll_cert;       /* enrolment CA that signs device requests (or NULL) */
    const char *enroll_key;
    unsigned enroll_days; /* validity of the certificates it signs */
};

enum wcol_ep_type {
    WCOL_EP_CONN = 1,
    WCOL_EP_LISTEN_DEVICE,
    WCOL_EP_LISTEN_API,
    WCOL_EP_SIGNAL,
    WCOL_EP_LOOPS, /* a device loop's or the owner's wake-up (server/worker.h) */
};

struct wcol_ep {
    uint8_t type;
};

enum wcol_conn_kind {
    WCOL_CONN_DEVICE = 0,
    WCOL_CONN_API = 1,
};

enum wcol_timer_class {
    WCOL_TC_HANDSHAKE = 0,
    WCOL_TC_IDLE,
    WCOL_TC_REQUEST,
    WCOL_TC_WRITE,
    WCOL_TC_LINGER,
    WCOL_TC_COUNT,
    WCOL_TC_NONE = WCOL_TC_COUNT,
};

/* Every connection in a timer class has the same timeout, so each list is in deadline order. */
struct wcol_timer_list {
    struct wcol_conn *head;
    struct wcol_conn *tail;
};

/* Why a TLS handshake was refused (metrics: ward_collector_tls_handshakes_rejected_total). */
enum wcol_tls_reject {
    WCOL_TLS_REJ_CERTIFICATE, /* the client certificate did not verify (CA, name, usage) */
    WCOL_TLS_REJ_EXPIRED,     /* ... because it expired or is not valid yet */
    WCOL_TLS_REJ_REVOKED,     /* ... because it is on the CRL */
    WCOL_TLS_REJ_NO_IDENTITY, /* a device session without a device identity */
    WCOL_TLS_REJ_PROTOCOL,    /* any other TLS failure: version, suite, malformed, alert */
    WCOL_TLS_REJ_TIMEOUT,     /* not complete within --handshake-timeout */
    WCOL_TLS_REJ_NOT_TLS,     /* the first byte was not a TLS handshake record */
    WCOL_TLS_REJ_COUNT,
};

/* Why a device request was refused (metrics: ward_collector_ingest_refused_total). */
enum wcol_refusal {
    WCOL_REFUSE_HTTP,            /* bad request head, or the body too large for --max-body */
    WCOL_REFUSE_TIMEOUT,         /* not complete within --request-timeout */
    WCOL_REFUSE_ROUTE,           /* no such path, or the wrong method */
    WCOL_REFUSE_CONTENT_TYPE,    /* not application/json */
    WCOL_REFUSE_TOO_MANY_EVENTS, /* more events than --max-events */
    WCOL_REFUSE_MALFORMED,       /* not a valid batch document */
    WCOL_REFUSE_FORBIDDEN,       /* the batch's device is not the certificate's */
    WCOL_REFUSE_SENSORS,         /* the snapshot would pass --max-sensors */
    WCOL_REFUSE_DEVICE_CAPACITY, /* --max-devices reached */
    WCOL_REFUSE_STORAGE,         /* storage failed: nothing stored, retry */
    WCOL_REFUSE_COUNT,
};

/** A complete request on a connection of one kind (body: content_length bytes). */
typedef void (*wcol_request_fn)(struct wcol_conn *conn, const char *body, size_t len);

struct wcol_collector_stats {
    uint64_t accepted;
    uint64_t commits_deferred;     /* passes whose group waited for --commit-interval-us */
    uint64_t refused_capacity;     /* the pool full of authenticated connections */
    uint64_t shed_per_source;      /* oldest unauthenticated of a source at its cap */
    uint64_t shed_unauthenticated; /* oldest unauthenticated, the total budget full */
    uint64_t shed_capacity;        /* oldest unauthenticated, the pool full */
    uint64_t shed_idle_operator;   /* oldest idle operator connection, the pool full */
    uint64_t deferred;             /* newcomers that waited: handshakes in progress filled it */
    uint64_t handshakes;
    uint64_t handshakes_resumed;
    uint64_t rejected_tls;
    uint64_t rejected_plain;
    uint64_t rejected_http;
    uint64_t timeouts;
    uint64_t forbidden;
    uint64_t unauthorized;
    uint64_t requests;
    uint64_t api_requests;
    uint64_t events_expired;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t tls_rejected[WCOL_TLS_REJ_COUNT];
    uint64_t ingest_refused[WCOL_REFUSE_COUNT];
};

/* A newcomer accepted but not yet set up: no slot until a handshake stalls or ends. */
struct wcol_waiting {
    int fd; /* -1: none */
    struct sockaddr_storage ss;
};

/* Connections that have not authenticated yet, oldest first, and their sources. */
struct wcol_unauth {
    struct wcol_conn *head, *tail;
    unsigned count;
    unsigned max;
    struct wcol_srcmap srcs;
};

struct wcol_collector;
struct wcol_auth;
struct wcol_audit;

/* Called on SIGHUP before the CRL and the tokens are read again; non-zero keeps everything. */
typedef int (*wcol_reload_fn)(struct wcol_collector *c, void *user);

#define WCOL_RELOAD_HOOKS_MAX 8

struct wcol_collector {
    struct wcol_collector_config cfg;
    int epfd;
    int sigfd;
    int device_fd;
    int api_fd;
    char device_addr[64];
    char api_addr[64];
    struct wcol_ep ep_device, ep_api, ep_signal;
    struct wcol_tls *tls; /* tls/tls.h */
    struct wcol_store store;
    struct wcol_fleet fleet;
    struct wcol_tokens tokens;
    struct wcol_timer_list timers[WCOL_TC_COUNT];
    unsigned timeout_ms[WCOL_TC_COUNT];
    struct wcol_bus bus;              /* after-commit subscribers */
    struct wcol_metrics metrics;      /* export/metrics.h, fed by the bus */
    struct wcol_group group;          /* requests waiting for the commit */
    struct wcol_incidents *incidents; /* incidents/incidents.h: engine, outbox, API */
    struct wcol_history *history;     /* history/hist.h: NULL when off */
    struct wcol_auth *auth;           /* auth/auth.h: accounts, sessions, API tokens */
    struct wcol_audit *audit;         /* audit/audit.h: the hash-chained audit log */
    struct wcol_sessions sessions;    /* dash/session.h: the dashboard's logins */
    struct wcol_streams *streams;     /* dash/stream.h: its event streams */
    struct wcol_devices *devices;     /* devices/devices.h: revocations, enrolment */
    wcol_request_fn on_request[2];    /* by enum wcol_conn_kind */
    struct wcol_conn *ready;          /* connections to look at again before sleeping */
    struct wcol_conn **ready_tail;
    struct wcol_conn *dead; /* closed in this pass, freed at its end */
    struct wcol_conn *all;  /* every open connection */
    unsigned n_device_conns;
    unsigned n_api_conns;
    unsigned parked;              /* connections whose TLS record buffers are parked (tls/park.h) */
    struct wcol_unauth unauth[2]; /* by enum wcol_conn_kind */
    struct wcol_waiting waiting[2];
    uint64_t uwarn_window;  /* start of the second of unauthenticated warnings (ms) */
    unsigned uwarn_count;   /* logged in it */
    uint64_t uwarn_dropped; /* not logged since the last line that said so */
    bool stopping;
    bool reload;
    uint64_t start_mono;
    int64_t start_wall_ms;
    uint64_t next_check;
    /* Group commits under load (server.c, pass()): when the last one began, and whether a
     * group waits for commit_interval_us to pass. */
    uint64_t last_commit_us;
    bool commit_waiting;
    struct wcol_retention retention; /* server/retention.h */
    struct wcol_collector_stats stats;
    char *scratch; /* decoder scratch (strings of one request) */
    size_t scratch_cap;
    struct ward_ingest_batch batch; /* the request being decoded */
    int lock_fd;                    /* STATE/lock, held while running (lifecycle.c) */
    bool ports_written;             /* STATE/ports is ours: removed on a clean stop */
    struct {
        wcol_reload_fn fn;
        void *user;
    } reload_hooks[WCOL_RELOAD_HOOKS_MAX];
    unsigned n_reload_hooks;
    /* backup/schedule.h, NULL: no scheduled backups */
    struct wcol_backup_schedule *backups;
    struct wcol_cluster *cluster; /* cluster/cluster.h: NULL with SQLite (always the leader) */
    /* inventory/inventory.h: inventory, changes, change windows, outdated agents */
    struct wcol_inventory *inventory;
    /* server/worker.h: the device loops (owner: NULL with --loops 1), or the loop this context
     * is (NULL on the owner) */
    struct wcol_loops *loops;
    struct wcol_loop *loop;
};

/* server.c */
int wcol_collector_open(struct wcol_collector *c, const struct wcol_collector_config *cfg);
int wcol_collector_run(struct wcol_collector *c);
/** Commit the open group now (server.c; the main loop): every commit restarts
 *  --commit-interval-us. */
void wcol_collector_commit(struct wcol_collector *c);
void wcol_collector_close(struct wcol_collector *c);

/* lifecycle.c */
/**
 * Take STATE/lock (flock): one collector per state directory.
 * @return 0, -EBUSY (another collector holds it; logged with its pid), other -errno.
 */
int wcol_state_lock(struct wcol_collector *c);
/** A clean stop: remove STATE/ports if this collector wrote it. */
void wcol_state_remove_ports(struct wcol_collector *c);
/**
 * Run fn(c, user) on every SIGHUP, in the order added, before the CRL and the tokens are read
 * again; a hook that returns non-zero stops the reload (it logs why).
 * @return 0, -ENOSPC (WCOL_RELOAD_HOOKS_MAX hooks already).
 */
int wcol_collector_on_reload(struct wcol_collector *c, wcol_reload_fn fn, void *user);
/** SIGHUP: the hooks, then the CRL and the operator tokens; logs what changed. */
void wcol_collector_reload(struct wcol_collector *c);

/* server.c, for the device loops (server/worker.c) */
int wcol_server_listen(const char *spec, char *bound, size_t bound_cap, bool reuseport);
int wcol_server_alloc_loop(struct wcol_collector *c);
void wcol_server_free_loop(struct wcol_collector *c);
int wcol_server_wait_timeout(struct wcol_collector *c, uint64_t now);
void wcol_server_run_ready(struct wcol_collector *c);
void wcol_server_free_dead(struct wcol_collector *c);
void wcol_server_close_all(struct wcol_collector *c);

/* server.c */
/** Close every device connection whose identity is now refused (CRL, device revocation);
 *  a request waiting for the commit is answered first. @return how many. */
unsigned wcol_collector_drop_refused(struct wcol_collector *c);

#endif /* WCOL_SERVER_COLLECTOR_H_ */
