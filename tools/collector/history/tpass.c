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

static int64_t threshold_of(struct wcol_hstore *hs, const char *device, const char *sensor,
                            int64_t dflt)
{
    sqlite3_stmt *st = NULL;
    int64_t v = dflt;

    if (sqlite3_prepare_v2(hs->db, "SELECT value FROM thresholds WHERE device = ?1 AND sensor = ?2",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sensor, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    return v;
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
    return wcol_trend_forecast(&fit, &rule, threshold_of(hs, f->device, f->sensor, rule.threshold),
                               now, f);
}

static int by_eta(const void *a, const void *b)
{
    const struct wcol_forecast *x = a, *y = b;

    return (x->eta_ms > y->eta_ms) - (x->eta_ms < y->eta_ms);
}

/* Open or resolve the forecast incident of (device, sensor) when its side of the horizon
 * changed since the last pass (the forecasts table remembers it across restarts). */
static void settle(struct wcol_history *h, struct wcol_hstore *hs, const char *device,
                   const char *sensor, bool within, const char *sentence)
{
    sqlite3_stmt *st = NULL;
    int was = 0;

    if (sqlite3_prepare_v2(hs->db, "SELECT within FROM forecasts WHERE device = ?1 AND sensor = ?2",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sensor, -1, SQLITE_STATIC);
        was = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    }
    sqlite3_finalize(st);
    if (was == (int)within) {
        return;
    }
    if (h->inc != NULL && wcol_incidents_forecast(h->inc, device, sensor, within, sentence) != 0) {
        return; /* tried again next pass */
    }
    if (sqlite3_prepare_v2(hs->db, "INSERT OR REPLACE INTO forecasts VALUES(?1, ?2, ?3)", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sensor, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, within);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
}

/* Forecasts inside the horizon last pass whose series this pass did not put there. */
static void settle_rest(struct wcol_history *h, struct wcol_hstore *hs,
                        const struct wcol_forecast *fc, unsigned n)
{
    sqlite3_stmt *st = NULL;
    char dev[8][WCOL_HIST_DEVICE_MAX + 1], sen[8][WCOL_HIST_SENSOR_MAX + 1];
    unsigned k = 0;

    if (sqlite3_prepare_v2(hs->db, "SELECT device, sensor FROM forecasts WHERE within = 1", -1, &st,
                           NULL) != SQLITE_OK) {
        return;
    }
    while (k < 8 && sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 0);
        const char *s = (const char *)sqlite3_column_text(st, 1);
        bool kept = false;

        for (unsigned i = 0; i < n && !kept; i++) {
            kept = fc[i].eta_ms <= (int64_t)h->cfg.trends_within_ms &&
                   strcmp(fc[i].device, d) == 0 && strcmp(fc[i].sensor, s) == 0;
        }
        if (!kept) {
            snprintf(dev[k], sizeof(dev[k]), "%s", d);
            snprintf(sen[k++], sizeof(sen[0]), "%s", s);
        }
    }
    sqlite3_finalize(st);
    for (unsigned i = 0; i < k; i++) {
        settle(h, hs, dev[i], sen[i], false, "the forecast left the horizon");
    }
}

int wcol_history_trends_pass(struct wcol_history *h, struct wcol_hstore *hs, int64_t now)
{
    struct wcol_hpoint *buf = malloc(READ_CAP * sizeof(*buf));
    struct wcol_forecast *fc = calloc(WCOL_TREND_MAX_LIST, sizeof(*fc));
    sqlite3_stmt *st = NULL;
    unsigned n = 0, within = 0;
    int rc = -ENOMEM;

    if (buf == NULL || fc == NULL) {
        goto free_bufs;
    }
    rc = -EIO;
    if (sqlite3_prepare_v2(hs->db,
                           "SELECT id, device, sensor, unit FROM series WHERE last_ms >= ?1 "
                           "ORDER BY id LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        goto free_bufs;
    }
    sqlite3_bind_int64(st, 1, now - (int64_t)h->cfg.trends_window_ms);
    sqlite3_bind_int(st, 2, WCOL_TREND_MAX_SERIES);
    while (n < WCOL_TREND_MAX_LIST && sqlite3_step(st) == SQLITE_ROW) {
        struct wcol_forecast *f = &fc[n];
        struct wcol_trend_rule r;
        const char *sensor = (const char *)sqlite3_column_text(st, 2);

        if (sensor == NULL || !wcol_trend_rule_for(sensor, &h->cfg, &r)) {
            continue;
        }
        snprintf(f->device, sizeof(f->device), "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(f->sensor, sizeof(f->sensor), "%s", sensor);
        f->unit = wcol_hist_unit(sensor);
        if (fit_one(h, hs, sqlite3_column_int64(st, 0), now, buf, f) == 0) {
            n++;
        }
    }
    sqlite3_finalize(st);
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
