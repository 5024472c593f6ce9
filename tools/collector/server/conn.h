/*
 * What a request handler (ingest/, api/) sees of a connection: the request, who sent it,
 * how to answer, and how to hold the answer back until the group commit. The connection
 * itself (socket, TLS state, buffers) is private to server/ (server/conn_impl.h), so handlers
 * need no mbedTLS header.
 */
#ifndef WCOL_SERVER_CONN_H_
#define WCOL_SERVER_CONN_H_

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

struct wcol_conn;
struct wcol_collector;
struct wcol_ingest_pending;

struct wcol_collector *wcol_conn_collector(struct wcol_conn *conn);
const struct wcol_http_request *wcol_conn_request(const struct wcol_conn *conn);
/** "ADDR:PORT" of the peer. */
const char *wcol_conn_addr(const struct wcol_conn *conn);
/** Subject CN of the peer's verified client certificate ("" without one). */
const char *wcol_conn_peer_cn(const struct wcol_conn *conn);

/**
 * Queue a complete response; close_after ends the connection once it is written. A held
 * connection (wcol_conn_hold) keeps it until wcol_conn_resume().
 */
void wcol_conn_respond(struct wcol_conn *conn, int status, const char *body, size_t body_len,
                       const char *extra_headers, bool close_after);

/** wcol_conn_respond() with another Content-Type than application/json. */
void wcol_conn_respond_typed(struct wcol_conn *conn, int status, const char *content_type,
                             const char *body, size_t body_len, const char *extra_headers,
                             bool close_after);

/** wcol_conn_respond_typed() with a Cache-Control other than no-store (the dashboard's
 *  assets: "no-cache" with an ETag). extra_headers: whole lines, each ending in CRLF. */
void wcol_conn_respond_cached(struct wcol_conn *conn, int status, const char *content_type,
                              const char *cache_control, const char *body, size_t body_len,
                              const char *extra_headers, bool close_after);

/** wcol_conn_respond() of a string literal body: its length without the NUL. */
#define WCOL_CONN_RESPOND_LIT(conn, status, literal, extra, close_after)                           \
    wcol_conn_respond((conn), (status), "" literal, sizeof(literal) - 1, (extra), (close_after))

/** Respond {"error": reason} and close. */
void wcol_conn_error(struct wcol_conn *conn, int status, const char *reason);

/** Answer 405 "use METHOD" with its Allow header, and close. */
void wcol_conn_wrong_method(struct wcol_conn *conn, const char *allowed);

/** The peer proved who it is (an operator's valid token): the connection leaves the
 *  unauthenticated budget and is no longer shed for newcomers while it works. */
void wcol_conn_authenticated(struct wcol_conn *conn);

/** Hold the answer: the request joined the commit group; the connection reads nothing more and
 *  cannot be closed until wcol_conn_resume(). */

void wcol_conn_hold(struct wcol_conn *conn);

/** The commit is done: the connection answers again (call before responding). */
void wcol_conn_resume(struct wcol_conn *conn);

/** A decoded batch from this held-to-be connection joins the commit group: at once with one
 *  loop, through the owner's queue from a device loop (server/worker.h). */
void wcol_conn_submit(struct wcol_conn *conn, struct wcol_ingest_pending *p);
/* ---- streams (server-sent events, dash/stream.h) ---- */

typedef void (*wcol_conn_close_fn)(struct wcol_conn *conn, void *ctx);

/**
 * Make the connection a stream: head (a complete response head without Content-Length) goes
 * out now, then the connection stays open with no idle timeout, reads nothing but its peer's
 * close, and takes bytes from wcol_conn_stream_send(). on_close(conn, ctx) is called once
 * when it closes, whoever closes it (the peer, --write-timeout, the collector stopping).
 * @return 0, -ENOMEM (the connection is closed).
 */
int wcol_conn_stream_begin(struct wcol_conn *conn, const char *head, size_t len,
                           wcol_conn_close_fn on_close, void *ctx);

/**
 * Queue bytes on a stream; they are written in this loop pass. Never blocks: when the bytes
 * not yet taken by the peer would pass cap, nothing is queued.
 * @return 0, -ENOBUFS (over cap: a slow reader), -ENOMEM, -EPIPE (not a stream).
 */
int wcol_conn_stream_send(struct wcol_conn *conn, const char *data, size_t len, size_t cap);

/** Close a stream at once (its owner ends it). */
void wcol_conn_stream_end(struct wcol_conn *conn);

#endif /* WCOL_SERVER_CONN_H_ */
