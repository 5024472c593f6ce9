#include <string.h>

#include "ward/base/fmt.h"
#include "ward/wire/state.h"
#include "ward/wire/encode.h"

static const char *const s_event_counters[WARD_WIRE_EV_COUNT] = {
    [WARD_WIRE_EV_PENDING] = "pending",
    [WARD_WIRE_EV_LAST_SEQ] = "last_seq",
    [WARD_WIRE_EV_DROPPED] = "dropped",
    [WARD_WIRE_EV_DROPPED_LOW] = "dropped_low",
    [WARD_WIRE_EV_DROPPED_MEDIUM] = "dropped_medium",
    [WARD_WIRE_EV_DROPPED_HIGH] = "dropped_high",
    [WARD_WIRE_EV_FOLDED] = "folded",
    [WARD_WIRE_EV_ACKED] = "acked",
};

static const char *const s_memory[WARD_WIRE_MEM_COUNT] = {
    [WARD_WIRE_MEM_CONTEXT_BYTES] = "context_bytes",
    [WARD_WIRE_MEM_SENSORS_USED] = "sensors_used",
    [WARD_WIRE_MEM_SENSORS_MAX] = "sensors_max",
    [WARD_WIRE_MEM_RATES_HIGH_WATER] = "rates_high_water",
    [WARD_WIRE_MEM_RATES_MAX] = "rates_max",
    [WARD_WIRE_MEM_EVENTS_HIGH_WATER] = "events_high_water",
    [WARD_WIRE_MEM_EVENTS_MAX] = "events_max",
    [WARD_WIRE_MEM_JSON_HIGH_WATER] = "json_arena_high_water",
    [WARD_WIRE_MEM_JSON_BYTES] = "json_arena_bytes",
    [WARD_WIRE_MEM_JSON_FAILURES] = "json_arena_failures",
    [WARD_WIRE_MEM_READINGS_REFUSED] = "readings_refused",
    [WARD_WIRE_MEM_HAL_ERRORS] = "hal_errors",
};

bool ward_wire_put(cJSON *parent, const char *member, cJSON *item)
{
    return item != NULL && parent != NULL && cJSON_AddItemToObjectCS(parent, member, item);
}

static bool put_ref(cJSON *obj, const char *member, const char *s)
{
    return ward_wire_put(obj, member, cJSON_CreateStringReference(s));
}

static bool put_i64(cJSON *obj, const char *member, int64_t v)
{
    char num[WARD_FMT_INT64_MAX];

    ward_fmt_i64(num, sizeof(num), v);
    return ward_wire_put(obj, member, cJSON_CreateRaw(num));
}

static bool put_u64(cJSON *obj, const char *member, uint64_t v)
{
    char num[WARD_FMT_INT64_MAX];

    ward_fmt_u64(num, sizeof(num), v);
    return ward_wire_put(obj, member, cJSON_CreateRaw(num));
}

/* A time, or null for a sensor never read. */
static bool put_time(cJSON *obj, const char *member, int64_t t)
{
    return t == WARD_WIRE_TIME_NONE ? ward_wire_put(obj, member, cJSON_CreateNull())
                                    : put_i64(obj, member, t);
}

/* A reading's value, or null for a reading without one. */
static bool put_value(cJSON *obj, bool has_value, int64_t v)
{
    return has_value ? put_i64(obj, WARD_WIRE_M_VALUE, v)
                     : ward_wire_put(obj, WARD_WIRE_M_VALUE, cJSON_CreateNull());
}

/* A counter that only matters once it is not 0: absent means 0 (protocol v2). */
static bool put_nz(cJSON *obj, const char *member, uint64_t v)
{
    return v == 0 || put_u64(obj, member, v);
}

bool ward_wire_put_unless_empty(cJSON *parent, const char *member, cJSON *obj)
{
    if (obj != NULL && obj->child == NULL) {
        cJSON_Delete(obj);
        return true;
    }
    return ward_wire_put(parent, member, obj);
}

/* "v", and unless id is NULL, "type", "device" and "boot": how every document starts. */
static cJSON *header(const struct ward_wire_ident *id, const char *type, int64_t version)
{
    cJSON *o = cJSON_CreateObject();
    /*
     * A document with a header tries its version even when the object failed: every failed
     * allocation counts in json_arena_failures, and the count stays what it always was.
     */
    bool ok = (id != NULL || o != NULL) && put_i64(o, WARD_WIRE_M_V, version);

    if (id != NULL) {
        ok = ok && put_ref(o, WARD_WIRE_M_TYPE, type);
        ok = ok && put_ref(o, WARD_WIRE_M_DEVICE, id->device);
        ok = ok && put_ref(o, WARD_WIRE_M_BOOT, id->boot);
    }
    return ok ? o : NULL;
}

/* The members an event shares with its replay line: sensor, from, to, severity. */
static bool put_transition(cJSON *o, const struct ward_wire_event *e)
{
    bool ok = put_ref(o, WARD_WIRE_M_SENSOR, e->sensor);

    ok = ok && put_ref(o, WARD_WIRE_M_FROM, ward_state_name((enum ward_state)e->from));
    ok = ok && put_ref(o, WARD_WIRE_M_TO, ward_state_name((enum ward_state)e->to));
    return ok &&
           put_ref(o, WARD_WIRE_M_SEVERITY, ward_severity_name((enum ward_severity)e->severity));
}

static bool put_reason(cJSON *o, const char *reason)
{
    return reason == NULL || put_ref(o, WARD_WIRE_M_REASON, reason);
}

cJSON *ward_wire_event_json(const struct ward_wire_event *e)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL && put_ref(o, WARD_WIRE_M_BOOT, e->boot);

    ok = ok && put_u64(o, WARD_WIRE_M_SEQ, e->seq);
    ok = ok && put_i64(o, WARD_WIRE_M_T_MS, e->t_ms);
    if (e->has_wall) {
        ok = ok && put_i64(o, WARD_WIRE_M_WALL_MS, e->wall_ms);
    }
    ok = ok && put_transition(o, e);
    ok = ok && put_value(o, e->has_value, e->value);
    ok = ok && put_reason(o, e->reason);
    ok = ok && put_u64(o, WARD_WIRE_M_COUNT, e->count);
    if (e->count > 1) {
        ok = ok && put_i64(o, WARD_WIRE_M_FIRST_T_MS, e->first_t_ms);
    }
    return ok ? o : NULL;
}

cJSON *ward_wire_replay_json(const struct ward_wire_event *e)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = put_i64(o, WARD_WIRE_M_T_MS, e->t_ms);

    ok = ok && put_u64(o, WARD_WIRE_M_SEQ, e->seq);
    ok = ok && put_transition(o, e);
    ok = ok && put_value(o, e->has_value, e->value);
    ok = ok && put_reason(o, e->reason);
    return ok ? o : NULL;
}

static cJSON *hb_health(const struct ward_wire_heartbeat *h)
{
    cJSON *o = cJSON_CreateObject();
    bool ok =
        o != NULL && put_ref(o, WARD_WIRE_M_STATE, ward_state_name((enum ward_state)h->state));

    if (h->severity != WARD_SEV_NONE) {
        ok = ok &&
             put_ref(o, WARD_WIRE_M_SEVERITY, ward_severity_name((enum ward_severity)h->severity));
    }
    ok = ok && put_u64(o, WARD_WIRE_M_SENSORS, h->sensors);
    ok = ok && put_nz(o, "not_ok", h->not_ok);
    return ok ? o : NULL;
}

static cJSON *hb_events(const struct ward_wire_heartbeat *h)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;

    for (unsigned i = 0; ok && i < WARD_WIRE_EV_COUNT; i++) {
        ok = put_nz(o, s_event_counters[i], h->events[i]);
    }
    return ok ? o : NULL;
}

/* lag_max_ms is sticky (a high-water mark): only in full heartbeats. */
static cJSON *hb_loop(const struct ward_wire_heartbeat *h)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;

    if (h->lag_ms != 0) {
        ok = ok && put_i64(o, "lag_ms", h->lag_ms);
    }
    if (h->full) {
        ok = ok && put_i64(o, "lag_max_ms", h->lag_max_ms);
    }
    ok = ok && put_nz(o, "skipped", h->skipped);
    return ok ? o : NULL;
}

static cJSON *hb_memory(const struct ward_wire_heartbeat *h)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    /* The arena's use so far, this object included. */
    uint64_t json_hw = h->arena_high_water != NULL ? *h->arena_high_water : 0;

    for (unsigned i = 0; ok && i < WARD_WIRE_MEM_COUNT; i++) {
        uint64_t v = h->memory[i];

        ok = put_u64(o, s_memory[i],
                     i == WARD_WIRE_MEM_JSON_HIGH_WATER && json_hw > v ? json_hw : v);
    }
    return ok ? o : NULL;
}

/* The sticky members only a full heartbeat carries. */
static bool hb_sticky(cJSON *o, const struct ward_wire_heartbeat *h)
{
    bool ok = put_i64(o, "uptime_ms", h->uptime_ms);

    if (h->interval_ms > 0) {
        ok = ok && put_u64(o, WARD_WIRE_M_INTERVAL, h->interval_ms);
    }
    ok = ok && put_ref(o, WARD_WIRE_M_FIRMWARE, h->firmware);
    ok = ok && put_ref(o, WARD_WIRE_M_BOARD, h->board);
    ok = ok && put_ref(o, WARD_WIRE_M_ARCH, h->arch);
    ok = ok && put_ref(o, "config_sha256", h->config_sha256);
    if (h->rules_sha256[0] != '\0') {
        ok = ok && put_ref(o, "rules_sha256", h->rules_sha256);
    }
    return ok;
}

cJSON *ward_wire_heartbeat_json(const struct ward_wire_heartbeat *h,
                                const struct ward_wire_ident *id)
{
    cJSON *o = header(id, WARD_WIRE_TYPE_HEARTBEAT, WARD_WIRE_V2);
    bool ok = o != NULL && put_u64(o, WARD_WIRE_M_SEQ, h->seq);

    ok = ok && put_i64(o, WARD_WIRE_M_T_MS, h->t_ms);
    /* The wall clock's offset and the rules digest are sticky: full heartbeats only. */
    if (h->has_wall && h->full) {
        ok = ok && put_i64(o, WARD_WIRE_M_WALL_MS, h->wall_ms);
    }
    ok = ok && put_ref(o, "config", h->config);
    if (h->rules[0] != '\0' && h->full) {
        ok = ok && put_ref(o, "rules", h->rules);
    }
    ok = ok && (!h->full || hb_sticky(o, h));
    if (h->full || !h->health_unchanged) {
        ok = ok && ward_wire_put(o, WARD_WIRE_M_HEALTH, hb_health(h));
    }
    if (h->full || !h->events_unchanged) {
        ok = ok && ward_wire_put_unless_empty(o, WARD_WIRE_M_EVENTS, hb_events(h));
    }
    ok = ok && ward_wire_put_unless_empty(o, "loop", hb_loop(h));
    if (h->full) {
        ok = ok && ward_wire_put(o, "memory", hb_memory(h));
    }
    return ok ? o : NULL;
}

static cJSON *health_json(const struct ward_wire_health *h, const struct ward_wire_ident *id,
                          bool delta, cJSON **sensors)
{
    cJSON *o = header(id, WARD_WIRE_TYPE_HEALTH, WARD_WIRE_V1);
    bool ok;

    *sensors = cJSON_CreateArray();
    ok = o != NULL && *sensors != NULL;
    ok = ok && put_i64(o, WARD_WIRE_M_T_MS, h->t_ms);

    ok = ok && put_ref(o, WARD_WIRE_M_STATE, ward_state_name((enum ward_state)h->state));
    ok =
        ok && put_ref(o, WARD_WIRE_M_SEVERITY, ward_severity_name((enum ward_severity)h->severity));
    ok = ok && put_u64(o, WARD_WIRE_M_TOTAL, h->total);
    ok = ok && put_u64(o, WARD_WIRE_M_FIRST, h->first);
    ok = ok && (!delta || ward_wire_put(o, WARD_WIRE_M_DELTA, cJSON_CreateTrue()));
    ok = ok && ward_wire_put(o, WARD_WIRE_M_SENSORS, *sensors);
    return ok ? o : NULL;
}

cJSON *ward_wire_health_json(const struct ward_wire_health *h, const struct ward_wire_ident *id,
                             cJSON **sensors)
{
    return health_json(h, id, false, sensors);
}

cJSON *ward_wire_health_delta_json(const struct ward_wire_health *h,
                                   const struct ward_wire_ident *id, cJSON **sensors)
{
    return health_json(h, id, true, sensors);
}

/*
 * "thr" (upper: odd indices) or "thr_below" (lower: even): each level the rule has, keyed by
 * the state a reading past it enters. Absent when the rule has none on that side.
 */
static bool put_thresholds(cJSON *o, const char *member, const struct ward_wire_sensor *s,
                           unsigned side)
{
    static const uint8_t level[] = { WARD_STATE_CAUTION, WARD_STATE_CRITICAL, WARD_STATE_FATAL };
    cJSON *t;
    bool ok;

    if ((s->thr_present & (side != 0 ? 0x2au : 0x15u)) == 0) {
        return true;
    }
    t = cJSON_CreateObject();
    ok = t != NULL;
    for (unsigned l = 0; ok && l < sizeof(level); l++) {
        unsigned k = 2u * l + side;

        if ((s->thr_present & (1u << k)) != 0) {
            ok = put_i64(t, ward_state_name((enum ward_state)level[l]), s->thr[k]);
        }
    }
    return ok && ward_wire_put(o, member, t);
}

bool ward_wire_health_add(cJSON *sensors, const struct ward_wire_sensor *s)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL && put_ref(o, WARD_WIRE_M_ID, s->id);

    ok = ok && put_ref(o, WARD_WIRE_M_STATE, ward_state_name((enum ward_state)s->state));
    ok =
        ok && put_ref(o, WARD_WIRE_M_SEVERITY, ward_severity_name((enum ward_severity)s->severity));
    ok = ok && put_ref(o, WARD_WIRE_M_KIND, s->kind);
    ok = ok && put_value(o, s->has_value, s->value);
    ok = ok && put_time(o, WARD_WIRE_M_SINCE_MS, s->since_ms);
    ok = ok && put_time(o, WARD_WIRE_M_LAST_MS, s->last_ms);
    ok = ok && put_reason(o, s->reason);
    if (s->standby) {
        ok = ok && ward_wire_put(o, WARD_WIRE_M_STANDBY, cJSON_CreateTrue());
    }
    ok = ok && put_thresholds(o, "thr", s, 1u);
    ok = ok && put_thresholds(o, "thr_below", s, 0u);
    return ok && sensors != NULL && cJSON_AddItemToArray(sensors, o);
}

cJSON *ward_wire_batch_json(const struct ward_wire_ident *id)
{
    return header(id, WARD_WIRE_TYPE_BATCH, WARD_WIRE_V2);
}

bool ward_wire_batch_append(char *buf, size_t cap, size_t *len, bool first, const cJSON *event)
{
    static const char k_open[] = ",\"" WARD_WIRE_M_EVENTS "\":[";
    /* Over the batch's closing "}" (first) or the array's "]}": the separator, the event. */
    size_t at = first ? *len - 1u : *len - 2u;
    size_t sep = first ? sizeof(k_open) - 1u : 1u;
    size_t n;

    if (event == NULL || *len < 2u || at + sep + 3u > cap) {
        return false;
    }
    memcpy(buf + at, first ? k_open : ",", sep);
    /* Room left for "]}": the printed event and its NUL end 2 bytes before cap. */
    if (!cJSON_PrintPreallocated((cJSON *)event, buf + at + sep, (int)(cap - at - sep - 2u), 0)) {
        memcpy(buf + at, first ? "}" : "]}", first ? 2u : 3u); /* with the NUL */
        return false;
    }
    n = at + sep + strlen(buf + at + sep);
    memcpy(buf + n, "]}", 3u);
    *len = n + 2u;
    return true;
}
