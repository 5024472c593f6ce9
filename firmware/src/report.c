#include <errno.h>
#include <limits.h>
#include <string.h>

#include <cJSON.h>

#include "ward/inventory.h"
#include "ward/report.h"
#include "ward/version.h"
#include "ward/wire/encode.h"

#include "report_delta.h"

/* The agent's limits are the wire's: what it writes, the collector takes. */
_Static_assert(WARD_BOOT_ID_LEN == WARD_WIRE_BOOT_LEN, "boot ids are 16 bytes on the wire");
_Static_assert(WARD_BOOT_ID_HEX_LEN == WARD_WIRE_BOOT_HEX_LEN, "boot ids are 32 hex digits");
_Static_assert(WARD_DEVICE_ID_MAX - 1 <= WARD_WIRE_DEVICE_MAX, "a device id the wire refuses");
_Static_assert(WARD_HEALTH_ID_MAX - 1 <= WARD_WIRE_SENSOR_MAX, "a sensor id the wire refuses");
_Static_assert(WARD_DIGEST_HEX_LEN >= WARD_WIRE_DIGEST_SHORT, "digest prefix longer than it");
/* The assertion is that the two names are equal */
// NOLINTNEXTLINE(misc-redundant-expression)
_Static_assert(WARD_TIME_NONE == WARD_WIRE_TIME_NONE, "one null time");
_Static_assert(WARD_HEALTH_MAX_SENSORS <= UINT16_MAX, "the health page cursor is 16 bits");
_Static_assert(WARD_WIRE_THR_COUNT == WARD_THR_COUNT && WARD_THR_UPPER_FATAL == 5,
               "the wire's threshold levels are the HAL's, in its order");

/* Lateness of the loop below this (ms) is reported as 0 (loop.lag_ms, docs/protocol.md). */
#define WARD_REPORT_LAG_FLOOR_MS 10

/*
 * Strings that must outlive the builders until printing: hex of the boot ids and of the
 * digests. They live in the public function's frame and cJSON references them.
 */
struct doc {
    struct ward_agent *a;
    char boot_hex[WARD_EVLOG_BOOTS][WARD_BOOT_ID_HEX_LEN + 1];
    char config_hex[WARD_DIGEST_HEX_LEN + 1];
    char rules_hex[WARD_DIGEST_HEX_LEN + 1];
    char config_short[WARD_WIRE_DIGEST_SHORT + 1]; /* prefixes of the two above */
    char rules_short[WARD_WIRE_DIGEST_SHORT + 1];
    struct ward_wire_ident id; /* the agent's device and current boot */
};

static void doc_init(struct doc *d, struct ward_agent *a)
{
    uint8_t digest[WARD_DIGEST_LEN];

    d->a = a;
    for (unsigned b = 0; b < WARD_EVLOG_BOOTS; b++) {
        ward_boot_id_hex(a->log.boot_id[b], d->boot_hex[b]);
    }
    if (ward_config_digest(digest) != 0 ||
        ward_digest_hex(digest, WARD_DIGEST_LEN, d->config_hex, sizeof(d->config_hex)) != 0) {
        d->config_hex[0] = '\0';
    }
    if (!a->rules_loaded || ward_digest_hex(a->rules_digest, WARD_DIGEST_LEN, d->rules_hex,
                                            sizeof(d->rules_hex)) != 0) {
        d->rules_hex[0] = '\0';
    }
    memcpy(d->config_short, d->config_hex, WARD_WIRE_DIGEST_SHORT);
    d->config_short[d->config_hex[0] != '\0' ? WARD_WIRE_DIGEST_SHORT : 0] = '\0';
    memcpy(d->rules_short, d->rules_hex, WARD_WIRE_DIGEST_SHORT);
    d->rules_short[d->rules_hex[0] != '\0' ? WARD_WIRE_DIGEST_SHORT : 0] = '\0';
    d->id.device = a->device_id;
    d->id.boot = d->boot_hex[0];
}

static const char *sensor_id(const struct ward_agent *a, unsigned idx)
{
    const struct ward_sensor *s = ward_health_sensor_at(&a->health, idx);

    return s != NULL ? s->id : "unknown";
}

static const char *reason_name(uint8_t reason)
{
    return reason != WARD_REASON_NONE ? ward_reason_name((enum ward_reason)reason) : NULL;
}

/* An event log record as the wire's event; boot is the hex of its boot id. */
static void wire_event(const struct ward_agent *a, const char *boot, const struct ward_event *ev,
                       struct ward_wire_event *w)
{
    *w = (struct ward_wire_event){
        .boot = boot,
        .seq = ev->seq,
        .t_ms = ev->t_ms,
        .has_wall = (ev->flags & WARD_EVENT_HAS_WALL) != 0,
        .wall_ms = ev->wall_ms,
        .sensor = sensor_id(a, ev->sensor),
        .from = ev->from,
        .to = ev->to,
        .severity = ev->severity,
        .has_value = (ev->flags & WARD_EVENT_HAS_VALUE) != 0,
        .value = ev->value,
        .reason = reason_name(ev->reason),
        .count = ev->count,
        .first_t_ms = ev->first_t_ms,
    };
}

static cJSON *doc_event(const struct doc *d, const struct ward_event *ev)
{
    struct ward_wire_event w;

    cJSON *o;

    wire_event(d->a, d->boot_hex[ev->boot < WARD_EVLOG_BOOTS ? ev->boot : 0], ev, &w);
    o = ward_wire_event_json(&w);
    /* A drill's event says so (ward/drill.h): the collector marks all that follows from it. */
    if (ward_drill_sensor(w.sensor) && !ward_wire_put(o, WARD_WIRE_M_DRILL, cJSON_CreateTrue())) {
        return NULL;
    }
    return o;
}

/* The latest drill's state, in every heartbeat once the collector asked for one. */
static bool put_drill(cJSON *hb, const struct ward_drill_status *st)
{
    cJSON *o;

    if (st->state == WARD_DRILL_NONE) {
        return hb != NULL;
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        (void)cJSON_AddNumberToObject(o, "id", (double)st->id);
        (void)cJSON_AddStringToObject(o, "state", ward_drill_state_name(st->state));
        (void)cJSON_AddStringToObject(o, "scenario", st->scenario);
        if (st->reason[0] != '\0') {
            (void)cJSON_AddStringToObject(o, "reason", st->reason);
        }
    }
    return ward_wire_put(hb, WARD_WIRE_M_DRILL, o);
}

static uint64_t loop_skipped(const struct ward_agent *a)
{
    uint64_t skipped = 0;

    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        skipped += a->sched.task[c].skipped;
    }
    return skipped;
}

static void wire_counters(const struct ward_agent *a, const struct ward_json_arena *arena,
                          struct ward_wire_heartbeat *h)
{
    const struct ward_evlog *log = &a->log;

    h->events[WARD_WIRE_EV_PENDING] = ward_evlog_pending(log);
    h->events[WARD_WIRE_EV_LAST_SEQ] = ward_evlog_last_seq(log);
    h->events[WARD_WIRE_EV_DROPPED] = ward_evlog_dropped_total(log);
    h->events[WARD_WIRE_EV_DROPPED_LOW] = log->dropped[WARD_SEV_LOW];
    h->events[WARD_WIRE_EV_DROPPED_MEDIUM] = log->dropped[WARD_SEV_MEDIUM];
    h->events[WARD_WIRE_EV_DROPPED_HIGH] = log->dropped[WARD_SEV_HIGH];
    h->events[WARD_WIRE_EV_FOLDED] = log->folded;
    h->events[WARD_WIRE_EV_ACKED] = log->acked;
    h->memory[WARD_WIRE_MEM_CONTEXT_BYTES] = sizeof(*a);
    h->memory[WARD_WIRE_MEM_SENSORS_USED] = ward_health_count(&a->health);
    h->memory[WARD_WIRE_MEM_SENSORS_MAX] = WARD_HEALTH_MAX_SENSORS;
    h->memory[WARD_WIRE_MEM_RATES_HIGH_WATER] = a->health.rates_high_water;
    h->memory[WARD_WIRE_MEM_RATES_MAX] = WARD_HEALTH_MAX_RATES;
    h->memory[WARD_WIRE_MEM_EVENTS_HIGH_WATER] = log->high_water;
    h->memory[WARD_WIRE_MEM_EVENTS_MAX] = WARD_EVLOG_SIZE;
    /* Raised to the arena's use when written, so it includes this document's own tree. */
    h->memory[WARD_WIRE_MEM_JSON_HIGH_WATER] = a->json_high_water;
    h->arena_high_water = &arena->high_water;
    h->memory[WARD_WIRE_MEM_JSON_BYTES] = arena->size;
    h->memory[WARD_WIRE_MEM_JSON_FAILURES] = a->json_failures;
    h->memory[WARD_WIRE_MEM_READINGS_REFUSED] = a->feed_errors;
    h->memory[WARD_WIRE_MEM_HAL_ERRORS] = a->hal_errors;
}

/* The heartbeat's health summary packed without loss: state, severity, sensors, not ok. */
static uint64_t health_summary(const struct ward_wire_heartbeat *h)
{
    return (uint64_t)h->state << 48 | (uint64_t)h->severity << 40 | (uint64_t)h->sensors << 20 |
           (uint64_t)h->not_ok;
}

/* The heartbeat the agent would send now: full with every sticky member, or compact. */
static void wire_heartbeat(const struct doc *d, int64_t now, const struct ward_json_arena *arena,
                           bool full, struct ward_wire_heartbeat *h)
{
    const struct ward_agent *a = d->a;
    enum ward_severity sev;
    unsigned not_ok;

    h->seq = (uint32_t)(a->hb_seq + 1u);
    h->t_ms = now;
    h->has_wall = a->wall_known;
    h->wall_ms = now + a->wall_offset_ms;
    h->config = d->config_short;
    h->rules = d->rules_short;
    h->full = full;
    h->uptime_ms = now - a->start_ms;
    h->interval_ms = a->sched.task[WARD_CLASS_HEARTBEAT].interval_ms;
    h->firmware = ward_version();
    h->board = WARD_BOARD_NAME;
    h->arch = WARD_ARCH;
    h->config_sha256 = d->config_hex;
    h->rules_sha256 = d->rules_hex;
    h->state = (uint8_t)ward_health_overall(&a->health, &sev, &not_ok);
    h->severity = (uint8_t)sev;
    h->sensors = ward_health_count(&a->health);
    h->not_ok = not_ok;
    /* Lateness under the floor is timer and scheduling jitter: reported as on time. */
    h->lag_ms = a->lag_hb_ms >= WARD_REPORT_LAG_FLOOR_MS ? a->lag_hb_ms : 0;
    h->lag_max_ms = a->sched.lag_ever_ms;
    h->skipped = loop_skipped(a);
    wire_counters(a, arena, h);
    h->events_unchanged = !full && h->events[WARD_WIRE_EV_PENDING] == 0;
    h->health_unchanged = !full && a->summary_acked_ok && health_summary(h) == a->summary_acked;
}

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        /* wire_heartbeat() writes every byte hashed (memory[], interval, lag, digests) */
        // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

/* The power of two at or below a worst lag (0 for none): what the sticky hash sees of it. */
static unsigned lag_octave(int64_t lag_ms)
{
    unsigned o = 0;

    while (lag_ms > 0) {
        lag_ms >>= 1;
        o++;
    }
    return o;
}

/*
 * Hash of every sticky value a full heartbeat carries (uptime_ms aside: it is derived): the
 * memory figures, the interval, the worst lag, the wall clock's offset, the events counters
 * (events: their hash, see batch_plan()) and the digests. Host byte order: the hash never
 * leaves the agent. The worst lag counts by its power of two only: it creeps up a
 * millisecond at a time on a loaded host, and each step would resend every sticky member
 * (docs/protocol.md: a full heartbeat carries its exact value whenever one goes).
 */
static uint32_t sticky_hash(const struct ward_wire_heartbeat *h, uint32_t events)
{
    uint32_t x = fnv1a(2166136261u, h->memory, sizeof(h->memory));
    unsigned lag = lag_octave(h->lag_max_ms);
    /* wall_ms - t_ms, in whole seconds (the clock set or stepped, not its slew) */
    int64_t wall_s = h->has_wall ? (h->wall_ms - h->t_ms) / 1000 : INT64_MIN;

    x = fnv1a(x, &h->interval_ms, sizeof(h->interval_ms));
    x = fnv1a(x, &lag, sizeof(lag));
    x = fnv1a(x, &wall_s, sizeof(wall_s));
    x = fnv1a(x, &events, sizeof(events));
    x = fnv1a(x, h->config_sha256, strlen(h->config_sha256));
    return fnv1a(x, h->rules_sha256, strlen(h->rules_sha256) + 1u);
}

void ward_report_sticky_reset(struct ward_agent *a)
{
    if (a != NULL) {
        a->sticky_sent = false;
        ward_inventory_stale(&a->inv);
        a->summary_acked_ok = false; /* the health summary goes again, too */
        a->summary_built_ok = false;
        /* A new connection may reach a collector without the snapshot: the next cycle is
         * full, and a delta cycle in progress gives way to it at once. */
        a->delta_ok = false;
        if (a->health_delta) {
            a->health_cursor = 0;
            a->health_delta = false;
        }
    }
}

/* Sensor i of the health table as the wire's, with its effective thresholds when full;
 * false when there is none. */
static bool wire_sensor(const struct ward_agent *a, unsigned i, bool full,
                        struct ward_wire_sensor *w)
{
    const struct ward_sensor *s = ward_health_sensor_at(&a->health, i);
    struct ward_thresholds thr;

    if (s == NULL) {
        return false;
    }
    *w = (struct ward_wire_sensor){
        .id = s->id,
        .state = s->state,
        .severity = (uint8_t)ward_health_sensor_severity(&a->health, i),
        .kind = ward_rule_kind_name(ward_health_sensor_kind(&a->health, i)),
        .has_value = (s->flags & WARD_SENSOR_HAS_VALUE) != 0,
        .value = s->value,
        .since_ms = s->since_ms,
        .last_ms = s->last_ms,
        .reason = reason_name(s->reason),
        .standby = (s->flags & WARD_SENSOR_STANDBY) != 0,
    };
    /* Thresholds are static: full pages only, so a delta page stays small. */
    if (full && ward_health_sensor_thresholds(&a->health, i, &thr) == 0) {
        w->thr_present = thr.present;
        memcpy(w->thr, thr.value, sizeof(w->thr));
    }
    return true;
}

/* Sensors [first, first + max) of the table (max 0: to the end); with delta, only those
 * that changed since they last went out (report_delta.h). */
static cJSON *doc_health(const struct doc *d, int64_t now, unsigned first, unsigned max, bool delta)
{
    const struct ward_agent *a = d->a;
    unsigned total = ward_health_count(&a->health);
    enum ward_severity sev;
    enum ward_state st = ward_health_overall(&a->health, &sev, NULL);
    struct ward_wire_health h;
    cJSON *sensors;
    cJSON *o;
    bool ok;
    unsigned end;

    first = first > total ? total : first;
    end = (max == 0 || max > total - first) ? total : first + max;
    h = (struct ward_wire_health){ now, (uint8_t)st, (uint8_t)sev, total, first };
    o = delta ? ward_wire_health_delta_json(&h, &d->id, &sensors)
              : ward_wire_health_json(&h, &d->id, &sensors);
    ok = o != NULL;
    for (unsigned i = first; ok && i < end; i++) {
        struct ward_wire_sensor s;

        if (!delta || report_delta_changed(a, i)) {
            ok = wire_sensor(a, i, !delta, &s) && ward_wire_health_add(sensors, &s);
        }
    }
    return ok ? o : NULL;
}

/* Print, account the arena, leave it. */
static int finish(struct ward_agent *a, struct ward_json_arena *arena, uint32_t failures_before,
                  cJSON *doc, char *buf, size_t len)
{
    int rc;

    if (doc == NULL) {
        rc = -ENOMEM;
    } else if (len == 0 || len > INT_MAX) {
        rc = -EINVAL;
    } else if (!cJSON_PrintPreallocated(doc, buf, (int)len, 0)) {
        rc = -ENOSPC;
    } else {
        rc = (int)strlen(buf);
    }
    if (arena->high_water > a->json_high_water) {
        a->json_high_water = (uint32_t)arena->high_water;
    }
    a->json_arena_bytes = (uint32_t)arena->size;
    a->json_failures += arena->failures - failures_before;
    ward_json_arena_leave(arena);
    if (rc < 0 && buf != NULL && len > 0) {
        buf[0] = '\0';
    }
    return rc;
}

static bool args_ok(const struct ward_agent *a, const struct ward_json_arena *arena,
                    const char *buf)
{
    return a != NULL && arena != NULL && buf != NULL;
}

/* A heartbeat went out (alone or in a batch): the next is numbered after it. */
static void heartbeat_sent(struct ward_agent *a)
{
    a->hb_seq++;
    a->lag_hb_ms = 0;
}

int ward_report_heartbeat(struct ward_agent *a, int64_t now_ms, struct ward_json_arena *arena,
                          char *buf, size_t len)
{
    struct doc d;
    struct ward_wire_heartbeat h;
    uint32_t failures;
    int rc;

    if (!args_ok(a, arena, buf)) {
        return -EINVAL;
    }
    doc_init(&d, a);
    wire_heartbeat(&d, now_ms, arena, true, &h);
    failures = arena->failures;
    ward_json_arena_enter(arena);
    ward_inventory_refresh(&a->inv, a->hal, now_ms);
    rc = finish(a, arena, failures,
                ward_inventory_json(ward_wire_heartbeat_json(&h, &d.id), &a->inv), buf, len);
    if (rc >= 0) {
        heartbeat_sent(a);
    }
    return rc;
}

int ward_report_health(struct ward_agent *a, int64_t now_ms, unsigned first, unsigned max,
                       struct ward_json_arena *arena, char *buf, size_t len)
{
    struct doc d;
    uint32_t failures;

    if (!args_ok(a, arena, buf)) {
        return -EINVAL;
    }
    doc_init(&d, a);
    failures = arena->failures;
    ward_json_arena_enter(arena);
    return finish(a, arena, failures, doc_health(&d, now_ms, first, max, false), buf, len);
}

int ward_report_event(struct ward_agent *a, const struct ward_event *ev,
                      struct ward_json_arena *arena, char *buf, size_t len)
{
    struct doc d;
    uint32_t failures;

    if (!args_ok(a, arena, buf) || ev == NULL) {
        return -EINVAL;
    }
    doc_init(&d, a);
    failures = arena->failures;
    ward_json_arena_enter(arena);
    return finish(a, arena, failures, doc_event(&d, ev), buf, len);
}

/* Rounds a severity-first batch is chosen again to fit its buffer (ward_report_batch()). */
#define WARD_REPORT_RESELECT_ROUNDS 3u

/* What one batch holds; ward_report_batch() shrinks it until it fits. */
struct batch_plan {
    bool full;       /* a full heartbeat (every sticky member) */
    uint32_t hash;   /* of the sticky values, remembered once a full heartbeat went out */
    uint32_t events; /* of the events counters, the same */
    unsigned from;   /* the first pending event */
    unsigned want;   /* events asked for (chosen) */
    unsigned asked;  /* want before batch_reselect() made it smaller */
    unsigned page;   /* sensors in the health page from the cursor, 0: no health member */
    unsigned total;  /* sensors in the table */
    bool quiet;      /* a delta cycle with nothing changed: done without a page */
    /* The heartbeat's health summary (health_summary()). */
    uint64_t summary;
    /* The events chosen, by log index from `from`: `want` of them (severity first, or the
     * oldest); printed in the log's order. */
    uint8_t sel[(WARD_EVLOG_SIZE + 7) / 8];
};

static bool is_sel(const struct batch_plan *p, unsigned i)
{
    return (p->sel[i / 8u] & (1u << (i % 8u))) != 0;
}

static void set_sel(struct batch_plan *p, unsigned i)
{
    p->sel[i / 8u] |= (uint8_t)(1u << (i % 8u));
}

/* Unchosen events of i's sensor at or before i: what must go with it (or before it). */
static unsigned chain_len(const struct ward_evlog *log, const struct batch_plan *p, unsigned i)
{
    unsigned n = 0;

    for (unsigned j = p->from; j <= i; j++) {
        n += !is_sel(p, j) && log->ev[j].sensor == log->ev[i].sensor;
    }
    return n;
}

static void chain_take(const struct ward_evlog *log, struct batch_plan *p, unsigned i)
{
    for (unsigned j = p->from; j <= i; j++) {
        if (log->ev[j].sensor == log->ev[i].sensor) {
            set_sel(p, j);
        }
    }
}

/*
 * Choose p->want events from p->from: the oldest, or (severity first) every event of the
 * highest severity with its sensor's older ones, then the next severity down to low, while
 * they fit, then the oldest of the rest. A sensor's chosen events are always the oldest of
 * its pending ones, so any prefix of the choice in the log's order keeps every sensor's order.
 */
static void batch_select(const struct ward_agent *a, struct batch_plan *p)
{
    const struct ward_evlog *log = &a->log;
    unsigned taken = 0;

    memset(p->sel, 0, sizeof(p->sel));
    if (!a->severity_first) {
        for (unsigned i = p->from; i < p->from + p->want; i++) {
            set_sel(p, i);
        }
        return;
    }
    for (unsigned sev = WARD_SEV_COUNT; --sev > WARD_SEV_NONE && taken < p->want;) {
        for (unsigned i = p->from; i < log->n && taken < p->want; i++) {
            unsigned c;

            if (log->ev[i].severity != sev || is_sel(p, i)) {
                continue;
            }
            c = chain_len(log, p, i);
            if (taken + c <= p->want) {
                chain_take(log, p, i);
                taken += c;
            }
        }
    }
    /* The rest oldest first: each is the oldest not yet chosen, so its sensor's older ones
     * are all in. */
    for (unsigned i = p->from; i < log->n && taken < p->want; i++) {
        if (!is_sel(p, i)) {
            set_sel(p, i);
            taken++;
        }
    }
}

/* The largest batch: every pending event asked for, every sensor left in the cycle. */
static void batch_plan(struct ward_agent *a, const struct doc *d,
                       const struct ward_json_arena *arena, int64_t now, unsigned from,
                       unsigned max_events, bool with_health, struct batch_plan *p)
{
    unsigned pending = ward_evlog_pending(&a->log);
    struct ward_wire_heartbeat full;

    wire_heartbeat(d, 0, arena, true, &full);
    /* The events counters count while nothing is pending: a compact heartbeat leaves them
     * out then, so they must be the last full one's. While events are pending every
     * heartbeat carries them, and they count as they were. */
    p->events =
        pending == 0 ? fnv1a(2166136261u, full.events, sizeof(full.events)) : a->sticky_events;
    ward_inventory_refresh(&a->inv, a->hal, now);
    p->hash = ward_inventory_mix(&a->inv, sticky_hash(&full, p->events));
    p->full = !a->sticky_sent || p->hash != a->sticky_hash;
    p->summary = health_summary(&full);
    p->from = from;
    p->want = from >= pending ? 0 : pending - from;
    p->want = p->want > max_events ? max_events : p->want;
    p->asked = p->want;
    p->total = ward_health_count(&a->health);
    p->page = 0;
    p->quiet = false;
    a->health_done = false;
    if (a->health_cursor >= p->total) {
        a->health_cursor = 0; /* a new cycle (or the sensor table shrank) */
    }
    if (with_health) {
        if (a->health_cursor == 0) { /* a cycle starts: full or delta (report_delta.h) */
            a->health_delta = report_delta_allowed(a, now);
        }
        /* Every sensor left in the cycle; an agent without sensors sends an empty page. */
        p->page = p->total > 0 ? p->total - a->health_cursor : 1u;
        if (a->health_delta && !report_delta_any(a, a->health_cursor, p->total)) {
            p->page = 0;
            p->quiet = true;
        }
    }
}

/* One round's batch without its events: the heartbeat and the page. */
static cJSON *doc_batch(const struct doc *d, int64_t now, const struct batch_plan *p,
                        const struct ward_json_arena *arena)
{
    struct ward_wire_heartbeat h;
    cJSON *o = ward_wire_batch_json(&d->id);
    cJSON *hb;
    bool ok;

    wire_heartbeat(d, now, arena, p->full, &h);
    hb = ward_wire_heartbeat_json(&h, NULL);
    hb = p->full ? ward_inventory_json(hb, &d->a->inv) : hb;
    ok = put_drill(hb, &d->a->drill) && ward_wire_put(o, WARD_WIRE_M_HEARTBEAT, hb);
    if (p->page > 0) {
        ok = ok &&
             ward_wire_put(o, WARD_WIRE_M_HEALTH,
                           doc_health(d, now, d->a->health_cursor, p->page, d->a->health_delta));
    }
    return ok ? o : NULL;
}

/*
 * Print pending events from p->from (at most p->want) after the printed batch in buf, each
 * built alone on the arena: the buffer bounds a batch, not the arena. @return how many went.
 */
static bool append_one(const struct doc *d, unsigned i, bool first, struct ward_json_arena *arena,
                       char *buf, size_t cap, size_t *len)
{
    const struct ward_event *ev = ward_evlog_at(&d->a->log, i);
    uint32_t failures = arena->failures;
    bool ok;

    ward_json_arena_enter(arena);
    ok = ev != NULL && ward_wire_batch_append(buf, cap, len, first, doc_event(d, ev));
    d->a->json_failures += arena->failures - failures;
    ward_json_arena_leave(arena);
    return ok;
}

static unsigned append_events(const struct doc *d, struct batch_plan *p,
                              struct ward_json_arena *arena, char *buf, size_t cap, size_t *len)
{
    unsigned n = ward_evlog_pending(&d->a->log);
    unsigned got = 0;
    unsigned i;

    for (i = p->from; got < p->want && i < n; i++) {
        if (!is_sel(p, i)) {
            continue;
        }
        if (!append_one(d, i, got == 0, arena, buf, cap, len)) {
            return got; /* the buffer is full: the rest go in the next batch */
        }
        got++;
    }
    /* Room left after a choice made smaller to fit (batch_reselect()): the oldest events not
     * chosen follow while they fit, each the oldest left, so after its sensor's chosen ones. */
    for (i = p->from; d->a->severity_first && got < p->asked && i < n; i++) {
        if (is_sel(p, i)) {
            continue;
        }
        if (!append_one(d, i, got == 0, arena, buf, cap, len)) {
            break;
        }
        set_sel(p, i);
        got++;
    }
    return got;
}

/*
 * A round did not fit (rc -ENOMEM: the arena, -ENOSPC: the buffer), or its page crowded out
 * events: the page halves down to one sensor while any event asked for is left out, then
 * goes when it leaves no room for even one. Events fill what the buffer has left. Each call
 * halves the page or drops it, so a batch takes at most log2(page) + 2 rounds.
 * @return true to build the round again smaller.
 */
static bool batch_shrink(struct batch_plan *p, int rc, unsigned got)
{
    bool crowded = rc >= 0 && got < p->want && (p->page > 1 || got == 0);

    if (p->page == 0 || (rc >= 0 && !crowded)) {
        return false;
    }
    p->page = p->page > 1 ? p->page / 2u : 0u;
    return true;
}

/*
 * Severity first, the buffer held fewer events than were chosen (got): those printed are the
 * first in the log's order, not the most severe. Choose again for what fits, a few times
 * (each round prints the batch again); after that the prefix goes, in order all the same.
 * @return true to build the round again.
 */
static bool batch_reselect(const struct ward_agent *a, struct batch_plan *p, int rc, unsigned got,
                           unsigned *rounds)
{
    if (!a->severity_first || rc < 0 || p->page > 0 || got >= p->want || got == 0 ||
        ++*rounds > WARD_REPORT_RESELECT_ROUNDS) {
        return false;
    }
    p->want = got;
    batch_select(a, p);
    return true;
}

/* The page of sensors [first, end) was built: remember what went out. */
static void sent_page(struct ward_agent *a, int64_t now, unsigned first, unsigned end)
{
    if (!a->health_delta && first == 0) {
        a->full_at_ms = now; /* a full cycle starts */
    }
    for (unsigned i = first; IS_ENABLED(CONFIG_WARD_REPORT_DELTA) && i < end; i++) {
        if (!a->health_delta || report_delta_changed(a, i)) {
            report_delta_mark(a, i);
        }
    }
}

/* Mark the events the batch carries (the first `got` chosen, in the log's order) as sent,
 * and no other: an acknowledgement answers the batch last built. */
static void mark_sent(struct ward_agent *a, const struct batch_plan *p, unsigned got)
{
    struct ward_evlog *log = &a->log;

    for (unsigned i = 0; i < log->n; i++) {
        bool sent = i >= p->from && got > 0 && is_sel(p, i);

        got -= sent ? 1u : 0u;
        log->ev[i].flags = (uint8_t)(sent ? log->ev[i].flags | WARD_EVENT_SENT
                                          : log->ev[i].flags & ~WARD_EVENT_SENT);
    }
}

/* A batch was built: number its heartbeat, remember the sticky values, move the cursor. */
static void batch_built(struct ward_agent *a, int64_t now, const struct batch_plan *p, unsigned got)
{
    mark_sent(a, p, got);
    heartbeat_sent(a);
    /* The collector holds it once an acknowledgement answers this batch (below). */
    a->summary_built = p->summary;
    a->summary_built_ok = true;
    if (p->full) {
        a->sticky_sent = true;
        a->sticky_hash = p->hash;
        a->sticky_events = p->events;
    }
    if (p->page > 0) {
        unsigned next = a->health_cursor + p->page;

        sent_page(a, now, a->health_cursor, next < p->total ? next : p->total);
        /* Advanced when built, not acked: a lost page waits for the next cycle. */
        a->health_done = next >= p->total;
        a->health_cursor = (uint16_t)(next >= p->total ? 0u : next);
        /* Deltas may follow once a whole full cycle went out on this connection. */
        a->delta_ok = a->delta_ok || (a->health_done && !a->health_delta);
    } else if (p->quiet) {
        a->health_done = true;
        a->health_cursor = 0;
    }
}

void ward_report_delta_pages(struct ward_agent *a, bool on)
{
    if (a != NULL) {
        a->delta_pages = on;
    }
}

void ward_report_severity_first(struct ward_agent *a, bool on)
{
    if (a != NULL) {
        a->severity_first = on;
    }
}

bool ward_report_health_done(const struct ward_agent *a)
{
    return a != NULL && a->health_done;
}

int ward_report_batch(struct ward_agent *a, int64_t now_ms, unsigned from, unsigned max_events,
                      bool with_health, struct ward_json_arena *arena, char *buf, size_t len,
                      unsigned *n_events)
{
    struct doc d;
    struct batch_plan p;
    unsigned got = 0;
    unsigned rounds = 0;
    int rc;

    if (!args_ok(a, arena, buf)) {
        return -EINVAL;
    }
    doc_init(&d, a);
    batch_plan(a, &d, arena, now_ms, from, max_events, with_health, &p);
    batch_select(a, &p);
    for (;;) {
        uint32_t failures = arena->failures;
        uint32_t json_failures = a->json_failures;
        size_t end;

        ward_json_arena_enter(arena);
        rc = finish(a, arena, failures, doc_batch(&d, now_ms, &p, arena), buf, len);
        got = 0;
        if (rc >= 0) {
            end = (size_t)rc;
            got = append_events(&d, &p, arena, buf, len, &end);
            rc = (int)end;
        }
        if (!batch_shrink(&p, rc, got) && !batch_reselect(a, &p, rc, got, &rounds)) {
            break;
        }
        /* A round that is retried smaller is paging by design, not an arena failure. */
        a->json_failures = json_failures;
    }
    if (rc >= 0) {
        batch_built(a, now_ms, &p, got);
    }
    if (n_events != NULL) {
        *n_events = rc >= 0 ? got : 0;
    }
    return rc;
}

int ward_report_replay_line(struct ward_agent *a, const struct ward_event *ev,
                            struct ward_json_arena *arena, char *buf, size_t len)
{
    struct ward_wire_event w;
    uint32_t failures;

    if (!args_ok(a, arena, buf) || ev == NULL) {
        return -EINVAL;
    }
    wire_event(a, NULL, ev, &w);
    failures = arena->failures;
    ward_json_arena_enter(arena);
    return finish(a, arena, failures, ward_wire_replay_json(&w), buf, len);
}

int ward_report_ack_each(const char *text, size_t len, ward_ack_fn fn, void *ctx)
{
    return ward_wire_ack_each(text, len, fn, ctx);
}

struct ack_free {
    struct ward_agent *a;
    int freed;
};

static int ack_free_events(void *ctx, const uint8_t boot[WARD_BOOT_ID_LEN], uint32_t seq)
{
    struct ack_free *f = ctx;
    int n = ward_evlog_ack(&f->a->log, boot, seq);

    f->freed += n > 0 ? n : 0; /* an unknown boot was already freed */
    return 0;
}

int ward_report_apply_ack(struct ward_agent *a, const char *text, size_t len)
{
    struct ack_free f = { a, 0 };
    int rc;

    if (a == NULL || text == NULL) {
        return -EINVAL;
    }
    rc = ward_report_ack_each(text, len, ack_free_events, &f);
    if (rc >= 0) {
        ward_report_batch_acked(a);
    }
    return rc < 0 ? rc : f.freed;
}

void ward_report_batch_acked(struct ward_agent *a)
{
    if (a != NULL && a->summary_built_ok) {
        a->summary_acked = a->summary_built;
        a->summary_acked_ok = true;
    }
}
