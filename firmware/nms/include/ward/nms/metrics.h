/*
 * What ward answers a Prometheus scrape and GET /health with: the agent's families written
 * from its cached state (ward/nms/cache.h, the health engine, the event log) and the
 * application's counters (struct ward_nms_agent_stats), never from a device. Sensor labels
 * are ward's stable sensor ids (docs/nms.md lists every family).
 */
#ifndef WARD_NMS_METRICS_H_
#define WARD_NMS_METRICS_H_

#include <stdbool.h>
#include <stdint.h>

#include "ward/agent.h"
#include "ward/nms/cache.h"
#include "ward/nms/prom.h"

/* What the application knows and the core does not: its reporting loop and configuration. */
struct ward_nms_agent_stats {
    const char *config_digest; /* hex SHA-256 of the active configuration */
    bool reporting;            /* a collector is configured (false: a pull-only agent) */
    uint32_t journal_records;  /* events on disk, not yet acknowledged */
    uint32_t journal_dropped;  /* records the journal could not keep */
    uint32_t batches;          /* reports sent */
    uint32_t acks;             /* reports the collector acknowledged */
    uint32_t connects;         /* connections to the collector started */
    uint32_t connect_failures;
    int64_t last_ack_wall_ms; /* Unix time of the last acknowledgement, 0: none yet */
    uint64_t scrapes;         /* answers of the metrics listener before this one */
    uint64_t refused;         /* its connections refused or cut (limit, deadline, size) */
};

/** The whole exposition. @return as ward_prom_finish(). */
long ward_nms_write_metrics(struct ward_prom *w, const struct ward_agent *a,
                            const struct ward_nms_cache *c, const struct ward_nms_agent_stats *st,
                            int64_t now_ms);

/** GET /health: the current snapshot as JSON. @return as ward_prom_end(). */
long ward_nms_write_health(struct ward_prom *w, const struct ward_agent *a,
                           const struct ward_nms_agent_stats *st, int64_t now_ms);

#endif /* WARD_NMS_METRICS_H_ */
