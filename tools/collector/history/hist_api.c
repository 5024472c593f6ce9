/*
 * The history's operator API (viewer role: read only):
 *   GET /v1/devices/{id}/history?sensor=GLOB&from=&to=&step=   JSON, or CSV (Accept: text/csv)
 *   GET /v1/trends?within=90d                                    forecasts, soonest first
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ident.h"
#include "common/jw.h"
#include "history/history.h"
#include "server/collector.h"
#include "server/conn.h"

#define ANSWER_POINTS_MAX 20000u /* points of every series together */
#define READ_MAX          50000u /* buckets read for one series before re-bucketing */
#define ANSWER_BYTES_MAX  (4u << 20)
#define VALUE_MAX         128u

struct hq {
    char sensor[WCOL_HIST_SENSOR_MAX + 1];
    int64_t from, to, step;
    bool csv;
};

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* One "key=value" of a query string, value %-decoded into val. Moves *q past it.
 * @return 1 found, 0 at the end, -1 malformed. */
static int next_param(const char **q, const char *end, char *key, size_t kcap, char *val,
                      size_t vcap)
{
    const char *p = *q;
    size_t k = 0, v = 0;

    if (p >= end) {
        return 0;
    }
    while (p < end && *p != '=' && *p != '&' && k + 1 < kcap) {
        key[k++] = *p++;
    }
    key[k] = '\0';
    if (p >= end || *p != '=') {
        return -1;
    }
    for (p++; p < end && *p != '&'; p++) {
        int c = (unsigned char)*p;

        if (c == '%') {
            if (end - p < 3 || hexval(p[1]) < 0 || hexval(p[2]) < 0) {
                return -1;
            }
            c = hexval(p[1]) * 16 + hexval(p[2]);
            p += 2;
        }
        if (c < 0x20 || c == 0x7f || v + 1 >= vcap) {
            return -1;
        }
        val[v++] = (char)c;
    }
    val[v] = '\0';
    *q = p < end ? p + 1 : p;
    return 1;
}

static const char *parse_hq(const char *q, size_t len, int64_t now, struct hq *out)
{
    const char *end = q + len;
    char key[16], val[VALUE_MAX];
    int rc;

    *out = (struct hq){ .from = now - 86400000, .to = now };
    snprintf(out->sensor, sizeof(out->sensor), "*");
    while ((rc = next_param(&q, end, key, sizeof(key), val, sizeof(val))) == 1) {
        size_t vl = strlen(val);

        if (strcmp(key, "sensor") == 0) {
            if (vl == 0 || vl > WCOL_HIST_SENSOR_MAX) {
                return "sensor: a glob of 1-63 printable characters";
            }
            memcpy(out->sensor, val, vl + 1);
        } else if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
            if (wcol_hist_parse_time(val, vl, now, key[0] == 'f' ? &out->from : &out->to) != 0) {
                return "from/to: milliseconds since the epoch, now, or -7d, -12h, -30m, -45s";
            }
        } else if (strcmp(key, "step") == 0) {
            if (wcol_hist_parse_duration(val, vl, &out->step) != 0 || out->step < 1000) {
                return "step: a duration of at least 1 s (60s, 5m, 1h, 1d)";
            }
            out->step = out->step / 1000 * 1000;
        } else if (strcmp(key, "format") == 0 &&
                   (strcmp(val, "csv") == 0 || strcmp(val, "json") == 0)) {
            out->csv = val[0] == 'c';
        } else {
            return "unknown query parameter (sensor, from, to, step, format)";
        }
    }
    if (rc < 0) {
        return "malformed query string";
    }
    return out->from >= out->to ? "from must be before to" : NULL;
}

/* The tier a range reads (docs/history.md): among the tiers that still hold `from`, the
 * coarsest whose step is not above the step asked for; the finest when none is. */
static int pick_tier(const struct wcol_hstore *s, int64_t from, int64_t now, int64_t step)
{
    int best = -1, finest = -1;

    for (int i = 0; i < WCOL_HIST_TIERS; i++) {
        if (from < now - s->tier[i].keep_ms) {
            continue;
        }
        finest = finest < 0 ? i : finest;
        if (s->tier[i].step_ms <= step) {
            best = i;
        }
    }
    return best >= 0 ? best : finest >= 0 ? finest : WCOL_HIST_TIERS - 1;
}

struct found {
    unsigned n;
    int64_t id[WCOL_HIST_MAX_SERIES + 1];
    char sensor[WCOL_HIST_MAX_SERIES + 1][WCOL_HIST_SENSOR_MAX + 1];
    char unit[WCOL_HIST_MAX_SERIES + 1][8];
};

static int on_series(void *ctx, int64_t id, const char *sensor, const char *unit)
{
    struct found *f = ctx;

    f->id[f->n] = id;
    snprintf(f->sensor[f->n], sizeof(f->sensor[0]), "%s", sensor);
    snprintf(f->unit[f->n++], sizeof(f->unit[0]), "%s", unit);
    return 0;
}

/* The CSV answer: lines appended to a buffer bounded like the JSON one. */
struct csvbuf {
    char *b;
    size_t len, cap;
    bool failed;
};

static void csv_add(struct csvbuf *c, const char *line)
{
    size_t n = strlen(line);

    if (c->failed || c->len + n > ANSWER_BYTES_MAX) {
        c->failed = true;
        return;
    }
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 65536;
        char *nb;

        while (cap < c->len + n) {
            cap *= 2;
        }
        nb = realloc(c->b, cap);
        if (nb == NULL) {
            c->failed = true;
            return;
        }
        c->b = nb;
        c->cap = cap;
    }
    memcpy(c->b + c->len, line, n);
    c->len += n;
}

static void out_point(struct wcol_jw *w, struct csvbuf *csv, const struct found *f, unsigned i,
                      const char *tier, const struct wcol_hpoint *p)
{
    int64_t v[4] = { p->t, p->mn, wcol_hist_mean(p->sum, p->cnt), p->mx };
    char line[256];

    if (csv != NULL) {
        snprintf(line, sizeof(line), "%s,%s,%s,%lld,%lld,%lld,%lld\n", f->sensor[i], f->unit[i],
                 tier, (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3]);
        csv_add(csv, line);
        return;
    }
    wcol_jw_arr_begin(w);
    for (int k = 0; k < 4; k++) {
        wcol_jw_int(w, v[k]);
    }
    wcol_jw_arr_end(w);
}

/* A sensor id is printable ASCII without ',' or '"' in practice; CSV quotes nothing else. */
static bool csv_safe(const char *s)
{
    return strpbrk(s, ",\"\r\n") == NULL;
}

static void history(struct wcol_history *h, struct wcol_conn *conn, const char *dev,
                    const char *query, size_t qlen)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    int64_t now = wcol_now_wall_ms();
    struct hq q;
    const char *why = parse_hq(query, qlen, now, &q);
    struct found *f = calloc(1, sizeof(*f));
    struct wcol_hpoint *buf = malloc(READ_MAX * sizeof(*buf));
    struct csvbuf csv = { 0 };
    struct wcol_jw w;

    if (f == NULL || buf == NULL) {
        wcol_conn_error(conn, 503, "out of memory");
        goto free_bufs;
    }
    if (why != NULL) {
        wcol_conn_error(conn, 400, why);
        goto free_bufs;
    }
    q.csv |= r->accept != NULL && memmem(r->accept, r->accept_len, "text/csv", 8) != NULL;
    if (wcol_hstore_series(&h->api, dev, q.sensor, WCOL_HIST_MAX_SERIES + 1, on_series, f) < 0) {
        wcol_conn_error(conn, 503, "history unavailable");
        goto free_bufs;
    }
    if (f->n > WCOL_HIST_MAX_SERIES) {
        wcol_conn_error(conn, 400, "sensor matches more than 64 series; narrow the glob");
        goto free_bufs;
    }
    /* Points per series: at most 2000, and 20000 in the whole answer. */
    int64_t per = f->n > 0 ? ANSWER_POINTS_MAX / f->n : WCOL_HIST_MAX_POINTS;
    /* range / step buckets, plus one where the range does not start on a boundary */
    int64_t cap = (per < WCOL_HIST_MAX_POINTS ? per : WCOL_HIST_MAX_POINTS) - 1;
    int64_t range = q.to - q.from, least = (range + cap - 1) / cap;
    int tier;

    if (q.step == 0) {
        q.step = least;
    } else if (q.step < least) {
        wcol_conn_error(conn, 400,
                        "step too small for this range: at most 2000 points per series "
                        "and 20000 per answer");
        goto free_bufs;
    }
    tier = pick_tier(&h->api, q.from, now, q.step);
    int64_t ts = h->api.tier[tier].step_ms;

    q.step = q.step <= ts ? ts : (q.step + ts - 1) / ts * ts;
    wcol_jw_init(&w, ANSWER_BYTES_MAX);
    if (q.csv) {
        csv_add(&csv, "sensor,unit,tier,t_ms,min,mean,max\n");
    } else {
        wcol_jw_obj_begin(&w);
        wcol_jw_kstr(&w, "device", dev);
        wcol_jw_kint(&w, "from_ms", q.from);
        wcol_jw_kint(&w, "to_ms", q.to);
        wcol_jw_kint(&w, "step_s", q.step / 1000);
        wcol_jw_key(&w, "series");
        wcol_jw_arr_begin(&w);
    }
    for (unsigned i = 0; i < f->n; i++) {
        int n = wcol_hstore_read(&h->api, f->id[i], tier, q.from, q.to, now, buf, READ_MAX);
        unsigned m = n > 0 ? wcol_hist_rebucket(buf, (unsigned)n, q.step) : 0;

        if (q.csv && !csv_safe(f->sensor[i])) {
            continue;
        }
        if (!q.csv) {
            wcol_jw_obj_begin(&w);
            wcol_jw_kstr(&w, "sensor", f->sensor[i]);
            wcol_jw_kstr(&w, "unit", f->unit[i]);
            wcol_jw_kstr(&w, "tier", h->api.tier[tier].name);
            wcol_jw_key(&w, "points");
            wcol_jw_arr_begin(&w);
        }
        for (unsigned k = 0; k < m; k++) {
            out_point(&w, q.csv ? &csv : NULL, f, i, h->api.tier[tier].name, &buf[k]);
        }
        if (!q.csv) {
            wcol_jw_arr_end(&w);
            wcol_jw_obj_end(&w);
        }
    }
    if (!q.csv) {
        wcol_jw_arr_end(&w);
        wcol_jw_obj_end(&w);
    }
    if (w.failed || csv.failed) {
        wcol_jw_free(&w);
        wcol_conn_error(conn, 500, "response too large");
        goto free_bufs;
    }
    size_t len;
    char *b = wcol_jw_take(&w, &len);

    if (q.csv) {
        wcol_conn_respond_typed(conn, 200, "text/csv; charset=utf-8", csv.b, csv.len, NULL,
                                !r->keep_alive);
    } else {
        wcol_conn_respond(conn, 200, b, len, NULL, !r->keep_alive);
    }
    free(b);
free_bufs:
    free(csv.b);
    free(buf);
    free(f);
}

static void trend_item(struct wcol_jw *w, const struct wcol_forecast *f)
{
    char s[320];

    wcol_jw_obj_begin(w);
    wcol_jw_kstr(w, "device", f->device);
    wcol_jw_kstr(w, "sensor", f->sensor);
    wcol_jw_kstr(w, "unit", f->unit);
    wcol_jw_kint(w, "threshold", f->threshold);
    wcol_jw_kstr(w, "direction", f->dir > 0 ? "rising" : "falling");
    wcol_jw_kint(w, "value", f->value);
    wcol_jw_kint(w, "eta_ms", f->eta_ms);
    wcol_jw_kint(w, "eta_lo_ms", f->eta_lo_ms);
    wcol_jw_kint(w, "eta_hi_ms", f->eta_hi_ms);
    wcol_jw_kint(w, "slope_per_day",
                 (int64_t)(f->per_day < 0 ? f->per_day - 0.5 : f->per_day + 0.5));
    wcol_jw_kuint(w, "points", f->n);
    wcol_jw_kint(w, "span_ms", f->span_ms);
    wcol_trend_sentence(f, s, sizeof(s));
    wcol_jw_kstr(w, "forecast", s);
    wcol_trend_confidence(f, s, sizeof(s));
    wcol_jw_kstr(w, "confidence", s);
    wcol_jw_obj_end(w);
}

static void trends(struct wcol_history *h, struct wcol_conn *conn, const char *query, size_t qlen)
{
    const char *end = query + qlen;
    char key[16], val[VALUE_MAX];
    int64_t within = (int64_t)h->cfg.trends_within_ms;
    int rc;
    struct wcol_jw w;

    while ((rc = next_param(&query, end, key, sizeof(key), val, sizeof(val))) == 1) {
        if (strcmp(key, "within") != 0 ||
            wcol_hist_parse_duration(val, strlen(val), &within) != 0) {
            wcol_conn_error(conn, 400, "only within=DURATION (90d, 12h)");
            return;
        }
    }
    if (rc < 0) {
        wcol_conn_error(conn, 400, "malformed query string");
        return;
    }
    wcol_jw_init(&w, ANSWER_BYTES_MAX);
    wcol_jw_obj_begin(&w);
    wcol_jw_kint(&w, "within_ms", within);
    pthread_mutex_lock(&h->mu);
    wcol_jw_kint(&w, "computed_ms", h->fc_at_ms);
    wcol_jw_key(&w, "trends");
    wcol_jw_arr_begin(&w);
    for (unsigned i = 0; i < h->n_fc; i++) {
        if (h->fc[i].eta_ms <= within) {
            trend_item(&w, &h->fc[i]);
        }
    }
    pthread_mutex_unlock(&h->mu);
    wcol_jw_arr_end(&w);
    wcol_jw_obj_end(&w);
    size_t len;
    char *b = w.failed ? NULL : wcol_jw_take(&w, &len);

    if (b == NULL) {
        wcol_jw_free(&w);
        wcol_conn_error(conn, 500, "response too large");
        return;
    }
    wcol_conn_respond(conn, 200, b, len, NULL, !wcol_conn_request(conn)->keep_alive);
    free(b);
}

bool wcol_history_request(struct wcol_conn *conn, const char *who, const char *body, size_t len)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    const char *t = r->target, *qm = memchr(t, '?', r->target_len);
    size_t pl = qm ? (size_t)(qm - t) : r->target_len, ql = qm ? r->target_len - pl - 1 : 0;
    struct wcol_history *h = wcol_conn_collector(conn)->history;
    static const char dp[] = "/v1/devices/", hs[] = "/history";
    bool is_trends = pl == 10 && memcmp(t, "/v1/trends", 10) == 0;
    bool is_hist = pl > sizeof(dp) - 1 + sizeof(hs) - 1 && memcmp(t, dp, sizeof(dp) - 1) == 0 &&
                   memcmp(t + pl - (sizeof(hs) - 1), hs, sizeof(hs) - 1) == 0;
    char dev[WCOL_HIST_DEVICE_MAX + 1];

    (void)who, (void)body, (void)len;
    if (!is_trends && !is_hist) {
        return false;
    }
    if (r->method != WCOL_HTTP_GET) {
        wcol_conn_wrong_method(conn, "GET");
        return true;
    }
    if (h == NULL) {
        wcol_conn_error(conn, 503, "history is off at this collector (no-history)");
        return true;
    }
    if (is_trends) {
        trends(h, conn, qm ? qm + 1 : "", ql);
        return true;
    }
    size_t dl = pl - (sizeof(dp) - 1) - (sizeof(hs) - 1);
    const char *d = t + sizeof(dp) - 1;

    if (dl > WCOL_HIST_DEVICE_MAX || memchr(d, '%', dl) != NULL || !wcol_device_id_valid(d, dl)) {
        wcol_conn_error(conn, 400, "not a device id (1-63 printable characters)");
        return true;
    }
    memcpy(dev, d, dl);
    dev[dl] = '\0';
    history(h, conn, dev, qm ? qm + 1 : "", ql);
    return true;
}
