/*
 * Duplicate certificate use (devices/devices.h): a device's heartbeats going back to the
 * boot id they had left. Fed by the commit bus, so only stored heartbeats count.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit/bus.h"
#include "common/clock.h"
#include "common/log.h"
#include "devices/devices_impl.h"
#include "server/collector.h"

#define DUP_BUCKETS 1024u

static uint32_t hash_id(const char *id)
{
    uint32_t h = 2166136261u;

    for (; *id != '\0'; id++) {
        h = (h ^ (uint8_t)*id) * 16777619u;
    }
    return h;
}

static struct wcol_dup_track *track_of(struct wcol_devices *d, const char *id)
{
    struct wcol_dup_track **b = &d->buckets[hash_id(id) % d->nbuckets];

    for (struct wcol_dup_track *t = *b; t != NULL; t = t->next) {
        if (strcmp(t->id, id) == 0) {
            return t;
        }
    }
    struct wcol_dup_track *t = calloc(1, sizeof(*t));

    if (t != NULL) {
        snprintf(t->id, sizeof(t->id), "%s", id);
        t->next = *b;
        *b = t;
    }
    return t;
}

static void raise_duplicate(struct wcol_devices *d, struct wcol_dup_track *t, const char *peer,
                            uint64_t now)
{
    if (t->raised_mono != 0 && now - t->raised_mono < WCOL_DEVICES_DUP_WINDOW_MS) {
        return; /* one event per window: the alternation goes on every heartbeat */
    }
    t->raised_mono = now;
    d->stats.duplicates++;
    wcol_log_error("device %s: its certificate is in use by two agents at once (boot ids %s and "
                   "%s alternate; latest from %s); revoke it: wardctl device revoke %s",
                   t->id, t->cur, t->prev, peer != NULL ? peer : "?", t->id);
    (void)wcol_fleet_raise(&d->c->fleet, t->id, "certificate", "ok", "duplicate");
}

static void on_report(void *ctx, const struct wcol_msg *m)
{
    struct wcol_devices *d = ctx;
    const struct wcol_store_report *r = m->u.report.report;
    uint64_t now = wcol_now_mono();

    if (r == NULL || !r->has_heartbeat || r->boot_id == NULL || r->boot_id[0] == '\0' ||
        strlen(r->boot_id) > WCOL_DUP_BOOT_MAX) {
        return;
    }
    struct wcol_dup_track *t = track_of(d, r->device);

    if (t == NULL || strcmp(t->cur, r->boot_id) == 0) {
        return;
    }
    bool back =
        strcmp(t->prev, r->boot_id) == 0 && now - t->switched_mono < WCOL_DEVICES_DUP_WINDOW_MS;

    memcpy(t->prev, t->cur, sizeof(t->prev));
    snprintf(t->cur, sizeof(t->cur), "%s", r->boot_id);
    t->switched_mono = now;
    if (back) {
        raise_duplicate(d, t, r->peer, now);
    }
}

int wcol_devices_subscribe(struct wcol_devices *d, struct wcol_collector *c, struct wcol_bus *bus)
{
    d->c = c;
    d->nbuckets = DUP_BUCKETS;
    /* an array of bucket pointers: each element is a pointer */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
    if (d->buckets == NULL) {
        return -ENOMEM;
    }
    return wcol_bus_subscribe(bus, WCOL_TOPIC_REPORT_RECEIVED, on_report, d);
}

void wcol_devices_dup_free(struct wcol_devices *d)
{
    for (size_t b = 0; d->buckets != NULL && b < d->nbuckets; b++) {
        while (d->buckets[b] != NULL) {
            struct wcol_dup_track *t = d->buckets[b];

            d->buckets[b] = t->next;
            free(t);
        }
    }
    free(d->buckets);
    d->buckets = NULL;
}
