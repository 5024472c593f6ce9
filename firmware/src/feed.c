/*
 * One reading into the engine: ward_agent_feed() passes it to the health engine and, when
 * the sensor's state changes, records the transition in the event log. Below both the
 * scheduler's loop (agent.c) and sampling (sample.c), which call down into it.
 */
#include <errno.h>
#include <string.h>

#include "ward/agent.h"

static void record(struct ward_agent *a, const struct ward_transition *tr, int64_t now_ms)
{
    struct ward_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.t_ms = now_ms;
    ev.sensor = tr->sensor;
    ev.from = tr->from;
    ev.to = tr->to;
    ev.severity = tr->severity;
    ev.reason = tr->reason;
    if (tr->has_value) {
        ev.flags |= WARD_EVENT_HAS_VALUE;
        ev.value = tr->value;
    }
    if (a->wall_known) {
        ev.flags |= WARD_EVENT_HAS_WALL;
        ev.wall_ms = now_ms + a->wall_offset_ms;
    }
    ward_evlog_append(&a->log, &ev, NULL);
}

int ward_agent_feed(struct ward_agent *a, const char *id, const struct ward_reading *r,
                    int64_t now_ms)
{
    struct ward_transition tr;
    int rc;

    if (a == NULL) {
        return -EINVAL;
    }
    rc = ward_health_feed(&a->health, id, r, now_ms, &tr);
    if (rc < 0) {
        a->feed_errors++;
        return rc;
    }
    if (rc > 0) {
        record(a, &tr, now_ms);
    }
    return rc;
}
