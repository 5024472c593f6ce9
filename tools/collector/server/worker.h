/*
 * Device-port event loops on every core (--loops N, issue 17; docs/collector.md "Event loops").
 *
 * With --loops 1 the collector is one thread: the main loop (server.c) accepts device and
 * operator connections and owns everything. With N > 1, N loop threads each own a
 * SO_REUSEPORT listener on the device port and the connections the kernel hands it: accept,
 * TLS (an mbedTLS context per connection, a per-loop copy of the read-only ssl_config with its
 * own ticket context), HTTP, and decoding and checking the ingest document. A decoded batch
 * goes to the one owner of state, the main loop, through a queue and an eventfd; the owner
 * adds it to its group commit and, after the commit, hands the acknowledgement's bytes back
 * to the loop that holds the connection (a queue and an eventfd of that loop). Acks still
 * leave only after the commit.
 *
 * What a loop shares with the owner, and how (no data races: tested under -fsanitize=thread):
 *  - the queues: a mutex each; a request is in flight at most once per connection (the
 *    connection reads nothing more while it is held), so the queues are bounded by the
 *    connection pools;
 *  - the CRL and the device revocations: read under tls/tls.h's refused lock in the verify
 *    and ticket callbacks, swapped under it by the owner;
 *  - ticket keys: tls/ticket.c locks around encryption, decryption and rotation;
 *  - the mbedTLS RNG and PSA key store: mbedTLS's own locks (MBEDTLS_THREADING_PTHREAD);
 *  - counters and gauges: each loop publishes its own under its mutex once per pass; the
 *    owner adds what changed to its own before it answers an operator and every tick;
 *  - everything else (storage, fleet, incidents, audit, devices, API) is the owner's only:
 *    a request other than POST /v1/ingest (certificate renewal) and every audit entry are
 *    handed to the owner whole.
 * Budgets (connections, unauthenticated connections) are divided among the loops, each loop
 * enforcing its share (rounded up) on the connections it owns; the per-source count is kept
 * over all loops (a map under a lock, touched once per accept and per handshake's end).
 */
#ifndef WCOL_SERVER_WORKER_H_
#define WCOL_SERVER_WORKER_H_

#include <stdbool.h>
#include <stddef.h>

#include <mbedtls/ssl.h>

#include "tls/ticket.h"

struct wcol_collector;
struct wcol_conn;
struct wcol_ingest_pending;

/** How many loops --loops N (0: one per online core) means here; at most WCOL_LOOPS_MAX. */
#define WCOL_LOOPS_MAX 64u
unsigned wcol_loops_resolve(unsigned configured);

/**
 * Open the device listeners of c->cfg.loops loops (no thread yet) and fill c->device_addr.
 * @return 0, -errno (logged).
 */
int wcol_loops_open(struct wcol_collector *c);

/** Start the loop threads (after privileges are dropped). @return 0, -errno (logged). */
int wcol_loops_start(struct wcol_collector *c);

/** The owner's wake-up fired: take the loops' requests and audit entries. */
void wcol_loops_drain(struct wcol_collector *c);

/** Hand the answers made in this pass to their loops (end of the owner's pass). */
void wcol_loops_flush(struct wcol_collector *c);

/** Add what the loops counted since the last call to c's counters and gauges. */
void wcol_loops_fold(struct wcol_collector *c);

/** Tell every loop to close connections whose identity is now refused. */
void wcol_loops_recheck_refused(struct wcol_collector *c);

/** Stop the loops: they stop accepting, their requests in flight are committed and answered,
 *  they close their connections and end; joined here. */
void wcol_loops_stop(struct wcol_collector *c);

/** Free what wcol_loops_open() made (after wcol_loops_stop()). */
void wcol_loops_free(struct wcol_collector *c);

/* Used by server/conn.c. */

/** The ssl_config and ticket context for a connection of kind on c (a loop's own copy). */
const mbedtls_ssl_config *wcol_loops_conf(struct wcol_collector *c, int kind);
struct wcol_ticket_ctx *wcol_loops_tickets(struct wcol_collector *c, int kind);

/** An audit entry for a refused device handshake: the owner writes it. */
void wcol_loops_device_refused(struct wcol_collector *c, const char *source, const char *cn,
                               const char *reason);

/** Unauthenticated connections per source address: on a loop, counted over every loop (a
 *  map under a lock); else the context's own map. */
struct wcol_src;
void wcol_loops_src_add(struct wcol_collector *c, int kind, const struct wcol_src *src);
void wcol_loops_src_remove(struct wcol_collector *c, int kind, const struct wcol_src *src);
unsigned wcol_loops_src_count(struct wcol_collector *c, int kind, const struct wcol_src *src);
/** A newcomer from src waits on this loop with none of src's connections stalled here: ask the
 *  other loops to shed their longest-stalled one of src, and to wake this loop when they do. */
void wcol_loops_ask_shed(struct wcol_collector *c, const struct wcol_src *src);

/** A decoded batch: to the owner's commit group (from a loop), or into it (one loop). */
void wcol_loops_submit(struct wcol_conn *conn, struct wcol_ingest_pending *p);

/** A proxy connection on the owner answered: hand the bytes to the loop that holds the real
 *  connection. head/body are copied. */
void wcol_loops_answer(struct wcol_conn *proxy, const char *head, size_t head_len, const char *body,
                       size_t body_len, bool close_after);

#endif /* WCOL_SERVER_WORKER_H_ */
