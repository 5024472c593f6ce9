/*
 * The reporting loop (ward/transport/uplink.h). Read bottom-up: ward_uplink_step() polls the
 * agent, captures, sends (maybe_send), then lets the transport run and answers a response.
 */
#include "ward/transport/uplink.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward/report.h"
#include "ward/sched.h"
#include "ward/transport/config.h"

void ward_uplink_config_defaults(struct ward_uplink_config *cfg)
{
    cfg->batch_gap_ms = WARD_UPLINK_BATCH_GAP_MS;
    cfg->sync_delay_ms = WARD_UPLINK_SYNC_DELAY_MS;
    cfg->health_every = WARD_UPLINK_HEALTH_EVERY;
    cfg->batch_events = WARD_UPLINK_BATCH_EVENTS;
}

int ward_uplink_init(struct ward_uplink *u, const struct ward_uplink_config *cfg,
                     const struct ward_uplink_parts *parts, int64_t now_ms)
{
    struct ward_uplink_config defaults;

    if (cfg == NULL) {
        ward_uplink_config_defaults(&defaults);
        cfg = &defaults;
    }
    if (u == NULL || parts == NULL || parts->agent == NULL || parts->outbox == NULL ||
        parts->tp == NULL || parts->arena == NULL || cfg->health_every == 0 ||
        cfg->batch_events == 0) {
        return -EINVAL;
    }
    memset(u, 0, sizeof(*u));
    u->cfg = *cfg;
    u->p = *parts;
    u->sync_at_ms = INT64_MAX;
    u->health_due = true;
    u->hb_due = true; /* the collector hears of this agent at once, not an interval later */
    ward_report_delta_pages(parts->agent, IS_ENABLED(CONFIG_WARD_REPORT_DELTA));
    ward_report_severity_first(parts->agent, true); /* acknowledged by the outbox's ack_sent */
    u->last_send_ms = now_ms - (int64_t)cfg->batch_gap_ms;
    return 0;
}

void ward_uplink_on_heartbeat(struct ward_agent *agent, int64_t now_ms, void *user)
{
    (void)agent;
    (void)now_ms;
    ((struct ward_uplink *)user)->hb_due = true;
}

static void fault(struct ward_uplink *u, enum ward_uplink_fault f, int err)
{
    if (u->on_fault != NULL) {
        u->on_fault(u->user, f, err);
    }
}

static void sync_journal(struct ward_uplink *u)
{
    int rc = ward_outbox_sync(u->p.outbox);

    if (rc != 0) {
        u->stats.sync_errors++;
        fault(u, WARD_UPLINK_SYNC_FAILED, rc);
    }
    u->sync_at_ms = INT64_MAX;
}

static void capture(struct ward_uplink *u, int64_t now)
{
    int rc = ward_outbox_capture(u->p.outbox, u->p.agent);

    if (rc > 0) {
        u->events_new = true;
        u->health_due = true;
        if (u->sync_at_ms == INT64_MAX) {
            u->sync_at_ms = now + (int64_t)u->cfg.sync_delay_ms;
        }
    } else if (rc < 0) {
        u->stats.capture_errors++;
        fault(u, WARD_UPLINK_CAPTURE_FAILED, rc);
    }
}

static bool events_wait(const struct ward_uplink *u)
{
    return u->events_new || u->pages_left;
}

/* When the next batch may go: at once while a backlog drains, else after the batch gap. */
static int64_t send_at(const struct ward_uplink *u, int64_t now)
{
    return u->draining ? now : u->last_send_ms + (int64_t)u->cfg.batch_gap_ms;
}

/*
 * A new connection may reach a collector that lost the sticky heartbeat fields (restarted,
 * or another instance): the first batch on it carries them all.
 */
static void sticky_for_new_connection(struct ward_uplink *u)
{
    const struct ward_transport *tp = u->p.tp;
    bool down = tp->phase != WARD_TP_READY;

    if (down || tp->stats.connects != u->sticky_connects) {
        ward_report_sticky_reset(u->p.agent);
        /* Built while down: it opens the next connection (counted when it connects). */
        u->sticky_connects = tp->stats.connects + (down ? 1u : 0u);
    }
}

static void after_submit(struct ward_uplink *u, int64_t now)
{
    u->stats.batches++;
    u->hb_due = false;
    u->events_new = false;
    u->draining = false; /* until this batch's acknowledgement shows progress */
    /* A snapshot cycle spans as many batches as it has pages (ward_report_batch()): the
     * next page goes after the batch gap, not a heartbeat interval later. */
    u->pages_left = u->health_due && !ward_report_health_done(u->p.agent);
    u->health_due = u->pages_left || u->stats.batches % u->cfg.health_every == 0;
    u->last_send_ms = now;
}

/* Build a batch (heartbeat, pending events, sometimes a health snapshot page) and send it. */
static void maybe_send(struct ward_uplink *u, int64_t now)
{
    bool events = (events_wait(u) || u->draining) && now >= send_at(u, now);
    /* A backlog goes first: the snapshot follows once what is pending fits one batch. */
    bool health = u->health_due && !u->draining &&
                  ward_evlog_pending(&u->p.agent->log) <= u->cfg.batch_events;
    unsigned n = 0;
    size_t cap;
    uint8_t *body;
    int len;

    if (!(u->hb_due || events) || !ward_transport_can_send(u->p.tp, (uint64_t)now)) {
        return;
    }
    sticky_for_new_connection(u);
    body = ward_transport_body(u->p.tp, &cap);
    len = ward_report_batch(u->p.agent, now, 0, u->cfg.batch_events, health, u->p.arena,
                            (char *)body, cap, &n);
    if (len < 0) {
        u->stats.build_errors++;
        fault(u, WARD_UPLINK_BUILD_FAILED, len);
        u->hb_due = false;
        u->last_send_ms = now; /* the next try waits the batch gap: no busy loop */
        return;
    }
    /* What is about to be sent is on disk first: an ack can never outrun the journal. */
    sync_journal(u);
    if (ward_transport_submit(u->p.tp, (size_t)len, (uint64_t)now) == 0) {
        after_submit(u, now);
    }
}

static void handle_response(struct ward_uplink *u)
{
    const uint8_t *body;
    size_t len;
    uint16_t status = ward_transport_response(u->p.tp, &body, &len);
    int rc;

    if (status < 200 || status > 299) {
        return; /* the transport backs off and reports it (on_link) */
    }
    rc = ward_outbox_apply_ack(u->p.outbox, u->p.agent, (const char *)body, len);
    if (rc < 0) {
        u->stats.bad_acks++;
        fault(u, WARD_UPLINK_BAD_ACK, rc);
        return;
    }
    u->stats.acks++;
    if (u->on_ack != NULL) {
        u->on_ack(u->user, (const char *)body, len);
    }
    /* Progress and more pending: the next batch goes as soon as the transport is free. */
    u->draining = rc > 0 && ward_evlog_pending(&u->p.agent->log) > 0;
}

void ward_uplink_step(struct ward_uplink *u, int64_t now_ms)
{
    enum ward_transport_event ev;

    (void)ward_agent_poll(u->p.agent, now_ms);
    capture(u, now_ms);
    maybe_send(u, now_ms);
    ev = ward_transport_poll(u->p.tp, (uint64_t)now_ms);
    if (ev == WARD_TRANSPORT_RESPONSE) {
        handle_response(u);
    }
    if (ev != WARD_TRANSPORT_NONE) {
        maybe_send(u, now_ms); /* a heartbeat may have waited for the request in flight */
        (void)ward_transport_poll(u->p.tp, (uint64_t)now_ms);
    }
    if (now_ms >= u->sync_at_ms) {
        sync_journal(u);
    }
}

int64_t ward_uplink_next_wake(const struct ward_uplink *u, int64_t now_ms)
{
    int64_t next = ward_sched_next_due(&u->p.agent->sched);
    int64_t gap_end = send_at(u, now_ms);
    uint64_t td = ward_transport_deadline(u->p.tp, (uint64_t)now_ms);

    if (td != WARD_TRANSPORT_NO_DEADLINE && (int64_t)td < next) {
        next = (int64_t)td;
    }
    /* New events (and a snapshot's next page) go out after the batch gap, but only if the
     * transport can take them now: during a backoff its deadline (above) is the wake-up, and
     * a request in flight wakes the caller with its response. */
    if ((events_wait(u) || u->draining) && ward_transport_can_send(u->p.tp, (uint64_t)now_ms) &&
        gap_end < next) {
        next = gap_end;
    }
    return u->sync_at_ms < next ? u->sync_at_ms : next;
}

void ward_uplink_stop(struct ward_uplink *u)
{
    int rc = ward_outbox_capture(u->p.outbox, u->p.agent);

    if (rc < 0) {
        u->stats.capture_errors++;
        fault(u, WARD_UPLINK_CAPTURE_FAILED, rc);
    }
    sync_journal(u);
    ward_transport_shutdown(u->p.tp);
}
