/*
 * history.db: the series table and the tiers' rings (one row per occupied slot). Used by the
 * writer thread (read-write) and by the operator API and the trends pass (their own
 * connections). No thread of its own, no queue: history.c has those.
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

struct wcol_hstore {
    sqlite3 *db;
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

typedef int (*wcol_hseries_cb)(void *ctx, int64_t id, const char *sensor, const char *unit);

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

#endif /* WCOL_HISTORY_HSTORE_H_ */
