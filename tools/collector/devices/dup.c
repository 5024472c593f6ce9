/*
 * Duplicate certificate use (devices/devices.h): a device's heartbeats going back to the
 * boot id they had left, whichever addresses they come from. Fed by the commit bus, so only
 * stored heartbeats count. Also which certificate each device presents (renewals).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commit/bus.h"
#include "common/clock.h"
#include "common/jw.h"
#include "common/log.h"
#include "common/str.h"
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

static void hex(const uint8_t *b, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 3 <= cap; i++) {
        o += (size_t)snprintf(out + o, cap - o, "%02x", b[i]);
    }
    out[o] = '\0';
}

/* Under dup_mu: note id's certificate in t. @return true when it is a switch to a newer one
 * (was and now then hold the serials, hex). */
static bool note_serial(struct wcol_dup_track *t, const struct wcol_ident *id, char *was, char *now,
                        size_t cap)
{
    bool first = t->serial_len == 0;

    if ((t->serial_len == id->serial_len && memcmp(t->serial, id->serial, id->serial_len) == 0) ||
        (!first && id->not_after <= t->not_after)) {
        return false; /* the same, or an older one still in use elsewhere: not a switch */
    }
    hex(t->serial, t->serial_len, was, cap);
    hex(id->serial, id->serial_len, now, cap);
    memcpy(t->serial, id->serial, id->serial_len);
    t->serial_len = id->serial_len;
    t->not_after = id->not_after;
    return !first;
}

void wcol_devices_cert_seen(struct wcol_devices *d, const struct wcol_ident *id)
{
    char was[2 * WCOL_SERIAL_MAX + 1], now[2 * WCOL_SERIAL_MAX + 1], detail[160];
    char actor[sizeof("device:") + WCOL_DEVICE_ID_MAX];
    struct wcol_dup_track *t;
    bool switched = false;

    if (d == NULL || d->buckets == NULL || !id->valid || id->cn[0] == '\0') {
        return;
    }
    pthread_mutex_lock(&d->dup_mu);
    if ((t = track_of(d, id->cn)) != NULL &&
        (switched = note_serial(t, id, was, now, sizeof(was)))) {
        d->stats.cert_switches++;
    }
    pthread_mutex_unlock(&d->dup_mu);
    if (!switched) {
        return;
    }
    snprintf(detail, sizeof(detail), "serial=%s previous=%s not_after=%lld", now, was,
             (long long)id->not_after);
    wcol_log_info("device %s: now presents certificate serial %s (was %s)", id->cn, now, was);
    snprintf(actor, sizeof(actor), "device:%s", id->cn);
    WCOL_AUDIT(d->c, actor, "device.certificate.switch", id->cn, detail);
}

/* "ADDR" of "ADDR:PORT" (IPv6 in brackets or not): the host part, to tell two hosts apart. */
static size_t host_len(const char *peer)
{
    const char *colon = strrchr(peer, ':');

    return colon != NULL ? (size_t)(colon - peer) : strlen(peer);
}

static bool same_host(const char *a, const char *b)
{
    size_t n = host_len(a);

    return n == host_len(b) && strncmp(a, b, n) == 0;
}

/* Say, audit and raise a duplicate of t, a copy taken under dup_mu. */
static void raise_duplicate(struct wcol_devices *d, const struct wcol_dup_track *t)
{
    char detail[2 * (WCOL_DUP_BOOT_MAX + WCOL_DUP_PEER_MAX) + 64];
    const char *where =
        same_host(t->cur_peer, t->prev_peer) ? "one address, two agents" : "two addresses";

    wcol_log_error("device %s: its certificate is in use by two agents at once (%s: boot id %s "
                   "from %s, boot id %s from %s); revoke it: wardctl device revoke %s",
                   t->id, where, t->cur, t->cur_peer, t->prev, t->prev_peer, t->id);
    snprintf(detail, sizeof(detail), "boot=%s peer=%s other_boot=%s other_peer=%s", t->cur,
             t->cur_peer, t->prev, t->prev_peer);
    WCOL_AUDIT(d->c, "collector", "device.certificate.duplicate", t->id, detail);
    (void)wcol_fleet_raise(&d->c->fleet, t->id, "certificate", "ok", "duplicate");
}

/* Under dup_mu: the heartbeat of boot from peer. @return true when t went back to the boot id
 * it had left and no duplicate was raised for it within the window (counted, marked). */
static bool note_boot(struct wcol_devices *d, struct wcol_dup_track *t, const char *boot,
                      const char *peer, uint64_t now)
{
    if (strcmp(t->cur, boot) == 0) {
        wcol_copy_str(t->cur_peer, sizeof(t->cur_peer), peer); /* it may have moved */
        return false;
    }
    bool back = strcmp(t->prev, boot) == 0 && now - t->switched_mono < WCOL_DEVICES_DUP_WINDOW_MS;

    memcpy(t->prev, t->cur, sizeof(t->prev));
    memcpy(t->prev_peer, t->cur_peer, sizeof(t->prev_peer));
    snprintf(t->cur, sizeof(t->cur), "%s", boot);
    snprintf(t->cur_peer, sizeof(t->cur_peer), "%s", peer);
    t->switched_mono = now;
    if (!back || (t->raised_mono != 0 && now - t->raised_mono < WCOL_DEVICES_DUP_WINDOW_MS)) {
        return false; /* one event per window: the alternation goes on every heartbeat */
    }
    t->raised_mono = now;
    t->raised_wall_ms = wcol_now_wall_ms();
    d->stats.duplicates++;
    return true;
}

/*
 * One agent keeps its boot id whatever address it comes from (a DHCP lease, NAT): a new
 * address alone is never a duplicate. Two agents with one certificate each keep their own
 * boot id, so the device's heartbeats go back to a boot id they had left: from another
 * address, or from the same address on another connection (two agents behind one NAT).
 */
static void on_report(void *ctx, const struct wcol_msg *m)
{
    struct wcol_devices *d = ctx;
    const struct wcol_store_report *r = m->u.report.report;
    struct wcol_dup_track *t, copy;
    bool raise = false;

    if (r == NULL || !r->has_heartbeat || r->boot_id == NULL || r->boot_id[0] == '\0' ||
        strlen(r->boot_id) > WCOL_DUP_BOOT_MAX) {
        return;
    }
    pthread_mutex_lock(&d->dup_mu);
    if ((t = track_of(d, r->device)) != NULL &&
        (raise = note_boot(d, t, r->boot_id, r->peer != NULL ? r->peer : "?", wcol_now_mono()))) {
        copy = *t;
    }
    pthread_mutex_unlock(&d->dup_mu);
    if (raise) {
        raise_duplicate(d, &copy);
    }
}

void wcol_devices_dup_list(struct wcol_devices *d, struct wcol_jw *w)
{
    uint64_t now = wcol_now_mono();
    unsigned n = 0;

    wcol_jw_key(w, "duplicate");
    wcol_jw_arr_begin(w);
    pthread_mutex_lock(&d->dup_mu);
    for (size_t b = 0; d->buckets != NULL && b < d->nbuckets && n < WCOL_DUP_LIST_MAX; b++) {
        for (const struct wcol_dup_track *t = d->buckets[b]; t != NULL && n < WCOL_DUP_LIST_MAX;
             t = t->next) {
            if (t->raised_mono == 0 || now - t->raised_mono >= WCOL_DEVICES_DUP_WINDOW_MS) {
                continue;
            }
            wcol_jw_obj_begin(w);
            wcol_jw_kstr(w, "device", t->id);
            wcol_jw_kint(w, "at_ms", t->raised_wall_ms);
            wcol_jw_kstr(w, "boot", t->cur);
            wcol_jw_kstr(w, "peer", t->cur_peer);
            wcol_jw_kstr(w, "other_boot", t->prev);
            wcol_jw_kstr(w, "other_peer", t->prev_peer);
            wcol_jw_obj_end(w);
            n++;
        }
    }
    pthread_mutex_unlock(&d->dup_mu);
    wcol_jw_arr_end(w);
}

int wcol_devices_subscribe(struct wcol_devices *d, struct wcol_collector *c, struct wcol_bus *bus)
{
    d->c = c;
    d->nbuckets = DUP_BUCKETS;
    pthread_mutex_init(&d->dup_mu, NULL);
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
    if (d->buckets != NULL) {
        pthread_mutex_destroy(&d->dup_mu);
    }
    free(d->buckets);
    d->buckets = NULL;
}
