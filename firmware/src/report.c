#include <errno.h>
#include <limits.h>
#include <string.h>

#include <cJSON.h>

#include "ward/base/fmt.h"
#include "ward/base/jscan.h"
#include "ward/report.h"
#include "ward/version.h"

/*
 * Strings that must outlive the builders until printing: hex of the boot ids and of the
 * digests. They live in the public function's frame and cJSON references them.
 */
struct doc {
    struct ward_agent *a;
    char boot_hex[WARD_EVLOG_BOOTS][WARD_BOOT_ID_HEX_LEN + 1];
    char config_hex[WARD_DIGEST_HEX_LEN + 1];
    char rules_hex[WARD_DIGEST_HEX_LEN + 1];
    char config_short[WARD_REPORT_DIGEST_SHORT + 1]; /* prefixes of the two above */
    char rules_short[WARD_REPORT_DIGEST_SHORT + 1];
};

_Static_assert(WARD_HEALTH_MAX_SENSORS <= UINT16_MAX, "the health page cursor is 16 bits");

/* Which heartbeat to build: a document of its own, or a batch's (full or compact). */
enum hb_kind {
    HB_STANDALONE,
    HB_FULL,
    HB_COMPACT,
};

void ward_boot_id_hex(const uint8_t id[WARD_BOOT_ID_LEN], char out[WARD_BOOT_ID_HEX_LEN + 1])
{
    static const char hexdigits[] = "0123456789abcdef";

    for (unsigned i = 0; i < WARD_BOOT_ID_LEN; i++) {
        out[2 * i] = hexdigits[id[i] >> 4];
        out[2 * i + 1] = hexdigits[id[i] & 0x0f];
    }
    out[WARD_BOOT_ID_HEX_LEN] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int ward_boot_id_parse(const char *hex, uint8_t id[WARD_BOOT_ID_LEN])
{
    if (hex == NULL || id == NULL || strlen(hex) != WARD_BOOT_ID_HEX_LEN) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < WARD_BOOT_ID_LEN; i++) {
        int hi = hexval(hex[2 * i]);
        int lo = hexval(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return -EINVAL;
        }
        id[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

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
    memcpy(d->config_short, d->config_hex, WARD_REPORT_DIGEST_SHORT);
    d->config_short[d->config_hex[0] != '\0' ? WARD_REPORT_DIGEST_SHORT : 0] = '\0';
    memcpy(d->rules_short, d->rules_hex, WARD_REPORT_DIGEST_SHORT);
    d->rules_short[d->rules_hex[0] != '\0' ? WARD_REPORT_DIGEST_SHORT : 0] = '\0';
}

/* Each helper returns false when the arena is exhausted; callers AND the results. */
static bool add(cJSON *obj, const char *key, cJSON *item)
{
    return item != NULL && obj != NULL && cJSON_AddItemToObjectCS(obj, key, item);
}

static bool add_ref(cJSON *obj, const char *key, const char *s)
{
    return add(obj, key, cJSON_CreateStringReference(s));
}

static bool add_i64(cJSON *obj, const char *key, int64_t v)
{
    char num[WARD_FMT_INT64_MAX];

    ward_fmt_i64(num, sizeof(num), v);
    return add(obj, key, cJSON_CreateRaw(num));
}

static bool add_u64(cJSON *obj, const char *key, uint64_t v)
{
    char num[WARD_FMT_INT64_MAX];

    ward_fmt_u64(num, sizeof(num), v);
    return add(obj, key, cJSON_CreateRaw(num));
}

/* A time, or null for a sensor never read (known only from a restored event). */
static bool add_time(cJSON *obj, const char *key, int64_t t)
{
    return t == WARD_TIME_NONE ? add(obj, key, cJSON_CreateNull()) : add_i64(obj, key, t);
}

/* A counter that only matters once it is not 0: absent means 0 (protocol v2). */
static bool add_nz(cJSON *obj, const char *key, uint64_t v)
{
    return v == 0 || add_u64(obj, key, v);
}

/* Attach obj under key unless it has no member ("no empty objects"). */
static bool add_unless_empty(cJSON *parent, const char *key, cJSON *obj)
{
    if (obj != NULL && obj->child == NULL) {
        cJSON_Delete(obj);
        return true;
    }
    return add(parent, key, obj);
}

static cJSON *header_v(const struct doc *d, const char *type, int64_t version)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = add_i64(o, "v", version);

    ok = ok && add_ref(o, "type", type);
    ok = ok && add_ref(o, "device", d->a->device_id);
    ok = ok && add_ref(o, "boot", d->boot_hex[0]);
    return ok ? o : NULL;
}

static cJSON *header(const struct doc *d, const char *type)
{
    return header_v(d, type, WARD_PROTOCOL_VERSION);
}

static const char *sensor_id(const struct ward_agent *a, unsigned idx)
{
    const struct ward_sensor *s = ward_health_sensor_at(&a->health, idx);

    return s != NULL ? s->id : "unknown";
}

static cJSON *doc_event(const struct doc *d, const struct ward_event *ev)
{
    const struct ward_agent *a = d->a;
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;

    ok = ok && add_ref(o, "boot", d->boot_hex[ev->boot < WARD_EVLOG_BOOTS ? ev->boot : 0]);
    ok = ok && add_u64(o, "seq", ev->seq);
    ok = ok && add_i64(o, "t_ms", ev->t_ms);
    if (ev->flags & WARD_EVENT_HAS_WALL) {
        ok = ok && add_i64(o, "wall_ms", ev->wall_ms);
    }
    ok = ok && add_ref(o, "sensor", sensor_id(a, ev->sensor));
    ok = ok && add_ref(o, "from", ward_state_name((enum ward_state)ev->from));
    ok = ok && add_ref(o, "to", ward_state_name((enum ward_state)ev->to));
    ok = ok && add_ref(o, "severity", ward_severity_name((enum ward_severity)ev->severity));
    if (ev->flags & WARD_EVENT_HAS_VALUE) {
        ok = ok && add_i64(o, "value", ev->value);
    } else {
        ok = ok && add(o, "value", cJSON_CreateNull());
    }
    if (ev->reason != WARD_REASON_NONE) {
        ok = ok && add_ref(o, "reason", ward_reason_name((enum ward_reason)ev->reason));
    }
    ok = ok && add_u64(o, "count", ev->count);
    if (ev->count > 1) {
        ok = ok && add_i64(o, "first_t_ms", ev->first_t_ms);
    }
    return ok ? o : NULL;
}

static cJSON *health_summary(const struct ward_agent *a)
{
    enum ward_severity sev;
    unsigned not_ok;
    enum ward_state st = ward_health_overall(&a->health, &sev, &not_ok);
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;

    ok = ok && add_ref(o, "state", ward_state_name(st));
    if (sev != WARD_SEV_NONE) {
        ok = ok && add_ref(o, "severity", ward_severity_name(sev));
    }
    ok = ok && add_u64(o, "sensors", ward_health_count(&a->health));
    ok = ok && add_nz(o, "not_ok", not_ok);
    return ok ? o : NULL;
}

static cJSON *events_summary(const struct ward_evlog *log)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;

    ok = ok && add_nz(o, "pending", ward_evlog_pending(log));
    ok = ok && add_nz(o, "last_seq", ward_evlog_last_seq(log));
    ok = ok && add_nz(o, "dropped", ward_evlog_dropped_total(log));
    ok = ok && add_nz(o, "dropped_low", log->dropped[WARD_SEV_LOW]);
    ok = ok && add_nz(o, "dropped_medium", log->dropped[WARD_SEV_MEDIUM]);
    ok = ok && add_nz(o, "dropped_high", log->dropped[WARD_SEV_HIGH]);
    ok = ok && add_nz(o, "folded", log->folded);
    ok = ok && add_nz(o, "acked", log->acked);
    return ok ? o : NULL;
}

static uint64_t loop_skipped(const struct ward_agent *a)
{
    uint64_t skipped = 0;

    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        skipped += a->sched.task[c].skipped;
    }
    return skipped;
}

/* lag_max_ms is sticky (a high-water mark): only in full heartbeats. */
static cJSON *loop_summary(const struct ward_agent *a, bool full)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;

    if (a->lag_hb_ms != 0) {
        ok = ok && add_i64(o, "lag_ms", a->lag_hb_ms);
    }
    if (full) {
        ok = ok && add_i64(o, "lag_max_ms", a->sched.lag_ever_ms);
    }
    ok = ok && add_nz(o, "skipped", loop_skipped(a));
    return ok ? o : NULL;
}

static cJSON *memory_summary(const struct ward_agent *a, const struct ward_json_arena *arena)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    /* The arena's use so far includes this document's own tree. */
    size_t json_hw =
        arena->high_water > a->json_high_water ? arena->high_water : a->json_high_water;

    ok = ok && add_u64(o, "context_bytes", sizeof(*a));
    ok = ok && add_u64(o, "sensors_used", ward_health_count(&a->health));
    ok = ok && add_u64(o, "sensors_max", WARD_HEALTH_MAX_SENSORS);
    ok = ok && add_u64(o, "rates_high_water", a->health.rates_high_water);
    ok = ok && add_u64(o, "rates_max", WARD_HEALTH_MAX_RATES);
    ok = ok && add_u64(o, "events_high_water", a->log.high_water);
    ok = ok && add_u64(o, "events_max", WARD_EVLOG_SIZE);
    ok = ok && add_u64(o, "json_arena_high_water", json_hw);
    ok = ok && add_u64(o, "json_arena_bytes", arena->size);
    ok = ok && add_u64(o, "json_arena_failures", a->json_failures);
    ok = ok && add_u64(o, "readings_refused", a->feed_errors);
    ok = ok && add_u64(o, "hal_errors", a->hal_errors);
    return ok ? o : NULL;
}

static cJSON *doc_heartbeat(const struct doc *d, int64_t now, const struct ward_json_arena *arena,
                            enum hb_kind kind)
{
    const struct ward_agent *a = d->a;
    bool full = kind != HB_COMPACT;
    uint32_t interval = a->sched.task[WARD_CLASS_HEARTBEAT].interval_ms;
    /* In a batch, type, device and boot are the batch's. */
    cJSON *o = kind == HB_STANDALONE ? header_v(d, "heartbeat", WARD_HEARTBEAT_VERSION)
                                     : cJSON_CreateObject();
    bool ok = o != NULL;

    if (kind != HB_STANDALONE) {
        ok = ok && add_i64(o, "v", WARD_HEARTBEAT_VERSION);
    }
    ok = ok && add_u64(o, "seq", a->hb_seq + 1u);
    ok = ok && add_i64(o, "t_ms", now);
    if (a->wall_known) {
        ok = ok && add_i64(o, "wall_ms", now + a->wall_offset_ms);
    }
    ok = ok && add_ref(o, "config", d->config_short);
    if (d->rules_short[0] != '\0') {
        ok = ok && add_ref(o, "rules", d->rules_short);
    }
    if (full) {
        ok = ok && add_i64(o, "uptime_ms", now - a->start_ms);
        if (interval > 0) {
            ok = ok && add_u64(o, "interval_ms", interval);
        }
        ok = ok && add_ref(o, "firmware", ward_version());
        ok = ok && add_ref(o, "board", WARD_BOARD_NAME);
        ok = ok && add_ref(o, "arch", WARD_ARCH);
        ok = ok && add_ref(o, "config_sha256", d->config_hex);
        if (d->rules_hex[0] != '\0') {
            ok = ok && add_ref(o, "rules_sha256", d->rules_hex);
        }
    }
    ok = ok && add(o, "health", health_summary(a));
    ok = ok && add_unless_empty(o, "events", events_summary(&a->log));
    ok = ok && add_unless_empty(o, "loop", loop_summary(a, full));
    if (full) {
        ok = ok && add(o, "memory", memory_summary(a, arena));
    }
    return ok ? o : NULL;
}

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

static uint32_t fnv1a_u64(uint32_t h, uint64_t v)
{
    uint8_t b[8];

    for (unsigned i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    return fnv1a(h, b, sizeof(b));
}

/* Hash of every sticky value a full heartbeat carries (uptime_ms aside: it is derived). */
static uint32_t sticky_hash(const struct doc *d, const struct ward_json_arena *arena)
{
    const struct ward_agent *a = d->a;
    const uint64_t v[] = {
        a->sched.task[WARD_CLASS_HEARTBEAT].interval_ms,
        ward_health_count(&a->health),
        a->health.rates_high_water,
        a->log.high_water,
        a->json_high_water,
        arena->size,
        a->json_failures,
        a->feed_errors,
        a->hal_errors,
        (uint64_t)a->sched.lag_ever_ms,
    };
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        h = fnv1a_u64(h, v[i]);
    }
    h = fnv1a(h, d->config_hex, strlen(d->config_hex));
    return fnv1a(h, d->rules_hex, strlen(d->rules_hex) + 1u);
}

void ward_report_sticky_reset(struct ward_agent *a)
{
    if (a != NULL) {
        a->sticky_sent = false;
    }
}

static cJSON *doc_sensor(const struct ward_agent *a, unsigned i)
{
    const struct ward_sensor *s = ward_health_sensor_at(&a->health, i);
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL && s != NULL;

    ok = ok && add_ref(o, "id", s->id);
    ok = ok && add_ref(o, "state", ward_state_name((enum ward_state)s->state));
    ok = ok &&
         add_ref(o, "severity", ward_severity_name(ward_health_sensor_severity(&a->health, i)));
    ok = ok && add_ref(o, "kind", ward_rule_kind_name(ward_health_sensor_kind(&a->health, i)));
    if (s != NULL && (s->flags & WARD_SENSOR_HAS_VALUE)) {
        ok = ok && add_i64(o, "value", s->value);
    } else {
        ok = ok && add(o, "value", cJSON_CreateNull());
    }
    ok = ok && add_time(o, "since_ms", s->since_ms);
    ok = ok && add_time(o, "last_ms", s->last_ms);
    if (s != NULL && s->reason != WARD_REASON_NONE) {
        ok = ok && add_ref(o, "reason", ward_reason_name((enum ward_reason)s->reason));
    }
    if (s != NULL && (s->flags & WARD_SENSOR_STANDBY)) {
        ok = ok && add(o, "standby", cJSON_CreateTrue());
    }
    return ok ? o : NULL;
}

static cJSON *doc_health(const struct doc *d, int64_t now, unsigned first, unsigned max)
{
    const struct ward_agent *a = d->a;
    unsigned total = ward_health_count(&a->health);
    enum ward_severity sev;
    enum ward_state st = ward_health_overall(&a->health, &sev, NULL);
    cJSON *o = header(d, "health");
    cJSON *arr = cJSON_CreateArray();
    bool ok = o != NULL && arr != NULL;
    unsigned end;

    first = first > total ? total : first;
    end = (max == 0 || max > total - first) ? total : first + max;
    ok = ok && add_i64(o, "t_ms", now);
    ok = ok && add_ref(o, "state", ward_state_name(st));
    ok = ok && add_ref(o, "severity", ward_severity_name(sev));
    ok = ok && add_u64(o, "sensors_total", total);
    ok = ok && add_u64(o, "first", first);
    for (unsigned i = first; ok && i < end; i++) {
        cJSON *s = doc_sensor(a, i);

        ok = s != NULL && cJSON_AddItemToArray(arr, s);
    }
    ok = ok && add(o, "sensors", arr);
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

int ward_report_heartbeat(struct ward_agent *a, int64_t now_ms, struct ward_json_arena *arena,
                          char *buf, size_t len)
{
    struct doc d;
    uint32_t failures;
    int rc;

    if (!args_ok(a, arena, buf)) {
        return -EINVAL;
    }
    doc_init(&d, a);
    failures = arena->failures;
    ward_json_arena_enter(arena);
    rc = finish(a, arena, failures, doc_heartbeat(&d, now_ms, arena, HB_STANDALONE), buf, len);
    if (rc >= 0) {
        a->hb_seq++;
        a->lag_hb_ms = 0;
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
    return finish(a, arena, failures, doc_health(&d, now_ms, first, max), buf, len);
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

/*
 * A batch with at most `want` events and, unless page is 0, the health page of `page`
 * sensors from the agent's cursor; *got receives how many events fitted in the arena.
 */
static cJSON *doc_batch(const struct doc *d, int64_t now, unsigned from, unsigned want,
                        unsigned page, enum hb_kind hb, struct ward_json_arena *arena,
                        unsigned *got)
{
    cJSON *o = header_v(d, "batch", WARD_HEARTBEAT_VERSION);
    cJSON *events = want > 0 ? cJSON_CreateArray() : NULL;
    bool ok = o != NULL && (want == 0 || events != NULL);
    uint32_t failures;

    *got = 0;
    ok = ok && add(o, "heartbeat", doc_heartbeat(d, now, arena, hb));
    if (page > 0) {
        ok = ok && add(o, "health", doc_health(d, now, d->a->health_cursor, page));
    }
    failures = arena->failures;
    for (unsigned i = 0; ok && i < want; i++) {
        const struct ward_event *ev = ward_evlog_at(&d->a->log, from + i);
        cJSON *e = ev != NULL ? doc_event(d, ev) : NULL;

        if (e == NULL || !cJSON_AddItemToArray(events, e)) {
            /* The arena is full: send what fitted. That is by design, not a failure. */
            arena->failures = failures;
            break;
        }
        (*got)++;
    }
    /* No empty array: a batch without events leaves the member out. */
    ok = ok && (events == NULL || add_unless_empty(o, "events", events));
    return ok ? o : NULL;
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
    unsigned pending;
    unsigned want;
    unsigned got = 0;
    unsigned total;
    unsigned page = 0; /* sensors in the health page, 0: no health member */
    uint32_t hash;
    enum hb_kind hb;
    int rc;

    if (!args_ok(a, arena, buf)) {
        return -EINVAL;
    }
    doc_init(&d, a);
    hash = sticky_hash(&d, arena);
    hb = !a->sticky_sent || hash != a->sticky_hash ? HB_FULL : HB_COMPACT;
    pending = ward_evlog_pending(&a->log);
    want = from >= pending ? 0 : pending - from;
    want = want > max_events ? max_events : want;
    total = ward_health_count(&a->health);
    a->health_done = false;
    if (a->health_cursor >= total) {
        a->health_cursor = 0; /* a new cycle (or the sensor table shrank) */
    }
    if (with_health) {
        /* Every sensor left in the cycle; an agent without sensors sends an empty page. */
        page = total > 0 ? total - a->health_cursor : 1u;
    }
    /*
     * Shrink until the text fits the arena and the buffer: the page first, then the
     * events, then the page goes, then the last event. Each round halves one count or
     * drops a member: at most log2(page) + log2(want) + 3 rounds.
     */
    for (;;) {
        uint32_t failures = arena->failures;
        uint32_t json_failures = a->json_failures;
        bool crowded;

        ward_json_arena_enter(arena);
        rc = finish(a, arena, failures, doc_batch(&d, now_ms, from, want, page, hb, arena, &got),
                    buf, len);
        /* The page took the whole arena: events must make progress too. */
        crowded = rc >= 0 && page > 0 && want > 0 && got == 0;
        if (rc != -ENOMEM && rc != -ENOSPC && !crowded) {
            break;
        }
        /* A round that is retried smaller is paging by design, not an arena failure. */
        a->json_failures = json_failures;
        if (page > 1) {
            page /= 2u;
        } else if (rc == -ENOSPC && got > 1) {
            want = got / 2u;
        } else if (page > 0 && (crowded || rc == -ENOMEM || rc == -ENOSPC)) {
            page = 0;
        } else if (rc == -ENOSPC && got > 0) {
            want = 0;
        } else {
            a->json_failures += arena->failures - failures;
            break;
        }
    }
    if (rc >= 0) {
        a->hb_seq++;
        a->lag_hb_ms = 0;
        if (hb == HB_FULL) {
            a->sticky_sent = true;
            a->sticky_hash = hash;
        }
        if (page > 0) {
            unsigned next = a->health_cursor + page;

            /* Advanced when built, not acked: a lost page waits for the next cycle. */
            a->health_done = next >= total;
            a->health_cursor = (uint16_t)(next >= total ? 0u : next);
        }
    }
    if (n_events != NULL) {
        *n_events = rc >= 0 ? got : 0;
    }
    return rc;
}

int ward_report_replay_line(struct ward_agent *a, const struct ward_event *ev,
                            struct ward_json_arena *arena, char *buf, size_t len)
{
    uint32_t failures;
    cJSON *o;
    bool ok;

    if (!args_ok(a, arena, buf) || ev == NULL) {
        return -EINVAL;
    }
    failures = arena->failures;
    ward_json_arena_enter(arena);
    o = cJSON_CreateObject();
    ok = add_i64(o, "t_ms", ev->t_ms);
    ok = ok && add_u64(o, "seq", ev->seq);
    ok = ok && add_ref(o, "sensor", sensor_id(a, ev->sensor));
    ok = ok && add_ref(o, "from", ward_state_name((enum ward_state)ev->from));
    ok = ok && add_ref(o, "to", ward_state_name((enum ward_state)ev->to));
    ok = ok && add_ref(o, "severity", ward_severity_name((enum ward_severity)ev->severity));
    if (ev->flags & WARD_EVENT_HAS_VALUE) {
        ok = ok && add_i64(o, "value", ev->value);
    } else {
        ok = ok && add(o, "value", cJSON_CreateNull());
    }
    if (ev->reason != WARD_REASON_NONE) {
        ok = ok && add_ref(o, "reason", ward_reason_name((enum ward_reason)ev->reason));
    }
    return finish(a, arena, failures, ok ? o : NULL, buf, len);
}

/* One {"boot": .., "seq": ..} of an acknowledgement. */
static int read_ack(struct ward_jscan *s, uint8_t boot[WARD_BOOT_ID_LEN], uint32_t *seq)
{
    char key[8];
    char hex[WARD_BOOT_ID_HEX_LEN + 1];
    unsigned seen = 0;
    int64_t v;
    int rc;

    if (ward_jscan_object(s) != 0) {
        return s->err;
    }
    while ((rc = ward_jscan_member(s, key, sizeof(key))) > 0) {
        if (strcmp(key, "boot") == 0 && !(seen & 1u)) {
            seen |= 1u;
            if (ward_jscan_string(s, hex, sizeof(hex)) < 0 || ward_boot_id_parse(hex, boot) != 0) {
                return ward_jscan_fail(s, -EINVAL, "boot must be 32 hex digits");
            }
        } else if (strcmp(key, "seq") == 0 && !(seen & 2u)) {
            seen |= 2u;
            if (ward_jscan_int64(s, &v) != 0 || v < 0 || v > (int64_t)UINT32_MAX) {
                return ward_jscan_fail(s, -ERANGE, "seq must be 0..4294967295");
            }
            *seq = (uint32_t)v;
        } else {
            return ward_jscan_fail(s, -EINVAL, "unknown or duplicate key in ack");
        }
    }
    if (rc < 0) {
        return rc;
    }
    return seen == 3u ? 0 : ward_jscan_fail(s, -EINVAL, "an ack needs boot and seq");
}

/* Walk the document, calling fn (when not NULL) for each pair. @return pairs, or errno. */
static int walk_ack(const char *text, size_t len, ward_ack_fn fn, void *ctx)
{
    struct ward_jscan s;
    char key[8];
    unsigned seen = 0;
    int pairs = 0;
    int rc;

    ward_jscan_init(&s, text, len);
    if (ward_jscan_object(&s) != 0) {
        return s.err;
    }
    while ((rc = ward_jscan_member(&s, key, sizeof(key))) > 0) {
        int64_t v;

        if (strcmp(key, "v") == 0 && !(seen & 1u)) {
            seen |= 1u;
            if (ward_jscan_int64(&s, &v) != 0 || v != WARD_PROTOCOL_VERSION) {
                return ward_jscan_fail(&s, -EINVAL, "unsupported version");
            }
        } else if (strcmp(key, "acks") == 0 && !(seen & 2u)) {
            seen |= 2u;
            if (ward_jscan_array(&s) != 0) {
                return s.err;
            }
            while ((rc = ward_jscan_element(&s)) > 0) {
                uint8_t boot[WARD_BOOT_ID_LEN];
                uint32_t seq = 0;

                if (read_ack(&s, boot, &seq) != 0) {
                    return s.err;
                }
                int frc = fn != NULL ? fn(ctx, boot, seq) : 0;

                if (frc < 0) {
                    return frc;
                }
                pairs++;
            }
            if (rc < 0) {
                return rc;
            }
        } else {
            return ward_jscan_fail(&s, -EINVAL, "unknown or duplicate key in ack document");
        }
    }
    if (rc < 0 || ward_jscan_end(&s) != 0) {
        return s.err != 0 ? s.err : rc;
    }
    return seen == 3u ? pairs : -EINVAL;
}

int ward_report_ack_each(const char *text, size_t len, ward_ack_fn fn, void *ctx)
{
    int rc;

    if (text == NULL) {
        return -EINVAL;
    }
    /* A clean first pass before any callback: a malformed document changes nothing. */
    rc = walk_ack(text, len, NULL, NULL);
    return rc < 0 || fn == NULL ? rc : walk_ack(text, len, fn, ctx);
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
    return rc < 0 ? rc : f.freed;
}
