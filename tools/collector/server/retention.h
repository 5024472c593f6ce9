/*
 * Retention (docs/storage.md): events received more than --retention ago are deleted in
 * slices on the event loop, each slice one transaction. A slice is bounded by rows AND by time:
 * its row bound adapts to how long the last slice took (smaller when the disk or the machine
 * is slow, larger up to a cap when it is fast) so that one slice holds the loop for about
 * WCOL_RETENTION_SLICE_US, and the acks of every other device wait at most that long. While
 * there is more to delete the next slice follows after a short gap, not a whole tick.
 */
#ifndef WCOL_SERVER_RETENTION_H_
#define WCOL_SERVER_RETENTION_H_

#include <stdbool.h>
#include <stdint.h>

#define WCOL_RETENTION_SLICE_US   20000u /* what one slice should take */
#define WCOL_RETENTION_ROWS_MIN   100u
#define WCOL_RETENTION_ROWS_MAX   20000u
#define WCOL_RETENTION_ROWS_START 1000u
#define WCOL_RETENTION_GAP_MS     50u /* between two slices while behind (at least) */
#define WCOL_RETENTION_BUCKETS    6   /* slice durations: 5, 10, 20, 50, 100 ms, more */

struct wcol_collector;
struct wcol_jw;
struct wcol_prom;

struct wcol_retention {
    unsigned rows;    /* the next slice's row bound (0: not started) */
    bool behind;      /* the last slice deleted something: more may be due */
    uint64_t next_ms; /* monotonic: when the next slice is due */
    uint64_t slices;  /* slices that ran (deleted something or not) */
    uint64_t over_target, last_us, max_us, sum_us;
    uint64_t hist[WCOL_RETENTION_BUCKETS];
    uint64_t run_deleted, run_slices, run_max_us; /* since it fell behind (for the log line) */
    uint64_t last_log_ms;
    int64_t caught_up_ms; /* wall: the last slice that found nothing more to delete */
};

/**
 * The next slice's row bound after one that asked for rows, deleted deleted and took took_us:
 * scaled down in proportion when it took longer than WCOL_RETENTION_SLICE_US (but at most
 * halved: one slice that waited for the CPU on a loaded machine must not drop the bound to the
 * floor), doubled when a slice that was more than half full (a young event among the oldest
 * ids must not keep it from growing) took less than half of it, kept otherwise; within
 * [ROWS_MIN, ROWS_MAX].
 */
static inline unsigned wcol_retention_next_rows(unsigned rows, unsigned deleted, uint64_t took_us)
{
    uint64_t next = rows;

    if (took_us > WCOL_RETENTION_SLICE_US) {
        next = (uint64_t)rows * WCOL_RETENTION_SLICE_US / took_us;
        next = next < rows / 2 ? rows / 2 : next;
    } else if (deleted > rows / 2 && took_us < WCOL_RETENTION_SLICE_US / 2) {
        next = (uint64_t)rows * 2;
    }
    next = next < WCOL_RETENTION_ROWS_MIN ? WCOL_RETENTION_ROWS_MIN : next;
    return (unsigned)(next > WCOL_RETENTION_ROWS_MAX ? WCOL_RETENTION_ROWS_MAX : next);
}

/** Whether retention drops whole day partitions only (PostgreSQL, a retention of a day or
 *  more: wcol_store_pg_opts.whole_days) rather than deleting each event. */
bool wcol_retention_whole_days(const struct wcol_collector *c);

/** Run one slice when one is due (and this collector is the leader). */
void wcol_retention_tick(struct wcol_collector *c, uint64_t now);

/** When the next slice is due (monotonic ms), UINT64_MAX with retention off. */
uint64_t wcol_retention_due(const struct wcol_collector *c);

/** The "retention" member of GET /v1/health. */
void wcol_retention_health(const struct wcol_collector *c, struct wcol_jw *w);

/** The retention families of GET /metrics. */
void wcol_retention_metrics(const struct wcol_collector *c, struct wcol_prom *w);

#endif /* WCOL_SERVER_RETENTION_H_ */
