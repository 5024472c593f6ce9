#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history/trends.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Default thresholds (docs/history.md): a threshold the device reported for the sensor (the
 * value of its first event out of ok) replaces them.
 * - ATA 5/197/198 raw counts: the configured sector count (trend-sectors, 100);
 * - NVMe percentage used: 100 (the rated endurance, NVMe 1.4 5.14.1.2);
 * - NVMe available spare and wear levelling (normalized): falling to 10 percent;
 * - temperatures: 85 C.
 */
bool wcol_trend_rule_for(const char *sensor, const struct wcol_history_config *cfg,
                         struct wcol_trend_rule *out)
{
    static const struct {
        const char *suffix;
        int dir;
        int64_t threshold; /* -1: cfg->trend_sectors */
        const char *what;
    } rules[] = {
        { ":reallocated", 1, -1, "reallocated sector threshold" },
        { ":pending", 1, -1, "pending sector threshold" },
        { ":uncorrectable", 1, -1, "uncorrectable sector threshold" },
        { ":percent_used", 1, 100, "rated endurance (percentage used)" },
        { ":available_spare", -1, 10, "available spare threshold" },
        { ":wear_leveling", -1, 10, "wear levelling threshold" },
        { ":temp", 1, 85000, "temperature threshold" },
    };

    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        if (ends_with(sensor, rules[i].suffix)) {
            *out = (struct wcol_trend_rule){ .dir = rules[i].dir,
                                             .threshold = rules[i].threshold < 0
                                                              ? (int64_t)cfg->trend_sectors
                                                              : rules[i].threshold,
                                             .what = rules[i].what };
            return true;
        }
    }
    if (strncmp(sensor, "temp:", 5) == 0) {
        *out = (struct wcol_trend_rule){ .dir = 1,
                                         .threshold = 85000,
                                         .what = "temperature threshold" };
        return true;
    }
    return false;
}

/* No libm: the collector links none. */
static int64_t round_i64(double x)
{
    return (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n) (nearest rank, the median averaged for even n). */
static double quantile(const double *v, size_t n, double q)
{
    if (q == 0.5 && n % 2 == 0) {
        return (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    size_t k = (size_t)(q * (double)(n - 1) + 0.5);

    return v[k < n ? k : n - 1];
}

int wcol_theil_sen(const int64_t *t, const int64_t *y, unsigned n, int64_t t_ref,
                   struct wcol_fit *out)
{
    static double slopes[WCOL_TREND_MAX_POINTS * (WCOL_TREND_MAX_POINTS - 1) / 2];
    double rest[WCOL_TREND_MAX_POINTS];
    size_t m = 0;

    if (n < 2 || n > WCOL_TREND_MAX_POINTS) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = i + 1; j < n; j++) {
            if (t[j] != t[i]) {
                slopes[m++] = (double)(y[j] - y[i]) / (double)(t[j] - t[i]);
            }
        }
    }
    if (m == 0) {
        return -ENODATA;
    }
    qsort(slopes, m, sizeof(slopes[0]), cmp_double);
    out->slope = quantile(slopes, m, 0.5);
    out->slope_lo = quantile(slopes, m, 0.25);
    out->slope_hi = quantile(slopes, m, 0.75);
    int64_t lo = t[0], hi = t[0];

    for (unsigned i = 0; i < n; i++) {
        rest[i] = (double)y[i] - out->slope * (double)(t[i] - t_ref);
        lo = t[i] < lo ? t[i] : lo;
        hi = t[i] > hi ? t[i] : hi;
    }
    qsort(rest, n, sizeof(rest[0]), cmp_double);
    out->at_ref = quantile(rest, n, 0.5);
    out->n = n;
    out->span_ms = hi - lo;
    return 0;
}

/* Time until `value` moving at `slope` (toward dir) covers `gap`; -1 never. */
static int64_t eta(double gap, double slope, int dir)
{
    double s = slope * dir;

    if (gap <= 0) {
        return 0;
    }
    if (s <= 0) {
        return -1;
    }
    double ms = gap / s;

    return ms > 3.0e14 ? -1 : (int64_t)round_i64(ms);
}

int wcol_trend_forecast(const struct wcol_fit *f, const struct wcol_trend_rule *rule,
                        int64_t threshold, int64_t now, struct wcol_forecast *out)
{
    double gap = (double)(threshold - (int64_t)round_i64(f->at_ref)) * rule->dir;

    (void)now;
    out->what = rule->what;
    out->dir = rule->dir;
    out->threshold = threshold;
    out->value = (int64_t)round_i64(f->at_ref);
    out->per_day = f->slope * 86400000.0;
    out->n = f->n;
    out->span_ms = f->span_ms;
    out->eta_ms = eta(gap, f->slope, rule->dir);
    /* The faster quartile reaches it first. */
    out->eta_lo_ms = eta(gap, rule->dir > 0 ? f->slope_hi : f->slope_lo, rule->dir);
    out->eta_hi_ms = eta(gap, rule->dir > 0 ? f->slope_lo : f->slope_hi, rule->dir);
    return out->eta_ms < 0 ? -ERANGE : 0;
}

void wcol_trend_span(int64_t ms, char *out, size_t cap)
{
    if (ms < 0) {
        snprintf(out, cap, "never");
    } else if (ms == 0) {
        snprintf(out, cap, "now");
    } else if (ms >= 2 * 86400000ll) {
        snprintf(out, cap, "%lld days", (long long)((ms + 43200000) / 86400000));
    } else if (ms >= 2 * 3600000ll) {
        snprintf(out, cap, "%lld hours", (long long)((ms + 1800000) / 3600000));
    } else {
        snprintf(out, cap, "%lld min", (long long)((ms + 59999) / 60000));
    }
}

void wcol_trend_sentence(const struct wcol_forecast *f, char *out, size_t cap)
{
    char subject[WCOL_HIST_SENSOR_MAX + 1], when[32];
    const char *last = strrchr(f->sensor, ':');
    size_t n = last != NULL && strncmp(f->sensor, "disk:", 5) == 0 ? (size_t)(last - f->sensor)
                                                                   : strlen(f->sensor);

    snprintf(subject, sizeof(subject), "%.*s", (int)n, f->sensor);
    for (char *p = subject; *p != '\0'; p++) {
        *p = *p == ':' ? ' ' : *p;
    }
    wcol_trend_span(f->eta_ms, when, sizeof(when));
    if (f->eta_ms == 0) {
        snprintf(out, cap, "%s on %s is at its %s (%lld %s) now", subject, f->device, f->what,
                 (long long)f->threshold, f->unit);
    } else {
        snprintf(out, cap, "%s on %s reaches its %s (%lld %s) in ~%s", subject, f->device, f->what,
                 (long long)f->threshold, f->unit, when);
    }
}

void wcol_trend_confidence(const struct wcol_forecast *f, char *out, size_t cap)
{
    char span[32], lo[32], hi[32];

    wcol_trend_span(f->span_ms, span, sizeof(span));
    wcol_trend_span(f->eta_lo_ms, lo, sizeof(lo));
    wcol_trend_span(f->eta_hi_ms, hi, sizeof(hi));
    snprintf(out, cap, "%u points over %s; slope %.3g %s/day; slope quartiles give %s..%s%s", f->n,
             span, f->per_day, f->unit, lo, hi, f->n < 24 ? " (few points: low confidence)" : "");
}
