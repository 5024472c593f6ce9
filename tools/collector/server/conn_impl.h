/*
 * A connection as the server loop and the connection state machine see it (private to
 * server/; handlers use server/conn.h). The only header of the collector with mbedTLS types
 * besides tls/.
 */
#ifndef WCOL_SERVER_CONN_IMPL_H_
#define WCOL_SERVER_CONN_IMPL_H_

#include <stdbool.h>
#include <stdint.h>

#include <mbedtls/ssl.h>

#include "http/http.h"
#include "server/collector.h"
#include "server/conn.h"
#include "tls/park.h"
#include "tls/tls.h"

struct wcol_xreq;

enum wcol_conn_state {
    WCOL_CS_PEEK = 0,    /* waiting for the first byte: TLS or something else */
    WCOL_CS_HANDSHAKE,   /* TLS handshake */
    WCOL_CS_READ,        /* reading a request (or idle between requests) */
    WCOL_CS_WAIT_COMMIT, /* in the commit group, answer held back */
    WCOL_CS_WRITE,       /* writing the response */
    WCOL_CS_LINGER,      /* response sent, write side shut, draining before close */
    WCOL_CS_STREAM,      /* an event stream: written to as events come (dash/stream.h) */
};

struct wcol_conn {
    struct wcol_ep ep;
    struct wcol_collector *c;
    struct wcol_conn *tprev, *tnext;
    uint64_t deadline;
    uint8_t tclass;
    uint8_t kind;
    uint8_t state;
    bool ssl_setup;
    bool close_after; /* close once the response is written */
    bool have_head;
    bool held; /* its answer waits for the group commit */
    int fd;
    mbedtls_ssl_context ssl;
    struct wcol_tls_park park; /* record buffers given back while idle */
    struct wcol_tls_peer peer;
    char addr[64];
    char *rbuf; /* request bytes (heap, freed while idle) */
    uint32_t rlen, rcap;
    struct wcol_http_request req;
    char *wbuf; /* response bytes */
    uint32_t wlen, woff;
    struct wcol_conn *knext;         /* next on the ready list */
    struct wcol_conn *dnext;         /* next on the dead list */
    struct wcol_conn *aprev, *anext; /* every open connection */
    bool kicked;
    bool authed; /* a device certificate, or an operator's valid token, was seen */
    struct wcol_src src;
    struct wcol_conn *uprev, *unext; /* the unauthenticated list of its kind */
    uint64_t progress_ms;            /* accepted, or its handshake last advanced (mono) */
    bool progressed;                 /* its handshake advanced at least once */
    bool doomed; /* close after the pending answer (its device was revoked meanwhile) */
    uint64_t requests;
    uint32_t drained;
    uint32_t wcap;       /* wbuf's size: kept between responses, freed when parked */
    bool proxy;          /* the owner's stand-in for a device loop's connection */
    struct wcol_xreq *x; /* proxy: the request it answers (server/worker.c) */
    uint32_t wpend;      /* length of a TLS write that would block: retried with the same length */
    wcol_conn_close_fn on_close; /* a stream's owner, told once when it closes */
    void *on_close_ctx;
    /* TLS bytes read ahead of what mbedTLS asked for (one recv() per record, not one for its
     * header and one for the rest): heap, freed with the record buffers when parked. */
    unsigned char *ra;
    uint16_t ra_off, ra_len;
    bool rdry; /* the socket's receive queue was empty at the last recv(); an event clears it */
};

void wcol_conn_accept(struct wcol_collector *c, int listen_fd, enum wcol_conn_kind kind);
void wcol_conn_event(struct wcol_conn *conn, uint32_t events);
void wcol_conn_expire(struct wcol_collector *c, uint64_t now);
void wcol_conn_close(struct wcol_conn *conn);
/** Look at the connection again in this loop pass (its readiness edge may have passed). */
void wcol_conn_kick(struct wcol_conn *conn);
/** Log how many unauthenticated-peer warnings the last second held back (called each tick). */
void wcol_conn_warn_flush(struct wcol_collector *c, uint64_t now);
void wcol_conn_timer(struct wcol_conn *conn, enum wcol_timer_class tc);
/** When a newcomer waiting for a slot may get one (monotonic ms; UINT64_MAX: none waits). */
uint64_t wcol_conn_admit_due(const struct wcol_collector *c);
/** Try the waiting newcomers again (a handshake ended, or the oldest one stalled). */
void wcol_conn_admit_waiting(struct wcol_collector *c);
/** Park the TLS record buffers of connections idle for a while (called each tick). */
void wcol_conn_park_idle(struct wcol_collector *c, uint64_t now);
/** Close the waiting newcomers (the collector stops). */
void wcol_conn_drop_waiting(struct wcol_collector *c);
/** Shed this loop's longest-stalled unauthenticated device connection from src (another
 *  loop has a newcomer of that source at --max-unauth-per-source). @return whether one was. */
bool wcol_conn_shed_for_source(struct wcol_collector *c, const struct wcol_src *src);
/** The owner answered a held connection: wlen bytes are in conn->wbuf; send them. */
void wcol_conn_send_prepared(struct wcol_conn *conn, uint32_t wlen, bool close_after);
/** A device loop's handler of device requests (server/worker.c). */
void wcol_loops_device_request(struct wcol_conn *conn, const char *body, size_t len);
/** The owner's handler of operator requests while device loops run (server/worker.c). */
void wcol_loops_api_request(struct wcol_conn *conn, const char *body, size_t len);

#endif /* WCOL_SERVER_CONN_IMPL_H_ */
