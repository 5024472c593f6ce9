/*
 * Where the history lives: history.db (the series table and the tiers' rings, one row per
 * occupied slot; hstore.c) or, with the PostgreSQL storage, the store's database, shared by
 * every collector (history_series, history_buckets partitioned by tier and time; hstore_pg.c).
 * Used by the writer thread (read-write, the trends pass) and by the operator API (its own
 * connection). No thread of its own, no queue: history.c has those.
 *
 * The backends sit behind a small ops table (struct wcol_hstore_ops); the functions below
 * are the same for both. The series-id cache and the once-a-minute last_ms are common code.
 */
#ifndef WCOL_HISTORY_HSTORE_H_
#define WCOL_HISTORY_HSTORE_H_

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "history/hist.h"

#define WCOL_HCACHE_SLOTS 4096u /* series ids remembered by the writer (direct-mapped) */

struct wcol_hcache_slot {
    int64_t id;         /* 0: empty */
    int64_t touched_ms; /* last_ms written for it (written again a minute later at most) */
    char key[WCOL_HIST_DEVICE_MAX + WCOL_HIST_SENSOR_MAX + 2]; /* device \x1f sensor */
};

struct wcol_hstore;
struct wcol_hstore_pg;
struct wcol_hpoint;

typedef int (*wcol_hseries_cb)(void *ctx, int64_t id, const char *sensor, const char *unit);
/* A followed series (the trends pass), a forecast inside the horizon (device, sensor). */
typedef int (*wcol_hfollow_cb)(void *ctx, int64_t id, const char *device, const char *sensor);
/* What a forecast that changed sides does (open or resolve its incident): 0 done. */
typedef int (*wcol_hsettle_fn)(void *ctx);

/* One backend. Every op returns what the wcol_hstore_ function of its name documents. */
struct wcol_hstore_ops {
    const char *name;
    void (*close)(struct wcol_hstore *s);
    int (*begin)(struct wcol_hstore *s);
    int (*commit)(struct wcol_hstore *s);
    /* the id of (device, sensor), added when missing (-ENOSPC past max_series, -EIO) */
    int64_t (*series_id)(struct wcol_hstore *s, const char *device, const char *sensor);
    int (*upsert)(struct wcol_hstore *s, int64_t id, int tier, const struct wcol_hpoint *p);
    int (*touch)(struct wcol_hstore *s, int64_t id, int64_t last_ms);
    int (*series)(struct wcol_hstore *s, const char *device, const char *glob, unsigned max,
                  wcol_hseries_cb cb, void *ctx);
    int (*read)(struct wcol_hstore *s, int64_t series, int tier, int64_t from, int64_t to,
                struct wcol_hpoint *out, unsigned cap);
    int64_t (*bytes)(struct wcol_hstore *s);
    int64_t (*rows)(struct wcol_hstore *s, int64_t series);
    int (*followed)(struct wcol_hstore *s, int64_t since, unsigned max, wcol_hfollow_cb cb,
                    void *ctx);
    int (*threshold_learn)(struct wcol_hstore *s, const char *device, const char *sensor, int dir,
                           int64_t value);
    int64_t (*threshold)(struct wcol_hstore *s, const char *device, const char *sensor,
                         int64_t dflt);
    int (*settle)(struct wcol_hstore *s, const char *device, const char *sensor, bool within,
                  wcol_hsettle_fn act, void *ctx);
    int (*forecasts_within)(struct wcol_hstore *s, unsigned max, wcol_hfollow_cb cb, void *ctx);
};

struct wcol_hstore {
    const struct wcol_hstore_ops *ops;
    sqlite3 *db;                    /* SQLite: history.db (NULL on PostgreSQL) */
    struct wcol_hstore_pg *pg;      /* PostgreSQL: the connection and the batch of a flush */
    struct wcol_hcache_slot *cache; /* the writer's: NULL for a read-only store */
    struct wcol_hist_tier tier[WCOL_HIST_TIERS];
    unsigned max_series;
    int64_t n_series;
    sqlite3_stmt *find, *add, *upsert, *touch;
};

/* One bucket (or a re-bucketed span of them). */
struct wcol_hpoint {
    int64_t t; /* bucket start, ms */
    int64_t mn, mx, sum, cnt;
};

/**
 * Open path (creating it and its tables unless read_only).
 * @return 0, -EINVAL (tiers), -EIO (logged with the file).
 */
int wcol_hstore_open(struct wcol_hstore *s, const char *path, const struct wcol_history_config *cfg,
                     bool read_only);
/**
 * Connect to the store's PostgreSQL database (its tables: store/store_pg.c). A writer
 * (!read_only) makes the time partitions ahead and drops expired ones (hstore_pg.c).
 * @return 0, -EINVAL (tiers), -ENOMEM, -EIO (logged).
 */
int wcol_hstore_open_pg(struct wcol_hstore *s, const char *conninfo,
                        const struct wcol_history_config *cfg, bool read_only);
/** The common part of opening: the tiers, the writer's cache. @return 0, -EINVAL, -ENOMEM. */
int wcol_hstore_init(struct wcol_hstore *s, const struct wcol_history_config *cfg, bool read_only);
/** FNV-1a of a cache key (device \x1f sensor). */
uint32_t wcol_hstore_key_hash(const char *k);
/** Forget every cached series id (after a failed commit), n_series recounted by the backend. */
void wcol_hstore_forget(struct wcol_hstore *s);
void wcol_hstore_close(struct wcol_hstore *s);

int wcol_hstore_begin(struct wcol_hstore *s);
int wcol_hstore_commit(struct wcol_hstore *s);

/**
 * Add one reading to every tier of (device, sensor).
 * @return 0; -ENOSPC (a new series past max_series: dropped), -EIO.
 */
int wcol_hstore_put(struct wcol_hstore *s, const char *device, const char *sensor, int64_t t_ms,
                    int64_t value);

/**
 * Merge n buckets of (device, sensor) into their tiers' slots, in one go: p[i] is a bucket of
 * tier[i] (t its start, a multiple of the tier's step; the min, max, sum and count of the
 * readings in it). A bucket of the same start in the slot is added to; one of an earlier start
 * is replaced; one of a later start stays (the point is too old). So merging readings bucket
 * by bucket gives what wcol_hstore_put() of each reading gives, in any order. last_ms: the
 * latest reading among them (the series' last_ms, written at most once a minute).
 * @return 0; -ENOSPC (a new series past max_series: dropped), -EIO.
 */
int wcol_hstore_merge(struct wcol_hstore *s, const char *device, const char *sensor,
                      int64_t last_ms, const struct wcol_hpoint *p, const uint8_t *tier,
                      unsigned n);

/** The series of device whose sensor matches glob (SQLite GLOB), by sensor, at most max.
 *  @return how many, -EIO. */
int wcol_hstore_series(struct wcol_hstore *s, const char *device, const char *glob, unsigned max,
                       wcol_hseries_cb cb, void *ctx);

/**
 * The buckets of one series and tier with from <= t <= to still within the tier's keep of
 * now, oldest first, into out[0..cap). @return how many (at most cap), -EIO.
 */
int wcol_hstore_read(struct wcol_hstore *s, int64_t series, int tier, int64_t from, int64_t to,
                     int64_t now, struct wcol_hpoint *out, unsigned cap);

/** Merge buckets (sorted by t) into buckets of step (a multiple of theirs), in place.
 *  @return how many remain. */
unsigned wcol_hist_rebucket(struct wcol_hpoint *p, unsigned n, int64_t step);

/** Bytes of the database file (page count x page size). */
int64_t wcol_hstore_bytes(struct wcol_hstore *s);
/** Rows (occupied slots) of one series, every tier; -EIO. */
int64_t wcol_hstore_rows(struct wcol_hstore *s, int64_t series);

/** The series with a reading since since, by id, at most max. @return how many, -EIO. */
int wcol_hstore_followed(struct wcol_hstore *s, int64_t since, unsigned max, wcol_hfollow_cb cb,
                         void *ctx);
/** Keep the lowest (dir > 0) or highest (dir < 0) value as (device, sensor)'s threshold. */
int wcol_hstore_threshold_learn(struct wcol_hstore *s, const char *device, const char *sensor,
                                int dir, int64_t value);
/** The learnt threshold of (device, sensor), dflt without one. */
int64_t wcol_hstore_threshold(struct wcol_hstore *s, const char *device, const char *sensor,
                              int64_t dflt);
/**
 * When (device, sensor)'s forecast changed sides of the horizon since the last pass (the
 * forecasts table), run act once and remember the side when it returned 0. On PostgreSQL the
 * change is claimed atomically first, so of several collectors' passes one acts.
 * @return 0, -EIO.
 */
int wcol_hstore_settle(struct wcol_hstore *s, const char *device, const char *sensor, bool within,
                       wcol_hsettle_fn act, void *ctx);
/** The forecasts inside the horizon at the last pass, at most max. @return how many, -EIO. */
int wcol_hstore_forecasts_within(struct wcol_hstore *s, unsigned max, wcol_hfollow_cb cb,
                                 void *ctx);

#endif /* WCOL_HISTORY_HSTORE_H_ */
