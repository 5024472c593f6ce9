/*
 * Group commit, in one place: every request that completes in one pass of the event loop
 * joins one batch, the fleet's pending state changes join it at commit time, the store
 * commits the batch in one call (wcol_store_commit_batch), and only then is anything
 * answered or published.
 *
 * Order after the store returned, for every batch:
 *   1. the fleet learns whether its state changes are stored (wcol_fleet_committed);
 *   2. committed: the after-commit subscribers (commit/bus.h) hear the state changes, then
 *      each request's report and newly stored events, in arrival order;
 *   3. each request's finish() runs (the acknowledgement goes out), in arrival order.
 * A failed commit publishes nothing; every request is finished with committed = false.
 */
#ifndef WCOL_COMMIT_GROUP_H_
#define WCOL_COMMIT_GROUP_H_

#include <stdbool.h>
#include <stdint.h>

#include "commit/bus.h"
#include "fleet/fleet.h"
#include "store/store.h"

/* One request in the group; its owner embeds it and fills put before adding it. */
struct wcol_group_item {
    struct wcol_store_put put;
    /** After the commit (or its failure): answer the request. put.status says whether this
     *  request was stored on its own account. */
    void (*finish)(struct wcol_group_item *item, bool committed);
    struct wcol_group_item *next;
};

/* Upper bounds of the commit-duration histogram's buckets, in microseconds (ascending; a last
 * bucket, +Inf, takes the rest). */
#define WCOL_COMMIT_BUCKETS 12u
extern const uint32_t wcol_commit_bounds_us[WCOL_COMMIT_BUCKETS];

struct wcol_group_stats {
    uint64_t commits;
    uint64_t commit_failures;
    uint64_t stage_failures; /* requests that could not be stored (their own failure) */
    uint64_t commit_us_last;
    uint64_t commit_us_max;
    uint64_t commit_us_sum;                         /* every timed commit, failed ones too */
    uint64_t commit_hist[WCOL_COMMIT_BUCKETS + 1u]; /* per bucket, not cumulative */
    uint64_t events_stored;
    uint64_t events_duplicate;
};

struct wcol_group {
    struct wcol_store *store;
    struct wcol_fleet *fleet; /* may be NULL: no state changes */
    const struct wcol_bus *bus;
    unsigned max; /* requests per commit */
    struct wcol_group_item *head;
    struct wcol_group_item **tail;
    unsigned n;
    struct wcol_group_stats stats;
};

void wcol_group_init(struct wcol_group *g, struct wcol_store *store, struct wcol_fleet *fleet,
                     const struct wcol_bus *bus, unsigned max);

/** Add a request to the open group. */
void wcol_group_add(struct wcol_group *g, struct wcol_group_item *item);

/** True when the group holds max requests: commit before taking more. */
bool wcol_group_full(const struct wcol_group *g);

/** True when there is something to commit (requests, or fleet state changes). */
bool wcol_group_pending(const struct wcol_group *g);

/** Commit the group and finish every request in it. @return 0 committed (or nothing to do),
 *  else the store's error. */
int wcol_group_commit(struct wcol_group *g);

#endif /* WCOL_COMMIT_GROUP_H_ */
