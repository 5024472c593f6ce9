/*
 * Trends: a Theil-Sen fit over a sensor's recent history and the time until it reaches its
 * threshold (docs/history.md, "Trends"). Plain functions; history.c runs them in its thread.
 */
#ifndef WCOL_HISTORY_TRENDS_H_
#define WCOL_HISTORY_TRENDS_H_

#include <stdbool.h>
#include <stdint.h>

#include "history/hist.h"

#define WCOL_TREND_MAX_POINTS 256u /* a fit's points: O(n^2) pairs, at most 32640 slopes */
#define WCOL_TREND_MIN_POINTS 8u
#define WCOL_TREND_MAX_SERIES 10000u /* series looked at per pass */
#define WCOL_TREND_MAX_LIST   1000u  /* forecasts kept for the API */

/* What a sensor moves toward. */
struct wcol_trend_rule {
    int dir;           /* +1 rising toward the threshold, -1 falling toward it */
    int64_t threshold; /* the default, in the sensor's unit */
    const char *what;  /* "reallocated sector threshold" */
};

/** The rule of a sensor id, or false when it is not one trends follow. */
bool wcol_trend_rule_for(const char *sensor, const struct wcol_history_config *cfg,
                         struct wcol_trend_rule *out);

struct wcol_fit {
    double slope;              /* units per ms: the median of the pairwise slopes */
    double slope_lo, slope_hi; /* the 25th and 75th percentiles of the pairwise slopes */
    double at_ref;             /* the fitted value at t_ref */
    unsigned n;
    int64_t span_ms; /* newest - oldest point */
};

/**
 * Theil-Sen over (t[i], y[i]), n <= WCOL_TREND_MAX_POINTS, pairs with equal t skipped; the
 * intercept is the median of y - slope * (t - t_ref).
 * @return 0; -EINVAL (n out of range), -ENODATA (no pair with distinct times).
 */
int wcol_theil_sen(const int64_t *t, const int64_t *y, unsigned n, int64_t t_ref,
                   struct wcol_fit *out);

struct wcol_forecast {
    char device[WCOL_HIST_DEVICE_MAX + 1];
    char sensor[WCOL_HIST_SENSOR_MAX + 1];
    const char *unit;
    const char *what;
    int dir;
    int64_t threshold;
    int64_t value;                /* the fitted value now */
    int64_t eta_ms;               /* 0: at or past the threshold */
    int64_t eta_lo_ms, eta_hi_ms; /* from the slopes' quartiles; -1: never (that side is flat) */
    double per_day;               /* the fitted slope, units per day */
    unsigned n;
    int64_t span_ms;
};

/**
 * When does the fit reach rule's threshold, from now? Fills out (except device, sensor, unit).
 * @return 0 (a crossing, eta_ms >= 0), -ERANGE (flat, or moving away from it).
 */
int wcol_trend_forecast(const struct wcol_fit *f, const struct wcol_trend_rule *rule,
                        int64_t threshold, int64_t now, struct wcol_forecast *out);

/** "disk sdb on bmc-7 reaches its reallocated sector threshold (100) in ~23 days". */
void wcol_trend_sentence(const struct wcol_forecast *f, char *out, size_t cap);
/** "12 points over 2 d; slope 2.1/d (quartiles 1.9..2.4): 19 d..27 d". */
void wcol_trend_confidence(const struct wcol_forecast *f, char *out, size_t cap);
/** "23 d", "5 h", "40 min", "now". */
void wcol_trend_span(int64_t ms, char *out, size_t cap);

#endif /* WCOL_HISTORY_TRENDS_H_ */
