/*
 * The history in the store's PostgreSQL database (hstore.h), shared by every collector of a
 * cluster; the tables are a store migration (store/store_pg.c, "history").
 *
 * A flush is one statement: every merged bucket of it in one multi-row upsert (arrays through
 * unnest) that adds to what is there, min of mins, max of maxes, sums and counts added, so
 * buckets of the same (series, tier, start) written by several collectors merge, whatever
 * their order, with no lost update (the row lock of ON CONFLICT DO UPDATE). The rows go in
 * key order, so two collectors' flushes lock the rows they share in the same order.
 *
 * Buckets are keyed by their start, not by a ring slot: history_buckets is partitioned by tier,
 * then by time (one partition per day of raw buckets, per week of 1 m, per 30 days of 1 h), and
 * retention drops whole partitions once they are a partition older than the tier keeps
 * (ward_history_partitions(), under a lock). A read never shows a bucket older than the tier
 * keeps (wcol_hstore_read()), as with the rings.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "history/hstore.h"
#include "store/pgconn.h"

/* Fixed, so that every collector names the same partitions whatever its tiers' steps. */
static const int64_t s_width[WCOL_HIST_TIERS] = { 86400000LL, 7 * 86400000LL, 30 * 86400000LL };
#define MAINT_MS       3600000 /* partitions made ahead and expired ones dropped, hourly */
#define MAINT_RETRY_MS 60000
#define DEADLOCK       "40P01"
#define DOWN_MS        2000

struct hrow {
    int64_t series;
    int tier;
    struct wcol_hpoint p;
};

struct htouch {
    int64_t id, last_ms;
};

/* A growing text buffer (the arrays of one flush). */
struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
};

/* A threshold this writer stored: a reading that cannot move it is not sent again (an event
 * of the same value a second is one round trip once, not every second). */
#define THR_SLOTS 256u
struct thr_seen {
    char key[WCOL_HIST_DEVICE_MAX + WCOL_HIST_SENSOR_MAX + 2]; /* "" empty */
    int dir;
    int64_t value;
};

struct wcol_hstore_pg {
    struct wcol_pgconn *q;
    struct hrow *rows; /* the flush's buckets */
    size_t n, cap;
    struct htouch *touch; /* the flush's last_ms updates */
    size_t n_touch, cap_touch;
    int64_t now;                    /* wall clock of the flush */
    int64_t until[WCOL_HIST_TIERS]; /* partitions exist below this start (0: none known yet) */
    int64_t maint_at;               /* next partition upkeep, wall ms */
    struct sbuf a[7];               /* series, tier, t, mn, mx, sum, cnt */
    struct thr_seen thr[THR_SLOTS];
    uint64_t down_until; /* monotonic ms: no statement tried before (a lost connection) */
};

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int len;

    if (b->oom) {
        return;
    }
    for (;;) {
        va_start(ap, fmt);
        len =
            vsnprintf(b->p != NULL ? b->p + b->n : NULL, b->p != NULL ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (len < 0) {
            b->oom = true;
            return;
        }
        if (b->p != NULL && b->n + (size_t)len < b->cap) {
            b->n += (size_t)len;
            return;
        }
        size_t cap = b->cap > 0 ? b->cap * 2 : 4096;
        char *p;

        while (cap <= b->n + (size_t)len) {
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* Run sql; a deadlock (another collector's flush) is tried once more. After a lost connection
 * nothing is tried for DOWN_MS: a flush of many series, or a stop, does not wait out a
 * reconnect for each statement. */
static PGresult *run(struct wcol_hstore *s, const char *sql, int n, const char *const *v)
{
    struct wcol_hstore_pg *pg = s->pg;
    char state[6];
    PGresult *r;

    if (wcol_now_mono() < pg->down_until) {
        return NULL;
    }
    r = wcol_pgconn_run(pg->q, sql, n, v, state, DEADLOCK);
    if (r == NULL && strcmp(state, DEADLOCK) == 0) {
        r = wcol_pgconn_run(pg->q, sql, n, v, NULL, NULL);
    }
    if (r == NULL && PQstatus(pg->q->c) != CONNECTION_OK) {
        pg->down_until = wcol_now_mono() + DOWN_MS;
    }
    return r;
}

static int64_t cell(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* One integer answer of sql, dflt when there is no row, -EIO after an error. */
static int64_t one_int(struct wcol_hstore *s, const char *sql, int n, const char *const *v,
                       int64_t dflt)
{
    PGresult *r = run(s, sql, n, v);
    int64_t x = r == NULL ? -EIO : PQntuples(r) > 0 ? cell(r, 0, 0) : dflt;

    PQclear(r);
    return x;
}

/* Make the partitions ahead and drop the expired ones, every tier. */
static int upkeep(struct wcol_hstore *s)
{
    struct wcol_hstore_pg *pg = s->pg;

    for (int i = 0; i < WCOL_HIST_TIERS; i++) {
        char t[4], w[24], k[24], now[24];
        const char *v[] = { t, w, k, now };

        snprintf(t, sizeof(t), "%d", i);
        snprintf(w, sizeof(w), "%" PRId64, s_width[i]);
        snprintf(k, sizeof(k), "%" PRId64, s->tier[i].keep_ms);
        snprintf(now, sizeof(now), "%" PRId64, pg->now);
        PGresult *r = run(s, "SELECT ward_history_partitions($1, $2, $3, $4)", 4, v);

        if (r == NULL) {
            pg->maint_at = pg->now + MAINT_RETRY_MS;
            return -EIO;
        }
        PQclear(r);
        pg->until[i] = (pg->now / s_width[i] + 3) * s_width[i];
    }
    pg->maint_at = pg->now + MAINT_MS;
    return 0;
}

static int pg_begin(struct wcol_hstore *s)
{
    struct wcol_hstore_pg *pg = s->pg;

    pg->n = 0;
    pg->n_touch = 0;
    pg->now = wcol_now_wall_ms();
    if (pg->now >= pg->maint_at && upkeep(s) != 0 && pg->until[0] == 0) {
        return -EIO; /* no partition to write to yet */
    }
    return 0;
}

static int by_key(const void *a, const void *b)
{
    const struct hrow *x = a, *y = b;

    if (x->series != y->series) {
        return x->series < y->series ? -1 : 1;
    }
    if (x->tier != y->tier) {
        return x->tier < y->tier ? -1 : 1;
    }
    return (x->p.t > y->p.t) - (x->p.t < y->p.t);
}

/* The flush's buckets as seven array literals, in key order (merged when a key repeats). */
static bool arrays(struct wcol_hstore_pg *pg)
{
    size_t m = 0;

    qsort(pg->rows, pg->n, sizeof(pg->rows[0]), by_key);
    for (size_t i = 0; i < pg->n; i++) {
        struct hrow *o = m > 0 ? &pg->rows[m - 1] : NULL;
        const struct hrow *r = &pg->rows[i];

        if (o != NULL && by_key(o, r) == 0) {
            o->p.mn = r->p.mn < o->p.mn ? r->p.mn : o->p.mn;
            o->p.mx = r->p.mx > o->p.mx ? r->p.mx : o->p.mx;
            o->p.sum += r->p.sum;
            o->p.cnt += r->p.cnt;
        } else {
            pg->rows[m++] = *r;
        }
    }
    for (int k = 0; k < 7; k++) {
        pg->a[k].n = 0;
        pg->a[k].oom = false;
        sb_add(&pg->a[k], "{");
    }
    for (size_t i = 0; i < m; i++) {
        const struct hrow *r = &pg->rows[i];
        const char *sep = i > 0 ? "," : "";

        sb_add(&pg->a[0], "%s%" PRId64, sep, r->series);
        sb_add(&pg->a[1], "%s%d", sep, r->tier);
        sb_add(&pg->a[2], "%s%" PRId64, sep, r->p.t);
        sb_add(&pg->a[3], "%s%" PRId64, sep, r->p.mn);
        sb_add(&pg->a[4], "%s%" PRId64, sep, r->p.mx);
        sb_add(&pg->a[5], "%s%" PRId64, sep, r->p.sum);
        sb_add(&pg->a[6], "%s%" PRId64, sep, r->p.cnt);
    }
    bool ok = true;

    for (int k = 0; k < 7; k++) {
        sb_add(&pg->a[k], "}");
        ok = ok && !pg->a[k].oom;
    }
    return ok;
}

static const char s_upsert[] =
    "INSERT INTO history_buckets AS o (series, tier, t, mn, mx, sum, cnt) "
    "SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::bigint[], $4::bigint[], "
    "$5::bigint[], $6::bigint[], $7::bigint[]) "
    "ON CONFLICT (series, tier, t) DO UPDATE SET mn = least(o.mn, excluded.mn), "
    "mx = greatest(o.mx, excluded.mx), sum = o.sum + excluded.sum, cnt = o.cnt + excluded.cnt";

/* The series' last_ms (which series a trends pass looks at); a failure is tried next flush. */
static void touch_all(struct wcol_hstore *s)
{
    struct wcol_hstore_pg *pg = s->pg;
    struct sbuf ids = { 0 }, last = { 0 };

    sb_add(&ids, "{");
    sb_add(&last, "{");
    for (size_t i = 0; i < pg->n_touch; i++) {
        sb_add(&ids, "%s%" PRId64, i > 0 ? "," : "", pg->touch[i].id);
        sb_add(&last, "%s%" PRId64, i > 0 ? "," : "", pg->touch[i].last_ms);
    }
    sb_add(&ids, "}");
    sb_add(&last, "}");
    const char *v[] = { ids.p, last.p };
    PGresult *r = ids.oom || last.oom
                      ? NULL
                      : run(s,
                            "UPDATE history_series h SET last_ms = greatest(h.last_ms, u.l) "
                            "FROM unnest($1::bigint[], $2::bigint[]) AS u(id, l) "
                            "WHERE h.id = u.id",
                            2, v);

    if (r == NULL) {
        wcol_hstore_forget(s);
    }
    PQclear(r);
    free(ids.p);
    free(last.p);
}

static int pg_commit(struct wcol_hstore *s)
{
    struct wcol_hstore_pg *pg = s->pg;
    PGresult *r = NULL;

    if (pg->n > 0) {
        if (!arrays(pg)) {
            return -ENOMEM;
        }
        const char *v[7];

        for (int k = 0; k < 7; k++) {
            v[k] = pg->a[k].p;
        }
        r = run(s, s_upsert, 7, v);
        if (r == NULL) {
            wcol_hstore_forget(s);
            return -EIO;
        }
        PQclear(r);
    }
    if (pg->n_touch > 0) {
        touch_all(s);
    }
    return 0;
}

static int64_t pg_series_id(struct wcol_hstore *s, const char *device, const char *sensor)
{
    const char *v[] = { device, sensor, wcol_hist_unit(sensor) };
    static const char find[] = "SELECT id FROM history_series WHERE device = $1 AND sensor = $2";
    int64_t id = one_int(s, find, 2, v, -ENOENT);

    if (id != -ENOENT) {
        return id;
    }
    if (s->n_series >= (int64_t)s->max_series) {
        return -ENOSPC;
    }
    id = one_int(s,
                 "INSERT INTO history_series (device, sensor, unit) VALUES ($1, $2, $3) "
                 "ON CONFLICT (device, sensor) DO NOTHING RETURNING id",
                 3, v, -ENOENT);
    if (id >= 0) {
        s->n_series++;
    } else if (id == -ENOENT) { /* another collector added it just now */
        id = one_int(s, find, 2, v, -EIO);
    }
    return id;
}

/* Double an array (256 elements at first). @return 0, -ENOMEM (the array unchanged). */
static int grow(void **arr, size_t *cap, size_t size)
{
    size_t n = *cap > 0 ? *cap * 2 : 256;
    void *p = realloc(*arr, n * size);

    if (p == NULL) {
        return -ENOMEM;
    }
    *arr = p;
    *cap = n;
    return 0;
}

static int pg_upsert(struct wcol_hstore *s, int64_t id, int tier, const struct wcol_hpoint *p)
{
    struct wcol_hstore_pg *pg = s->pg;

    if (p->t <= pg->now - s->tier[tier].keep_ms) {
        return 0; /* older than the tier keeps: no read would show it */
    }
    if (p->t >= pg->until[tier]) {
        return -ERANGE; /* beyond the partitions made ahead (days): a clock far off */
    }
    if (pg->n == pg->cap && grow((void **)&pg->rows, &pg->cap, sizeof(pg->rows[0])) != 0) {
        return -ENOMEM;
    }
    pg->rows[pg->n++] = (struct hrow){ .series = id, .tier = tier, .p = *p };
    return 0;
}

static int pg_touch(struct wcol_hstore *s, int64_t id, int64_t last_ms)
{
    struct wcol_hstore_pg *pg = s->pg;

    if (pg->n_touch == pg->cap_touch &&
        grow((void **)&pg->touch, &pg->cap_touch, sizeof(pg->touch[0])) != 0) {
        return -ENOMEM;
    }
    pg->touch[pg->n_touch++] = (struct htouch){ .id = id, .last_ms = last_ms };
    return 0;
}

/* SQLite's GLOB (*, ?, [...]) as an anchored POSIX regular expression. */
static int glob_regex(const char *glob, char *out, size_t cap)
{
    size_t o = 0;
    bool in_set = false;

#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (o + 1 >= cap) {                                                                        \
            return -EINVAL;                                                                        \
        }                                                                                          \
        out[o++] = (c);                                                                            \
    } while (0)
    PUT('^');
    for (const char *g = glob; *g != '\0'; g++) {
        if (in_set) {
            if (*g == '\\') {
                PUT('\\');
            }
            PUT(*g);
            in_set = *g != ']' || g[-1] == '[' || (g[-1] == '^' && g[-2] == '[');
        } else if (*g == '*') {
            PUT('.');
            PUT('*');
        } else if (*g == '?') {
            PUT('.');
        } else if (*g == '[') {
            PUT('[');
            in_set = true;
        } else {
            if (strchr(".^$+(){}|\\]", *g) != NULL) {
                PUT('\\');
            }
            PUT(*g);
        }
    }
    if (in_set) {
        return -EINVAL; /* SQLite matches nothing with an open set */
    }
    PUT('$');
#undef PUT
    out[o] = '\0';
    return 0;
}

static int pg_series(struct wcol_hstore *s, const char *device, const char *glob, unsigned max,
                     wcol_hseries_cb cb, void *ctx)
{
    char re[1024], lim[16];
    const char *v[] = { device, re, lim };
    PGresult *r;
    int n = 0;

    if (glob_regex(glob, re, sizeof(re)) != 0) {
        return 0;
    }
    snprintf(lim, sizeof(lim), "%u", max);
    r = run(s,
            "SELECT id, sensor, unit FROM history_series WHERE device = $1 AND sensor ~ $2 "
            "ORDER BY sensor COLLATE \"C\" LIMIT $3",
            3, v);
    if (r == NULL) {
        return -EIO;
    }
    while (n < PQntuples(r)) {
        int i = n++;

        if (cb(ctx, cell(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2)) != 0) {
            break;
        }
    }
    PQclear(r);
    return n;
}

static int pg_read(struct wcol_hstore *s, int64_t series, int tier, int64_t from, int64_t to,
                   struct wcol_hpoint *out, unsigned cap)
{
    char a[5][24];
    const char *v[] = { a[0], a[1], a[2], a[3], a[4] };
    PGresult *r;
    int n;

    snprintf(a[0], sizeof(a[0]), "%" PRId64, series);
    snprintf(a[1], sizeof(a[1]), "%d", tier);
    snprintf(a[2], sizeof(a[2]), "%" PRId64, from);
    snprintf(a[3], sizeof(a[3]), "%" PRId64, to);
    snprintf(a[4], sizeof(a[4]), "%u", cap);
    r = run(s,
            "SELECT t, mn, mx, sum, cnt FROM history_buckets WHERE series = $1 AND tier = $2 AND "
            "t >= $3 AND t <= $4 ORDER BY t LIMIT $5",
            5, v);
    if (r == NULL) {
        return -EIO;
    }
    n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        out[i] = (struct wcol_hpoint){ .t = cell(r, i, 0),
                                       .mn = cell(r, i, 1),
                                       .mx = cell(r, i, 2),
                                       .sum = cell(r, i, 3),
                                       .cnt = cell(r, i, 4) };
    }
    PQclear(r);
    return n;
}

static int64_t pg_bytes(struct wcol_hstore *s)
{
    return one_int(s,
                   "SELECT (SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
                   "FROM pg_partition_tree('history_buckets')) + "
                   "pg_total_relation_size('history_series')",
                   0, NULL, -EIO);
}

static int64_t pg_rows(struct wcol_hstore *s, int64_t series)
{
    char id[24];
    const char *v[] = { id };

    snprintf(id, sizeof(id), "%" PRId64, series);
    return one_int(s, "SELECT count(*) FROM history_buckets WHERE series = $1", 1, v, -EIO);
}

/* Rows of (anything, device, sensor) to cb; col0 < 0: no id column. */
static int each(struct wcol_hstore *s, const char *sql, int n, const char *const *v, int col0,
                wcol_hfollow_cb cb, void *ctx)
{
    PGresult *r = run(s, sql, n, v);
    int k = 0;

    if (r == NULL) {
        return -EIO;
    }
    while (k < PQntuples(r)) {
        int i = k++, c = col0 < 0 ? 0 : 1;

        if (cb(ctx, col0 < 0 ? 0 : cell(r, i, 0), PQgetvalue(r, i, c), PQgetvalue(r, i, c + 1)) !=
            0) {
            break;
        }
    }
    PQclear(r);
    return k;
}

static int pg_followed(struct wcol_hstore *s, int64_t since, unsigned max, wcol_hfollow_cb cb,
                       void *ctx)
{
    char a[24], b[16];
    const char *v[] = { a, b };

    snprintf(a, sizeof(a), "%" PRId64, since);
    snprintf(b, sizeof(b), "%u", max);
    return each(s,
                "SELECT id, device, sensor FROM history_series WHERE last_ms >= $1 ORDER BY id "
                "LIMIT $2",
                2, v, 0, cb, ctx);
}

static int pg_forecasts_within(struct wcol_hstore *s, unsigned max, wcol_hfollow_cb cb, void *ctx)
{
    char b[16];
    const char *v[] = { b };

    snprintf(b, sizeof(b), "%u", max);
    return each(s,
                "SELECT device, sensor FROM history_forecasts WHERE within = 1 "
                "ORDER BY device, sensor LIMIT $1",
                1, v, -1, cb, ctx);
}

static int pg_threshold_learn(struct wcol_hstore *s, const char *device, const char *sensor,
                              int dir, int64_t value)
{
    char a[24], key[sizeof(s->pg->thr[0].key)];
    const char *v[] = { device, sensor, a };
    struct thr_seen *seen;
    PGresult *r;

    snprintf(key, sizeof(key), "%s\x1f%s", device, sensor);
    seen = &s->pg->thr[wcol_hstore_key_hash(key) % THR_SLOTS];
    if (strcmp(seen->key, key) == 0 && seen->dir == dir &&
        (dir > 0 ? value >= seen->value : value <= seen->value)) {
        return 0; /* the stored one is already at least as far */
    }
    snprintf(a, sizeof(a), "%" PRId64, value);
    r = run(s,
            dir > 0 ? "INSERT INTO history_thresholds AS h VALUES ($1, $2, $3) ON CONFLICT "
                      "(device, sensor) DO UPDATE SET value = least(h.value, excluded.value)"
                    : "INSERT INTO history_thresholds AS h VALUES ($1, $2, $3) ON CONFLICT "
                      "(device, sensor) DO UPDATE SET value = greatest(h.value, excluded.value)",
            3, v);
    PQclear(r);
    if (r == NULL) {
        return -EIO;
    }
    if (strcmp(seen->key, key) != 0 || seen->dir != dir) {
        memcpy(seen->key, key, sizeof(key));
        seen->dir = dir;
        seen->value = value;
    }
    seen->value = dir > 0 ? (value < seen->value ? value : seen->value)
                          : (value > seen->value ? value : seen->value);
    return 0;
}

static int64_t pg_threshold(struct wcol_hstore *s, const char *device, const char *sensor,
                            int64_t dflt)
{
    const char *v[] = { device, sensor };
    int64_t x = one_int(s, "SELECT value FROM history_thresholds WHERE device = $1 AND sensor = $2",
                        2, v, dflt);

    return x == -EIO ? dflt : x;
}

/* Claim the change of side (one collector's pass wins it), act, give it back on failure. */
static int pg_settle(struct wcol_hstore *s, const char *device, const char *sensor, bool within,
                     wcol_hsettle_fn act, void *ctx)
{
    const char *v[] = { device, sensor, within ? "0" : "1" };
    int64_t won = one_int(s,
                          within ? "INSERT INTO history_forecasts AS f VALUES ($1, $2, 1) "
                                   "ON CONFLICT (device, sensor) DO UPDATE SET within = 1 "
                                   "WHERE f.within <> 1 RETURNING 1"
                                 : "UPDATE history_forecasts SET within = 0 WHERE device = $1 "
                                   "AND sensor = $2 AND within = 1 RETURNING 1",
                          2, v, 0);

    if (won <= 0) {
        return won < 0 ? -EIO : 0;
    }
    if (act(ctx) == 0) {
        return 0;
    }
    /* tried again next pass, by whichever collector claims it then */
    PQclear(
        run(s, "UPDATE history_forecasts SET within = $3 WHERE device = $1 AND sensor = $2", 3, v));
    return 0;
}

static void pg_close(struct wcol_hstore *s)
{
    struct wcol_hstore_pg *pg = s->pg;

    if (pg == NULL) {
        return;
    }
    wcol_pgconn_close(pg->q);
    for (int k = 0; k < 7; k++) {
        free(pg->a[k].p);
    }
    free(pg->rows);
    free(pg->touch);
    free(pg);
    s->pg = NULL;
}

static const struct wcol_hstore_ops s_pg = {
    .name = "postgresql",
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .series_id = pg_series_id,
    .upsert = pg_upsert,
    .touch = pg_touch,
    .series = pg_series,
    .read = pg_read,
    .bytes = pg_bytes,
    .rows = pg_rows,
    .followed = pg_followed,
    .threshold_learn = pg_threshold_learn,
    .threshold = pg_threshold,
    .settle = pg_settle,
    .forecasts_within = pg_forecasts_within,
};

int wcol_hstore_open_pg(struct wcol_hstore *s, const char *conninfo,
                        const struct wcol_history_config *cfg, bool read_only)
{
    int rc = wcol_hstore_init(s, cfg, read_only);

    if (rc != 0) {
        return rc;
    }
    s->ops = &s_pg;
    s->pg = calloc(1, sizeof(*s->pg));
    if (s->pg == NULL) {
        wcol_hstore_close(s);
        return -ENOMEM;
    }
    rc = wcol_pgconn_open(&s->pg->q, conninfo, "history");
    if (rc != 0) {
        wcol_hstore_close(s);
        return rc;
    }
    if (!read_only) {
        wcol_pgconn_own_thread(s->pg->q); /* the writer's thread */
    }
    if (!read_only) {
        s->n_series = one_int(s, "SELECT count(*) FROM history_series", 0, NULL, 0);
        if (s->n_series < 0) {
            wcol_hstore_close(s);
            return -EIO;
        }
        s->pg->now = wcol_now_wall_ms();
        (void)upkeep(s); /* retried at the first flush when it failed */
    }
    return 0;
}
