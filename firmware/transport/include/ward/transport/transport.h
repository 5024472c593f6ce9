/*
 * The agent's reporting client: one keep-alive HTTPS connection to the collector, driven by
 * a non-blocking state machine and a clock in milliseconds.
 *
 *   DOWN --submit--> CONNECTING --tcp up--> HANDSHAKING --tls up--> UP (send, receive, idle)
 *     ^                  |                      |                    |
 *     |                  +------ failure or timeout ------------------+--> BACKOFF --delay--+
 *     +---- idle connection closed by the collector (no penalty) ----+                     |
 *     +------------------------------------------------------------------------------------+
 *
 * The caller owns every buffer, polls with the current time, and learns from
 * ward_transport_wants()/ward_transport_deadline() when to poll next. One request is in
 * flight at a time (the collector acknowledges per batch; pipelining would buy nothing on a
 * link where the round trip dominates). Reconnects wait a full-jitter exponential backoff.
 * A request that meets a keep-alive connection the collector had already closed is replayed
 * once on a new connection (the collector deduplicates on (device, boot id, sequence)).
 */
#ifndef WARD_TRANSPORT_TRANSPORT_H_
#define WARD_TRANSPORT_TRANSPORT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/transport/backoff.h"
#include "ward/transport/chan.h"
#include "ward/transport/http.h"
#include "ward/transport/net.h"

#define WARD_TRANSPORT_NO_DEADLINE UINT64_MAX

/** What the connection is doing, as reported to the on_link callback. */
enum ward_link {
    WARD_LINK_DOWN,
    WARD_LINK_CONNECTING,
    WARD_LINK_HANDSHAKING,
    WARD_LINK_UP,
    WARD_LINK_BACKOFF,
};

enum ward_transport_event {
    WARD_TRANSPORT_NONE,     /* nothing finished */
    WARD_TRANSPORT_RESPONSE, /* the request got a complete response (any status) */
    WARD_TRANSPORT_FAILED,   /* the request was not answered; nothing was acknowledged */
};

struct ward_transport_config {
    const char *host; /* the collector (name or address); also the HTTP Host */
    uint16_t port;
    const char *path; /* "/v1/ingest" */
    uint32_t connect_timeout_ms;
    uint32_t handshake_timeout_ms;
    uint32_t io_timeout_ms; /* no byte moved for this long while a request is out */
    uint32_t idle_close_ms; /* 0: keep an idle connection until the collector closes it */
    uint32_t backoff_min_ms;
    uint32_t backoff_max_ms;
    uint64_t seed; /* per agent (e.g. ward_backoff_seed(device id)) */
};

struct ward_transport_stats {
    uint32_t connects;         /* TCP connections started */
    uint32_t connect_failures; /* refused, unreachable, or timed out */
    uint32_t handshake_failures;
    uint32_t full_handshakes;
    uint32_t resumed_handshakes;
    uint32_t timeouts;        /* any phase */
    uint32_t requests;        /* submitted */
    uint32_t responses;       /* complete responses of any status */
    uint32_t http_errors;     /* responses outside 2xx */
    uint32_t protocol_errors; /* malformed responses */
    uint32_t replays;         /* requests resent after a stale keep-alive connection */
    uint32_t failures;        /* requests that ended WARD_TRANSPORT_FAILED */
    uint32_t peer_closes;     /* idle connections the collector closed */
};

enum ward_transport_phase {
    WARD_TP_IDLE,
    WARD_TP_BACKOFF,
    WARD_TP_CONNECTING,
    WARD_TP_HANDSHAKING,
    WARD_TP_READY,
    WARD_TP_SENDING,
    WARD_TP_RECEIVING,
};

struct ward_transport {
    struct ward_transport_config cfg;
    struct ward_net *net;
    struct ward_chan chan;
    enum ward_transport_phase phase;
    enum ward_link link;
    uint64_t deadline;      /* of the current phase, WARD_TRANSPORT_NO_DEADLINE when none */
    uint64_t last_activity; /* last byte in either direction */
    struct ward_backoff backoff;
    uint8_t *tx; /* caller's request buffer: head reserve, then the body */
    size_t tx_cap;
    size_t head_reserve;
    size_t req_off; /* request = tx[req_off, req_off + req_len) */
    size_t req_len;
    size_t req_sent;
    bool req_pending;
    bool req_on_reused; /* sent on a connection that had served a response before */
    bool req_got_bytes; /* any byte of the response arrived */
    bool conn_used;
    uint8_t replays;
    struct ward_http_resp resp;
    int last_error; /* negative errno of the last failure, 0 after a success */
    void (*on_link)(void *user, enum ward_link from, enum ward_link to, int err);
    void *user;
    struct ward_transport_stats stats;
};

/** Kconfig defaults for every timing field; host, port, path and seed are left empty. */
void ward_transport_config_defaults(struct ward_transport_config *cfg);

/**
 * @param tx    request buffer (HTTP head and the JSON body are sent as one TLS record
 *              when they fit in one)
 * @param rx    response body buffer
 * @return 0, -EINVAL for a missing argument, an unusable host/path, bad timings, or a tx
 *         buffer too small to hold the head and any body.
 */
int ward_transport_init(struct ward_transport *t, const struct ward_transport_config *cfg,
                        struct ward_net *net, struct ward_chan chan, uint8_t *tx, size_t tx_cap,
                        uint8_t *rx, size_t rx_cap);

/** Where the caller writes the next request body; *cap receives its size. */
uint8_t *ward_transport_body(struct ward_transport *t, size_t *cap);

/**
 * Send body_len bytes already written at ward_transport_body() as POST cfg->path.
 * Connects first when needed; waits out a running backoff.
 * @return 0, -EBUSY while another request is out, -EMSGSIZE when body_len exceeds the cap.
 */
int ward_transport_submit(struct ward_transport *t, size_t body_len, uint64_t now);

/** Advance. @return a ward_transport_event. */
enum ward_transport_event ward_transport_poll(struct ward_transport *t, uint64_t now);

/** After WARD_TRANSPORT_RESPONSE: the status and body (valid until the next submit). */
uint16_t ward_transport_response(const struct ward_transport *t, const uint8_t **body, size_t *len);

/** WARD_CHAN_WANT_* the socket should be polled for now (0: only the deadline matters). */
unsigned ward_transport_wants(const struct ward_transport *t);

/** When poll() must run next at the latest (now when the channel holds buffered data). */
uint64_t ward_transport_deadline(const struct ward_transport *t, uint64_t now);

/** True when a request is out (submitted and not yet answered or failed). */
bool ward_transport_busy(const struct ward_transport *t);

/** True when a submit now would go out without waiting for a backoff. */
bool ward_transport_can_send(const struct ward_transport *t, uint64_t now);

/** Close the connection (close_notify when it is up); a pending request fails. */
void ward_transport_shutdown(struct ward_transport *t);

const char *ward_link_name(enum ward_link link);

#endif /* WARD_TRANSPORT_TRANSPORT_H_ */
