/*
 * Outbox pruning (docs/incidents.md, "Pruning"): delivered notifications older than the
 * alerting file's prune-delivered (default 7 days) are removed by the sender thread between
 * its delivery passes, in batches of PRUNE_BATCH rows, each its own short transaction, at most
 * PRUNE_ROUNDS batches per visit and one visit per PRUNE_EVERY_MS: never on the ingest path,
 * never holding the incidents database long. Pending and held rows are never removed.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/log.h"
#include "incidents/model.h"
#include "incidents/prune.h"

#define PRUNE_BATCH    500
#define PRUNE_ROUNDS   20
#define PRUNE_EVERY_MS 1000

/* One batch. @return rows removed, or -1. */
static int prune_batch(struct wcol_idb *db, int64_t before_ms)
{
    struct wcol_idb_stmt *st = NULL;
    int n = -1;

    if (wcol_idb_prepare_v2(db,
                            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = "
                            "'delivered' AND delivered_ms < ?1 LIMIT ?2)",
                            -1, &st, NULL) != SQLITE_OK) {
        wcol_log_warn("incidents: pruning: %s", wcol_idb_errmsg(db));
        return -1;
    }
    wcol_idb_bind_int64(st, 1, before_ms);
    wcol_idb_bind_int(st, 2, PRUNE_BATCH);
    if (wcol_idb_step(st) == SQLITE_DONE) {
        n = wcol_idb_changes(db);
    } else {
        wcol_log_warn("incidents: pruning: %s (tried again later)", wcol_idb_errmsg(db));
    }
    wcol_idb_finalize(st);
    return n;
}

void wcol_inc_prune(struct wcol_incidents *in, struct wcol_idb *db, int64_t *next_mono_ms)
{
    int64_t now = (int64_t)wcol_now_mono();
    uint64_t after = in->pol.prune_after_ms;
    uint64_t total = 0;

    if (after == 0 || now < *next_mono_ms) {
        return;
    }
    *next_mono_ms = now + PRUNE_EVERY_MS;
    for (int round = 0; round < PRUNE_ROUNDS && !in->stop; round++) {
        int n = prune_batch(db, wcol_inc_now_ms() - (int64_t)after);

        if (n <= 0) {
            break;
        }
        total += (uint64_t)n;
        atomic_fetch_add(&in->pruned, (uint64_t)n);
        if (n < PRUNE_BATCH) {
            break;
        }
    }
    if (total > 0) {
        wcol_log_debug("incidents: pruned %llu delivered notifications", (unsigned long long)total);
    }
}
