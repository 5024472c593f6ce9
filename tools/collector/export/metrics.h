/*
 * The collector's Prometheus export (GET /metrics on the operator listener, docs/collector.md
 * "Metrics"): fleet gauges per device and the collector's own counters, in the text
 * exposition format 0.0.4 (export/prom.h).
 *
 * Counts that /v1/health does not keep (events stored by severity) come from the after-commit
 * bus (commit/bus.h), never from ingest. Per-device series are written for at most
 * WCOL_METRICS_DEVICES_MAX devices (sorted by id; past the limit, which ones is unspecified) and
 * ward_metrics_devices_omitted says how many were left out; the document is at most
 * WCOL_METRICS_BYTES_MAX bytes, so a fleet of any size answers in bounded memory.
 */
#ifndef WCOL_EXPORT_METRICS_H_
#define WCOL_EXPORT_METRICS_H_

#include <stdint.h>

#include "ward/wire/state.h"

#include "commit/bus.h"
#include "export/devsev.h"
#include "export/prom.h"

#define WCOL_METRICS_DEVICES_MAX 20000u
#define WCOL_METRICS_BYTES_MAX   (8u * 1024u * 1024u)

struct wcol_collector;

/* Counters the export keeps itself, fed by the bus. */
struct wcol_metrics {
    uint64_t events_by_severity[WARD_SEV_COUNT];
    struct wcol_devsev per_device; /* for at most the fleet's max_devices */
};

/**
 * Subscribe to newly stored events, counting per device for at most max_devices.
 * @return 0, -ENOMEM, or the bus's error (-ENOSPC).
 */
int wcol_metrics_subscribe(struct wcol_metrics *m, struct wcol_bus *bus, size_t max_devices);
void wcol_metrics_free(struct wcol_metrics *m);

/**
 * Write every family into w (initialised by the caller with a limit).
 * @return 0, -ENOMEM (out of memory or past the writer's limit: w->failed).
 */
int wcol_metrics_render(struct wcol_collector *c, struct wcol_prom *w, int64_t now_ms);

#endif /* WCOL_EXPORT_METRICS_H_ */
