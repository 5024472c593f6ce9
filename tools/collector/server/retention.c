/*
 * Retention slices bounded by time (retention.h): the old fixed 5000-row slice could hold the
 * event loop for seconds on a slow disk or a loaded machine.
 */
#include "server/retention.h"

#include "cluster/cluster.h"
#include "common/clock.h"
#include "common/jw.h"
#include "common/log.h"
#include "export/prom.h"
#include "server/collector.h"

static const double s_bounds_s[WCOL_RETENTION_BUCKETS - 1] = { 0.005, 0.01, 0.02, 0.05, 0.1 };

static void account(struct wcol_retention *r, uint64_t took_us)
{
    unsigned b = 0;

    while (b < WCOL_RETENTION_BUCKETS - 1 && (double)took_us > s_bounds_s[b] * 1e6) {
        b++;
    }
    r->hist[b]++;
    r->slices++;
    r->run_slices++;
    r->over_target += took_us > WCOL_RETENTION_SLICE_US;
    r->last_us = took_us;
    r->sum_us += took_us;
    r->max_us = took_us > r->max_us ? took_us : r->max_us;
    r->run_max_us = took_us > r->run_max_us ? took_us : r->run_max_us;
}

/* One line when a run of slices caught up, and one every 10 s while it is still behind. */
static void log_run(struct wcol_collector *c, uint64_t now, bool done)
{
    struct wcol_retention *r = &c->retention;

    if (r->run_deleted == 0) {
        if (done) { /* a run that deleted no event (idle, or identities only): not logged */
            r->run_slices = r->run_max_us = 0;
        }
        return;
    }
    if (!done && now - r->last_log_ms < 10000) {
        return;
    }
    wcol_log_info("retention: deleted %llu events received more than %llu s ago in %llu "
                  "slices (longest %.1f ms, next slice %u rows)%s",
                  (unsigned long long)r->run_deleted,
                  (unsigned long long)(c->cfg.retention_ms / 1000),
                  (unsigned long long)r->run_slices, (double)r->run_max_us / 1000.0, r->rows,
                  done ? "" : "; more to delete");
    r->last_log_ms = now;
    r->run_deleted = r->run_slices = r->run_max_us = 0;
}

static uint64_t idle_gap(const struct wcol_collector *c)
{
    uint64_t every = c->cfg.retention_ms / 4 < 60000 ? c->cfg.retention_ms / 4 : 60000;

    return every > c->cfg.check_interval_ms ? every : c->cfg.check_interval_ms;
}

void wcol_retention_tick(struct wcol_collector *c, uint64_t now)
{
    struct wcol_retention *r = &c->retention;
    struct wcol_store_expired x = { 0 };

    if (c->cfg.retention_ms == 0 || now < r->next_ms) {
        return;
    }
    if (!wcol_cluster_is_leader(c->cluster)) {
        r->next_ms = now + c->cfg.check_interval_ms;
        return;
    }
    r->rows = r->rows == 0 ? WCOL_RETENTION_ROWS_START : r->rows;
    int64_t cutoff = wcol_now_wall_ms() - (int64_t)c->cfg.retention_ms;
    uint64_t t0 = wcol_now_us();
    int rc = c->store.ops->expire(c->store.impl, cutoff, r->rows, &x);
    uint64_t took = wcol_now_us() - t0;

    account(r, took);
    /* The slice's work is what it deleted one by one (a dropped day partition is one
     * statement); behind while it deleted anything, identities alone included (PostgreSQL
     * by whole days: a day's identities go in slices after its partition was dropped). */
    r->rows = wcol_retention_next_rows(r->rows, rc == 0 ? x.rows : 0, took);
    r->behind = rc == 0 && (x.events > 0 || x.rows > 0);
    if (r->behind) {
        c->stats.events_expired += x.events;
        r->run_deleted += x.events;
        /* At most a third of the loop's time, however slow a slice was: the passes between
         * two slices commit and answer what arrived meanwhile. */
        uint64_t gap =
            2 * took / 1000 > WCOL_RETENTION_GAP_MS ? 2 * took / 1000 : WCOL_RETENTION_GAP_MS;

        r->next_ms = wcol_now_mono() + gap;
        log_run(c, now, false);
        return;
    }
    if (rc == 0) {
        r->caught_up_ms = wcol_now_wall_ms();
    }
    log_run(c, now, true);
    r->next_ms = now + idle_gap(c);
}

uint64_t wcol_retention_due(const struct wcol_collector *c)
{
    return c->cfg.retention_ms == 0 ? UINT64_MAX : c->retention.next_ms;
}

bool wcol_retention_whole_days(const struct wcol_collector *c)
{
    return c->cfg.pg_conninfo != NULL && c->cfg.retention_ms >= WCOL_STORE_PG_DAY_MS;
}

void wcol_retention_health(const struct wcol_collector *c, struct wcol_jw *w)
{
    const struct wcol_retention *r = &c->retention;

    wcol_jw_key(w, "retention");
    wcol_jw_obj_begin(w);
    wcol_jw_kuint(w, "retention_s", c->cfg.retention_ms / 1000);
    /* what one delete takes: a whole day partition (PostgreSQL, a retention of a day or more:
     * an event then goes up to a day after its cutoff) or each event */
    wcol_jw_kstr(w, "granularity", wcol_retention_whole_days(c) ? "day" : "event");
    wcol_jw_kuint(w, "deleted", c->stats.events_expired);
    wcol_jw_kuint(w, "slices", r->slices);
    wcol_jw_kuint(w, "slice_rows", r->rows == 0 ? WCOL_RETENTION_ROWS_START : r->rows);
    wcol_jw_kuint(w, "slice_target_us", WCOL_RETENTION_SLICE_US);
    wcol_jw_kuint(w, "last_slice_us", r->last_us);
    wcol_jw_kuint(w, "max_slice_us", r->max_us);
    wcol_jw_kuint(w, "slices_over_target", r->over_target);
    wcol_jw_kuint(w, "backlog_deleted", r->run_deleted); /* in the run still going on */
    wcol_jw_key(w, "behind");
    wcol_jw_bool(w, r->behind);
    wcol_jw_kint(w, "caught_up_ms", r->caught_up_ms);
    wcol_jw_obj_end(w);
}

void wcol_retention_metrics(const struct wcol_collector *c, struct wcol_prom *w)
{
    const struct wcol_retention *r = &c->retention;

    wcol_prom_histogram(w, "ward_collector_retention_slice_seconds",
                        "How long each retention slice (one delete transaction) held the loop",
                        s_bounds_s, r->hist, WCOL_RETENTION_BUCKETS - 1, (double)r->sum_us / 1e6);
    wcol_prom_family(w, "ward_collector_retention_slice_rows", "gauge",
                     "Row bound of the next retention slice (adapts to the slice time)");
    wcol_prom_sample(w, "ward_collector_retention_slice_rows", NULL, 0,
                     (double)(r->rows == 0 ? WCOL_RETENTION_ROWS_START : r->rows));
    wcol_prom_family(w, "ward_collector_retention_deleted_total", "counter",
                     "Events deleted by retention");
    wcol_prom_sample_u64(w, "ward_collector_retention_deleted_total", NULL, 0,
                         c->stats.events_expired);
    wcol_prom_family(w, "ward_collector_retention_behind", "gauge",
                     "1 while retention has more events past the retention to delete");
    wcol_prom_sample(w, "ward_collector_retention_behind", NULL, 0, r->behind ? 1.0 : 0.0);
    wcol_prom_family(w, "ward_collector_retention_by_partition", "gauge",
                     "1 when retention drops whole day partitions (PostgreSQL, a retention of a "
                     "day or more), 0 when it deletes each event");
    wcol_prom_sample(w, "ward_collector_retention_by_partition", NULL, 0,
                     wcol_retention_whole_days(c) ? 1.0 : 0.0);
}
