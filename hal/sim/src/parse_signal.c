/*
 * The signal grammar: a number (constant), null (not offered, where allowed), or an object
 * {"behaviour": ..., <parameters>, "noise": {...}, "events": [...]}. Parameters are checked
 * against the field's range; a counter's behaviour, noise and events are checked so that it
 * can never decrease.
 */
#include <errno.h>
#include <string.h>

#include "parse_util.h"

enum param_kind {
    P_VALUE,   /* within the field's range */
    P_DELTA,   /* any integer an amount may be */
    P_TIME,    /* ms >= 0 */
    P_SPAN,    /* ms > 0 */
    P_PERCENT, /* 1..99 */
};

struct param_def {
    const char *name; /* NULL ends the list */
    uint8_t slot;
    uint8_t kind;
    bool required;
    int64_t def;
};

struct behaviour_def {
    const char *name;
    uint8_t id;
    struct param_def param[6];
    const char *keys[10]; /* allowed keys of the object */
};

#define SIG_KEYS "behaviour", "noise", "events"

static const struct behaviour_def s_behaviours[] = {
    { "constant",
      WARD_SIM_CONSTANT,
      { { "value", 0, P_VALUE, true, 0 }, { NULL, 0, 0, false, 0 } },
      { SIG_KEYS, "value", NULL } },
    { "ramp",
      WARD_SIM_RAMP,
      { { "from", 0, P_VALUE, true, 0 },
        { "to", 1, P_VALUE, true, 0 },
        { "at", 2, P_TIME, false, 0 },
        { "over", 3, P_SPAN, true, 0 },
        { NULL, 0, 0, false, 0 } },
      { SIG_KEYS, "from", "to", "at", "over", NULL } },
    { "step",
      WARD_SIM_STEP,
      { { "from", 0, P_VALUE, true, 0 },
        { "to", 1, P_VALUE, true, 0 },
        { "at", 2, P_TIME, true, 0 },
        { NULL, 0, 0, false, 0 } },
      { SIG_KEYS, "from", "to", "at", NULL } },
    { "square",
      WARD_SIM_SQUARE,
      { { "low", 0, P_VALUE, true, 0 },
        { "high", 1, P_VALUE, true, 0 },
        { "at", 2, P_TIME, false, 0 },
        { "period", 3, P_SPAN, true, 0 },
        { "duty", 4, P_PERCENT, false, 50 },
        { NULL, 0, 0, false, 0 } },
      { SIG_KEYS, "low", "high", "at", "period", "duty", NULL } },
    { "rate",
      WARD_SIM_RATE,
      { { "start", 0, P_VALUE, false, 0 },
        { "by", 1, P_DELTA, true, 0 },
        { "at", 2, P_TIME, false, 0 },
        { "every", 3, P_SPAN, false, 1000 },
        { NULL, 0, 0, false, 0 } },
      { SIG_KEYS, "start", "by", "at", "every", NULL } },
    { "decay",
      WARD_SIM_DECAY,
      { { "from", 0, P_VALUE, true, 0 },
        { "to", 1, P_VALUE, false, 0 },
        { "at", 2, P_TIME, false, 0 },
        { "half_life", 3, P_SPAN, true, 0 },
        { NULL, 0, 0, false, 0 } },
      { SIG_KEYS, "from", "to", "at", "half_life", NULL } },
};

#define N_BEHAVIOURS (sizeof(s_behaviours) / sizeof(s_behaviours[0]))

struct action_def {
    const char *name;
    uint8_t kind;
};

static const struct action_def s_actions[] = {
    { "add", WARD_SIM_EV_ADD },         { "rate", WARD_SIM_EV_RATE },
    { "stuck", WARD_SIM_EV_STUCK },     { "unavailable", WARD_SIM_EV_UNAVAILABLE },
    { "fault", WARD_SIM_EV_FAULT },     { "alarm", WARD_SIM_EV_ALARM },
    { "standby", WARD_SIM_EV_STANDBY }, { "failing", WARD_SIM_EV_FAILING },
};

#define N_ACTIONS (sizeof(s_actions) / sizeof(s_actions[0]))

static int alloc_signal(struct sim_parse *p, ward_sim_sig_t *out)
{
    struct sim_msg m;

    if (p->sim->n_signals >= WARD_SIM_MAX_SIGNALS) {
        m = sim_err_begin(p);
        sim_msg_str(&m, "too many values with a behaviour (CONFIG_WARD_SIM_MAX_SIGNALS=");
        sim_msg_int(&m, WARD_SIM_MAX_SIGNALS);
        sim_msg_str(&m, ")");
        return -ENOSPC;
    }
    *out = p->sim->n_signals++;
    return 0;
}

int sim_const_signal(struct sim_parse *p, int64_t v, int64_t lo, int64_t hi, ward_sim_sig_t *out)
{
    struct ward_sim_signal *s;
    int rc;

    /* Plain constants are shared: a server's SMART pages repeat 100, 0 and 200 a lot. The
     * value was range-checked for this field, so the first user's clamp range is harmless. */
    for (uint16_t i = 0; i < p->sim->n_signals; i++) {
        s = &p->sim->signal[i];
        if (s->behaviour == WARD_SIM_CONSTANT && s->noise_amp == 0 && s->ev_count == 0 &&
            s->p[0] == v) {
            *out = i;
            return 0;
        }
    }
    rc = alloc_signal(p, out);
    if (rc != 0) {
        return rc;
    }
    s = &p->sim->signal[*out];
    memset(s, 0, sizeof(*s));
    s->behaviour = WARD_SIM_CONSTANT;
    s->p[0] = v;
    s->lo = lo;
    s->hi = hi;
    s->noise_every = 1000;
    return 0;
}

static int param_value(struct sim_parse *p, const cJSON *obj, const struct param_def *d,
                       const struct sim_sig_spec *spec, int64_t *out)
{
    switch (d->kind) {
    case P_VALUE:
        if (!d->required && (d->def < spec->lo || d->def > spec->hi) &&
            cJSON_GetObjectItemCaseSensitive(obj, d->name) == NULL) {
            /* The default does not fit this field: the scenario must say it. */
            return sim_get_int(p, obj, d->name, spec->lo, spec->hi, true, 0, out);
        }
        return sim_get_int(p, obj, d->name, spec->lo, spec->hi, d->required, d->def, out);
    case P_DELTA:
        return sim_get_int(p, obj, d->name, -WARD_SIM_INT_MAX, WARD_SIM_INT_MAX, d->required,
                           d->def, out);
    case P_TIME:
        return sim_get_int(p, obj, d->name, 0, WARD_SIM_INT_MAX, d->required, d->def, out);
    case P_SPAN:
        return sim_get_int(p, obj, d->name, 1, WARD_SIM_INT_MAX, d->required, d->def, out);
    default:
        return sim_get_int(p, obj, d->name, 1, 99, d->required, d->def, out);
    }
}

static const struct behaviour_def *find_behaviour(struct sim_parse *p, const cJSON *obj)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(obj, "behaviour");
    size_t mark = sim_path_key(p, "behaviour");
    struct sim_msg m;

    if (b == NULL && cJSON_GetObjectItemCaseSensitive(obj, "value") != NULL) {
        sim_path_pop(p, mark);
        return &s_behaviours[0]; /* {"value": v, "noise": ...}: a constant */
    }
    for (size_t i = 0; cJSON_IsString(b) && i < N_BEHAVIOURS; i++) {
        /* cJSON_IsString(NULL) is false, so b is not NULL here */
        // NOLINTNEXTLINE(clang-analyzer-core.NullDereference)
        if (strcmp(b->valuestring, s_behaviours[i].name) == 0) {
            sim_path_pop(p, mark);
            return &s_behaviours[i];
        }
    }
    m = sim_err_begin(p);
    if (b == NULL) {
        sim_msg_str(&m, "missing; one of:");
    } else if (!cJSON_IsString(b)) {
        sim_msg_str(&m, "expected a string, one of:");
    } else {
        sim_msg_str(&m, "unknown behaviour ");
        sim_msg_user(&m, b->valuestring);
        sim_msg_str(&m, "; one of:");
    }
    for (size_t i = 0; i < N_BEHAVIOURS; i++) {
        sim_msg_str(&m, " ");
        sim_msg_str(&m, s_behaviours[i].name);
    }
    sim_path_pop(p, mark);
    return NULL;
}

/* A counter must never decrease: only non-decreasing behaviours. */
static int check_counter_base(struct sim_parse *p, const struct ward_sim_signal *s)
{
    switch (s->behaviour) {
    case WARD_SIM_CONSTANT:
        return 0;
    case WARD_SIM_RAMP:
    case WARD_SIM_STEP:
        return s->p[1] >= s->p[0]
                   ? 0
                   : sim_fail(p, -EINVAL, "a counter never decreases: \"to\" must be >= \"from\"");
    case WARD_SIM_RATE:
        return s->p[1] >= 0
                   ? 0
                   : sim_fail(p, -EINVAL, "a counter never decreases: \"by\" must be >= 0");
    default:
        return sim_fail(p, -EINVAL,
                        "a counter never decreases: use constant, ramp, step or rate (plus rate "
                        "or add events)");
    }
}

static uint64_t noise_key(const struct sim_parse *p, const char *field, uint64_t seed)
{
    uint64_t h = ward_sim_hash_str(WARD_SIM_FNV_OFFSET, p->owner != NULL ? p->owner : "");

    h = ward_sim_hash_str(ward_sim_hash_str(h, "/"), field);
    return ward_sim_mix64(ward_sim_mix64(seed) ^ h);
}

static int parse_noise(struct sim_parse *p, const cJSON *obj, const struct sim_sig_spec *spec,
                       struct ward_sim_signal *s)
{
    static const char *const keys[] = { "amplitude", "every", "seed", NULL };
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, "noise");
    size_t mark;
    int64_t seed = 0;
    int rc;

    s->noise_every = 1000;
    if (n == NULL) {
        return 0;
    }
    mark = sim_path_key(p, "noise");
    rc = sim_check_keys(p, n, keys);
    if (rc == 0) {
        rc = sim_get_int(p, n, "amplitude", 0, WARD_SIM_INT_MAX, true, 0, &s->noise_amp);
    }
    if (rc == 0) {
        rc = sim_get_int(p, n, "every", 1, WARD_SIM_INT_MAX, false, 1000, &s->noise_every);
    }
    if (rc == 0) {
        rc = sim_get_int(p, n, "seed", 0, WARD_SIM_INT_MAX, false, (int64_t)p->seed, &seed);
    }
    if (rc == 0 && spec->counter && s->noise_amp > 0) {
        /* Noise points are noise.every apart and the rate adds at least
         * floor(by * noise.every / every) between them: the noise may take back at most half
         * of that on each side (see noisy_counter() in signal.c). */
        int64_t limit = s->behaviour == WARD_SIM_RATE
                            ? ward_sim_muldiv(s->p[1], s->noise_every, s->p[3]) / 2
                            : 0;

        s->counter = true;
        if (s->noise_amp > limit) {
            struct sim_msg m = sim_err_begin(p);

            sim_msg_str(&m, "a counter never decreases: its noise needs a rate base and "
                            "amplitude <= (by * noise.every / every) / 2 = ");
            sim_msg_int(&m, limit);
            rc = -EINVAL;
        }
    }
    s->noise_key = noise_key(p, spec->field, (uint64_t)seed);
    sim_path_pop(p, mark);
    return rc;
}

static int parse_behaviour(struct sim_parse *p, const cJSON *obj, const struct sim_sig_spec *spec,
                           struct ward_sim_signal *s)
{
    const struct behaviour_def *b = find_behaviour(p, obj);
    int rc;

    if (b == NULL) {
        return -EINVAL;
    }
    rc = sim_check_keys(p, obj, b->keys);
    s->behaviour = b->id;
    for (const struct param_def *d = b->param; rc == 0 && d->name != NULL; d++) {
        rc = param_value(p, obj, d, spec, &s->p[d->slot]);
    }
    if (rc == 0 && b->id == WARD_SIM_SQUARE) {
        /* duty percent -> ms high per period, at least 1 ms of each level */
        s->p[4] = ward_sim_muldiv(s->p[3], s->p[4], 100);
        if (s->p[4] < 1 || s->p[4] >= s->p[3]) {
            rc = sim_fail(p, -EINVAL, "period too short for its duty: each level needs >= 1 ms");
        }
    }
    if (rc == 0 && spec->counter) {
        rc = check_counter_base(p, s);
    }
    if (rc == 0) {
        rc = parse_noise(p, obj, spec, s);
    }
    return rc;
}

int sim_signal(struct sim_parse *p, const cJSON *item, const struct sim_sig_spec *spec,
               ward_sim_sig_t *out)
{
    struct ward_sim_signal *s;
    const cJSON *events;
    ward_sim_sig_t idx;
    int64_t v;
    int rc;

    if (cJSON_IsNull(item) && spec->nullable) {
        *out = WARD_SIM_SIG_NONE;
        return 0;
    }
    if (cJSON_IsNumber(item)) {
        rc = sim_int_value(p, item, spec->lo, spec->hi, &v);
        return rc != 0 ? rc : sim_const_signal(p, v, spec->lo, spec->hi, out);
    }
    if (!cJSON_IsObject(item)) {
        return sim_fail(p, -EINVAL,
                        spec->nullable ? "expected a number, a behaviour object or null"
                                       : "expected a number or a behaviour object");
    }
    rc = alloc_signal(p, &idx);
    if (rc != 0) {
        return rc;
    }
    s = &p->sim->signal[idx];
    memset(s, 0, sizeof(*s));
    s->lo = spec->lo;
    s->hi = spec->hi;
    rc = parse_behaviour(p, item, spec, s);
    events = cJSON_GetObjectItemCaseSensitive(item, "events");
    if (rc == 0 && events != NULL) {
        size_t mark = sim_path_key(p, "events");

        rc = sim_events(p, events, spec->events, spec->counter, &s->ev_first, &s->ev_count);
        sim_path_pop(p, mark);
    }
    *out = idx;
    return rc;
}

int sim_get_signal(struct sim_parse *p, const cJSON *obj, const struct sim_sig_spec *spec,
                   ward_sim_sig_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, spec->field);
    size_t mark = sim_path_key(p, spec->field);
    int rc = 0;

    if (item != NULL) {
        rc = sim_signal(p, item, spec, out);
    } else if (spec->required) {
        rc = sim_fail(p, -EINVAL, "missing");
    } else if (spec->has_default) {
        rc = sim_const_signal(p, spec->def, spec->lo, spec->hi, out);
    } else {
        *out = spec->nullable ? WARD_SIM_SIG_NONE : WARD_SIM_SIG_ZERO;
    }
    sim_path_pop(p, mark);
    return rc;
}

/* The one action an event carries (check_keys has already refused actions not allowed). */
static const struct action_def *find_action(struct sim_parse *p, const cJSON *ev, unsigned allowed)
{
    const struct action_def *found = NULL;
    unsigned n = 0;
    struct sim_msg m;

    for (size_t i = 0; i < N_ACTIONS; i++) {
        if (cJSON_GetObjectItemCaseSensitive(ev, s_actions[i].name) != NULL) {
            found = &s_actions[i];
            n++;
        }
    }
    if (n == 1) {
        return found;
    }
    m = sim_err_begin(p);
    sim_msg_str(&m, "an event needs exactly one of:");
    for (size_t i = 0; i < N_ACTIONS; i++) {
        if ((allowed & SIM_EV(s_actions[i].kind)) != 0) {
            sim_msg_str(&m, " ");
            sim_msg_str(&m, s_actions[i].name);
        }
    }
    return NULL;
}

static int event_true(struct sim_parse *p, const cJSON *item)
{
    return cJSON_IsTrue(item) ? 0 : sim_fail(p, -EINVAL, "expected true");
}

static int event_rate(struct sim_parse *p, const cJSON *item, bool counter,
                      struct ward_sim_event *e)
{
    static const char *const keys[] = { "by", "every", NULL };
    int rc = sim_check_keys(p, item, keys);

    if (rc == 0) {
        rc = sim_get_int(p, item, "by", counter ? 0 : -WARD_SIM_INT_MAX, WARD_SIM_INT_MAX, true, 0,
                         &e->a);
    }
    if (rc == 0) {
        rc = sim_get_int(p, item, "every", 1, WARD_SIM_INT_MAX, false, 1000, &e->b);
    }
    return rc;
}

static int event_action(struct sim_parse *p, const cJSON *ev, const struct action_def *act,
                        bool counter, struct ward_sim_event *e)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(ev, act->name);
    size_t mark = sim_path_key(p, act->name);
    int rc;

    switch (act->kind) {
    case WARD_SIM_EV_ADD:
        rc = sim_int_value(p, item, counter ? 0 : -WARD_SIM_INT_MAX, WARD_SIM_INT_MAX, &e->a);
        if (rc == 0 && counter && e->until != WARD_SIM_FOREVER) {
            rc =
                sim_fail(p, -EINVAL, "a counter never decreases: an add on a counter has no until");
        }
        break;
    case WARD_SIM_EV_RATE:
        rc = event_rate(p, item, counter, e);
        break;
    case WARD_SIM_EV_UNAVAILABLE:
        rc = sim_reason(p, item, &e->reason);
        break;
    default:
        rc = event_true(p, item);
        break;
    }
    sim_path_pop(p, mark);
    return rc;
}

static int parse_event(struct sim_parse *p, const cJSON *ev, unsigned allowed, bool counter,
                       struct ward_sim_event *e)
{
    const char *keys[N_ACTIONS + 3] = { "at", "until" };
    const struct action_def *act;
    size_t nk = 2;
    int rc;

    for (size_t i = 0; i < N_ACTIONS; i++) {
        if ((allowed & SIM_EV(s_actions[i].kind)) != 0) {
            keys[nk++] = s_actions[i].name;
        }
    }
    keys[nk] = NULL;
    rc = sim_check_keys(p, ev, keys);
    if (rc != 0) {
        return rc;
    }
    act = find_action(p, ev, allowed);
    if (act == NULL) {
        return -EINVAL;
    }
    memset(e, 0, sizeof(*e));
    e->kind = act->kind;
    rc = sim_window(p, ev, false, &e->at, &e->until);
    return rc != 0 ? rc : event_action(p, ev, act, counter, e);
}

int sim_events(struct sim_parse *p, const cJSON *arr, unsigned allowed, bool counter,
               uint16_t *first, uint8_t *count)
{
    const cJSON *ev;
    unsigned i = 0;
    struct sim_msg m;

    if (!cJSON_IsArray(arr)) {
        return sim_fail(p, -EINVAL, "expected an array of events");
    }
    *first = p->sim->n_events;
    *count = 0;
    cJSON_ArrayForEach(ev, arr)
    {
        size_t mark = sim_path_index(p, i++);
        int rc;

        if (p->sim->n_events >= WARD_SIM_MAX_EVENTS || *count == UINT8_MAX) {
            m = sim_err_begin(p);
            sim_msg_str(&m, "too many events (CONFIG_WARD_SIM_MAX_EVENTS=");
            sim_msg_int(&m, WARD_SIM_MAX_EVENTS);
            sim_msg_str(&m, ", at most 255 per value)");
            return -ENOSPC;
        }
        rc = parse_event(p, ev, allowed, counter, &p->sim->event[p->sim->n_events]);
        if (rc != 0) {
            return rc;
        }
        p->sim->n_events++;
        (*count)++;
        sim_path_pop(p, mark);
    }
    return 0;
}
