#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"
#include "ward/wire/state.h"

#include "common/jw.h"
#include "common/log.h"

static uint32_t hash_id(const char *id)
{
    uint32_t h = 2166136261u;

    for (; *id != '\0'; id++) {
        h = (h ^ (uint8_t)*id) * 16777619u;
    }
    return h;
}

const char *wcol_fleet_state_name(uint8_t state)
{
    return state == WCOL_FLEET_SILENT ? "silent" : state == WCOL_FLEET_REMOVED ? "removed" : "up";
}

int wcol_fleet_init(struct wcol_fleet *f, size_t max_devices, unsigned silent_factor,
                    int64_t default_interval_ms)
{
    memset(f, 0, sizeof(*f));
    if (max_devices == 0 || silent_factor == 0 || default_interval_ms <= 0) {
        return -EINVAL;
    }
    f->nbuckets = 64;
    while (f->nbuckets < max_devices / 2 && f->nbuckets < (1u << 24)) {
        f->nbuckets *= 2;
    }
    /* an array of bucket pointers: each element is a pointer */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    f->buckets = calloc(f->nbuckets, sizeof(*f->buckets));
    if (f->buckets == NULL) {
        return -ENOMEM;
    }
    f->max = max_devices;
    f->silent_factor = silent_factor;
    f->default_interval_ms = default_interval_ms;
    return 0;
}

void wcol_fleet_free(struct wcol_fleet *f)
{
    for (size_t b = 0; b < f->nbuckets; b++) {
        struct wcol_fleet_device *d = f->buckets[b];

        while (d != NULL) {
            struct wcol_fleet_device *next = d->hnext;

            free(d);
            d = next;
        }
    }
    free(f->buckets);
    memset(f, 0, sizeof(*f));
}

struct wcol_fleet_device *wcol_fleet_find(struct wcol_fleet *f, const char *id)
{
    struct wcol_fleet_device *d = f->buckets[hash_id(id) & (f->nbuckets - 1)];

    while (d != NULL && strcmp(d->id, id) != 0) {
        d = d->hnext;
    }
    return d;
}

static struct wcol_fleet_device *add(struct wcol_fleet *f, const char *id)
{
    struct wcol_fleet_device *d;

    if (f->count >= f->max || strlen(id) > WCOL_DEVICE_ID_MAX) {
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return NULL;
    }
    snprintf(d->id, sizeof(d->id), "%s", id);
    uint32_t b = hash_id(id) & (f->nbuckets - 1);

    d->hnext = f->buckets[b];
    f->buckets[b] = d;
    f->count++;
    return d;
}

int wcol_fleet_reserve(struct wcol_fleet *f, const char *id)
{
    if (wcol_fleet_find(f, id) == NULL && f->count + f->reserved >= f->max) {
        return -ENOSPC;
    }
    f->reserved++;
    return 0;
}

void wcol_fleet_unreserve(struct wcol_fleet *f)
{
    if (f->reserved > 0) {
        f->reserved--;
    }
}

static void count_state(struct wcol_fleet *f, uint8_t state, int delta)
{
    size_t *n = state == WCOL_FLEET_SILENT    ? &f->silent
                : state == WCOL_FLEET_REMOVED ? &f->removed
                                              : &f->up;

    *n = delta > 0 ? *n + 1 : *n - 1;
}

struct load_ctx {
    struct wcol_fleet *f;
    uint64_t now_mono;
    int err;
};

static uint8_t state_of(const char *name)
{
    if (name != NULL && strcmp(name, "silent") == 0) {
        return WCOL_FLEET_SILENT;
    }
    return name != NULL && strcmp(name, "removed") == 0 ? WCOL_FLEET_REMOVED : WCOL_FLEET_UP;
}

/* What a stored row says about a device, apart from its state and its windows. */
static void take_row(struct wcol_fleet_device *d, const struct wcol_store_device *sd)
{
    d->first_seen_ms = sd->first_seen_ms;
    d->last_seen_ms = sd->last_seen_ms > d->last_seen_ms ? sd->last_seen_ms : d->last_seen_ms;
    d->last_hb_ms = sd->last_heartbeat_ms;
    d->heard = sd->last_heartbeat_ms > 0;
    d->interval_ms = sd->interval_ms;
    snprintf(d->boot_id, sizeof(d->boot_id), "%s", sd->boot_id ? sd->boot_id : "");
    snprintf(d->health, sizeof(d->health), "%s", sd->health ? sd->health : "");
}

static int load_one(void *ctx, const struct wcol_store_device *sd)
{
    struct load_ctx *lc = ctx;
    struct wcol_fleet_device *d = add(lc->f, sd->id);

    if (d == NULL) {
        wcol_log_error("fleet: more devices stored than --max-devices allows (%zu); raise it",
                       lc->f->max);
        lc->err = -ENOSPC;
        return 1;
    }
    d->state = state_of(sd->state);
    d->stored_state = d->state;
    take_row(d, sd);
    d->last_hb_mono = lc->now_mono; /* a fresh window: see fleet.h */
    count_state(lc->f, d->state, 1);
    return 0;
}

/* The monotonic time of a wall-clock instant in the past, never before floor_mono. */
static uint64_t mono_of(int64_t at_ms, int64_t now_ms, uint64_t now_mono, uint64_t floor_mono)
{
    int64_t age = now_ms > at_ms ? now_ms - at_ms : 0;
    uint64_t t = (uint64_t)age >= now_mono ? 0 : now_mono - (uint64_t)age;

    return t > floor_mono ? t : floor_mono;
}

int wcol_fleet_merge(struct wcol_fleet *f, const struct wcol_store_device *sd, int64_t now_ms,
                     uint64_t now_mono, uint64_t floor_mono)
{
    struct wcol_fleet_device *d = wcol_fleet_find(f, sd->id);
    uint8_t state = state_of(sd->state);

    if (d == NULL) {
        if (f->count + f->reserved >= f->max || (d = add(f, sd->id)) == NULL) {
            return -ENOSPC;
        }
        d->state = d->stored_state = state;
        d->state_since_ms = now_ms;
        take_row(d, sd);
        d->last_hb_mono = sd->last_heartbeat_ms > 0
                              ? mono_of(sd->last_heartbeat_ms, now_ms, now_mono, floor_mono)
                              : now_mono;
        count_state(f, d->state, 1);
        return 0;
    }
    if (sd->last_heartbeat_ms > d->last_hb_ms) {
        uint64_t t = mono_of(sd->last_heartbeat_ms, now_ms, now_mono, floor_mono);

        take_row(d, sd);
        d->last_hb_mono = t > d->last_hb_mono ? t : d->last_hb_mono;
    } else if (sd->last_seen_ms > d->last_seen_ms) {
        d->last_seen_ms = sd->last_seen_ms;
    }
    /* Another collector's transition (or the leader's): taken as it is stored, unless one
     * of this collector's own waits to be written. */
    if (!d->dirty && state != d->state) {
        count_state(f, d->state, -1);
        d->state = d->stored_state = state;
        d->state_since_ms = now_ms;
        count_state(f, d->state, 1);
    }
    return 0;
}

int wcol_fleet_load(struct wcol_fleet *f, struct wcol_store *st, uint64_t now_mono)
{
    struct load_ctx lc = { .f = f, .now_mono = now_mono, .err = 0 };
    int rc = st->ops->load_devices(st->impl, load_one, &lc);

    return rc != 0 ? rc : lc.err;
}

static void mark_dirty(struct wcol_fleet *f, struct wcol_fleet_device *d)
{
    if (!d->dirty) {
        d->dirty = true;
        d->dnext = f->dirty;
        f->dirty = d;
    }
}

static void set_state(struct wcol_fleet *f, struct wcol_fleet_device *d, uint8_t state,
                      int64_t now_ms)
{
    count_state(f, d->state, -1);
    d->state = state;
    d->state_since_ms = now_ms;
    count_state(f, d->state, 1);
    f->transitions++;
    mark_dirty(f, d);
}

struct wcol_fleet_device *wcol_fleet_heard(struct wcol_fleet *f, const char *id,
                                           const struct wcol_fleet_report *r, int64_t now_ms,
                                           uint64_t now_mono)
{
    struct wcol_fleet_device *d = wcol_fleet_find(f, id);

    if (d == NULL) {
        d = add(f, id);
        if (d == NULL) {
            return NULL;
        }
        d->first_seen_ms = now_ms;
        d->state = WCOL_FLEET_UP; /* stored as up by the request's own report row */
        d->stored_state = WCOL_FLEET_UP;
        d->state_since_ms = now_ms;
        d->last_hb_mono = now_mono;
        count_state(f, d->state, 1);
        wcol_log_info("fleet: new device %s", id);
    }
    d->last_seen_ms = now_ms;
    d->requests++;
    d->events_stored += r->events_stored;
    if (!r->has_heartbeat) {
        return d;
    }
    d->heard = true;
    d->hb_this_run = true;
    d->last_hb_ms = now_ms;
    d->last_hb_mono = now_mono;
    if (r->interval_ms > 0) {
        d->interval_ms = r->interval_ms;
    }
    if (r->boot_id[0] != '\0') {
        memcpy(d->boot_id, r->boot_id, sizeof(d->boot_id));
    }
    if (r->health[0] != '\0') {
        memcpy(d->health, r->health, sizeof(d->health));
    }
    if (d->state != WCOL_FLEET_UP) {
        set_state(f, d, WCOL_FLEET_UP, now_ms);
        wcol_log_info("fleet: device %s is up again", id);
    }
    return d;
}

static int64_t interval_of(const struct wcol_fleet *f, const struct wcol_fleet_device *d)
{
    return d->interval_ms > 0 ? d->interval_ms : f->default_interval_ms;
}

unsigned wcol_fleet_check(struct wcol_fleet *f, int64_t now_ms, uint64_t now_mono, uint64_t lag_ms)
{
    unsigned changed = 0;

    for (size_t b = 0; b < f->nbuckets; b++) {
        for (struct wcol_fleet_device *d = f->buckets[b]; d != NULL; d = d->hnext) {
            uint64_t limit = (uint64_t)interval_of(f, d) * f->silent_factor + lag_ms;

            if (d->state != WCOL_FLEET_UP || now_mono - d->last_hb_mono <= limit) {
                continue;
            }
            set_state(f, d, WCOL_FLEET_SILENT, now_ms);
            wcol_log_warn("fleet: device %s is silent (no heartbeat for %llu ms, %u x %lld ms)",
                          d->id, (unsigned long long)(now_mono - d->last_hb_mono), f->silent_factor,
                          (long long)interval_of(f, d));
            changed++;
        }
    }
    return changed;
}

int wcol_fleet_remove(struct wcol_fleet *f, const char *id, int64_t now_ms)
{
    struct wcol_fleet_device *d = wcol_fleet_find(f, id);

    if (d == NULL) {
        return -ENOENT;
    }
    if (d->state == WCOL_FLEET_REMOVED) {
        return -EALREADY;
    }
    set_state(f, d, WCOL_FLEET_REMOVED, now_ms);
    wcol_log_info("fleet: device %s removed (decommissioned)", id);
    return 0;
}

int wcol_fleet_raise(struct wcol_fleet *f, const char *id, const char *sensor, const char *from,
                     const char *to)
{
    struct wcol_fleet_device *d = wcol_fleet_find(f, id);

    if (d == NULL) {
        return -ENOENT;
    }
    snprintf(d->alert_sensor, sizeof(d->alert_sensor), "%s", sensor);
    snprintf(d->alert_from, sizeof(d->alert_from), "%s", from);
    snprintf(d->alert_to, sizeof(d->alert_to), "%s", to);
    mark_dirty(f, d);
    return 0;
}

bool wcol_fleet_dirty(const struct wcol_fleet *f)
{
    return f->dirty != NULL;
}

/* The transition's event document, written by the JSON writer. @return it (heap) or NULL. */
static char *transition_doc(const struct wcol_fleet_device *d, const char *sensor, const char *from,
                            const char *to, size_t *len)
{
    struct wcol_jw w;

    wcol_jw_init(&w, 1024);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "sensor", sensor);
    wcol_jw_kstr(&w, "from", from);
    wcol_jw_kstr(&w, "to", to);
    wcol_jw_kstr(&w, "severity", ward_severity_name(WCOL_FLEET_TRANSITION_SEVERITY));
    wcol_jw_kstr(&w, "source", "collector");
    wcol_jw_kint(&w, "last_heartbeat_ms", d->last_hb_ms);
    wcol_jw_obj_end(&w);
    if (w.failed) {
        wcol_jw_free(&w);
        return NULL;
    }
    return wcol_jw_take(&w, len);
}

/* A transition (sensor "device") or a raised alert; the device's state row is written too. */
static int stage_one(struct wcol_fleet_device *d, int64_t now_ms, const char *sensor,
                     const char *from, const char *to, struct wcol_store_state_change *ch)
{
    size_t len = 0;
    char *doc = transition_doc(d, sensor, from, to, &len);

    if (doc == NULL) {
        return -ENOMEM;
    }
    /* out->v has one slot per dirty device (dirty_count()), so ch is never NULL */
    // NOLINTNEXTLINE(clang-analyzer-core.NullDereference)
    *ch = (struct wcol_store_state_change){
        .device = d->id,
        .state = wcol_fleet_state_name(d->state),
        .at_ms = d->state_since_ms,
        .event = {
            .device = d->id,
            .boot_id = "",
            .seq = -1,
            .received_ms = now_ms,
            .time_ms = now_ms,
            .sensor = sensor,
            .from_state = from,
            .to_state = to,
            .severity = ward_severity_name(WCOL_FLEET_TRANSITION_SEVERITY),
            .severity_rank = WCOL_FLEET_TRANSITION_SEVERITY,
            .doc = doc,
            .doc_len = len,
        },
    };
    return 0;
}

static size_t dirty_count(const struct wcol_fleet *f)
{
    size_t n = 0;

    for (const struct wcol_fleet_device *d = f->dirty; d != NULL; d = d->dnext) {
        n++;
    }
    return n;
}

int wcol_fleet_stage(struct wcol_fleet *f, int64_t now_ms, struct wcol_fleet_changes *out)
{
    size_t cap = 2 * dirty_count(f); /* a transition and an alert each */

    memset(out, 0, sizeof(*out));
    out->v = cap > 0 ? calloc(cap, sizeof(*out->v)) : NULL;
    if (cap > 0 && out->v == NULL) {
        return -ENOMEM;
    }
    while (f->dirty != NULL) {
        struct wcol_fleet_device *d = f->dirty;

        int rc = 0;

        if (d->state != d->stored_state) {
            rc = stage_one(d, now_ms, "device", wcol_fleet_state_name(d->stored_state),
                           wcol_fleet_state_name(d->state), &out->v[out->n]);
            out->n += rc == 0;
        }
        if (rc == 0 && d->alert_sensor[0] != '\0') {
            rc = stage_one(d, now_ms, d->alert_sensor, d->alert_from, d->alert_to, &out->v[out->n]);
            out->n += rc == 0;
        }
        if (rc != 0) {
            return rc;
        }
        f->dirty = d->dnext;
        d->dnext = f->inflight;
        f->inflight = d;
    }
    return 0;
}

void wcol_fleet_changes_free(struct wcol_fleet_changes *ch)
{
    for (unsigned i = 0; i < ch->n; i++) {
        free((char *)ch->v[i].event.doc);
    }
    free(ch->v);
    memset(ch, 0, sizeof(*ch));
}

void wcol_fleet_committed(struct wcol_fleet *f, bool ok)
{
    while (f->inflight != NULL) {
        struct wcol_fleet_device *d = f->inflight;

        f->inflight = d->dnext;
        d->dirty = false;
        if (ok) {
            d->stored_state = d->state;
            d->alert_sensor[0] = '\0';
        } else {
            mark_dirty(f, d); /* retried with the next commit */
        }
    }
}

static int by_id(const void *a, const void *b)
{
    const struct wcol_fleet_device *const *x = a;
    const struct wcol_fleet_device *const *y = b;

    return strcmp((*x)->id, (*y)->id);
}

size_t wcol_fleet_sorted(struct wcol_fleet *f, struct wcol_fleet_device **out, size_t cap)
{
    size_t n = 0;

    for (size_t b = 0; b < f->nbuckets; b++) {
        for (struct wcol_fleet_device *d = f->buckets[b]; d != NULL && n < cap; d = d->hnext) {
            out[n++] = d;
        }
    }
    /* an array of pointers: each element is a pointer */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    qsort(out, n, sizeof(*out), by_id);
    return n;
}
