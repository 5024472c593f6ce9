/*
 * The reporting loop: the one place that turns the agent's heartbeats, events and health
 * snapshots into ingest batches (ward/report.h), keeps the journal ahead of the wire
 * (ward/transport/outbox.h) and applies the collector's acknowledgements. Every application
 * drives it the same way, the Linux `ward-agent run` and a bare-metal board alike:
 *
 *   agent cfg.hooks.heartbeat = ward_uplink_on_heartbeat; cfg.hooks.user = &uplink;
 *   ward_uplink_init(&uplink, &cfg, &parts, now);          after start-up
 *   for (;;) { ward_uplink_step(&uplink, now); sleep until ward_uplink_next_wake(); }
 *   ward_uplink_stop(&uplink);                              journal synced, link closed
 *
 * Policy (knobs in Kconfig, CONFIG_WARD_UPLINK_*):
 * - A batch goes out when the heartbeat is due, or when new events or the next page of a
 *   health snapshot wait and the batch gap has passed since the last batch; and only when
 *   the transport can send now (no backoff, no request in flight).
 * - A backlog drains back to back: when an acknowledgement freed events and more are
 *   pending, the next batch goes as soon as the transport is free, paced by the acks alone
 *   (one request in flight), each as full as the request buffer or batch_events allows. An
 *   ack that frees nothing (or an error) ends that: the heartbeat or new events retry.
 *   Events go oldest first (seq order per boot; docs/protocol.md says why none may overtake
 *   another), and a snapshot waits until what is pending fits one batch.
 * - The first batch of every new connection carries every sticky heartbeat field
 *   (ward_report_sticky_reset()): the collector behind it may have restarted.
 * - A health snapshot goes with the first batch, after new events (once a backlog has
 *   drained), and every health_every batches; a cycle spans as many batches as it has
 *   pages, one per batch gap.
 * - What a batch carries is durable before it is sent, and a new event is durable at most
 *   sync_delay_ms after it was recorded.
 *
 * The caller owns the struct (statically allocated) and passes the time in; the loop never
 * allocates and includes no OS header.
 */
#ifndef WARD_TRANSPORT_UPLINK_H_
#define WARD_TRANSPORT_UPLINK_H_

#include <stdbool.h>
#include <stdint.h>

#include "ward/agent.h"
#include "ward/base/json_arena.h"
#include "ward/transport/outbox.h"
#include "ward/transport/transport.h"

struct ward_uplink_config {
    uint32_t batch_gap_ms;  /* least time between batches that events or pages alone cause */
    uint32_t sync_delay_ms; /* a new event is on disk at most this long after it */
    uint32_t health_every;  /* batches between health snapshot cycles (>= 1) */
    uint32_t batch_events;  /* most events per batch (>= 1) */
};

/** The parts the loop drives; all owned by the caller and set up before ward_uplink_init(). */
struct ward_uplink_parts {
    struct ward_agent *agent;
    struct ward_outbox *outbox;
    struct ward_transport *tp;
    struct ward_json_arena *arena;
};

/** What went wrong, for the caller's one-line report (err: a negative errno). */
enum ward_uplink_fault {
    WARD_UPLINK_BUILD_FAILED,   /* the batch could not be built; retried after the gap */
    WARD_UPLINK_CAPTURE_FAILED, /* events could not be written to the journal */
    WARD_UPLINK_SYNC_FAILED,    /* the journal could not be made durable */
    WARD_UPLINK_BAD_ACK,        /* a malformed acknowledgement; nothing freed */
};

struct ward_uplink_stats {
    uint32_t batches;        /* submitted to the transport */
    uint32_t acks;           /* acknowledgements applied */
    uint32_t bad_acks;       /* acknowledgements refused */
    uint32_t build_errors;   /* batches that could not be built */
    uint32_t capture_errors; /* journal writes that failed */
    uint32_t sync_errors;    /* journal syncs that failed */
};

/* Fields private. */
struct ward_uplink {
    struct ward_uplink_config cfg;
    struct ward_uplink_parts p;
    int64_t last_send_ms;
    int64_t sync_at_ms;       /* INT64_MAX: nothing to sync */
    uint32_t sticky_connects; /* tp->stats.connects when the last batch was built */
    bool hb_due;
    bool events_new;
    bool health_due;
    bool pages_left; /* a snapshot cycle is under way: its next page follows the batch gap */
    bool draining;   /* an ack freed events and more are pending: the next batch goes at once */
    /** Called once per fault; may be NULL. */
    void (*on_fault)(void *user, enum ward_uplink_fault fault, int err);
    /** Called with each acknowledgement once it has been applied (requests the collector
     *  adds to it, such as a drill); may be NULL. */
    void (*on_ack)(void *user, const char *body, size_t len);
    void *user;
    struct ward_uplink_stats stats;
};

/** Kconfig's values (CONFIG_WARD_UPLINK_*). */
void ward_uplink_config_defaults(struct ward_uplink_config *cfg);

/**
 * Start the loop at now_ms: the first batch (heartbeat and snapshot) goes out at once.
 * cfg NULL: Kconfig's values (ward_uplink_config_defaults()).
 * @return 0, -EINVAL for a missing part or a zero health_every/batch_events.
 */
int ward_uplink_init(struct ward_uplink *u, const struct ward_uplink_config *cfg,
                     const struct ward_uplink_parts *parts, int64_t now_ms);

/** The agent's heartbeat hook (struct ward_agent_hooks): user is the struct ward_uplink. */
void ward_uplink_on_heartbeat(struct ward_agent *agent, int64_t now_ms, void *user);

/**
 * One pass: poll the agent, journal its new events, send a batch when one is due, advance
 * the transport and apply a response's acknowledgement, sync the journal when due.
 */
void ward_uplink_step(struct ward_uplink *u, int64_t now_ms);

/**
 * When ward_uplink_step() must run next at the latest: the agent's next sample, the
 * transport's deadline, the batch gap when events or pages wait, the journal's sync.
 * Socket readiness (ward_transport_wants()) may wake the caller earlier.
 */
int64_t ward_uplink_next_wake(const struct ward_uplink *u, int64_t now_ms);

/** End: journal the last events, sync, and close the connection (close_notify). */
void ward_uplink_stop(struct ward_uplink *u);

#endif /* WARD_TRANSPORT_UPLINK_H_ */
