/* The trends pass: fit every followed series, keep the forecasts, open and resolve incidents. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "history/history.h"
#include "incidents/incidents.h"

#define READ_CAP 20000u /* buckets read for one fit, before re-bucketing */

/* The coarsest tier whose step gives a window at least 100 points (the finest otherwise). */
static int pick_tier(const struct wcol_hstore *hs, int64_t window)
{
    int best = 0;

    for (int i = 1; i < WCOL_HIST_TIERS; i++) {
        if (hs->tier[i].step_ms * 100 <= window && hs->tier[i].keep_ms >= window) {
            best = i;
        }
    }
    return best;
}

/* Fit one series. @return 0 with *f filled (a crossing), -ERANGE none, -ENODATA too few. */
static int fit_one(struct wcol_history *h, struct wcol_hstore *hs, int64_t id, int64_t now,
                   struct wcol_hpoint *buf, struct wcol_forecast *f)
{
    struct wcol_trend_rule rule;
    struct wcol_fit fit;
    int64_t window = (int64_t)h->cfg.trends_window_ms, t[WCOL_TREND_MAX_POINTS],
            y[WCOL_TREND_MAX_POINTS];
    int tier = pick_tier(hs, window);
    int n = wcol_hstore_read(hs, id, tier, now - window, now, now, buf, READ_CAP);

    if (n < 0 || !wcol_trend_rule_for(f->sensor, &h->cfg, &rule)) {
        return n < 0 ? n : -ERANGE;
    }
    int64_t step = hs->tier[tier].step_ms, want = window / (WCOL_TREND_MAX_POINTS - 2);

    if (want > step) {
        step = (want + step - 1) / step * step;
    }
    unsigned m = wcol_hist_rebucket(buf, (unsigned)n, step);

    if (m < WCOL_TREND_MIN_POINTS) {
        return -ENODATA;
    }
    m = m > WCOL_TREND_MAX_POINTS ? WCOL_TREND_MAX_POINTS : m;
    for (unsigned i = 0; i < m; i++) {
        t[i] = buf[i].t + step / 2;
        y[i] = wcol_hist_mean(buf[i].sum, buf[i].cnt);
    }
    if (wcol_theil_sen(t, y, m, now, &fit) != 0) {
        return -ENODATA;
    }
    return wcol_trend_forecast(
        &fit, &rule, wcol_hstore_threshold(hs, f->device, f->sensor, rule.threshold), now, f);
}

static int by_eta(const void *a, const void *b)
{
    const struct wcol_forecast *x = a, *y = b;

    return (x->eta_ms > y->eta_ms) - (x->eta_ms < y->eta_ms);
}

/* What a forecast that changed sides does: open or resolve its incident. */
struct settle_ctx {
    struct wcol_history *h;
    const char *device, *sensor, *sentence;
    bool within;
};

static int settle_act(void *arg)
{
    const struct settle_ctx *x = arg;

    if (x->h->inc == NULL) {
        return 0;
    }
    return wcol_incidents_forecast(x->h->inc, x->device, x->sensor, x->within, x->sentence);
}

/* Open or resolve the forecast incident of (device, sensor) when its side of the horizon
 * changed since the last pass (the forecasts table remembers it across restarts). */
static void settle(struct wcol_history *h, struct wcol_hstore *hs, const char *device,
                   const char *sensor, bool within, const char *sentence)
{
    struct settle_ctx x = {
        .h = h, .device = device, .sensor = sensor, .sentence = sentence, .within = within
    };

    (void)wcol_hstore_settle(hs, device, sensor, within, settle_act, &x);
}

/* The forecasts inside the horizon last pass that this pass did not put there (8 a pass). */
struct rest {
    struct wcol_history *h;
    const struct wcol_forecast *fc;
    unsigned n, k;
    char dev[8][WCOL_HIST_DEVICE_MAX + 1], sen[8][WCOL_HIST_SENSOR_MAX + 1];
};

static int on_within(void *ctx, int64_t id, const char *d, const char *s)
{
    struct rest *r = ctx;
    bool kept = false;

    (void)id;
    for (unsigned i = 0; i < r->n && !kept; i++) {
        kept = r->fc[i].eta_ms <= (int64_t)r->h->cfg.trends_within_ms &&
               strcmp(r->fc[i].device, d) == 0 && strcmp(r->fc[i].sensor, s) == 0;
    }
    if (!kept) {
        snprintf(r->dev[r->k], sizeof(r->dev[0]), "%s", d);
        snprintf(r->sen[r->k++], sizeof(r->sen[0]), "%s", s);
    }
    return r->k >= 8;
}

static void settle_rest(struct wcol_history *h, struct wcol_hstore *hs,
                        const struct wcol_forecast *fc, unsigned n)
{
    struct rest r = { .h = h, .fc = fc, .n = n };

    (void)wcol_hstore_forecasts_within(hs, UINT32_MAX, on_within, &r);
    for (unsigned i = 0; i < r.k; i++) {
        settle(h, hs, r.dev[i], r.sen[i], false, "the forecast left the horizon");
    }
}

/* A followed series: fit it (a forecast kept while there is room). */
struct pass {
    struct wcol_history *h;
    struct wcol_hstore *hs;
    int64_t now;
    struct wcol_hpoint *buf;
    struct wcol_forecast *fc;
    unsigned n;
};

static int on_followed(void *ctx, int64_t id, const char *device, const char *sensor)
{
    struct pass *p = ctx;
    struct wcol_forecast *f = &p->fc[p->n];
    struct wcol_trend_rule r;

    if (sensor == NULL || device == NULL || !wcol_trend_rule_for(sensor, &p->h->cfg, &r)) {
        return 0;
    }
    snprintf(f->device, sizeof(f->device), "%s", device);
    snprintf(f->sensor, sizeof(f->sensor), "%s", sensor);
    f->unit = wcol_hist_unit(sensor);
    if (fit_one(p->h, p->hs, id, p->now, p->buf, f) == 0) {
        p->n++;
    }
    return p->n >= WCOL_TREND_MAX_LIST;
}

int wcol_history_trends_pass(struct wcol_history *h, struct wcol_hstore *hs, int64_t now)
{
    struct wcol_hpoint *buf = malloc(READ_CAP * sizeof(*buf));
    struct wcol_forecast *fc = calloc(WCOL_TREND_MAX_LIST, sizeof(*fc));
    unsigned n = 0, within = 0;
    int rc = -ENOMEM;

    if (buf == NULL || fc == NULL) {
        goto free_bufs;
    }
    struct pass p = { .h = h, .hs = hs, .now = now, .buf = buf, .fc = fc };

    if (wcol_hstore_followed(hs, now - (int64_t)h->cfg.trends_window_ms, WCOL_TREND_MAX_SERIES,
                             on_followed, &p) < 0) {
        rc = -EIO;
        goto free_bufs;
    }
    n = p.n;
    qsort(fc, n, sizeof(fc[0]), by_eta);
    for (unsigned i = 0; i < n; i++) {
        char sentence[256];

        if (fc[i].eta_ms <= (int64_t)h->cfg.trends_within_ms) {
            within++;
            wcol_trend_sentence(&fc[i], sentence, sizeof(sentence));
            settle(h, hs, fc[i].device, fc[i].sensor, true, sentence);
        }
    }
    settle_rest(h, hs, fc, n);
    atomic_store(&h->within, within);
    atomic_fetch_add(&h->passes, 1);
    pthread_mutex_lock(&h->mu);
    free(h->fc);
    h->fc = fc;
    h->n_fc = n;
    h->fc_at_ms = now;
    pthread_mutex_unlock(&h->mu);
    fc = NULL;
    rc = 0;
free_bufs:
    free(fc);
    free(buf);
    return rc;
}
