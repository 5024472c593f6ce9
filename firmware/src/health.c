#include <errno.h>
#include <string.h>

#include "ward/hal/disk.h"
#include "ward/drill.h"
#include "ward/health.h"

#define MS_PER_MIN 60000

/* The parameters a sensor is evaluated with: its rules and hardware thresholds merged. */
struct eff {
    const struct ward_rule *top; /* runtime rule, else board rule, else NULL */
    int64_t thr[WARD_THR_COUNT];
    int64_t hysteresis;
    uint32_t dwell_ms;
    uint32_t clear_dwell_ms;
    uint8_t thr_set;
    uint8_t kind;
};

static uint32_t id_hash(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    while (*id != '\0') {
        h = (h ^ (uint8_t)*id++) * 16777619u;
    }
    return h;
}

static void reset_timers(struct ward_sensor *s)
{
    for (unsigned i = 0; i < WARD_LEVEL_MAX; i++) {
        s->hold_ms[i] = WARD_TIME_NONE;
    }
    s->clear_ms = WARD_TIME_NONE;
}

static void free_rates(struct ward_health *h)
{
    for (unsigned i = 0; i < WARD_HEALTH_MAX_RATES; i++) {
        memset(&h->rate[i], 0, sizeof(h->rate[i]));
        h->rate[i].sensor = WARD_HEALTH_NONE;
    }
    for (unsigned i = 0; i < h->n_sensors; i++) {
        h->sensor[i].rate = WARD_HEALTH_RATE_NONE;
    }
    h->rates_used = 0;
}

int ward_health_init(struct ward_health *h, const struct ward_rule *board, size_t n_board)
{
    if (h == NULL || (board == NULL && n_board != 0) || n_board >= WARD_HEALTH_NONE) {
        return -EINVAL;
    }
    memset(h, 0, sizeof(*h));
    h->board = board;
    h->n_board = (uint16_t)n_board;
    free_rates(h);
    return 0;
}

int ward_health_set_rules(struct ward_health *h, const struct ward_rule *rules, size_t n)
{
    if (h == NULL || (rules == NULL && n != 0)) {
        return -EINVAL;
    }
    if (n > WARD_HEALTH_MAX_RULES) {
        return -ENOSPC;
    }
    if (n != 0 && rules != h->rule) {
        memmove(h->rule, rules, n * sizeof(rules[0]));
    }
    h->n_rules = (uint16_t)n;
    free_rates(h);
    for (unsigned i = 0; i < h->n_sensors; i++) {
        h->sensor[i].flags &= (uint8_t)~WARD_SENSOR_BOUND;
        reset_timers(&h->sensor[i]);
    }
    return 0;
}

int ward_health_find(const struct ward_health *h, const char *id)
{
    uint32_t hash;

    if (h == NULL || id == NULL) {
        return -ENOENT;
    }
    hash = id_hash(id);
    for (unsigned i = 0; i < h->n_sensors; i++) {
        if (h->sensor[i].hash == hash && strcmp(h->sensor[i].id, id) == 0) {
            return (int)i;
        }
    }
    return -ENOENT;
}

int ward_health_sensor(struct ward_health *h, const char *id)
{
    struct ward_sensor *s;
    int i;

    if (h == NULL || !ward_sensor_id_valid(id)) {
        return -EINVAL;
    }
    i = ward_health_find(h, id);
    if (i >= 0) {
        return i;
    }
    if (h->n_sensors >= WARD_HEALTH_MAX_SENSORS) {
        return -ENOSPC;
    }
    s = &h->sensor[h->n_sensors];
    memset(s, 0, sizeof(*s));
    strcpy(s->id, id); /* length checked by ward_sensor_id_valid() */
    s->hash = id_hash(id);
    s->rule = WARD_HEALTH_NONE;
    s->board_rule = WARD_HEALTH_NONE;
    s->rate = WARD_HEALTH_RATE_NONE;
    s->state = WARD_STATE_OK;
    s->since_ms = WARD_TIME_NONE;
    s->last_ms = WARD_TIME_NONE;
    reset_timers(s);
    return (int)h->n_sensors++;
}

int ward_health_set_hw_thresholds(struct ward_health *h, const char *id,
                                  const struct ward_thresholds *thr)
{
    int i = ward_health_sensor(h, id);

    if (i < 0 || thr == NULL) {
        return i < 0 ? i : -EINVAL;
    }
    h->sensor[i].hw = *thr;
    h->sensor[i].hw.present &= (uint8_t)((1u << WARD_THR_COUNT) - 1u);
    if (h->sensor[i].hw.present != 0) {
        h->sensor[i].flags |= WARD_SENSOR_HW_THR;
    } else {
        h->sensor[i].flags &= (uint8_t)~WARD_SENSOR_HW_THR;
    }
    return 0;
}

/* Exact names win over globs; among globs the first in order wins. */
static uint16_t match_rule(const struct ward_rule *rules, unsigned n, const char *id)
{
    uint16_t glob = WARD_HEALTH_NONE;

    /* A drill's sensor is judged by the rules of the sensor it imitates (ward/drill.h). */
    if (ward_drill_sensor(id)) {
        id += WARD_DRILL_PREFIX_LEN;
    }
    for (unsigned i = 0; i < n; i++) {
        if (!rules[i].glob) {
            if (strcmp(rules[i].sensor, id) == 0) {
                return (uint16_t)i;
            }
        } else if (glob == WARD_HEALTH_NONE && ward_glob_match(rules[i].sensor, id)) {
            glob = (uint16_t)i;
        }
    }
    return glob;
}

bool ward_health_has_rule(const struct ward_health *h, const char *id)
{
    return h != NULL && id != NULL &&
           (match_rule(h->rule, h->n_rules, id) != WARD_HEALTH_NONE ||
            match_rule(h->board, h->n_board, id) != WARD_HEALTH_NONE);
}

/* Threshold and sustained rules are one family: they merge with each other. */
static uint8_t family(uint8_t kind)
{
    return kind == WARD_RULE_SUSTAINED ? (uint8_t)WARD_RULE_THRESHOLD : kind;
}

static const struct ward_rule *runtime_rule(const struct ward_health *h,
                                            const struct ward_sensor *s)
{
    return s->rule != WARD_HEALTH_NONE ? &h->rule[s->rule] : NULL;
}

static const struct ward_rule *board_rule(const struct ward_health *h, const struct ward_sensor *s)
{
    return s->board_rule != WARD_HEALTH_NONE ? &h->board[s->board_rule] : NULL;
}

static int alloc_rate(struct ward_health *h, unsigned idx)
{
    for (unsigned i = 0; i < WARD_HEALTH_MAX_RATES; i++) {
        if (h->rate[i].sensor == WARD_HEALTH_NONE) {
            memset(&h->rate[i], 0, sizeof(h->rate[i]));
            h->rate[i].sensor = (uint16_t)idx;
            h->sensor[idx].rate = (uint8_t)i;
            h->rates_used++;
            if (h->rates_used > h->rates_high_water) {
                h->rates_high_water = h->rates_used;
            }
            return 0;
        }
    }
    return -ENOSPC;
}

/* Resolve which rules apply to a sensor (after creation or a rules change). */
static int bind(struct ward_health *h, unsigned idx)
{
    struct ward_sensor *s = &h->sensor[idx];
    const struct ward_rule *top;
    const struct ward_rule *brd;

    s->rule = match_rule(h->rule, h->n_rules, s->id);
    s->board_rule = match_rule(h->board, h->n_board, s->id);
    top = runtime_rule(h, s);
    brd = board_rule(h, s);
    if (top != NULL && brd != NULL && family(top->kind) != family(brd->kind)) {
        s->board_rule = WARD_HEALTH_NONE; /* a runtime rule of another kind replaces it */
    }
    top = top != NULL ? top : brd;
    if (top != NULL && top->kind == WARD_RULE_RATE && s->rate == WARD_HEALTH_RATE_NONE &&
        alloc_rate(h, idx) != 0) {
        return -ENOSPC;
    }
    s->flags |= WARD_SENSOR_BOUND;
    return 0;
}

static void merge_rule(struct eff *e, const struct ward_rule *r)
{
    for (unsigned t = 0; t < WARD_THR_COUNT; t++) {
        if (r->thr_set & (1u << t)) {
            e->thr[t] = r->thr[t];
            e->thr_set |= (uint8_t)(1u << t);
        }
    }
    if (r->param_set & WARD_RULE_SET_HYSTERESIS) {
        e->hysteresis = r->hysteresis;
    }
    if (r->param_set & WARD_RULE_SET_DWELL) {
        e->dwell_ms = r->dwell_ms;
    }
    if (r->param_set & WARD_RULE_SET_CLEAR_DWELL) {
        e->clear_dwell_ms = r->clear_dwell_ms;
    }
}

/* Lowest precedence first, each source overriding what it sets. */
static void resolve(const struct ward_health *h, const struct ward_sensor *s, struct eff *e)
{
    const struct ward_rule *top = runtime_rule(h, s);
    const struct ward_rule *brd = board_rule(h, s);

    memset(e, 0, sizeof(*e));
    e->top = top != NULL ? top : brd;
    e->kind = e->top != NULL ? e->top->kind : (uint8_t)WARD_RULE_THRESHOLD;
    if (family(e->kind) == WARD_RULE_THRESHOLD && (s->flags & WARD_SENSOR_HW_THR)) {
        for (unsigned t = 0; t < WARD_THR_COUNT; t++) {
            if (s->hw.present & (1u << t)) {
                e->thr[t] = s->hw.value[t];
                e->thr_set |= (uint8_t)(1u << t);
            }
        }
    }
    if (brd != NULL) {
        merge_rule(e, brd);
    }
    if (top != NULL) {
        merge_rule(e, top);
    }
}

static enum ward_severity severity_of(const struct ward_health *h, const struct ward_sensor *s,
                                      unsigned state)
{
    const struct ward_rule *top = runtime_rule(h, s);
    const struct ward_rule *brd = board_rule(h, s);

    if (state == WARD_STATE_OK || state >= WARD_STATE_COUNT) {
        return WARD_SEV_NONE;
    }
    if (top != NULL && top->severity[state] != WARD_RULE_SEV_DEFAULT) {
        return (enum ward_severity)top->severity[state];
    }
    if (brd != NULL && brd->severity[state] != WARD_RULE_SEV_DEFAULT) {
        return (enum ward_severity)brd->severity[state];
    }
    return ward_state_default_severity((enum ward_state)state);
}

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;

    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

/* Highest threshold level the value is past; levels at or below cur get the hysteresis. */
static unsigned threshold_level(const struct eff *e, int64_t v, unsigned cur)
{
    unsigned lvl = 0;

    for (unsigned l = 1; l <= 3; l++) {
        int64_t hy = l <= cur ? e->hysteresis : 0;
        unsigned lo = 2u * (l - 1u);
        unsigned up = lo + 1u;

        if ((e->thr_set & (1u << up)) && v > sat_add(e->thr[up], -hy)) {
            lvl = l;
        }
        if ((e->thr_set & (1u << lo)) && v < sat_add(e->thr[lo], hy)) {
            lvl = l;
        }
    }
    return lvl;
}

/* Discrete kinds. @return the level, or -1 when the value is not one the kind defines. */
static int discrete_level(const struct eff *e, int64_t v)
{
    if (e->kind == WARD_RULE_SMART) {
        switch (v) {
        case WARD_SMART_PASSED:
            return 0;
        case WARD_SMART_FAILED_PAST:
            return e->top->mapped_state;
        case WARD_SMART_FAILING:
            return WARD_STATE_FAILED;
        default:
            return -1; /* unknown (0) or not a verdict */
        }
    }
    if (v < 0 || v > 0xff) {
        return -1;
    }
    return ((uint64_t)v & e->top->nvme_mask) != 0 ? e->top->mapped_state : 0;
}

/* Increase of a counter from last to now, telling a wrap from a reset. */
static uint64_t counter_delta(struct ward_rate *r, uint64_t now_raw, unsigned bits)
{
    uint64_t wrapped;
    uint64_t quarter;

    if (now_raw >= r->last) {
        return now_raw - r->last;
    }
    if (bits >= 64) {
        wrapped = now_raw - r->last; /* modulo 2^64 */
        quarter = 1ull << 62;
    } else {
        uint64_t mod = 1ull << bits;

        wrapped = r->last < mod && now_raw < mod ? mod - r->last + now_raw : UINT64_MAX;
        quarter = mod / 4u;
    }
    if (wrapped <= quarter) {
        r->wraps++;
        return wrapped;
    }
    /* Backwards by more than a plausible wrap: the counter restarted from zero. */
    r->resets++;
    return now_raw;
}

static uint64_t mul_div_ceil(uint64_t inc, uint64_t mul, uint64_t div)
{
    /* div >= window >= WARD_RULE_WINDOW_MIN_MS (1000), checked by the rules parser */
    // NOLINTNEXTLINE(clang-analyzer-core.DivideZero)
    uint64_t q = inc / div;
    uint64_t rem = inc % div;

    if (q > (uint64_t)INT64_MAX / mul) {
        return (uint64_t)INT64_MAX;
    }
    /* rem < div <= a week in ms, so rem * mul cannot overflow. */
    return q * mul + (rem * mul + div - 1u) / div;
}

/* Feed a counter reading; @return its per-minute increase over the window. */
static int64_t rate_update(struct ward_rate *r, uint64_t raw, int64_t now, const struct eff *e)
{
    const uint32_t window = e->top->window_ms;
    const int64_t spacing = (int64_t)(window / (WARD_HEALTH_RATE_SAMPLES - 1u));
    unsigned base;
    uint64_t div;

    if (r->primed) {
        uint64_t d = counter_delta(r, raw, e->top->counter_bits);

        r->total = r->total > UINT64_MAX - d ? UINT64_MAX : r->total + d;
    }
    r->last = raw;
    r->primed = true;
    if (r->n == 0 || now - r->t_ms[r->head] >= spacing) {
        r->head = (uint8_t)(r->n == 0 ? 0u : (r->head + 1u) % WARD_HEALTH_RATE_SAMPLES);
        r->t_ms[r->head] = now;
        r->at[r->head] = r->total;
        if (r->n < WARD_HEALTH_RATE_SAMPLES) {
            r->n++;
        }
    }
    /* The base: the newest sample at least a window old, else the oldest held. */
    base = (r->head + WARD_HEALTH_RATE_SAMPLES + 1u - r->n) % WARD_HEALTH_RATE_SAMPLES;
    for (unsigned k = 0; k < r->n; k++) {
        unsigned i = (r->head + WARD_HEALTH_RATE_SAMPLES - k) % WARD_HEALTH_RATE_SAMPLES;

        if (now - r->t_ms[i] >= (int64_t)window) {
            base = i;
            break;
        }
    }
    div = now - r->t_ms[base] > (int64_t)window ? (uint64_t)(now - r->t_ms[base]) : window;
    return (int64_t)mul_div_ceil(r->total - r->at[base], MS_PER_MIN, div);
}

/* Dwell and clear-dwell: from the raw level to the level the sensor is now at. */
static unsigned apply_dwell(struct ward_sensor *s, const struct eff *e, unsigned raw, int64_t now)
{
    unsigned cur = s->level;
    unsigned next = cur;

    for (unsigned l = 1; l <= WARD_LEVEL_MAX; l++) {
        if (raw < l) {
            s->hold_ms[l - 1] = WARD_TIME_NONE;
        } else if (s->hold_ms[l - 1] == WARD_TIME_NONE) {
            s->hold_ms[l - 1] = now;
        }
    }
    for (unsigned l = WARD_LEVEL_MAX; l > cur; l--) {
        if (s->hold_ms[l - 1] != WARD_TIME_NONE && now - s->hold_ms[l - 1] >= e->dwell_ms) {
            next = l;
            break;
        }
    }
    if (next == cur && raw < cur) {
        if (s->clear_ms == WARD_TIME_NONE) {
            s->clear_ms = now;
        }
        if (now - s->clear_ms >= e->clear_dwell_ms) {
            next = raw;
        }
    } else if (raw >= cur) {
        s->clear_ms = WARD_TIME_NONE;
    }
    if (next != cur) {
        s->clear_ms = WARD_TIME_NONE;
    }
    return next;
}

static int change(struct ward_health *h, unsigned idx, unsigned to, int64_t now,
                  struct ward_transition *out)
{
    struct ward_sensor *s = &h->sensor[idx];
    enum ward_severity a = severity_of(h, s, s->state);
    enum ward_severity b = severity_of(h, s, to);

    if (to == s->state) {
        return 0;
    }
    if (out != NULL) {
        out->sensor = (uint16_t)idx;
        out->from = s->state;
        out->to = (uint8_t)to;
        out->severity = (uint8_t)(a > b ? a : b);
        out->reason = to == WARD_STATE_UNAVAILABLE || to == WARD_STATE_FAILED ? s->reason : 0;
        out->has_value = (s->flags & WARD_SENSOR_HAS_VALUE) != 0;
        out->value = out->has_value ? s->value : 0;
    }
    s->state = (uint8_t)to;
    s->since_ms = now;
    return 1;
}

/* A reading without a value: unavailable, a fault, or a sleeping device. */
static int feed_status(struct ward_health *h, unsigned idx, const struct ward_reading *r,
                       int64_t now, struct ward_transition *out)
{
    struct ward_sensor *s = &h->sensor[idx];

    reset_timers(s);
    if (r->status == WARD_STATUS_UNAVAILABLE && r->reason == WARD_REASON_STANDBY) {
        s->flags |= WARD_SENSOR_STANDBY; /* asleep is not broken: keep the state */
        return 0;
    }
    s->flags &= (uint8_t) ~(WARD_SENSOR_STANDBY | WARD_SENSOR_HAS_VALUE);
    s->reason = (uint8_t)r->reason;
    s->level = 0;
    return change(h, idx,
                  r->status == WARD_STATUS_FAULT ? WARD_STATE_FAILED : WARD_STATE_UNAVAILABLE, now,
                  out);
}

static int feed_value(struct ward_health *h, unsigned idx, int64_t v, int64_t now,
                      struct ward_transition *out)
{
    struct ward_sensor *s = &h->sensor[idx];
    struct eff e;
    int raw;

    resolve(h, s, &e);
    if (e.kind == WARD_RULE_RATE) {
        v = rate_update(&h->rate[s->rate], (uint64_t)v, now, &e);
    }
    if (e.kind == WARD_RULE_SMART || e.kind == WARD_RULE_NVME) {
        raw = discrete_level(&e, v);
        if (raw < 0) {
            struct ward_reading bad;

            ward_reading_unavailable(&bad, WARD_REASON_BAD_DATA);
            return feed_status(h, idx, &bad, now, out);
        }
    } else {
        raw = (int)threshold_level(&e, v, s->level);
    }
    s->flags = (uint8_t)((s->flags & ~WARD_SENSOR_STANDBY) | WARD_SENSOR_HAS_VALUE);
    s->value = v;
    s->reason = WARD_REASON_NONE;
    s->level = (uint8_t)apply_dwell(s, &e, (unsigned)raw, now);
    return change(h, idx, s->level, now, out);
}

int ward_health_feed_index(struct ward_health *h, unsigned idx, const struct ward_reading *r,
                           int64_t now_ms, struct ward_transition *out)
{
    struct ward_sensor *s;

    if (h == NULL || r == NULL || idx >= h->n_sensors) {
        return -EINVAL;
    }
    s = &h->sensor[idx];
    if (!(s->flags & WARD_SENSOR_BOUND) && bind(h, idx) != 0) {
        h->refused++;
        return -ENOSPC;
    }
    if (s->since_ms == WARD_TIME_NONE) {
        s->since_ms = now_ms;
    }
    s->last_ms = now_ms;
    if (r->status != WARD_STATUS_OK) {
        return feed_status(h, idx, r, now_ms, out);
    }
    return feed_value(h, idx, r->value, now_ms, out);
}

int ward_health_feed(struct ward_health *h, const char *id, const struct ward_reading *r,
                     int64_t now_ms, struct ward_transition *out)
{
    int idx;

    if (h == NULL || r == NULL) {
        return -EINVAL;
    }
    idx = ward_health_sensor(h, id);
    if (idx < 0) {
        h->refused++;
        return idx;
    }
    return ward_health_feed_index(h, (unsigned)idx, r, now_ms, out);
}

const struct ward_sensor *ward_health_sensor_at(const struct ward_health *h, unsigned i)
{
    return h != NULL && i < h->n_sensors ? &h->sensor[i] : NULL;
}

enum ward_severity ward_health_sensor_severity(const struct ward_health *h, unsigned i)
{
    if (h == NULL || i >= h->n_sensors) {
        return WARD_SEV_NONE;
    }
    return severity_of(h, &h->sensor[i], h->sensor[i].state);
}

enum ward_rule_kind ward_health_sensor_kind(const struct ward_health *h, unsigned i)
{
    const struct ward_sensor *s = ward_health_sensor_at(h, i);
    const struct ward_rule *r;

    if (s == NULL) {
        return WARD_RULE_THRESHOLD;
    }
    r = runtime_rule(h, s);
    r = r != NULL ? r : board_rule(h, s);
    return r != NULL ? (enum ward_rule_kind)r->kind : WARD_RULE_THRESHOLD;
}

int ward_health_sensor_thresholds(const struct ward_health *h, unsigned i,
                                  struct ward_thresholds *out)
{
    const struct ward_sensor *s = ward_health_sensor_at(h, i);
    struct eff e;

    if (s == NULL || out == NULL) {
        return -EINVAL;
    }
    resolve(h, s, &e);
    memset(out, 0, sizeof(*out));
    if (family(e.kind) != WARD_RULE_THRESHOLD) {
        return 0; /* a rate or discrete rule's thresholds are not in the sensor's unit */
    }
    out->present = e.thr_set;
    memcpy(out->value, e.thr, sizeof(out->value));
    return 0;
}

/* Tie-break between states of equal severity. */
static unsigned state_rank(unsigned state)
{
    static const uint8_t rank[WARD_STATE_COUNT] = {
        [WARD_STATE_OK] = 0,          [WARD_STATE_CAUTION] = 1, [WARD_STATE_CRITICAL] = 2,
        [WARD_STATE_UNAVAILABLE] = 3, [WARD_STATE_FAILED] = 4,  [WARD_STATE_FATAL] = 5,
    };

    return state < WARD_STATE_COUNT ? rank[state] : 0;
}

enum ward_state ward_health_overall(const struct ward_health *h, enum ward_severity *sev,
                                    unsigned *not_ok)
{
    enum ward_state worst = WARD_STATE_OK;
    enum ward_severity worst_sev = WARD_SEV_NONE;
    unsigned bad = 0;

    for (unsigned i = 0; h != NULL && i < h->n_sensors; i++) {
        unsigned st = h->sensor[i].state;
        enum ward_severity s = severity_of(h, &h->sensor[i], st);

        if (st == WARD_STATE_OK) {
            continue;
        }
        bad++;
        if (s > worst_sev || (s == worst_sev && state_rank(st) > state_rank(worst))) {
            worst = (enum ward_state)st;
            worst_sev = s;
        }
    }
    if (sev != NULL) {
        *sev = worst_sev;
    }
    if (not_ok != NULL) {
        *not_ok = bad;
    }
    return worst;
}
