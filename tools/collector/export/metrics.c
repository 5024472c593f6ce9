/*
 * The collector's metrics (export/metrics.h): families in a fixed order, per-device series
 * sorted by device id, bounded by WCOL_METRICS_DEVICES_MAX.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/clock.h"
#include "backup/schedule.h"
#include "cluster/cluster.h"
#include "dash/dash.h"
#include "devices/devices.h"
#include "incidents/incidents.h"
#include "auth/access.h"
#include "inventory/inventory.h"
#include "export/metrics.h"
#include "export/pg_metrics.h"
#include "fleet/fleet.h"
#include "server/collector.h"
#include "tls/tls_config.h"

static void on_event(void *ctx, const struct wcol_msg *msg)
{
    struct wcol_metrics *m = ctx;
    int sev = msg->u.event->severity_rank;

    if (sev >= 0 && sev < WARD_SEV_COUNT) {
        m->events_by_severity[sev]++;
    }
    wcol_devsev_add(&m->per_device, msg->u.event->device, sev);
}

int wcol_metrics_subscribe(struct wcol_metrics *m, struct wcol_bus *bus, size_t max_devices)
{
    int rc = wcol_devsev_init(&m->per_device, max_devices);

    return rc != 0 ? rc : wcol_bus_subscribe(bus, WCOL_TOPIC_EVENT_STORED, on_event, m);
}

void wcol_metrics_free(struct wcol_metrics *m)
{
    wcol_devsev_free(&m->per_device);
}

/* A family of one unlabelled sample. */
static void single(struct wcol_prom *w, const char *name, const char *type, const char *help,
                   uint64_t v)
{
    wcol_prom_family(w, name, type, help);
    wcol_prom_sample_u64(w, name, NULL, 0, v);
}

/* A family with one label, its values and samples given side by side. */
static void labelled(struct wcol_prom *w, const char *name, const char *type, const char *help,
                     const char *label, const char *const *values, const uint64_t *v, size_t n)
{
    wcol_prom_family(w, name, type, help);
    for (size_t i = 0; i < n; i++) {
        struct wcol_prom_label l = { label, values[i] };

        wcol_prom_sample_u64(w, name, &l, 1, v[i]);
    }
}

static void collector_families(struct wcol_collector *c, struct wcol_prom *w)
{
    const struct wcol_collector_stats *s = &c->stats;
    const struct wcol_group_stats *g = &c->group.stats;
    static const char *const shed_reasons[] = { "per_source", "unauthenticated", "capacity",
                                                "idle_operator" };
    const uint64_t shed[] = { s->shed_per_source, s->shed_unauthenticated, s->shed_capacity,
                              s->shed_idle_operator };
    static const char *const kinds[] = { "device", "operator" };
    const uint64_t open[] = { c->n_device_conns, c->n_api_conns };
    struct wcol_store_stats ss;

    c->store.ops->stats(c->store.impl, &ss);
    static const char *const hb_results[] = { "hit", "miss", "stale" };
    const uint64_t hb[] = { ss.hb_sticky.hits, ss.hb_sticky.misses, ss.hb_sticky.stale };

    single(w, "ward_collector_uptime_seconds", "gauge", "Seconds since the collector started.",
           (wcol_now_mono() - c->start_mono) / 1000u);
    single(w, "ward_collector_ingest_requests_total", "counter",
           "Device requests received on the device listener.", s->requests);
    single(w, "ward_collector_events_duplicate_total", "counter",
           "Device events received again and not stored twice.", g->events_duplicate);
    single(w, "ward_collector_commits_total", "counter", "Group commits to storage.", g->commits);
    single(w, "ward_collector_commits_deferred_total", "counter",
           "Groups that waited for --commit-interval-us after the previous commit.",
           s->commits_deferred);
    single(w, "ward_collector_commit_failures_total", "counter",
           "Group commits that failed (their requests were answered 503).", g->commit_failures);
    single(w, "ward_collector_sensors_refused_total", "counter",
           "Health snapshot pages refused: the device would pass --max-sensors.",
           ss.snapshots_refused > 0 ? (uint64_t)ss.snapshots_refused : 0u);
    labelled(w, "ward_collector_heartbeat_state_total", "counter",
             "Heartbeat merges by their use of the device's kept sticky state (SQLite).", "result",
             hb_results, hb, 3);
    single(w, "ward_collector_heartbeats_liveness_only_total", "counter",
           "Heartbeats that changed only seq, t_ms and uptime_ms, kept as the device's beat "
           "instead of merged into its row (SQLite).",
           ss.hb_sticky.liveness);
    single(w, "ward_collector_heartbeat_state_evictions_total", "counter",
           "Devices whose kept sticky state made room for another's.", ss.hb_sticky.evictions);
    single(w, "ward_collector_heartbeat_state_devices", "gauge", "Devices with kept sticky state.",
           ss.hb_sticky.devices);
    single(w, "ward_collector_connections_accepted_total", "counter", "Connections accepted.",
           s->accepted);
    single(w, "ward_collector_connections_refused_capacity_total", "counter",
           "Connections refused: the pool was full of authenticated connections.",
           s->refused_capacity);
    labelled(w, "ward_collector_connections_open", "gauge", "Open connections by listener.",
             "listener", kinds, open, 2);
    labelled(w, "ward_collector_connections_shed_total", "counter",
             "Connections closed to make room, by reason (docs/collector.md).", "reason",
             shed_reasons, shed, 4);
    single(w, "ward_collector_storage_bytes", "gauge", "Size of the database in bytes.",
           ss.db_bytes > 0 ? (uint64_t)ss.db_bytes : 0u);
}

/* TLS handshakes and their refusals, device-request refusals, the commit's duration (issue
 * 11), newcomers that waited and idle connections' parked buffers (docs/collector.md). */
static void traffic_families(struct wcol_collector *c, struct wcol_prom *w)
{
    static const char *const modes[] = { "full", "resumed" };
    static const char *const rejects[WCOL_TLS_REJ_COUNT] = {
        [WCOL_TLS_REJ_CERTIFICATE] = "certificate", [WCOL_TLS_REJ_EXPIRED] = "expired",
        [WCOL_TLS_REJ_REVOKED] = "revoked",         [WCOL_TLS_REJ_NO_IDENTITY] = "no_identity",
        [WCOL_TLS_REJ_PROTOCOL] = "protocol",       [WCOL_TLS_REJ_TIMEOUT] = "timeout",
        [WCOL_TLS_REJ_NOT_TLS] = "not_tls",
    };
    static const char *const refusals[WCOL_REFUSE_COUNT] = {
        [WCOL_REFUSE_HTTP] = "http",
        [WCOL_REFUSE_TIMEOUT] = "timeout",
        [WCOL_REFUSE_ROUTE] = "route",
        [WCOL_REFUSE_CONTENT_TYPE] = "content_type",
        [WCOL_REFUSE_TOO_MANY_EVENTS] = "too_many_events",
        [WCOL_REFUSE_MALFORMED] = "malformed",
        [WCOL_REFUSE_FORBIDDEN] = "forbidden",
        [WCOL_REFUSE_SENSORS] = "sensors",
        [WCOL_REFUSE_DEVICE_CAPACITY] = "device_capacity",
        [WCOL_REFUSE_STORAGE] = "storage",
    };
    const struct wcol_collector_stats *s = &c->stats;
    const struct wcol_group_stats *g = &c->group.stats;
    const uint64_t hs[] = { s->handshakes - s->handshakes_resumed, s->handshakes_resumed };
    double bounds[WCOL_COMMIT_BUCKETS];

    labelled(w, "ward_collector_tls_handshakes_total", "counter",
             "TLS handshakes completed on both listeners, by mode (resumed: from a session "
             "ticket).",
             "mode", modes, hs, 2);
    labelled(w, "ward_collector_tls_handshakes_rejected_total", "counter",
             "TLS handshakes refused, by reason.", "reason", rejects, s->tls_rejected,
             WCOL_TLS_REJ_COUNT);
    single(w, "ward_collector_tls_tickets_refused_total", "counter",
           "Session tickets refused (unknown key, expired, revoked device): the peer fell back "
           "to a full handshake.",
           wcol_tls_tickets_refused(c->tls));
    labelled(w, "ward_collector_ingest_refused_total", "counter",
             "Device requests refused, by reason (nothing of them was stored).", "reason", refusals,
             s->ingest_refused, WCOL_REFUSE_COUNT);
    for (unsigned i = 0; i < WCOL_COMMIT_BUCKETS; i++) {
        bounds[i] = (double)wcol_commit_bounds_us[i] / 1e6;
    }
    wcol_prom_histogram(w, "ward_collector_commit_duration_seconds",
                        "Duration of each group commit to storage; every request in it waits "
                        "for it before its answer.",
                        bounds, g->commit_hist, WCOL_COMMIT_BUCKETS,
                        (double)g->commit_us_sum / 1e6);
    single(w, "ward_collector_connections_deferred_total", "counter",
           "Newcomers that waited in the listen queue while handshakes in progress filled the "
           "unauthenticated budget.",
           s->deferred);
    single(w, "ward_collector_connections_parked", "gauge",
           "Idle connections whose TLS record buffers are given back until their next request.",
           c->parked);
    single(w, "ward_collector_device_loops", "gauge",
           "Event loops (threads) serving the device port (--loops).", c->cfg.loops);
}

static void events_by_severity(struct wcol_collector *c, struct wcol_prom *w)
{
    const char *names[WARD_SEV_COUNT];

    for (int i = 0; i < WARD_SEV_COUNT; i++) {
        names[i] = ward_severity_name((enum ward_severity)i);
    }
    labelled(w, "ward_collector_events_stored_total", "counter",
             "Device events newly stored since the collector started, by severity.", "severity",
             names, c->metrics.events_by_severity, WARD_SEV_COUNT);
}

static void fleet_counts(struct wcol_collector *c, struct wcol_prom *w, size_t omitted)
{
    static const char *const states[] = { "up", "silent", "removed" };
    const uint64_t n[] = { c->fleet.up, c->fleet.silent, c->fleet.removed };

    labelled(w, "ward_devices", "gauge", "Devices the collector knows, by state.", "state", states,
             n, 3);
    single(w, "ward_metrics_devices_omitted", "gauge",
           "Devices left out of the per-device series (more than the export's limit).", omitted);
}

enum device_family { DEV_UP, DEV_HB_AGE, DEV_HEALTH, DEV_EVENTS, DEV_REQUESTS, DEV_FAMILIES };

static const struct {
    const char *name, *type, *help;
} s_device_families[DEV_FAMILIES] = {
    [DEV_UP] = { "ward_device_up", "gauge", "1 while the device's heartbeats arrive, 0 silent." },
    [DEV_HB_AGE] = { "ward_device_heartbeat_age_seconds", "gauge",
                     "Seconds since the device's last heartbeat (devices with one)." },
    [DEV_HEALTH] = { "ward_device_health", "gauge",
                     "Device health from its last heartbeat: 0 ok, 1 caution, 2 critical, "
                     "3 fatal, 4 failed, 5 unavailable (devices that sent one)." },
    [DEV_EVENTS] = { "ward_device_events_stored_total", "counter",
                     "Events of the device newly stored since the collector started, by "
                     "severity." },
    [DEV_REQUESTS] = { "ward_device_requests_total", "counter",
                       "Requests of the device since the collector started." },
};

/* @return false when the device has no sample in this family. */
static bool device_value(const struct wcol_fleet_device *d, enum device_family f, int64_t now_ms,
                         double *v)
{
    int health;

    switch (f) {
    case DEV_UP:
        *v = d->state == WCOL_FLEET_UP ? 1 : 0;
        return true;
    case DEV_HB_AGE:
        *v = d->last_hb_ms > 0 ? (double)(now_ms - d->last_hb_ms) / 1000.0 : 0;
        return d->last_hb_ms > 0;
    case DEV_HEALTH:
        health = d->health[0] != '\0' ? ward_state_parse(d->health) : -1;
        *v = health;
        return health >= 0;
    case DEV_REQUESTS:
        *v = (double)d->requests;
        return true;
    default:
        return false;
    }
}

/* ward_device_events_stored_total{device,severity}: every severity, 0 when none. */
static void device_events(struct wcol_prom *w, const struct wcol_devsev *ds, const char *id)
{
    const uint64_t *n = wcol_devsev_get(ds, id);

    for (int s = 0; s < WARD_SEV_COUNT; s++) {
        struct wcol_prom_label l[2] = { { "device", id },
                                        { "severity", ward_severity_name((enum ward_severity)s) } };

        wcol_prom_sample_u64(w, s_device_families[DEV_EVENTS].name, l, 2, n != NULL ? n[s] : 0);
    }
}

static void device_families(struct wcol_prom *w, const struct wcol_devsev *ds,
                            struct wcol_fleet_device *const *list, size_t n, int64_t now_ms)
{
    for (int f = 0; f < DEV_FAMILIES && !w->failed; f++) {
        wcol_prom_family(w, s_device_families[f].name, s_device_families[f].type,
                         s_device_families[f].help);
        for (size_t i = 0; i < n && !w->failed; i++) {
            struct wcol_prom_label l = { "device", list[i]->id };
            double v;

            if (f == DEV_EVENTS) {
                device_events(w, ds, list[i]->id);
            } else if (device_value(list[i], (enum device_family)f, now_ms, &v)) {
                wcol_prom_sample(w, s_device_families[f].name, &l, 1, v);
            }
        }
    }
}

int wcol_metrics_render(struct wcol_collector *c, struct wcol_prom *w, int64_t now_ms)
{
    size_t cap =
        c->fleet.count < WCOL_METRICS_DEVICES_MAX ? c->fleet.count : WCOL_METRICS_DEVICES_MAX;
    /* an array of pointers: each element is a pointer */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    struct wcol_fleet_device **list = calloc(cap ? cap : 1, sizeof(*list));

    if (list == NULL) {
        return -ENOMEM;
    }
    size_t n = wcol_fleet_sorted(&c->fleet, list, cap);

    collector_families(c, w);
    traffic_families(c, w);
    events_by_severity(c, w);
    fleet_counts(c, w, c->fleet.count - n);
    wcol_backup_metrics(c->backups, w);
    wcol_retention_metrics(c, w);
    wcol_inventory_metrics(c->inventory, w);
    if (c->incidents != NULL) {
        wcol_incidents_metrics(c->incidents, w);
    }
    wcol_history_metrics(c->history, w);
    wcol_access_metrics(c, w, now_ms); /* logins, refusals, the audit log */
    wcol_dash_metrics(c, w);
    wcol_cluster_metrics(c->cluster, w);
    wcol_pg_metrics(w); /* the PostgreSQL connections' states */
    if (c->devices != NULL) {
        wcol_devices_metrics(c->devices, w);
    }
    device_families(w, &c->metrics.per_device, list, n, now_ms);
    free(list);
    return w->failed ? -ENOMEM : 0;
}
