/*
 * The agent's Prometheus families (ward/nms/metrics.h), from cached state only. Units are
 * base units (Celsius, bytes, seconds, ratios); counters end in _total; label values are
 * ward's stable ids. One function per group of families, each a loop over a cache table.
 */
#include "ward/nms/metrics.h"

#include <stddef.h>
#include <string.h>

#include "ward/base/fmt.h"
#include "ward/version.h"
#include "ward/wire/state.h"

#include "metrics_internal.h"

/* ---- sensors: temperatures, fans, thresholds, states ---- */

static void sensor_values(struct ward_prom *w, const struct ward_nms_cache *c,
                          enum ward_nms_kind kind, uint64_t den)
{
    for (unsigned i = 0; i < c->n_sensors; i++) {
        const struct ward_nms_sensor *s = &c->sensor[i];
        struct ward_prom_label l[2] = { L("sensor", s->id), L("label", s->label) };

        if (s->kind == kind && s->value.status == WARD_STATUS_OK) {
            ward_prom_sample(w, l, 2, ward_prom_frac(s->value.value, den));
        }
    }
}

static void thresholds_of(struct ward_prom *w, const struct ward_agent *a, const char *id,
                          uint64_t den)
{
    int i = ward_health_find(&a->health, id);
    struct ward_thresholds t;

    if (i < 0 || ward_health_sensor_thresholds(&a->health, (unsigned)i, &t) != 0) {
        return;
    }
    for (unsigned k = 0; k < WARD_THR_COUNT; k++) {
        struct ward_prom_label l[2] = {
            L("sensor", id), L("level", ward_threshold_kind_name((enum ward_threshold_kind)k))
        };

        if (t.present & (1u << k)) {
            ward_prom_sample(w, l, 2, ward_prom_frac(t.value[k], den));
        }
    }
}

/* Disk temperatures are sensors "<disk id>:temp", labelled with the model. */
static bool disk_temp(const struct ward_nms_disk *d, char *id, size_t len, int64_t *mdeg)
{
    const struct ward_smart *s = &d->smart;

    if (d->t_ms == 0 || s->status != WARD_STATUS_OK ||
        ward_sensor_id_join(id, len, d->info.sensor.id, "temp") != 0) {
        return false;
    }
    if (s->kind == WARD_DISK_NVME) {
        *mdeg = s->u.nvme.composite_temp_mdeg_c;
        return s->u.nvme.has_composite_temp;
    }
    for (unsigned i = 0; i < s->u.ata.n_attrs && i < WARD_ATA_MAX_ATTRS; i++) {
        const struct ward_ata_attr *at = &s->u.ata.attr[i];

        if ((at->id == 194 || at->id == 190) && at->has_decoded) {
            *mdeg = at->decoded;
            return true;
        }
    }
    return false;
}

static void temperatures(struct ward_prom *w, const struct ward_agent *a,
                         const struct ward_nms_cache *c)
{
    char id[WARD_HEALTH_ID_MAX];
    int64_t mdeg;

    ward_prom_family(w, "ward_temperature_celsius", WARD_PROM_GAUGE,
                     "Temperature of a sensor (label: the hardware's own name).");
    sensor_values(w, c, WARD_NMS_TEMP, 1000);
    for (unsigned i = 0; i < c->n_disks; i++) {
        if (disk_temp(&c->disk[i], id, sizeof(id), &mdeg)) {
            struct ward_prom_label l[2] = { L("sensor", id), L("label", c->disk[i].info.model) };

            ward_prom_sample(w, l, 2, ward_prom_frac(mdeg, 1000));
        }
    }
    ward_prom_family(w, "ward_temperature_threshold_celsius", WARD_PROM_GAUGE,
                     "Threshold a temperature is evaluated against (runtime rule, board rule or "
                     "hardware, in that precedence).");
    for (unsigned i = 0; i < c->n_sensors; i++) {
        if (c->sensor[i].kind == WARD_NMS_TEMP) {
            thresholds_of(w, a, c->sensor[i].id, 1000);
        }
    }
    for (unsigned i = 0; i < c->n_disks; i++) {
        if (disk_temp(&c->disk[i], id, sizeof(id), &mdeg)) {
            thresholds_of(w, a, id, 1000);
        }
    }
}

static void fans(struct ward_prom *w, const struct ward_agent *a, const struct ward_nms_cache *c)
{
    ward_prom_family(w, "ward_fan_rpm", WARD_PROM_GAUGE, "Fan speed in revolutions per minute.");
    sensor_values(w, c, WARD_NMS_FAN, 1);
    ward_prom_family(w, "ward_fan_threshold_rpm", WARD_PROM_GAUGE,
                     "Threshold a fan speed is evaluated against.");
    for (unsigned i = 0; i < c->n_sensors; i++) {
        if (c->sensor[i].kind == WARD_NMS_FAN) {
            thresholds_of(w, a, c->sensor[i].id, 1);
        }
    }
}

static void states(struct ward_prom *w, const struct ward_agent *a)
{
    ward_prom_family(w, "ward_sensor_state", WARD_PROM_GAUGE,
                     "State of every sensor ward evaluates, as a state set: 1 for the current "
                     "state.");
    for (unsigned i = 0; i < ward_health_count(&a->health); i++) {
        const struct ward_sensor *s = ward_health_sensor_at(&a->health, i);

        for (unsigned st = 0; st < WARD_STATE_COUNT; st++) {
            struct ward_prom_label l[2] = { L("sensor", s->id),
                                            L("state", ward_state_name((enum ward_state)st)) };

            ward_prom_sample(w, l, 2, ward_prom_int(s->state == st ? 1 : 0));
        }
    }
    ward_prom_family(w, "ward_sensor_severity", WARD_PROM_GAUGE,
                     "Severity of a sensor's current state: 0 none, 1 low, 2 medium, 3 high.");
    for (unsigned i = 0; i < ward_health_count(&a->health); i++) {
        struct ward_prom_label l[1] = { L("sensor", ward_health_sensor_at(&a->health, i)->id) };

        ward_prom_sample(w, l, 1, ward_prom_int(ward_health_sensor_severity(&a->health, i)));
    }
}

/* ---- the agent itself ---- */

static void one(struct ward_prom *w, const char *name, enum ward_prom_type type, const char *help,
                struct ward_prom_value v)
{
    ward_prom_family(w, name, type, help);
    ward_prom_sample(w, NULL, 0, v);
}

static void agent_events(struct ward_prom *w, const struct ward_agent *a)
{
    one(w, "ward_agent_sensors", WARD_PROM_GAUGE, "Sensors the health engine tracks.",
        ward_prom_uint(ward_health_count(&a->health)));
    one(w, "ward_agent_events_pending", WARD_PROM_GAUGE,
        "Events in the event log, not yet acknowledged.", ward_prom_uint(a->log.n));
    ward_prom_family(w, "ward_agent_events_dropped", WARD_PROM_COUNTER,
                     "Events the event log dropped under pressure, by severity.");
    for (unsigned s = WARD_SEV_LOW; s < WARD_SEV_COUNT; s++) {
        struct ward_prom_label l[1] = { L("severity", ward_severity_name((enum ward_severity)s)) };

        ward_prom_sample(w, l, 1, ward_prom_uint(a->log.dropped[s]));
    }
    one(w, "ward_agent_events_folded", WARD_PROM_COUNTER,
        "Events folded into a repeat count under pressure.", ward_prom_uint(a->log.folded));
    one(w, "ward_agent_events_acked", WARD_PROM_COUNTER,
        "Events freed by an acknowledgement (or, pull-only, once exposed).",
        ward_prom_uint(a->log.acked));
    one(w, "ward_agent_hal_errors", WARD_PROM_COUNTER, "Device reads that returned an error.",
        ward_prom_uint(a->hal_errors));
    one(w, "ward_agent_feed_errors", WARD_PROM_COUNTER,
        "Readings the health engine refused (table full, bad id).", ward_prom_uint(a->feed_errors));
}

static void agent_uplink(struct ward_prom *w, const struct ward_nms_agent_stats *st)
{
    one(w, "ward_agent_reporting", WARD_PROM_GAUGE,
        "1 when the agent reports to a collector, 0 when it is pull-only.",
        ward_prom_int(st->reporting ? 1 : 0));
    one(w, "ward_agent_journal_records", WARD_PROM_GAUGE,
        "Events in the store-and-forward journal, not yet acknowledged.",
        ward_prom_uint(st->journal_records));
    one(w, "ward_agent_journal_dropped", WARD_PROM_COUNTER, "Records the journal could not keep.",
        ward_prom_uint(st->journal_dropped));
    one(w, "ward_agent_reports", WARD_PROM_COUNTER, "Reports (batches) sent to the collector.",
        ward_prom_uint(st->batches));
    one(w, "ward_agent_reports_acked", WARD_PROM_COUNTER,
        "Reports the collector acknowledged (durably stored).", ward_prom_uint(st->acks));
    one(w, "ward_agent_reconnects", WARD_PROM_COUNTER, "Connections to the collector started.",
        ward_prom_uint(st->connects));
    one(w, "ward_agent_connect_failures", WARD_PROM_COUNTER,
        "Connections to the collector that failed.", ward_prom_uint(st->connect_failures));
    ward_prom_family(w, "ward_agent_last_report_timestamp_seconds", WARD_PROM_GAUGE,
                     "Unix time of the last acknowledged report (absent before the first).");
    if (st->last_ack_wall_ms > 0) {
        ward_prom_sample(w, NULL, 0, ward_prom_frac(st->last_ack_wall_ms, 1000));
    }
}

static void agent_self(struct ward_prom *w, const struct ward_agent *a,
                       const struct ward_nms_cache *c, const struct ward_nms_agent_stats *st)
{
    struct ward_prom_label b[4] = {
        L("version", ward_version()), L("board", WARD_BOARD_NAME), L("arch", WARD_ARCH),
        L("config_digest", st->config_digest != NULL ? st->config_digest : "")
    };

    ward_prom_family(w, "ward_agent_build_info", WARD_PROM_GAUGE,
                     "The agent's version, board, architecture and configuration digest "
                     "(always 1).");
    ward_prom_sample(w, b, 4, ward_prom_int(1));
    ward_prom_family(w, "ward_agent_start_time_seconds", WARD_PROM_GAUGE,
                     "Unix time the agent started (absent while the wall clock is unknown).");
    if (a->wall_known) {
        ward_prom_sample(w, NULL, 0, ward_prom_frac(a->start_ms + a->wall_offset_ms, 1000));
    }
    one(w, "ward_agent_cache_full", WARD_PROM_COUNTER,
        "Readings left out of the pull endpoints' cache: a table was full "
        "(CONFIG_WARD_NMS_MAX_*).",
        ward_prom_uint(c->full));
    one(w, "ward_agent_scrapes", WARD_PROM_COUNTER, "Answers of the metrics listener.",
        ward_prom_uint(st->scrapes));
    one(w, "ward_agent_scrapes_refused", WARD_PROM_COUNTER,
        "Metrics connections refused or cut (connection limit, deadline, size, method, path).",
        ward_prom_uint(st->refused));
}

long ward_nms_write_metrics(struct ward_prom *w, const struct ward_agent *a,
                            const struct ward_nms_cache *c, const struct ward_nms_agent_stats *st,
                            int64_t now_ms)
{
    (void)now_ms;
    temperatures(w, a, c);
    fans(w, a, c);
    states(w, a);
    ward_nms_disks(w, c);
    ward_nms_nics(w, c);
    ward_nms_host(w, c);
    agent_self(w, a, c, st);
    agent_events(w, a);
    agent_uplink(w, st);
    return ward_prom_finish(w);
}

/* ---- GET /health ---- */

static void json_key_str(struct ward_prom *w, const char *key, const char *v, bool comma)
{
    ward_prom_raw(w, comma ? ",\"" : "\"", comma ? 2 : 1);
    ward_prom_json_string(w, key);
    ward_prom_raw(w, "\":\"", 3);
    ward_prom_json_string(w, v);
    ward_prom_raw(w, "\"", 1);
}

static void json_key_int(struct ward_prom *w, const char *key, int64_t v)
{
    char d[WARD_FMT_INT64_MAX];

    (void)ward_fmt_i64(d, sizeof(d), v);
    ward_prom_raw(w, ",\"", 2);
    ward_prom_json_string(w, key);
    ward_prom_raw(w, "\":", 2);
    ward_prom_raw(w, d, strlen(d));
}

static void json_sensor(struct ward_prom *w, const struct ward_agent *a, unsigned i, int64_t now)
{
    const struct ward_sensor *s = ward_health_sensor_at(&a->health, i);

    json_key_str(w, "id", s->id, false);
    json_key_str(w, "state", ward_state_name((enum ward_state)s->state), true);
    json_key_str(w, "severity", ward_severity_name(ward_health_sensor_severity(&a->health, i)),
                 true);
    if (s->flags & WARD_SENSOR_HAS_VALUE) {
        json_key_int(w, "value", s->value);
    }
    if (s->state == WARD_STATE_UNAVAILABLE || s->state == WARD_STATE_FAILED) {
        json_key_str(w, "reason", ward_reason_name((enum ward_reason)s->reason), true);
    }
    json_key_int(w, "state_for_ms", now - s->since_ms);
}

long ward_nms_write_health(struct ward_prom *w, const struct ward_agent *a,
                           const struct ward_nms_agent_stats *st, int64_t now_ms)
{
    enum ward_severity sev;
    unsigned not_ok;
    enum ward_state overall = ward_health_overall(&a->health, &sev, &not_ok);

    ward_prom_raw(w, "{", 1);
    json_key_str(w, "device_id", a->device_id, false);
    json_key_str(w, "version", ward_version(), true);
    json_key_str(w, "board", WARD_BOARD_NAME, true);
    json_key_str(w, "config_sha256", st->config_digest != NULL ? st->config_digest : "", true);
    json_key_int(w, "uptime_ms", now_ms - a->start_ms);
    json_key_str(w, "state", ward_state_name(overall), true);
    json_key_str(w, "severity", ward_severity_name(sev), true);
    json_key_int(w, "not_ok", not_ok);
    json_key_int(w, "events_pending", a->log.n);
    json_key_int(w, "journal_records", st->journal_records);
    ward_prom_raw(w, ",\"sensors\":[", 12);
    for (unsigned i = 0; i < ward_health_count(&a->health); i++) {
        ward_prom_raw(w, i == 0 ? "{" : ",{", i == 0 ? 1 : 2);
        json_sensor(w, a, i, now_ms);
        ward_prom_raw(w, "}", 1);
    }
    ward_prom_raw(w, "]}\n", 3);
    return ward_prom_end(w);
}
