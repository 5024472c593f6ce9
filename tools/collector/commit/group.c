#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commit/group.h"
#include "common/clock.h"
#include "common/log.h"

void wcol_group_init(struct wcol_group *g, struct wcol_store *store, struct wcol_fleet *fleet,
                     const struct wcol_bus *bus, unsigned max)
{
    *g = (struct wcol_group){ .store = store, .fleet = fleet, .bus = bus, .max = max };
    g->tail = &g->head;
}

void wcol_group_add(struct wcol_group *g, struct wcol_group_item *item)
{
    item->next = NULL;
    *g->tail = item;
    g->tail = &item->next;
    g->n++;
}

bool wcol_group_full(const struct wcol_group *g)
{
    return g->n >= g->max;
}

bool wcol_group_pending(const struct wcol_group *g)
{
    return g->head != NULL || (g->fleet != NULL && wcol_fleet_dirty(g->fleet));
}

/* The batch's puts, in arrival order (heap: the group is bounded by max). */
static struct wcol_store_put *collect_puts(struct wcol_group *g)
{
    struct wcol_store_put *puts = calloc(g->n > 0 ? g->n : 1, sizeof(*puts));
    unsigned i = 0;

    for (struct wcol_group_item *it = g->head; puts != NULL && it != NULL; it = it->next) {
        puts[i++] = it->put;
    }
    return puts;
}

static void publish_changes(const struct wcol_bus *bus, const struct wcol_fleet_changes *ch)
{
    for (unsigned i = 0; i < ch->n; i++) {
        const struct wcol_store_state_change *c = &ch->v[i];
        struct wcol_msg m = { .topic = WCOL_TOPIC_DEVICE_STATE };

        if (strcmp(c->event.sensor, "device") != 0) {
            continue; /* an alert the fleet raised (wcol_fleet_raise), not a state change */
        }
        m.u.state.device = c->device;
        m.u.state.from = c->event.from_state;
        m.u.state.to = c->state;
        m.u.state.at_ms = c->at_ms;
        wcol_bus_publish(bus, &m);
    }
}

static void publish_put(const struct wcol_bus *bus, const struct wcol_store_put *p)
{
    struct wcol_msg m = { .topic = WCOL_TOPIC_REPORT_RECEIVED };

    m.u.report.report = p->report;
    m.u.report.stored = p->stored;
    m.u.report.duplicates = p->duplicates;
    wcol_bus_publish(bus, &m);
    m.topic = WCOL_TOPIC_EVENT_STORED;
    for (unsigned i = 0; i < p->n_events; i++) {
        if (p->events[i].inserted) {
            m.u.event = &p->events[i];
            wcol_bus_publish(bus, &m);
        }
    }
}

/* From a fast page-cache commit to a disk that stalls for seconds (synchronous=FULL). */
const uint32_t wcol_commit_bounds_us[WCOL_COMMIT_BUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
};

static void time_commit(struct wcol_group_stats *s, uint64_t t0, bool ok)
{
    uint64_t us = wcol_now_us() - t0;
    unsigned b = 0;

    while (b < WCOL_COMMIT_BUCKETS && us > wcol_commit_bounds_us[b]) {
        b++;
    }
    s->commit_hist[b]++;
    s->commit_us_sum += us;

    s->commit_us_last = us;
    if (us > s->commit_us_max) {
        s->commit_us_max = us;
    }
    s->commits += ok;
    s->commit_failures += !ok;
}

/* Copy the results back into the items, count them, publish what committed; empty the group. */
static void settle(struct wcol_group *g, struct wcol_store_put *puts, bool ok)
{
    struct wcol_group_item *it = g->head;

    g->head = NULL;
    g->tail = &g->head;
    g->n = 0;
    for (unsigned i = 0; it != NULL; i++) {
        struct wcol_group_item *next = it->next;

        if (puts != NULL) {
            it->put = puts[i];
        } else {
            it->put.status = -ENOMEM;
        }
        if (ok && it->put.status == 0) {
            g->stats.events_stored += it->put.stored;
            g->stats.events_duplicate += it->put.duplicates;
            publish_put(g->bus, &it->put);
        } else if (it->put.status != 0) {
            g->stats.stage_failures++;
        }
        it = next;
    }
}

int wcol_group_commit(struct wcol_group *g)
{
    struct wcol_fleet_changes ch = { 0 };
    struct wcol_store_put *puts = collect_puts(g);
    int rc = puts == NULL ? -ENOMEM : 0;

    if (rc == 0 && g->fleet != NULL && wcol_fleet_dirty(g->fleet)) {
        rc = wcol_fleet_stage(g->fleet, wcol_now_wall_ms(), &ch);
    }
    if (rc == 0 && (g->n > 0 || ch.n > 0)) {
        struct wcol_store_batch b = {
            .puts = puts, .n_puts = g->n, .changes = ch.v, .n_changes = ch.n
        };
        uint64_t t0 = wcol_now_us();

        rc = wcol_store_commit_batch(g->store, &b);
        time_commit(&g->stats, t0, rc == 0);
    }
    if (g->fleet != NULL) {
        wcol_fleet_committed(g->fleet, rc == 0);
    }
    if (rc == 0) {
        publish_changes(g->bus, &ch);
    }
    struct wcol_group_item *items = g->head;

    settle(g, puts, rc == 0);
    while (items != NULL) { /* finish() may free the item: read next first */
        struct wcol_group_item *next = items->next;

        items->finish(items, rc == 0);
        items = next;
    }
    wcol_fleet_changes_free(&ch);
    free(puts);
    return rc;
}
