#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ward/base/fmt.h"
#include "ward/base/jscan.h"
#include "ward/rules.h"

/* The keys a rule may have; which ones a kind accepts is in s_kind_keys. */
enum rule_key {
    K_SENSOR = 0,
    K_KIND,
    K_LOWER_CAUTION, /* the six thresholds, in enum ward_threshold_kind order */
    K_UPPER_CAUTION,
    K_LOWER_CRITICAL,
    K_UPPER_CRITICAL,
    K_LOWER_FATAL,
    K_UPPER_FATAL,
    K_HYSTERESIS,
    K_DWELL,
    K_CLEAR_DWELL,
    K_WINDOW,
    K_COUNTER_BITS,
    K_ABOVE,
    K_BELOW,
    K_FOR,
    K_STATE,
    K_FAILED_PAST,
    K_MASK,
    K_SEVERITY,
    K_COUNT,
};

static const char *const s_key_names[K_COUNT] = {
    [K_SENSOR] = "sensor",
    [K_KIND] = "kind",
    [K_LOWER_CAUTION] = "lower_caution",
    [K_UPPER_CAUTION] = "upper_caution",
    [K_LOWER_CRITICAL] = "lower_critical",
    [K_UPPER_CRITICAL] = "upper_critical",
    [K_LOWER_FATAL] = "lower_fatal",
    [K_UPPER_FATAL] = "upper_fatal",
    [K_HYSTERESIS] = "hysteresis",
    [K_DWELL] = "dwell_ms",
    [K_CLEAR_DWELL] = "clear_dwell_ms",
    [K_WINDOW] = "window_ms",
    [K_COUNTER_BITS] = "counter_bits",
    [K_ABOVE] = "above",
    [K_BELOW] = "below",
    [K_FOR] = "for_ms",
    [K_STATE] = "state",
    [K_FAILED_PAST] = "failed_past",
    [K_MASK] = "mask",
    [K_SEVERITY] = "severity",
};

static const char *const s_kind_names[WARD_RULE_KIND_COUNT] = {
    [WARD_RULE_THRESHOLD] = "threshold",        [WARD_RULE_RATE] = "rate",
    [WARD_RULE_SUSTAINED] = "sustained",        [WARD_RULE_SMART] = "smart",
    [WARD_RULE_NVME] = "nvme_critical_warning",
};

#define KB(k) (1ul << (k))
#define THR_KEYS                                                                                   \
    (KB(K_LOWER_CAUTION) | KB(K_UPPER_CAUTION) | KB(K_LOWER_CRITICAL) | KB(K_UPPER_CRITICAL) |     \
     KB(K_LOWER_FATAL) | KB(K_UPPER_FATAL))
#define COMMON_KEYS (KB(K_SENSOR) | KB(K_KIND) | KB(K_CLEAR_DWELL) | KB(K_SEVERITY))

static const unsigned long s_kind_keys[WARD_RULE_KIND_COUNT] = {
    [WARD_RULE_THRESHOLD] = COMMON_KEYS | THR_KEYS | KB(K_HYSTERESIS) | KB(K_DWELL),
    [WARD_RULE_RATE] =
        COMMON_KEYS | THR_KEYS | KB(K_HYSTERESIS) | KB(K_DWELL) | KB(K_WINDOW) | KB(K_COUNTER_BITS),
    [WARD_RULE_SUSTAINED] =
        COMMON_KEYS | KB(K_ABOVE) | KB(K_BELOW) | KB(K_FOR) | KB(K_STATE) | KB(K_HYSTERESIS),
    [WARD_RULE_SMART] = COMMON_KEYS | KB(K_DWELL) | KB(K_FAILED_PAST),
    [WARD_RULE_NVME] = COMMON_KEYS | KB(K_DWELL) | KB(K_MASK) | KB(K_STATE),
};

/* What one rule object said, before it is checked against its kind. */
struct raw_rule {
    unsigned long seen;
    unsigned line[K_COUNT];
    int64_t num[K_COUNT];
    char sensor[WARD_HEALTH_ID_MAX];
    char kind[24];
    char state[16];
    char failed_past[16];
    uint8_t severity[WARD_STATE_COUNT];
};

struct parser {
    struct ward_jscan s;
    struct ward_rules_error *err;
    int rule;           /* index of the rule being read, -1 outside */
    const char *sensor; /* its sensor, for messages (points into raw) */
    struct raw_rule raw;
};

static int fail_at(struct parser *p, unsigned line, int rc, const char *what, const char *name)
{
    struct ward_rules_error *e = p->err;

    if (e == NULL) {
        return rc;
    }
    e->line = line;
    e->rule = p->rule;
    if (p->rule >= 0 && p->sensor != NULL && p->sensor[0] != '\0') {
        snprintf(e->msg, sizeof(e->msg), "line %u: rule %d (%s): %s%s%s%s", line, p->rule,
                 p->sensor, what, name ? " \"" : "", name ? name : "", name ? "\"" : "");
    } else if (p->rule >= 0) {
        snprintf(e->msg, sizeof(e->msg), "line %u: rule %d: %s%s%s%s", line, p->rule, what,
                 name ? " \"" : "", name ? name : "", name ? "\"" : "");
    } else {
        snprintf(e->msg, sizeof(e->msg), "line %u: %s%s%s%s", line, what, name ? " \"" : "",
                 name ? name : "", name ? "\"" : "");
    }
    return rc;
}

/* A scanner error (malformed JSON) reported at the line where it happened. */
static int scan_fail(struct parser *p)
{
    return fail_at(p, p->s.err_line, p->s.err, p->s.why ? p->s.why : "malformed JSON", NULL);
}

static int key_index(const char *key)
{
    for (int k = 0; k < K_COUNT; k++) {
        if (strcmp(s_key_names[k], key) == 0) {
            return k;
        }
    }
    return -1;
}

static int read_severity_map(struct parser *p, struct raw_rule *r)
{
    char key[16];
    char val[16];
    int rc;

    if (ward_jscan_object(&p->s) != 0) {
        return scan_fail(p);
    }
    while ((rc = ward_jscan_member(&p->s, key, sizeof(key))) > 0) {
        unsigned line = p->s.line;
        int st = ward_state_parse(key);

        if (st < 0 || st == WARD_STATE_OK) {
            return fail_at(p, line, -EINVAL, "severity: not a state with a severity:", key);
        }
        if (ward_jscan_string(&p->s, val, sizeof(val)) < 0) {
            return scan_fail(p);
        }
        int sev = ward_severity_parse(val);

        if (sev <= WARD_SEV_NONE) {
            return fail_at(p, line, -EINVAL, "severity must be low, medium or high, not", val);
        }
        r->severity[st] = (uint8_t)sev;
    }
    return rc < 0 ? scan_fail(p) : 0;
}

static int read_value(struct parser *p, struct raw_rule *r, int k)
{
    int rc;

    switch (k) {
    case K_SENSOR:
        rc = ward_jscan_string(&p->s, r->sensor, sizeof(r->sensor));
        p->sensor = rc >= 0 ? r->sensor : NULL;
        break;
    case K_KIND:
        rc = ward_jscan_string(&p->s, r->kind, sizeof(r->kind));
        break;
    case K_STATE:
        rc = ward_jscan_string(&p->s, r->state, sizeof(r->state));
        break;
    case K_FAILED_PAST:
        rc = ward_jscan_string(&p->s, r->failed_past, sizeof(r->failed_past));
        break;
    case K_SEVERITY:
        return read_severity_map(p, r);
    default:
        rc = ward_jscan_int64(&p->s, &r->num[k]);
        break;
    }
    if (rc == -ENAMETOOLONG && k == K_SENSOR) {
        /* The scanner's message does not say what the limit is; this one does. */
        return fail_at(p, p->s.line, -ENAMETOOLONG,
                       "sensor longer than CONFIG_WARD_HEALTH_ID_MAX - 1 characters", NULL);
    }
    if (rc < 0) {
        char why[80];

        snprintf(why, sizeof(why), "\"%s\": %s", s_key_names[k],
                 p->s.why != NULL ? p->s.why : "bad value");
        return fail_at(p, p->s.err_line, rc, why, NULL);
    }
    return 0;
}

static int read_rule_object(struct parser *p, struct raw_rule *r)
{
    char key[24];
    int rc;

    memset(r, 0, sizeof(*r));
    memset(r->severity, WARD_RULE_SEV_DEFAULT, sizeof(r->severity));
    if (ward_jscan_object(&p->s) != 0) {
        return fail_at(p, p->s.line, -EPROTO, "a rule must be an object", NULL);
    }
    while ((rc = ward_jscan_member(&p->s, key, sizeof(key))) > 0) {
        int k = key_index(key);

        if (k < 0) {
            return fail_at(p, p->s.line, -EINVAL, "unknown key", key);
        }
        if (r->seen & KB(k)) {
            return fail_at(p, p->s.line, -EINVAL, "duplicate key", key);
        }
        r->seen |= KB(k);
        r->line[k] = p->s.line;
        rc = read_value(p, r, k);
        if (rc != 0) {
            return rc;
        }
    }
    return rc < 0 ? fail_at(p, p->s.err_line, p->s.err, p->s.why, NULL) : 0;
}

/* An integer key within [lo, hi]. */
static int check_range(struct parser *p, const struct raw_rule *r, int k, int64_t lo, int64_t hi)
{
    char why[80];
    char a[WARD_FMT_INT64_MAX];
    char b[WARD_FMT_INT64_MAX];

    if (!(r->seen & KB(k)) || (r->num[k] >= lo && r->num[k] <= hi)) {
        return 0;
    }
    ward_fmt_i64(a, sizeof(a), lo);
    ward_fmt_i64(b, sizeof(b), hi);
    snprintf(why, sizeof(why), "\"%s\" out of range (%s..%s)", s_key_names[k], a, b);
    return fail_at(p, r->line[k], -ERANGE, why, NULL);
}

/* Thresholds must be ordered: lower_fatal <= lower_critical <= lower_caution < upper_... */
static int check_order(struct parser *p, const struct ward_rule *rule, unsigned line)
{
    static const enum ward_threshold_kind order[] = {
        WARD_THR_LOWER_FATAL,   WARD_THR_LOWER_CRITICAL, WARD_THR_LOWER_CAUTION,
        WARD_THR_UPPER_CAUTION, WARD_THR_UPPER_CRITICAL, WARD_THR_UPPER_FATAL,
    };
    int prev = -1;

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        enum ward_threshold_kind k = order[i];

        if (!(rule->thr_set & (1u << k))) {
            continue;
        }
        if (prev >= 0) {
            int64_t a = rule->thr[prev];
            int64_t b = rule->thr[k];
            bool crosses = (prev == WARD_THR_LOWER_CAUTION || prev == WARD_THR_LOWER_CRITICAL ||
                            prev == WARD_THR_LOWER_FATAL) &&
                           (k == WARD_THR_UPPER_CAUTION || k == WARD_THR_UPPER_CRITICAL ||
                            k == WARD_THR_UPPER_FATAL);

            if (crosses ? a >= b : a > b) {
                return fail_at(p, line, -EINVAL,
                               "thresholds out of order (need lower_fatal <= lower_critical <= "
                               "lower_caution < upper_caution <= upper_critical <= upper_fatal)",
                               NULL);
            }
        }
        prev = (int)k;
    }
    return 0;
}

static int convert_sustained(struct parser *p, const struct raw_rule *r, struct ward_rule *rule,
                             unsigned line)
{
    int st = WARD_STATE_CAUTION;
    bool above = (r->seen & KB(K_ABOVE)) != 0;

    if (above == ((r->seen & KB(K_BELOW)) != 0)) {
        return fail_at(p, line, -EINVAL, "a sustained rule needs exactly one of above, below",
                       NULL);
    }
    if (!(r->seen & KB(K_FOR))) {
        return fail_at(p, line, -EINVAL, "a sustained rule needs for_ms", NULL);
    }
    if (r->seen & KB(K_STATE)) {
        st = ward_state_parse(r->state);
        if (st != WARD_STATE_CAUTION && st != WARD_STATE_CRITICAL && st != WARD_STATE_FATAL) {
            return fail_at(p, r->line[K_STATE], -EINVAL,
                           "state must be caution, critical or fatal, not", r->state);
        }
    }
    /* enum ward_threshold_kind: lower = 2*(level-1), upper = lower + 1. */
    int t = 2 * (st - WARD_STATE_CAUTION) + (above ? 1 : 0);

    rule->thr[t] = r->num[above ? K_ABOVE : K_BELOW];
    rule->thr_set = (uint8_t)(1u << t);
    rule->dwell_ms = (uint32_t)r->num[K_FOR];
    rule->param_set |= WARD_RULE_SET_DWELL;
    return 0;
}

static int mapped_state(struct parser *p, const struct raw_rule *r, int k, const char *name,
                        int dflt, uint8_t *out)
{
    int st = dflt;

    if (r->seen & KB(k)) {
        st = ward_state_parse(name);
        if (st < 0 || st == WARD_STATE_UNAVAILABLE) {
            return fail_at(p, r->line[k], -EINVAL,
                           "must be ok, caution, critical, fatal or failed, not", name);
        }
    }
    *out = (uint8_t)st;
    return 0;
}

static int convert_kind_specific(struct parser *p, const struct raw_rule *r, struct ward_rule *rule,
                                 unsigned line)
{
    switch (rule->kind) {
    case WARD_RULE_RATE:
        if (r->seen & KB(K_WINDOW)) {
            rule->window_ms = (uint32_t)r->num[K_WINDOW];
        }
        if (r->seen & KB(K_COUNTER_BITS)) {
            rule->counter_bits = (uint8_t)r->num[K_COUNTER_BITS];
        }
        return 0;
    case WARD_RULE_SUSTAINED:
        return convert_sustained(p, r, rule, line);
    case WARD_RULE_SMART:
        return mapped_state(p, r, K_FAILED_PAST, r->failed_past, WARD_STATE_CAUTION,
                            &rule->mapped_state);
    case WARD_RULE_NVME:
        if (r->seen & KB(K_MASK)) {
            rule->nvme_mask = (uint8_t)r->num[K_MASK];
        }
        return mapped_state(p, r, K_STATE, r->state, WARD_STATE_FAILED, &rule->mapped_state);
    default:
        return 0;
    }
}

static int check_ranges(struct parser *p, const struct raw_rule *r)
{
    int rc = 0;

    rc = rc ? rc : check_range(p, r, K_HYSTERESIS, 0, INT64_MAX / 4);
    rc = rc ? rc : check_range(p, r, K_DWELL, 0, WARD_RULE_DWELL_MAX_MS);
    rc = rc ? rc : check_range(p, r, K_CLEAR_DWELL, 0, WARD_RULE_DWELL_MAX_MS);
    rc = rc ? rc : check_range(p, r, K_FOR, 0, WARD_RULE_DWELL_MAX_MS);
    rc = rc ? rc : check_range(p, r, K_WINDOW, WARD_RULE_WINDOW_MIN_MS, WARD_RULE_WINDOW_MAX_MS);
    rc = rc ? rc : check_range(p, r, K_COUNTER_BITS, 1, 64);
    rc = rc ? rc : check_range(p, r, K_MASK, 1, 255);
    return rc;
}

/* Check one raw rule against its kind and turn it into a struct ward_rule. */
static int convert(struct parser *p, const struct raw_rule *r, struct ward_rule *rule,
                   unsigned line)
{
    int kind = WARD_RULE_THRESHOLD;
    int rc;

    if (!(r->seen & KB(K_SENSOR))) {
        return fail_at(p, line, -EINVAL, "missing \"sensor\"", NULL);
    }
    if (!ward_sensor_id_valid(r->sensor)) {
        return fail_at(p, r->line[K_SENSOR], -EINVAL, "sensor must be printable ASCII:", r->sensor);
    }
    if (r->seen & KB(K_KIND)) {
        for (kind = 0; kind < WARD_RULE_KIND_COUNT; kind++) {
            if (strcmp(s_kind_names[kind], r->kind) == 0) {
                break;
            }
        }
        if (kind == WARD_RULE_KIND_COUNT) {
            return fail_at(p, r->line[K_KIND], -EINVAL, "unknown kind", r->kind);
        }
    }
    for (int k = 0; k < K_COUNT; k++) {
        if ((r->seen & KB(k)) && !(s_kind_keys[kind] & KB(k))) {
            return fail_at(p, r->line[k], -EINVAL,
                           "key not used by this kind of rule:", s_key_names[k]);
        }
    }
    rc = check_ranges(p, r);
    if (rc != 0) {
        return rc;
    }
    ward_rule_init(rule, (enum ward_rule_kind)kind, r->sensor);
    for (int t = 0; t < WARD_THR_COUNT; t++) {
        if (r->seen & KB(K_LOWER_CAUTION + t)) {
            rule->thr[t] = r->num[K_LOWER_CAUTION + t];
            rule->thr_set |= (uint8_t)(1u << t);
        }
    }
    if (r->seen & KB(K_HYSTERESIS)) {
        rule->hysteresis = r->num[K_HYSTERESIS];
        rule->param_set |= WARD_RULE_SET_HYSTERESIS;
    }
    if (r->seen & KB(K_DWELL)) {
        rule->dwell_ms = (uint32_t)r->num[K_DWELL];
        rule->param_set |= WARD_RULE_SET_DWELL;
    }
    if (r->seen & KB(K_CLEAR_DWELL)) {
        rule->clear_dwell_ms = (uint32_t)r->num[K_CLEAR_DWELL];
        rule->param_set |= WARD_RULE_SET_CLEAR_DWELL;
    }
    memcpy(rule->severity, r->severity, sizeof(rule->severity));
    rc = convert_kind_specific(p, r, rule, line);
    return rc != 0 ? rc : check_order(p, rule, line);
}

static int read_rules(struct parser *p, struct ward_rule *out, size_t max)
{
    struct ward_rule tmp;
    size_t n = 0;
    int rc;

    if (ward_jscan_array(&p->s) != 0) {
        return fail_at(p, p->s.line, -EPROTO, "\"rules\" must be an array", NULL);
    }
    while ((rc = ward_jscan_element(&p->s)) > 0) {
        unsigned line;

        p->rule = (int)n;
        p->sensor = NULL;
        ward_jscan_peek(&p->s);
        line = p->s.line;
        if (n >= max) {
            return fail_at(p, line, -ENOSPC, "too many rules (raise CONFIG_WARD_HEALTH_MAX_RULES)",
                           NULL);
        }
        rc = read_rule_object(p, &p->raw);
        if (rc == 0) {
            rc = convert(p, &p->raw, out != NULL ? &out[n] : &tmp, line);
        }
        if (rc != 0) {
            return rc;
        }
        n++;
    }
    p->rule = -1;
    return rc < 0 ? scan_fail(p) : (int)n;
}

static int read_intervals(struct parser *p, uint32_t intervals[WARD_CLASS_COUNT])
{
    char key[16];
    int64_t v;
    int rc;

    if (ward_jscan_object(&p->s) != 0) {
        return fail_at(p, p->s.line, -EPROTO, "\"intervals_ms\" must be an object", NULL);
    }
    while ((rc = ward_jscan_member(&p->s, key, sizeof(key))) > 0) {
        unsigned line = p->s.line;
        int cls = ward_class_parse(key);

        if (cls < 0) {
            return fail_at(p, line, -EINVAL, "intervals_ms: unknown class", key);
        }
        if (ward_jscan_int64(&p->s, &v) != 0) {
            return scan_fail(p);
        }
        if (v < 100 || v > 86400000) {
            return fail_at(p, line, -ERANGE, "interval out of range (100..86400000 ms):", key);
        }
        if (intervals != NULL) {
            intervals[cls] = (uint32_t)v;
        }
    }
    return rc < 0 ? scan_fail(p) : 0;
}

static int read_top(struct parser *p, struct ward_rule *out, size_t max,
                    uint32_t intervals[WARD_CLASS_COUNT])
{
    char key[24];
    int n_rules = -1;
    bool seen_intervals = false;
    bool seen_version = false;
    int rc;

    if (ward_jscan_object(&p->s) != 0) {
        return fail_at(p, p->s.line, -EPROTO, "a rules file is a JSON object", NULL);
    }
    while ((rc = ward_jscan_member(&p->s, key, sizeof(key))) > 0) {
        unsigned line = p->s.line;

        if (strcmp(key, "rules") == 0 && n_rules < 0) {
            n_rules = read_rules(p, out, max);
            rc = n_rules < 0 ? n_rules : 0;
        } else if (strcmp(key, "intervals_ms") == 0 && !seen_intervals) {
            seen_intervals = true;
            rc = read_intervals(p, intervals);
        } else if (strcmp(key, "version") == 0 && !seen_version) {
            int64_t v;

            seen_version = true;
            if (ward_jscan_int64(&p->s, &v) != 0) {
                return scan_fail(p);
            }
            rc = v == 1 ? 0 : fail_at(p, line, -EINVAL, "unsupported version (this is 1)", NULL);
        } else {
            rc = fail_at(p, line, -EINVAL, "unknown or duplicate key", key);
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (rc < 0 || ward_jscan_end(&p->s) != 0) {
        return scan_fail(p);
    }
    return n_rules < 0 ? fail_at(p, p->s.line, -EINVAL, "missing \"rules\"", NULL) : n_rules;
}

int ward_rules_parse(const char *text, size_t len, struct ward_rule *out, size_t max,
                     uint32_t intervals[WARD_CLASS_COUNT], struct ward_rules_error *err)
{
    struct parser p = { .err = err, .rule = -1, .sensor = NULL };

    if (err != NULL) {
        memset(err, 0, sizeof(*err));
        err->rule = -1;
    }
    if (text == NULL) {
        return fail_at(&p, 0, -EINVAL, "no rules text", NULL);
    }
    if (intervals != NULL) {
        memset(intervals, 0, sizeof(uint32_t) * WARD_CLASS_COUNT);
    }
    ward_jscan_init(&p.s, text, len);
    return read_top(&p, out, max, intervals);
}

void ward_rule_init(struct ward_rule *rule, enum ward_rule_kind kind, const char *sensor)
{
    memset(rule, 0, sizeof(*rule));
    rule->kind = (uint8_t)kind;
    rule->window_ms = WARD_RULE_WINDOW_DEFAULT_MS;
    rule->counter_bits = 64;
    rule->nvme_mask = 0xff;
    rule->mapped_state = kind == WARD_RULE_SMART ? WARD_STATE_CAUTION : WARD_STATE_FAILED;
    memset(rule->severity, WARD_RULE_SEV_DEFAULT, sizeof(rule->severity));
    if (sensor != NULL) {
        size_t n = strnlen(sensor, sizeof(rule->sensor) - 1);

        memcpy(rule->sensor, sensor, n);
        rule->sensor[n] = '\0';
        rule->glob = strpbrk(rule->sensor, "*?") != NULL;
    }
}

bool ward_glob_match(const char *pattern, const char *text)
{
    const char *star = NULL; /* position after the last '*' seen */
    const char *resume = NULL;

    /* Greedy with one backtrack point: linear in practice, never exponential. */
    while (*text != '\0') {
        if (*pattern == '*') {
            star = ++pattern;
            resume = text;
        } else if (*pattern == '?' || *pattern == *text) {
            pattern++;
            text++;
        } else if (star != NULL) {
            pattern = star;
            text = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*') {
        pattern++;
    }
    return *pattern == '\0';
}

const char *ward_rule_kind_name(enum ward_rule_kind kind)
{
    return (unsigned)kind < WARD_RULE_KIND_COUNT ? s_kind_names[kind] : "unknown";
}

bool ward_sensor_id_valid(const char *id)
{
    size_t n = 0;

    if (id == NULL) {
        return false;
    }
    for (; id[n] != '\0'; n++) {
        if ((unsigned char)id[n] < 0x20 || (unsigned char)id[n] > 0x7e ||
            n + 1 >= WARD_HEALTH_ID_MAX) {
            return false;
        }
    }
    return n > 0;
}
