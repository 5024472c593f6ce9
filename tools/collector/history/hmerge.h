/*
 * The history writer's readings merged in memory before they reach history.db.
 *
 * Every reading updates one bucket per tier (hist.h); the readings of a series that fall into
 * the same bucket of a tier are merged here (min, max, sum, count) and written as one row
 * update when the writer flushes: every WCOL_HMERGE_FLUSH_MS, when the queue has gone quiet,
 * before a trends pass, at a clean stop, and early when the table is full, so nothing is ever
 * dropped for want of room. Merging bucket by bucket gives exactly what
 * writing each reading gives (wcol_hstore_merge()), so history.db holds the same rows; what
 * a crash (kill -9) can lose is what has not been flushed yet, at most
 * WCOL_HMERGE_FLUSH_MS of readings plus the queue (docs/history.md).
 *
 * The table is fixed when made (a series table and a bucket table, open addressing); it is
 * the writer thread's alone.
 */
#ifndef WCOL_HISTORY_HMERGE_H_
#define WCOL_HISTORY_HMERGE_H_

#include <stdbool.h>
#include <stdint.h>

#include "history/hist.h"
#include "history/hstore.h"

#define WCOL_HMERGE_FLUSH_MS 5000 /* the longest a reading waits in memory */
#define WCOL_HMERGE_SERIES   8192u
#define WCOL_HMERGE_BUCKETS  32768u

struct hm_series;
struct hm_bucket;

struct wcol_hmerge {
    struct hm_series *series; /* in the order first seen */
    struct hm_bucket *bucket;
    uint32_t *series_ix, *bucket_ix; /* hash indexes: 1 + position, 0 empty */
    unsigned series_cap, bucket_cap; /* each a power of two */
    unsigned n_series, n_bucket;
    uint64_t readings; /* merged since the last flush */
    /* scratch for one series' buckets at flush time */
    struct wcol_hpoint *pts;
    uint8_t *tiers;
};

/* What one flush did. */
struct wcol_hflush {
    uint64_t written;  /* readings now in history.db */
    uint64_t dropped;  /* readings of new series past history-max-series */
    uint64_t failures; /* series whose writes failed, and a failed commit */
};

/**
 * Make an empty table for up to series_cap series and bucket_cap buckets (each rounded up to
 * a power of two, at least 4). @return 0, -ENOMEM.
 */
int wcol_hmerge_init(struct wcol_hmerge *m, unsigned series_cap, unsigned bucket_cap);
void wcol_hmerge_free(struct wcol_hmerge *m);

/** Is there room for one more reading (a new series, a new bucket in every tier)? */
bool wcol_hmerge_room(const struct wcol_hmerge *m);

/**
 * Merge one reading of (device, sensor) at t_ms into every tier of hs's shape. Call
 * wcol_hmerge_room() first (and flush when it says no). @return 0, -ENOSPC (no room),
 * -EINVAL (a device or sensor id too long).
 */
int wcol_hmerge_add(struct wcol_hmerge *m, const struct wcol_hstore *hs, const char *device,
                    const char *sensor, int64_t t_ms, int64_t value);

/**
 * Write every merged bucket to hs in one transaction, then empty the table (also when the
 * transaction failed: those readings are lost and counted in out->failures).
 */
void wcol_hmerge_flush(struct wcol_hmerge *m, struct wcol_hstore *hs, struct wcol_hflush *out);

#endif /* WCOL_HISTORY_HMERGE_H_ */
