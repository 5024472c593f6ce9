/*
 * ward-collector internals: the process context, connections and the pieces that share
 * them (server loop, connection state machine, ingest, operator API).
 *
 * One thread, one epoll instance (edge-triggered), no blocking call on the hot path except
 * the storage commit, which is batched: every request that completes in one pass of the
 * loop joins one transaction, and none is answered before it committed (group commit).
 */
#ifndef WARD_TOOLS_COLLECTOR_COLLECTOR_H_
#define WARD_TOOLS_COLLECTOR_COLLECTOR_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ssl.h>

#include "fleet.h"
#include "http.h"
#include "ward/wire/decode.h"
#include "log.h"
#include "store.h"
#include "tls.h"
#include "tokens.h"

#define WARD_COLLECTOR_VERSION "0.1.0"

struct ward_collector_config {
    const char *listen;     /* device listener, "ADDR:PORT" (port 0: any free port) */
    const char *api_listen; /* operator API listener */
    const char *state_dir;  /* database, ticket keys, ports file */
    const char *db_path;
    const char *tokens_path;
    struct ward_tls_paths tls;
    unsigned max_conns;     /* device connections */
    unsigned max_api_conns; /* operator connections */
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
    unsigned busy_timeout_ms;     /* storage lock wait */
    unsigned max_events;          /* per request */
    uint64_t retention_ms;        /* events older than this are deleted (0: keep all) */
};

enum ward_ep_type {
    WARD_EP_CONN = 1,
    WARD_EP_LISTEN_DEVICE,
    WARD_EP_LISTEN_API,
    WARD_EP_SIGNAL,
};

struct ward_ep {
    uint8_t type;
};

enum ward_conn_kind {
    WARD_CONN_DEVICE = 0,
    WARD_CONN_API = 1,
};

enum ward_conn_state {
    WARD_CS_PEEK = 0,    /* waiting for the first byte: TLS or something else */
    WARD_CS_HANDSHAKE,   /* TLS handshake */
    WARD_CS_READ,        /* reading a request (or idle between requests) */
    WARD_CS_WAIT_COMMIT, /* staged in the open transaction, answer held back */
    WARD_CS_WRITE,       /* writing the response */
    WARD_CS_LINGER,      /* response sent, write side shut, draining before close */
};

enum ward_timer_class {
    WARD_TC_HANDSHAKE = 0,
    WARD_TC_IDLE,
    WARD_TC_REQUEST,
    WARD_TC_WRITE,
    WARD_TC_LINGER,
    WARD_TC_COUNT,
    WARD_TC_NONE = WARD_TC_COUNT,
};

/* Every connection in a timer class has the same timeout, so each list is in deadline order. */
struct ward_timer_list {
    struct ward_conn *head;
    struct ward_conn *tail;
};

#define WARD_ACK_MAX 8 /* boots per request: the agent keeps at most a few */

/* A request staged in the open transaction: what to do once it committed. */
struct ward_pending {
    struct ward_fleet_report report;
    struct ward_ingest_ack acks[WARD_ACK_MAX];
    unsigned n_acks;
    uint32_t stored;
    uint32_t duplicates;
};

struct ward_conn {
    struct ward_ep ep;
    struct ward_collector *c;
    struct ward_conn *tprev, *tnext;
    uint64_t deadline;
    uint8_t tclass;
    uint8_t kind;
    uint8_t state;
    bool ssl_setup;
    bool close_after; /* close once the response is written */
    bool have_head;
    bool in_group;
    int fd;
    mbedtls_ssl_context ssl;
    struct ward_tls_peer peer;
    char addr[64];
    char *rbuf; /* request bytes (heap, freed while idle) */
    uint32_t rlen, rcap;
    struct ward_http_request req;
    char *wbuf; /* response bytes */
    uint32_t wlen, woff;
    struct ward_pending *pending;
    struct ward_conn *gnext;         /* next in the commit group */
    struct ward_conn *knext;         /* next on the ready list */
    struct ward_conn *dnext;         /* next on the dead list */
    struct ward_conn *aprev, *anext; /* every open connection */
    bool kicked;
    bool doomed; /* close after the pending answer (its device was revoked meanwhile) */
    uint64_t requests;
    uint32_t drained;
};

struct ward_collector_stats {
    uint64_t accepted;
    uint64_t refused_capacity;
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
    uint64_t events_stored;
    uint64_t events_duplicate;
    uint64_t commits;
    uint64_t commit_failures;
    uint64_t stage_failures;
    uint64_t commit_us_last;
    uint64_t commit_us_max;
    uint64_t events_expired;
    uint64_t bytes_in;
    uint64_t bytes_out;
};

struct ward_collector {
    struct ward_collector_config cfg;
    int epfd;
    int sigfd;
    int device_fd;
    int api_fd;
    char device_addr[64];
    char api_addr[64];
    struct ward_ep ep_device, ep_api, ep_signal;
    struct ward_tls tls;
    struct ward_store store;
    struct ward_fleet fleet;
    struct ward_tokens tokens;
    struct ward_timer_list timers[WARD_TC_COUNT];
    unsigned timeout_ms[WARD_TC_COUNT];
    struct ward_conn *group; /* requests waiting for the commit */
    struct ward_conn **group_tail;
    unsigned group_n;
    bool txn_open;
    struct ward_conn *ready; /* connections to look at again before sleeping */
    struct ward_conn **ready_tail;
    struct ward_conn *dead; /* closed in this pass, freed at its end */
    struct ward_conn *all;  /* every open connection */
    unsigned n_device_conns;
    unsigned n_api_conns;
    bool stopping;
    bool reload;
    uint64_t start_mono;
    int64_t start_wall_ms;
    uint64_t next_check;
    uint64_t next_retention;
    struct ward_collector_stats stats;
    char *scratch; /* decoder scratch (strings of one request) */
    size_t scratch_cap;
    struct ward_ingest_batch batch; /* the request being decoded */
};

/* Clocks in milliseconds. */
uint64_t ward_now_mono(void);
int64_t ward_now_wall_ms(void);

/* server.c */
int ward_collector_open(struct ward_collector *c, const struct ward_collector_config *cfg);
int ward_collector_run(struct ward_collector *c);
void ward_collector_close(struct ward_collector *c);
/** Close the open transaction and answer every request in it. */
void ward_collector_commit(struct ward_collector *c);

/* conn.c */
void ward_conn_accept(struct ward_collector *c, int listen_fd, enum ward_conn_kind kind);
void ward_conn_event(struct ward_conn *conn, uint32_t events);
void ward_conn_expire(struct ward_collector *c, uint64_t now);
void ward_conn_close(struct ward_conn *conn);
/** Look at the connection again in this loop pass (its readiness edge may have passed). */
void ward_conn_kick(struct ward_conn *conn);
void ward_conn_timer(struct ward_conn *conn, enum ward_timer_class tc);
/** Queue a complete response; close_after ends the connection once it is written. */
void ward_conn_respond(struct ward_conn *conn, int status, const char *body, size_t body_len,
                       const char *extra_headers, bool close_after);
/** Respond {"error": reason} and close. */
void ward_conn_error(struct ward_conn *conn, int status, const char *reason);
/** Start writing a response that was held back (after the commit). */
void ward_conn_send(struct ward_conn *conn);

/* ingest.c: a complete POST /v1/ingest on a device connection. */
void ward_ingest_request(struct ward_conn *conn, const char *body, size_t len);
/** After the commit: answer a staged request (ok: 200 with its acks; else 503). */
void ward_ingest_finish(struct ward_conn *conn, bool committed);

/* api.c: a complete request on an operator connection. */
void ward_api_request(struct ward_conn *conn, const char *body, size_t len);

#endif /* WARD_TOOLS_COLLECTOR_COLLECTOR_H_ */
