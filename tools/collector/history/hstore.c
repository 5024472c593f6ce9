#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/log.h"
#include "history/hstore.h"

/* A bucket of an earlier period in the same slot is replaced; a point older than what the
 * slot holds is ignored (its bucket was already overwritten). */
static const char s_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, device TEXT NOT NULL, "
    "sensor TEXT NOT NULL, unit TEXT NOT NULL, last_ms INTEGER NOT NULL DEFAULT 0, "
    "UNIQUE(device, sensor));"
    "CREATE TABLE IF NOT EXISTS buckets(series INTEGER NOT NULL, tier INTEGER NOT NULL, "
    "slot INTEGER NOT NULL, t INTEGER NOT NULL, mn INTEGER NOT NULL, mx INTEGER NOT NULL, "
    "sum INTEGER NOT NULL, cnt INTEGER NOT NULL, PRIMARY KEY(series, tier, slot)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS forecasts(device TEXT NOT NULL, sensor TEXT NOT NULL, "
    "within INTEGER NOT NULL, PRIMARY KEY(device, sensor)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS thresholds(device TEXT NOT NULL, sensor TEXT NOT NULL, "
    "value INTEGER NOT NULL, PRIMARY KEY(device, sensor)) WITHOUT ROWID;";

static const char s_upsert[] =
    "INSERT INTO buckets(series, tier, slot, t, mn, mx, sum, cnt) VALUES(?1, ?2, ?3, ?4, ?5, ?6, "
    "?7, ?8) ON CONFLICT(series, tier, slot) DO UPDATE SET "
    "mn = CASE WHEN t = excluded.t THEN min(mn, excluded.mn) ELSE excluded.mn END, "
    "mx = CASE WHEN t = excluded.t THEN max(mx, excluded.mx) ELSE excluded.mx END, "
    "sum = CASE WHEN t = excluded.t THEN sum + excluded.sum ELSE excluded.sum END, "
    "cnt = CASE WHEN t = excluded.t THEN cnt + excluded.cnt ELSE excluded.cnt END, t = excluded.t "
    "WHERE excluded.t >= t";

static int prep(struct wcol_hstore *s, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : -EIO;
}

static const struct wcol_hstore_ops s_lite;

int wcol_hstore_init(struct wcol_hstore *s, const struct wcol_history_config *cfg, bool read_only)
{
    int rc;

    memset(s, 0, sizeof(*s));
    rc = wcol_hist_tiers(cfg, s->tier);
    if (rc != 0) {
        return rc;
    }
    s->max_series = cfg->max_series;
    if (!read_only) {
        s->cache = calloc(WCOL_HCACHE_SLOTS, sizeof(*s->cache));
        if (s->cache == NULL) {
            return -ENOMEM;
        }
    }
    return 0;
}

void wcol_hstore_forget(struct wcol_hstore *s)
{
    if (s->cache != NULL) {
        memset(s->cache, 0, WCOL_HCACHE_SLOTS * sizeof(*s->cache));
    }
}

static int64_t lite_count(struct wcol_hstore *s)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;

    if (prep(s, "SELECT count(*) FROM series", &st) == 0 && sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return n;
}

int wcol_hstore_open(struct wcol_hstore *s, const char *path, const struct wcol_history_config *cfg,
                     bool read_only)
{
    int rc;

    if (!read_only) { /* the device's readings: the owner's only, like ward.db */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

        if (fd < 0 || fchmod(fd, 0600) != 0) {
            wcol_log_error("history: cannot create %s: %s", path, strerror(errno));
            if (fd >= 0) {
                close(fd);
            }
            memset(s, 0, sizeof(*s));
            return -EIO;
        }
        close(fd);
    }
    rc = wcol_hstore_init(s, cfg, read_only);
    if (rc != 0) {
        return rc == -ENOMEM ? -EIO : rc;
    }
    s->ops = &s_lite;
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

    if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        wcol_log_error("history: cannot open %s: %s", path,
                       s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto close_db;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (!read_only && sqlite3_exec(s->db, s_schema, NULL, NULL, NULL) != SQLITE_OK) {
        wcol_log_error("history: cannot create the tables of %s: %s", path, sqlite3_errmsg(s->db));
        goto close_db;
    }
    if (read_only) {
        return 0;
    }
    rc = prep(s, "SELECT id FROM series WHERE device = ?1 AND sensor = ?2", &s->find);
    rc = rc ?: prep(s, "INSERT INTO series(device, sensor, unit) VALUES(?1, ?2, ?3)", &s->add);
    rc = rc ?: prep(s, s_upsert, &s->upsert);
    rc = rc ?: prep(s, "UPDATE series SET last_ms = max(last_ms, ?2) WHERE id = ?1", &s->touch);
    if (rc != 0) {
        wcol_log_error("history: %s: %s", path, sqlite3_errmsg(s->db));
        goto close_db;
    }
    s->n_series = lite_count(s);
    return 0;
close_db:
    wcol_hstore_close(s);
    return -EIO;
}

void wcol_hstore_close(struct wcol_hstore *s)
{
    if (s->ops != NULL && s->ops->close != NULL) {
        s->ops->close(s);
    }
    free(s->cache);
    memset(s, 0, sizeof(*s));
}

static void lite_close(struct wcol_hstore *s)
{
    sqlite3_finalize(s->find);
    sqlite3_finalize(s->add);
    sqlite3_finalize(s->upsert);
    sqlite3_finalize(s->touch);
    sqlite3_close(s->db);
}

static int lite_begin(struct wcol_hstore *s)
{
    return sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int lite_commit(struct wcol_hstore *s)
{
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
        return 0;
    }
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    /* Series added in the transaction are gone: forget every id, count them again. */
    wcol_hstore_forget(s);
    s->n_series = lite_count(s);
    return -EIO;
}

static int64_t lite_series_id(struct wcol_hstore *s, const char *device, const char *sensor)
{
    int64_t id = -ENOENT;

    sqlite3_reset(s->find);
    sqlite3_bind_text(s->find, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->find, 2, sensor, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s->find);

    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(s->find, 0);
        sqlite3_reset(s->find); /* no read left open between transactions */
        return id;
    }
    if (rc != SQLITE_DONE) {
        return -EIO;
    }
    if (s->n_series >= (int64_t)s->max_series) {
        return -ENOSPC;
    }
    sqlite3_reset(s->add);
    sqlite3_bind_text(s->add, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->add, 2, sensor, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->add, 3, wcol_hist_unit(sensor), -1, SQLITE_STATIC);
    if (sqlite3_step(s->add) == SQLITE_DONE) {
        s->n_series++;
        id = sqlite3_last_insert_rowid(s->db);
    } else {
        id = -EIO;
    }
    return id;
}

uint32_t wcol_hstore_key_hash(const char *k)
{
    return wcol_fnv1a(WCOL_FNV1A_BASIS, k, strlen(k));
}

/* The cache slot of (device, sensor), its id looked up or the series added when missing. */
static struct wcol_hcache_slot *slot_of(struct wcol_hstore *s, const char *device,
                                        const char *sensor, int *err)
{
    char key[sizeof(s->cache[0].key)];
    struct wcol_hcache_slot *c;

    snprintf(key, sizeof(key), "%s\x1f%s", device, sensor);
    c = &s->cache[wcol_hstore_key_hash(key) % WCOL_HCACHE_SLOTS];
    if (c->id == 0 || strcmp(c->key, key) != 0) {
        int64_t id = s->ops->series_id(s, device, sensor);

        if (id < 0) {
            *err = (int)id;
            return NULL;
        }
        *c = (struct wcol_hcache_slot){ .id = id, .touched_ms = INT64_MIN };
        memcpy(c->key, key, sizeof(key));
    }
    return c;
}

static int lite_upsert(struct wcol_hstore *s, int64_t id, int tier, const struct wcol_hpoint *p)
{
    const struct wcol_hist_tier *t = &s->tier[tier];
    int64_t k = p->t / t->step_ms;

    sqlite3_reset(s->upsert);
    sqlite3_bind_int64(s->upsert, 1, id);
    sqlite3_bind_int(s->upsert, 2, tier);
    sqlite3_bind_int64(s->upsert, 3, k - wcol_hist_floor(k, t->slots));
    sqlite3_bind_int64(s->upsert, 4, p->t);
    sqlite3_bind_int64(s->upsert, 5, p->mn);
    sqlite3_bind_int64(s->upsert, 6, p->mx);
    sqlite3_bind_int64(s->upsert, 7, p->sum);
    sqlite3_bind_int64(s->upsert, 8, p->cnt);
    return sqlite3_step(s->upsert) == SQLITE_DONE ? 0 : -EIO;
}

int wcol_hstore_merge(struct wcol_hstore *s, const char *device, const char *sensor,
                      int64_t last_ms, const struct wcol_hpoint *p, const uint8_t *tier, unsigned n)
{
    struct wcol_hcache_slot *c;
    int rc = 0;

    c = slot_of(s, device, sensor, &rc);
    if (c == NULL) {
        return rc;
    }
    for (unsigned i = 0; i < n; i++) {
        if (tier[i] >= WCOL_HIST_TIERS || s->ops->upsert(s, c->id, tier[i], &p[i]) != 0) {
            return -EIO;
        }
    }
    /* last_ms picks the series a trends pass looks at: a minute late is soon enough. */
    if (c->touched_ms != INT64_MIN && last_ms - c->touched_ms < 60000) {
        return 0;
    }
    c->touched_ms = last_ms;
    return s->ops->touch(s, c->id, last_ms);
}

static int lite_touch(struct wcol_hstore *s, int64_t id, int64_t last_ms)
{
    sqlite3_reset(s->touch);
    sqlite3_bind_int64(s->touch, 1, id);
    sqlite3_bind_int64(s->touch, 2, last_ms);
    return sqlite3_step(s->touch) == SQLITE_DONE ? 0 : -EIO;
}

int wcol_hstore_put(struct wcol_hstore *s, const char *device, const char *sensor, int64_t t_ms,
                    int64_t value)
{
    static const uint8_t tiers[WCOL_HIST_TIERS] = { 0, 1, 2 };
    struct wcol_hpoint p[WCOL_HIST_TIERS];

    for (int i = 0; i < WCOL_HIST_TIERS; i++) {
        p[i] = (struct wcol_hpoint){ .t = wcol_hist_floor(t_ms, s->tier[i].step_ms),
                                     .mn = value,
                                     .mx = value,
                                     .sum = value,
                                     .cnt = 1 };
    }
    return wcol_hstore_merge(s, device, sensor, t_ms, p, tiers, WCOL_HIST_TIERS);
}

/* Rows of (id, text, text), or (text, text) when id_col < 0, to cb; st finalized.
 * @return how many cb saw. */
static int lite_each(sqlite3_stmt *st, int id_col, unsigned max, wcol_hfollow_cb cb, void *ctx)
{
    int c = id_col < 0 ? 0 : 1, n = 0;

    while ((unsigned)n < max && sqlite3_step(st) == SQLITE_ROW) {
        n++;
        if (cb(ctx, id_col < 0 ? 0 : sqlite3_column_int64(st, id_col),
               (const char *)sqlite3_column_text(st, c),
               (const char *)sqlite3_column_text(st, c + 1)) != 0) {
            break;
        }
    }
    sqlite3_finalize(st);
    return n;
}

static int lite_series(struct wcol_hstore *s, const char *device, const char *glob, unsigned max,
                       wcol_hseries_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;

    if (prep(s,
             "SELECT id, sensor, unit FROM series WHERE device = ?1 AND sensor GLOB ?2 "
             "ORDER BY sensor LIMIT ?3",
             &st) != 0) {
        return -EIO;
    }
    sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, glob, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, (int)max);
    return lite_each(st, 0, UINT32_MAX, cb, ctx);
}

static int lite_read(struct wcol_hstore *s, int64_t series, int tier, int64_t from, int64_t to,
                     struct wcol_hpoint *out, unsigned cap)
{
    sqlite3_stmt *st = NULL;
    unsigned n = 0;

    if (prep(s,
             "SELECT t, mn, mx, sum, cnt FROM buckets WHERE series = ?1 AND tier = ?2 AND "
             "t >= ?3 AND t <= ?4 ORDER BY t",
             &st) != 0) {
        return -EIO;
    }
    sqlite3_bind_int64(st, 1, series);
    sqlite3_bind_int(st, 2, tier);
    sqlite3_bind_int64(st, 3, from);
    sqlite3_bind_int64(st, 4, to);
    while (n < cap && sqlite3_step(st) == SQLITE_ROW) {
        out[n++] = (struct wcol_hpoint){ .t = sqlite3_column_int64(st, 0),
                                         .mn = sqlite3_column_int64(st, 1),
                                         .mx = sqlite3_column_int64(st, 2),
                                         .sum = sqlite3_column_int64(st, 3),
                                         .cnt = sqlite3_column_int64(st, 4) };
    }
    sqlite3_finalize(st);
    return (int)n;
}

unsigned wcol_hist_rebucket(struct wcol_hpoint *p, unsigned n, int64_t step)
{
    unsigned out = 0;

    for (unsigned i = 0; i < n; i++) {
        int64_t b = wcol_hist_floor(p[i].t, step);

        if (out > 0 && p[out - 1].t == b) {
            struct wcol_hpoint *q = &p[out - 1];

            q->mn = p[i].mn < q->mn ? p[i].mn : q->mn;
            q->mx = p[i].mx > q->mx ? p[i].mx : q->mx;
            q->sum += p[i].sum;
            q->cnt += p[i].cnt;
        } else {
            p[out] = p[i];
            p[out++].t = b;
        }
    }
    return out;
}

static int64_t one_int(struct wcol_hstore *s, const char *sql, int64_t arg)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -EIO;

    if (prep(s, sql, &st) == 0) {
        sqlite3_bind_int64(st, 1, arg);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    return v;
}

static int64_t lite_bytes(struct wcol_hstore *s)
{
    int64_t pages = one_int(s, "SELECT ?1 + page_count FROM pragma_page_count", 0);
    int64_t size = one_int(s, "SELECT ?1 + page_size FROM pragma_page_size", 0);

    return pages < 0 || size < 0 ? -EIO : pages * size;
}

static int64_t lite_rows(struct wcol_hstore *s, int64_t series)
{
    return one_int(s, "SELECT count(*) FROM buckets WHERE series = ?1", series);
}

static int lite_followed(struct wcol_hstore *s, int64_t since, unsigned max, wcol_hfollow_cb cb,
                         void *ctx)
{
    sqlite3_stmt *st = NULL;

    if (prep(s, "SELECT id, device, sensor FROM series WHERE last_ms >= ?1 ORDER BY id LIMIT ?2",
             &st) != 0) {
        return -EIO;
    }
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int(st, 2, (int)max);
    return lite_each(st, 0, UINT32_MAX, cb, ctx);
}

/* Write (device, sensor, value) with sql. @return 0, -EIO. */
static int lite_put(struct wcol_hstore *s, const char *sql, const char *device, const char *sensor,
                    int64_t value)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;

    if (prep(s, sql, &st) == 0) {
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sensor, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, value);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    }
    sqlite3_finalize(st);
    return rc;
}

static int lite_threshold_learn(struct wcol_hstore *s, const char *device, const char *sensor,
                                int dir, int64_t value)
{
    return lite_put(s,
                    dir > 0 ? "INSERT INTO thresholds VALUES(?1, ?2, ?3) ON CONFLICT DO UPDATE "
                              "SET value = min(value, excluded.value)"
                            : "INSERT INTO thresholds VALUES(?1, ?2, ?3) ON CONFLICT DO UPDATE "
                              "SET value = max(value, excluded.value)",
                    device, sensor, value);
}

/* One integer of a (device, sensor) row, dflt without one. */
static int64_t lite_keyed(struct wcol_hstore *s, const char *sql, const char *device,
                          const char *sensor, int64_t dflt)
{
    sqlite3_stmt *st = NULL;
    int64_t v = dflt;

    if (prep(s, sql, &st) == 0) {
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sensor, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    return v;
}

static int64_t lite_threshold(struct wcol_hstore *s, const char *device, const char *sensor,
                              int64_t dflt)
{
    return lite_keyed(s, "SELECT value FROM thresholds WHERE device = ?1 AND sensor = ?2", device,
                      sensor, dflt);
}

/* One writer: look, act, remember. */
static int lite_settle(struct wcol_hstore *s, const char *device, const char *sensor, bool within,
                       wcol_hsettle_fn act, void *ctx)
{
    if (lite_keyed(s, "SELECT within FROM forecasts WHERE device = ?1 AND sensor = ?2", device,
                   sensor, 0) == (int64_t)within) {
        return 0;
    }
    if (act(ctx) != 0) {
        return 0; /* tried again next pass */
    }
    return lite_put(s, "INSERT OR REPLACE INTO forecasts VALUES(?1, ?2, ?3)", device, sensor,
                    within);
}

static int lite_forecasts_within(struct wcol_hstore *s, unsigned max, wcol_hfollow_cb cb, void *ctx)
{
    sqlite3_stmt *st = NULL;

    if (prep(s, "SELECT device, sensor FROM forecasts WHERE within = 1", &st) != 0) {
        return -EIO;
    }
    return lite_each(st, -1, max, cb, ctx);
}

static const struct wcol_hstore_ops s_lite = {
    .name = "sqlite",
    .close = lite_close,
    .begin = lite_begin,
    .commit = lite_commit,
    .series_id = lite_series_id,
    .upsert = lite_upsert,
    .touch = lite_touch,
    .series = lite_series,
    .read = lite_read,
    .bytes = lite_bytes,
    .rows = lite_rows,
    .followed = lite_followed,
    .threshold_learn = lite_threshold_learn,
    .threshold = lite_threshold,
    .settle = lite_settle,
    .forecasts_within = lite_forecasts_within,
};

/* ---- the same for every backend ---- */

int wcol_hstore_begin(struct wcol_hstore *s)
{
    return s->ops->begin(s);
}

int wcol_hstore_commit(struct wcol_hstore *s)
{
    return s->ops->commit(s);
}

int wcol_hstore_series(struct wcol_hstore *s, const char *device, const char *glob, unsigned max,
                       wcol_hseries_cb cb, void *ctx)
{
    return s->ops->series(s, device, glob, max, cb, ctx);
}

int wcol_hstore_read(struct wcol_hstore *s, int64_t series, int tier, int64_t from, int64_t to,
                     int64_t now, struct wcol_hpoint *out, unsigned cap)
{
    int64_t oldest = now - s->tier[tier].keep_ms;

    /* Strictly newer than now - keep: the bucket at exactly that start shares its slot with
     * the current one. */
    return s->ops->read(s, series, tier, from > oldest ? from : oldest + 1, to, out, cap);
}

int64_t wcol_hstore_bytes(struct wcol_hstore *s)
{
    return s->ops->bytes(s);
}

int64_t wcol_hstore_rows(struct wcol_hstore *s, int64_t series)
{
    return s->ops->rows(s, series);
}

int wcol_hstore_followed(struct wcol_hstore *s, int64_t since, unsigned max, wcol_hfollow_cb cb,
                         void *ctx)
{
    return s->ops->followed(s, since, max, cb, ctx);
}

int wcol_hstore_threshold_learn(struct wcol_hstore *s, const char *device, const char *sensor,
                                int dir, int64_t value)
{
    return s->ops->threshold_learn(s, device, sensor, dir, value);
}

int64_t wcol_hstore_threshold(struct wcol_hstore *s, const char *device, const char *sensor,
                              int64_t dflt)
{
    return s->ops->threshold(s, device, sensor, dflt);
}

int wcol_hstore_settle(struct wcol_hstore *s, const char *device, const char *sensor, bool within,
                       wcol_hsettle_fn act, void *ctx)
{
    return s->ops->settle(s, device, sensor, within, act, ctx);
}

int wcol_hstore_forecasts_within(struct wcol_hstore *s, unsigned max, wcol_hfollow_cb cb, void *ctx)
{
    return s->ops->forecasts_within(s, max, cb, ctx);
}
