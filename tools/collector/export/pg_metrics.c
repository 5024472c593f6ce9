/* The PostgreSQL connections' states in /metrics (export/pg_metrics.h). */
#include "common/clock.h"
#include "export/pg_metrics.h"
#include "store/pglink.h"

enum pg_family { F_UP, F_DOWN, F_RECONNECTS, F_LOST, F_FAILED, F_PREPARED, F_UNPREPARED, F_COUNT };

static const struct {
    const char *name, *type, *help;
} s_families[F_COUNT] = {
    [F_UP] = { "ward_collector_storage_up", "gauge",
               "1 while the PostgreSQL connection is usable, 0 while it is being made again." },
    [F_DOWN] = { "ward_collector_storage_down_seconds", "gauge",
                 "Seconds since the PostgreSQL connection was lost, 0 while connected." },
    [F_RECONNECTS] = { "ward_collector_storage_reconnects_total", "counter",
                       "PostgreSQL connections made again after a loss." },
    [F_LOST] = { "ward_collector_storage_connections_lost_total", "counter",
                 "PostgreSQL connections found lost." },
    [F_FAILED] = { "ward_collector_storage_connect_failures_total", "counter",
                   "Reconnect attempts to PostgreSQL that failed or got no answer in time." },
    [F_PREPARED] = { "ward_collector_storage_statements_prepared", "gauge",
                     "Statements the PostgreSQL connection holds prepared on the server." },
    [F_UNPREPARED] = { "ward_collector_storage_statements_unprepared_total", "counter",
                       "Statements run without a prepared one (the server parsed and planned "
                       "each)." },
};

static uint64_t value(const struct wcol_pglink *l, enum pg_family f, uint64_t now)
{
    switch (f) {
    case F_UP:
        return l->state == WCOL_PGLINK_CONNECTED;
    case F_DOWN:
        return l->down_since != 0 ? (now - l->down_since) / 1000u : 0;
    case F_RECONNECTS:
        return l->reconnects;
    case F_LOST:
        return l->losses;
    case F_PREPARED:
        return l->prepared;
    case F_UNPREPARED:
        return l->unprepared_runs;
    default:
        return l->attempts_failed;
    }
}

void wcol_pg_metrics(struct wcol_prom *w)
{
    struct wcol_pglink list[WCOL_PGLINK_MAX];
    unsigned n = wcol_pglink_list(list, WCOL_PGLINK_MAX);
    uint64_t now = wcol_now_mono();

    for (int f = 0; n > 0 && f < F_COUNT; f++) {
        wcol_prom_family(w, s_families[f].name, s_families[f].type, s_families[f].help);
        for (unsigned i = 0; i < n; i++) {
            struct wcol_prom_label l = { "connection", list[i].who };

            wcol_prom_sample_u64(w, s_families[f].name, &l, 1,
                                 value(&list[i], (enum pg_family)f, now));
        }
    }
}
