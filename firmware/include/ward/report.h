/*
 * The agent's JSON documents (docs/protocol.md, schemas in docs/schemas/): heartbeat,
 * health snapshot, event, the ingest batch that carries them, and the collector's
 * acknowledgement. This is the agent's policy (what goes in a batch, paging, sticky fields,
 * the health cursor); the bytes are the wire codec's (firmware/wire, the ward/wire headers), which
 * the collector shares.
 *
 * Built with cJSON on a caller's fixed arena (ward/base/json_arena.h) and printed into the
 * caller's buffer: nothing touches the heap. Every number is an integer printed exactly
 * (ward/base/fmt.h, cJSON raw values), so no board needs float printf. Keys and fixed strings
 * are referenced, not copied, to keep arena use small.
 *
 * The ward_report_*() functions enter and leave the arena themselves and return the
 * printed length, or -EINVAL, -ENOMEM (the arena is too small: raise
 * CONFIG_WARD_JSON_ARENA_SIZE), -ENOSPC (the buffer is too small).
 */
#ifndef WARD_REPORT_H_
#define WARD_REPORT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/agent.h"
#include "ward/base/json_arena.h"
#include "ward/wire/ack.h"
#include "ward/wire/boot.h"
#include "ward/wire/protocol.h"

/**
 * Heartbeat document, always with every sticky field; numbers it (the agent's heartbeat
 * sequence grows by one).
 */
int ward_report_heartbeat(struct ward_agent *a, int64_t now_ms, struct ward_json_arena *arena,
                          char *buf, size_t len);

/** Health snapshot of sensors [first, first + max) (max 0: all). */
int ward_report_health(struct ward_agent *a, int64_t now_ms, unsigned first, unsigned max,
                       struct ward_json_arena *arena, char *buf, size_t len);

/** One event as the protocol's event object. */
int ward_report_event(struct ward_agent *a, const struct ward_event *ev,
                      struct ward_json_arena *arena, char *buf, size_t len);

/**
 * An ingest batch: a heartbeat, pending events from index `from` (the oldest, or severity
 * first: ward_report_severity_first(); in the log's order either way, so no event overtakes
 * an older one of its sensor, docs/protocol.md), as many as the buffer holds, at most
 * max_events, and optionally a page of the
 * health snapshot. The heartbeat is full (every sticky field, docs/protocol.md) the first
 * time, after ward_report_sticky_reset() and whenever a sticky value changed; compact
 * otherwise.
 *
 * Events are built and printed one at a time after the heartbeat and the page, so the arena
 * holds one event's tree at a time and only the buffer bounds a batch: it is filled to within
 * one event of its end.
 *
 * With with_health, the page starts at the agent's cursor and holds every sensor left in
 * the cycle, halved until the batch fits the arena and the buffer. When it does not fit,
 * in this order: the page halves down to one sensor (while any event asked for is left out),
 * then events are left out (as many as do not fit), then the page is left out if not even
 * one event fits beside it: the heartbeat always goes. The cursor advances when the batch is
 * built (not acknowledged): a lost batch only delays that page to the next cycle, the
 * snapshot being state, not events. ward_report_health_done() says whether this batch
 * carried the last page of the cycle.
 * @param n_events  receives how many events went in (the transport acks them later)
 */
int ward_report_batch(struct ward_agent *a, int64_t now_ms, unsigned from, unsigned max_events,
                      bool with_health, struct ward_json_arena *arena, char *buf, size_t len,
                      unsigned *n_events);

/**
 * Delta snapshot cycles (docs/protocol.md, "Delta pages"): when on, a cycle after a full
 * one lists only the sensors that changed since they last went out (their state, severity,
 * reason, or a value past its dead band: CONFIG_WARD_REPORT_DEADBAND_*), its pages marked
 * "delta": true, and a cycle where nothing changed sends no page at all; a full cycle goes
 * after ward_report_sticky_reset() (a new connection) and every CONFIG_WARD_REPORT_FULL_EVERY_S.
 * Off (the default of a new agent), every cycle is full. The reporting loop turns it on
 * when CONFIG_WARD_REPORT_DELTA is set.
 */
void ward_report_delta_pages(struct ward_agent *a, bool on);

/**
 * Severity-first batches (docs/protocol.md, "Backlog"): when on, a batch takes the pending
 * events of the highest severity first, each with every older pending event of its own
 * sensor (a sensor's transitions never overtake each other), then the oldest of the rest;
 * they go in the log's order. Such a batch need not hold the oldest pending events, so its
 * acknowledgement must free only what it carried: every event of the batch last built is
 * marked WARD_EVENT_SENT, and the transport acknowledges with ward_evlog_ack_sent() (the
 * outbox does). Off (the default of a new agent), a batch holds the oldest pending events
 * and ward_report_apply_ack()'s watermark frees them. The reporting loop turns it on.
 */
void ward_report_severity_first(struct ward_agent *a, bool on);

/**
 * Whether the last batch built carried the last page of a health snapshot cycle (every
 * sensor went out since the cycle began at sensor 0). False after a batch without health
 * or whose page was left out. Keep asking for health until it is true.
 */
bool ward_report_health_done(const struct ward_agent *a);

/**
 * Make the next batch's heartbeat full: call it whenever the receiver may have lost the
 * sticky values, i.e. before the first request of every new connection.
 */
void ward_report_sticky_reset(struct ward_agent *a);

/**
 * The collector acknowledged the last batch built (a valid acknowledgement answered it, so
 * its heartbeat is stored): compact heartbeats leave out the health summary while it stays
 * the one that batch carried (docs/protocol.md). ward_report_apply_ack() and
 * ward_outbox_apply_ack() call it; ward_report_sticky_reset() forgets it.
 */
void ward_report_batch_acked(struct ward_agent *a);

/** Called for each (boot id, highest durably stored seq) pair of an acknowledgement. */
typedef ward_wire_ack_fn ward_ack_fn;

/**
 * Parse a collector acknowledgement, {"v":1,"acks":[{"boot":"<hex>","seq":N},...]}: the
 * wire codec's reader, ward_wire_ack_each() (ward/wire/ack.h), which calls fn for each pair
 * only once the whole document has proved valid. The one grammar of the ack: the core and
 * the transport's journal (ward_ack_parse()) both go through it.
 * @return the number of pairs, -EPROTO/-EINVAL/-ERANGE for a malformed document.
 */
int ward_report_ack_each(const char *text, size_t len, ward_ack_fn fn, void *ctx);

/**
 * Apply a collector acknowledgement (ward_report_ack_each()) to the event log.
 * Unknown boot ids are ignored (already freed). Never allocates (ward/base/jscan.h).
 * @return events freed (>= 0), -EPROTO/-EINVAL/-ERANGE for a malformed document (nothing
 *         is freed then).
 */
int ward_report_apply_ack(struct ward_agent *a, const char *text, size_t len);

/**
 * One `ward-agent replay` output line (no newline):
 * {"t_ms":..,"seq":..,"sensor":..,"from":..,"to":..,"severity":..,"value":..}
 * with "value":null for a reading without value and "reason" after it when there is one.
 */
int ward_report_replay_line(struct ward_agent *a, const struct ward_event *ev,
                            struct ward_json_arena *arena, char *buf, size_t len);

#endif /* WARD_REPORT_H_ */
