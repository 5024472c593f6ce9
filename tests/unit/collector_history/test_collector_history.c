/*
 * Sensor history (tools/collector/history): the tiers' roll-ups equal a brute-force reference
 * computed from the raw points, across bucket boundaries and across closing and reopening the
 * database (random data, fixed seed); one sensor over a simulated year stays within the
 * documented bound and stops growing once its rings are full; the Theil-Sen fit ignores
 * outliers; a recorded trace of a failing disk forecasts the crossing time it was made with.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "history/history.h"
#include "history/hmerge.h"
#include "history/hparse.h"
#include "history/hstore.h"
#include "history/trends.h"

static char s_db[64];

/* The database and what SQLite keeps beside it (WAL mode). */
static int forget_db(void **state)
{
    static const char *const tails[] = { "", "-wal", "-shm" };

    (void)state;
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        char path[96];

        snprintf(path, sizeof(path), "%s%s", s_db, tails[i]);
        unlink(path);
    }
    return 0;
}

static int fresh_db(void **state)
{
    snprintf(s_db, sizeof(s_db), "/tmp/ward-history-%ld.db", (long)getpid());
    return forget_db(state);
}

static void test_plain_functions(void **state)
{
    int64_t v;

    (void)state;
    assert_int_equal(wcol_hist_mean(5, 2), 3);
    assert_int_equal(wcol_hist_mean(-5, 2), -3);
    assert_int_equal(wcol_hist_mean(7, 3), 2);
    assert_int_equal(wcol_hist_mean(-7, 3), -2);
    assert_int_equal(wcol_hist_floor(-1, 10), -10);
    assert_int_equal(wcol_hist_floor(19, 10), 10);
    assert_int_equal(wcol_hist_parse_time("-7d", 3, 1000000000000, &v), 0);
    assert_int_equal(v, 1000000000000 - 7 * 86400000ll);
    assert_int_equal(wcol_hist_parse_time("1700000000000", 13, 0, &v), 0);
    assert_int_equal(v, 1700000000000);
    assert_int_equal(wcol_hist_parse_time("-7", 2, 0, &v), -EINVAL);
    assert_int_equal(wcol_hist_parse_time("7x", 2, 0, &v), -EINVAL);
    assert_int_equal(wcol_hist_parse_time("", 0, 0, &v), -EINVAL);
    assert_string_equal(wcol_hist_unit("temp:cpu0"), "mC");
    assert_string_equal(wcol_hist_unit("disk:sda:temp"), "mC");
    assert_string_equal(wcol_hist_unit("fan:it87:1"), "rpm");
    assert_string_equal(wcol_hist_unit("host:cpu_busy_pct"), "pct");
    assert_string_equal(wcol_hist_unit("disk:sda:reallocated"), "count");
}

/* ---- the property test ---- */

#define N_POINTS 4000

struct pt {
    int64_t t, v;
};

/* The reference: every point whose tier bucket is still kept, grouped by `step`. */
static unsigned reference(const struct pt *p, unsigned n, const struct wcol_hist_tier *tier,
                          int64_t now, int64_t step, struct wcol_hpoint *out)
{
    unsigned m = 0;

    for (unsigned i = 0; i < n; i++) {
        int64_t b = wcol_hist_floor(p[i].t, tier->step_ms);

        if (b <= now - tier->keep_ms || b > now) {
            continue;
        }
        int64_t k = wcol_hist_floor(p[i].t, step);
        unsigned j = 0;

        while (j < m && out[j].t != k) {
            j++;
        }
        if (j == m) {
            out[m++] = (struct wcol_hpoint){ .t = k, .mn = p[i].v, .mx = p[i].v };
        }
        out[j].mn = p[i].v < out[j].mn ? p[i].v : out[j].mn;
        out[j].mx = p[i].v > out[j].mx ? p[i].v : out[j].mx;
        out[j].sum += p[i].v;
        out[j].cnt++;
    }
    return m; /* in time order: the points are */
}

static void compare(struct wcol_hstore *hs, int64_t id, const struct pt *p, unsigned n, int tier,
                    int64_t now, int64_t step)
{
    static struct wcol_hpoint got[N_POINTS], want[N_POINTS];
    int g = wcol_hstore_read(hs, id, tier, 0, now, now, got, N_POINTS);
    unsigned w = reference(p, n, &hs->tier[tier], now, step, want);

    assert_true(g >= 0);
    g = (int)wcol_hist_rebucket(got, (unsigned)g, step);
    assert_int_equal(g, w);
    for (unsigned i = 0; i < w; i++) {
        assert_int_equal(got[i].t, want[i].t);
        assert_int_equal(got[i].mn, want[i].mn);
        assert_int_equal(got[i].mx, want[i].mx);
        assert_int_equal(got[i].sum, want[i].sum);
        assert_int_equal(got[i].cnt, want[i].cnt);
    }
}

/* Small rings, so they wrap many times: raw 2 s x 120, 1 m x 90, 1 h x 3. */
static void small_rings(struct wcol_history_config *cfg)
{
    wcol_history_defaults(cfg);
    cfg->raw_step_ms = 2000;
    cfg->keep_ms[0] = 240000;
    cfg->keep_ms[1] = 90 * 60000;
    cfg->keep_ms[2] = 3 * 3600000;
}

static void test_rollup_property(void **state)
{
    static struct pt p[N_POINTS];
    struct wcol_history_config cfg;
    struct wcol_hstore hs;
    unsigned seed = 14;
    int64_t t = 1700000000000 - 7; /* not on any boundary */

    (void)state;
    small_rings(&cfg);
    assert_int_equal(wcol_hstore_open(&hs, s_db, &cfg, false), 0);
    assert_int_equal(wcol_hstore_begin(&hs), 0);
    for (unsigned i = 0; i < N_POINTS; i++) {
        /* Gaps from 0 (same bucket) to past a whole raw ring; values of both signs. */
        unsigned r = (unsigned)rand_r(&seed);
        int64_t gap = r % 8 == 0 ? 0 : r % 97 == 0 ? 300000 : (int64_t)(r % 5000);

        t += gap;
        p[i] = (struct pt){ .t = t, .v = (int64_t)(rand_r(&seed) % 200001) - 100000 };
        assert_int_equal(wcol_hstore_put(&hs, "dev-1", "temp:cpu0", p[i].t, p[i].v), 0);
        if (i % 700 == 699) { /* a restart: everything committed so far must survive */
            assert_int_equal(wcol_hstore_commit(&hs), 0);
            wcol_hstore_close(&hs);
            assert_int_equal(wcol_hstore_open(&hs, s_db, &cfg, false), 0);
            assert_int_equal(wcol_hstore_begin(&hs), 0);
        }
        if (i % 500 == 499) {
            for (int k = 0; k < WCOL_HIST_TIERS; k++) {
                compare(&hs, 1, p, i + 1, k, t, hs.tier[k].step_ms);
            }
            compare(&hs, 1, p, i + 1, 0, t, 10000); /* re-bucketed by the API's rule */
            compare(&hs, 1, p, i + 1, 1, t, 300000);
        }
    }
    assert_int_equal(wcol_hstore_commit(&hs), 0);
    /* Every ring holds at most its slots. */
    assert_true(wcol_hstore_rows(&hs, 1) <= 120 + 90 + 3);
    wcol_hstore_close(&hs);
}

/* ---- readings merged in memory (hmerge.h) ---- */

static int first_id(void *ctx, int64_t id, const char *sensor, const char *unit)
{
    (void)sensor;
    (void)unit;
    *(int64_t *)ctx = id;
    return 1;
}

static int by_time(const void *a, const void *b)
{
    const struct pt *x = a, *y = b;

    return x->t < y->t ? -1 : x->t > y->t;
}

/* Every tier of one series against the reference (which wants its points in time order). */
static void compare_series(struct wcol_hstore *hs, const char *sensor, const struct pt *p,
                           unsigned n, int64_t now)
{
    static struct pt sorted[N_POINTS];
    int64_t id = 0;

    assert_int_equal(wcol_hstore_series(hs, "dev-1", sensor, 1, first_id, &id), 1);
    memcpy(sorted, p, n * sizeof(*p));
    qsort(sorted, n, sizeof(*sorted), by_time);
    for (int k = 0; k < WCOL_HIST_TIERS; k++) {
        compare(hs, id, sorted, n, k, now, hs->tier[k].step_ms);
    }
    compare(hs, id, sorted, n, 0, now, 10000);
    compare(hs, id, sorted, n, 1, now, 300000);
}

static uint64_t flush_ok(struct wcol_hmerge *m, struct wcol_hstore *hs)
{
    struct wcol_hflush f;

    wcol_hmerge_flush(m, hs, &f);
    assert_int_equal(f.failures, 0);
    assert_int_equal(f.dropped, 0);
    assert_int_equal(m->readings, 0);
    return f.written;
}

/*
 * The writer's path: readings of three series, some of them late (up to 30 s, so they land in
 * buckets already written), merged in a table so small that it fills every few readings, and
 * flushed then, at random, and around restarts: the tiers equal the brute-force reference, as
 * wcol_hstore_put() of each reading gives (test_rollup_property).
 */
static void test_merge_property(void **state)
{
    static const char *const names[3] = { "temp:cpu0", "fan:it87:1", "disk:sda:temp" };
    static struct pt p[3][N_POINTS];
    struct wcol_history_config cfg;
    struct wcol_hstore hs;
    struct wcol_hmerge m;
    unsigned seed = 41, n[3] = { 0 }, early = 0;
    int64_t t = 1700000000000 - 7;
    uint64_t written = 0;

    (void)state;
    small_rings(&cfg);
    assert_int_equal(wcol_hstore_open(&hs, s_db, &cfg, false), 0);
    assert_int_equal(wcol_hmerge_init(&m, 4, 16), 0);
    for (unsigned i = 0; i < N_POINTS; i++) {
        unsigned r = (unsigned)rand_r(&seed), k = r % 3;
        int64_t gap = r % 8 == 0 ? 0 : r % 97 == 0 ? 300000 : (int64_t)(r % 2000);
        int64_t at, v = (int64_t)(rand_r(&seed) % 200001) - 100000;

        t += gap;
        at = r % 5 == 0 ? t - (int64_t)(rand_r(&seed) % 30000) : t;
        p[k][n[k]++] = (struct pt){ .t = at, .v = v };
        if (!wcol_hmerge_room(&m)) {
            written += flush_ok(&m, &hs);
            early++;
        }
        assert_int_equal(wcol_hmerge_add(&m, &hs, "dev-1", names[k], at, v), 0);
        if (rand_r(&seed) % 50 == 0) {
            written += flush_ok(&m, &hs);
        }
        if (i % 700 == 699) { /* a clean restart: flushed, closed, reopened */
            written += flush_ok(&m, &hs);
            wcol_hstore_close(&hs);
            assert_int_equal(wcol_hstore_open(&hs, s_db, &cfg, false), 0);
        }
        if (i % 500 == 499) {
            written += flush_ok(&m, &hs);
            for (unsigned j = 0; j < 3; j++) {
                compare_series(&hs, names[j], p[j], n[j], t);
            }
        }
    }
    written += flush_ok(&m, &hs);
    assert_int_equal(written, N_POINTS);
    assert_true(early > 100); /* the table did fill, and was written early */
    for (unsigned j = 0; j < 3; j++) {
        compare_series(&hs, names[j], p[j], n[j], t);
        assert_true(wcol_hstore_rows(&hs, (int64_t)j + 1) <= 120 + 90 + 3);
    }
    /* Too long an id is refused, not truncated into another series. */
    char longid[WCOL_HIST_SENSOR_MAX + 2];

    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_int_equal(wcol_hmerge_add(&m, &hs, "dev-1", longid, t, 1), -EINVAL);
    wcol_hmerge_free(&m);
    wcol_hstore_close(&hs);
}

#define DOC(text) text, strlen(text)

/* What the writer reads of a page and of an event, as SQLite's json_extract/json_type did. */
static void test_page_reader(void **state)
{
    static const char page[] =
        "{\"v\":1,\"type\":\"health\",\"device\":\"dev-1\",\"extra\":{\"a\":[1,{\"b\":null}]},"
        "\"sensors\":["
        "{\"id\":\"temp:cpu0\",\"state\":\"ok\",\"value\":41000,\"since_ms\":0,\"last_ms\":9000},"
        "{\"id\":\"fan:it87:1\",\"value\":null,\"last_ms\":9000},"
        "{\"id\":\"nic:eth0:link\",\"value\":\"up\"},"
        "{\"id\":\"disk:sda:reallocated\",\"value\":18446744073709551615},"
        "{\"value\":5},"
        "{\"id\":7,\"value\":5},"
        "[1,2],"
        "{\"id\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"value\":1},"
        "{\"last_ms\":null,\"value\":-9223372036854775807,\"id\":\"t\\u00e9mp:a\",\"k\":[{}]},"
        "{\"id\":\"host:load_pct\",\"value\":3,\"last_ms\":\"soon\"}"
        "],\"t_ms\":10000}";
    struct wcol_hpage pg = { 0 };
    int64_t v = 0;

    (void)state;
    assert_int_equal(wcol_hparse_page(&pg, page, strlen(page)), 0);
    assert_true(pg.has_t);
    assert_int_equal(pg.t_ms, 10000);
    assert_int_equal(pg.n, 3);
    assert_string_equal(pg.r[0].id, "temp:cpu0");
    assert_int_equal(pg.r[0].value, 41000);
    assert_true(pg.r[0].has_last);
    assert_int_equal(pg.r[0].last_ms, 9000);
    assert_string_equal(pg.r[1].id, "t\xc3\xa9mp:a");
    assert_int_equal(pg.r[1].value, -9223372036854775807);
    assert_false(pg.r[1].has_last);
    assert_string_equal(pg.r[2].id, "host:load_pct");
    assert_false(pg.r[2].has_last);
    /* Not an object, malformed: nothing. */
    assert_int_equal(wcol_hparse_page(&pg, DOC("[1]")), -EPROTO);
    assert_int_equal(wcol_hparse_page(&pg, DOC("{\"sensors\":[{\"id\":\"a\",\"value\":1}")),
                     -EPROTO);
    assert_int_equal(pg.n, 0);
    assert_int_equal(wcol_hparse_page(&pg, DOC("{\"t_ms\":null}")), 0);
    assert_false(pg.has_t);
    assert_int_equal(pg.n, 0);
    /* Events: the value when it is an integer. */
    assert_int_equal(wcol_hparse_event(&pg, DOC("{\"seq\":3,\"value\":-61000}"), &v), 0);
    assert_int_equal(v, -61000);
    assert_int_equal(wcol_hparse_event(&pg, DOC("{\"seq\":3,\"value\":null}"), &v), -ENODATA);
    assert_int_equal(wcol_hparse_event(&pg, DOC("{\"seq\":3}"), &v), -ENODATA);
    assert_int_equal(wcol_hparse_event(&pg, DOC("{\"seq\":"), &v), -EPROTO);
    wcol_hpage_free(&pg);
}

/* ---- the storage bound ---- */

/* Documented in docs/history.md: at most this many bytes per occupied slot (row). */
#define BYTES_PER_SLOT 64

static void test_year_of_one_sensor(void **state)
{
    struct wcol_history_config cfg;
    struct wcol_hstore hs;
    int64_t t0 = 1699999200000, minute = 60000, rows_day200 = 0; /* on an hour */
    int64_t slots;

    (void)state;
    wcol_history_defaults(&cfg);
    cfg.raw_step_ms = 60000; /* one reading a minute fills every slot of every tier */
    assert_int_equal(wcol_hstore_open(&hs, s_db, &cfg, false), 0);
    slots = hs.tier[0].slots + hs.tier[1].slots + hs.tier[2].slots;
    for (int64_t day = 0; day < 365; day++) {
        assert_int_equal(wcol_hstore_begin(&hs), 0);
        for (int64_t m = 0; m < 1440; m++) {
            int64_t t = t0 + (day * 1440 + m) * minute;

            assert_int_equal(wcol_hstore_put(&hs, "dev-1", "disk:sda:temp", t, 30000 + m), 0);
        }
        assert_int_equal(wcol_hstore_commit(&hs), 0);
        if (day == 199) {
            rows_day200 = wcol_hstore_rows(&hs, 1);
        }
    }
    int64_t rows = wcol_hstore_rows(&hs, 1);

    assert_int_equal(sqlite3_wal_checkpoint_v2(hs.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
                     SQLITE_OK);
    int64_t bytes = wcol_hstore_bytes(&hs);

    /* raw and 1 m rings are full by day 200 and stay so; the 1 h ring grows by one a hour. */
    assert_int_equal(rows, hs.tier[0].slots + hs.tier[1].slots + 365 * 24);
    assert_int_equal(rows - rows_day200, 165 * 24);
    assert_true(rows <= slots);
    printf("one sensor, one year at 1/min: %lld rows, %lld bytes (%.1f per row); bound %lld rows\n",
           (long long)rows, (long long)bytes, (double)bytes / (double)rows, (long long)slots);
    assert_true(bytes <= rows * BYTES_PER_SLOT + 65536);
    wcol_hstore_close(&hs);
}

/* ---- trends ---- */

static void test_theil_sen_outliers(void **state)
{
    int64_t t[40], y[40];
    struct wcol_fit f;
    struct wcol_forecast fc = { .unit = "count" };
    struct wcol_trend_rule rule;
    struct wcol_history_config cfg;

    (void)state;
    wcol_history_defaults(&cfg);
    for (int i = 0; i < 40; i++) {
        t[i] = i * 3600000ll;
        y[i] = 10 + 2 * i; /* 2 a hour */
    }
    y[5] = 5000, y[17] = -4000, y[30] = 90; /* outliers a least-squares fit would follow */
    assert_int_equal(wcol_theil_sen(t, y, 40, t[39], &f), 0);
    assert_true(f.slope * 3600000.0 > 1.99 && f.slope * 3600000.0 < 2.01);
    assert_true(f.at_ref > 87.5 && f.at_ref < 88.5);
    assert_true(wcol_trend_rule_for("disk:sdb:reallocated", &cfg, &rule));
    assert_int_equal(rule.threshold, 100);
    assert_int_equal(wcol_trend_forecast(&f, &rule, 100, t[39], &fc), 0);
    /* 88 -> 100 at 2 a hour: 6 h */
    assert_true(fc.eta_ms > 6 * 3600000ll - 60000 && fc.eta_ms < 6 * 3600000ll + 60000);
    /* Moving away from it: no forecast. */
    assert_true(wcol_trend_rule_for("nvme0:available_spare", &cfg, &rule));
    assert_int_equal(rule.dir, -1);
    assert_int_equal(wcol_trend_forecast(&f, &rule, 10, t[39], &fc), -ERANGE);
    assert_false(wcol_trend_rule_for("fan:it87:1", &cfg, &rule));
    assert_int_equal(wcol_theil_sen(t, y, 1, 0, &f), -EINVAL);
    t[1] = t[0];
    assert_int_equal(wcol_theil_sen(t, y, 2, 0, &f), -ENODATA);
}

/* The recorded trace (trace-reallocated.csv): its line reaches 100 sectors 19.33 days after its
 * last sample; the forecast must say so within 10 %, and open nothing (no incidents here). */
static void test_recorded_trace(void **state)
{
    struct wcol_history h;
    struct wcol_hstore hs;
    char line[128];
    FILE *f = fopen(TRACE_DIR "/trace-reallocated.csv", "r");
    int64_t t0 = 1760000000000, last = 0;
    char s[320];

    (void)state;
    assert_non_null(f);
    memset(&h, 0, sizeof(h));
    wcol_history_defaults(&h.cfg);
    pthread_mutex_init(&h.mu, NULL);
    assert_int_equal(wcol_hstore_open(&hs, s_db, &h.cfg, false), 0);
    assert_int_equal(wcol_hstore_begin(&hs), 0);
    while (fgets(line, sizeof(line), f) != NULL) {
        long long hour, v;

        if (line[0] != '#' && sscanf(line, "%lld,%lld", &hour, &v) == 2) {
            last = t0 + hour * 3600000;
            assert_int_equal(wcol_hstore_put(&hs, "bmc-7", "disk:sdb:reallocated", last, v), 0);
            /* A sensor trends ignore, and one that is flat. */
            assert_int_equal(wcol_hstore_put(&hs, "bmc-7", "fan:it87:1", last, 2000 + v), 0);
            assert_int_equal(wcol_hstore_put(&hs, "bmc-7", "temp:cpu0", last, 50000), 0);
        }
    }
    fclose(f);
    assert_int_equal(wcol_hstore_commit(&hs), 0);
    assert_int_equal(wcol_history_trends_pass(&h, &hs, last), 0);
    assert_int_equal(h.n_fc, 1);
    assert_string_equal(h.fc[0].sensor, "disk:sdb:reallocated");
    double days = (double)h.fc[0].eta_ms / 86400000.0;

    wcol_trend_sentence(&h.fc[0], s, sizeof(s));
    printf("%s (%.2f days)\n", s, days);
    assert_true(days > 19.33 * 0.9 && days < 19.33 * 1.1);
    assert_true(h.fc[0].eta_lo_ms <= h.fc[0].eta_ms && h.fc[0].eta_ms <= h.fc[0].eta_hi_ms);
    assert_non_null(strstr(s, "disk sdb on bmc-7 reaches its reallocated sector threshold"));
    assert_int_equal(atomic_load(&h.within), 1); /* 19 days is within the default 90 */
    /* A threshold the device reported replaces the default: 60 sectors is much nearer. */
    assert_int_equal(
        sqlite3_exec(hs.db, "INSERT INTO thresholds VALUES('bmc-7', 'disk:sdb:reallocated', 60)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(wcol_history_trends_pass(&h, &hs, last), 0);
    days = (double)h.fc[0].eta_ms / 86400000.0;
    printf("with the device's threshold of 60: %.2f days\n", days);
    assert_true(days > 6.0 * 0.9 && days < 6.0 * 1.1); /* (60 - 42) / 3 a day */
    free(h.fc);
    pthread_mutex_destroy(&h.mu);
    wcol_hstore_close(&hs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_functions),
        cmocka_unit_test_setup_teardown(test_rollup_property, fresh_db, forget_db),
        cmocka_unit_test_setup_teardown(test_merge_property, fresh_db, forget_db),
        cmocka_unit_test(test_page_reader),
        cmocka_unit_test_setup_teardown(test_year_of_one_sensor, fresh_db, forget_db),
        cmocka_unit_test(test_theil_sen_outliers),
        cmocka_unit_test_setup_teardown(test_recorded_trace, fresh_db, forget_db),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
