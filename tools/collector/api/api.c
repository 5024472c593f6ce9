/*
 * The operator API (its own TLS listener, bearer tokens):
 *   GET /v1/health                                    the collector itself
 *   GET /v1/devices                                   the fleet, sorted by id
 *   GET /v1/devices/{id}                              one device, its last heartbeat and
 *                                                     health snapshot, its recent events
 *   GET /v1/events?device=&since=&severity=&limit=    events, oldest first; `since` is the
 *                                                     `next` cursor of an earlier answer
 *   GET /metrics                                      Prometheus text (export/metrics.h)
 * Device state comes from memory; documents and events from storage, committed data only.
 * Every answer is bounded (limits on rows and bytes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ward/base/hex.h"

#include "api/api.h"
#include "audit/audit.h"
#include "auth/access_api.h"
#include "auth/policy.h"
#include "common/clock.h"
#include "http/route.h"
#include "server/collector.h"
#include "server/conn.h"
#include "tls/tls_config.h"
#include "common/jw.h"
#include "dash/dash.h"
#include "dash/session.h"
#include "dash/stream.h"
#include "export/metrics.h"
#include "backup/schedule.h"
#include "cluster/cluster.h"
#include "devices/devices.h"
#include "incidents/incidents.h"
#include "inventory/inventory.h"
#include "store/pglink.h"

#define RESPONSE_LIMIT  (16u * 1024u * 1024u)
#define EVENTS_DEFAULT  100u
#define EVENTS_MAX      1000u
#define DEVICES_MAX     100000u
#define RECENT_EVENTS   10u
#define QUERY_VALUE_MAX 128u

/* The principal of the request being handled (one thread: the event loop), for the handlers
 * that show a device-scoped principal only its devices. */
static const struct wcol_principal *s_who;

static void deny(struct wcol_conn *conn, const struct wcol_principal *p, const char *why);

static bool sees(const char *device)
{
    return s_who == NULL || wcol_principal_sees(s_who, device);
}

struct query {
    char device[WCOL_DEVICE_ID_MAX + 1];
    bool has_device;
    int64_t since;
    bool has_since;
    int min_rank;
    unsigned limit;
};

/* Percent-decode into out (NUL-terminated). @return length, -1 when malformed or too long. */
static int pct_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char ch = s[i];

        if (ch == '%') {
            int hi = i + 2 < len ? ward_hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < len ? ward_hex_digit(s[i + 2]) : -1;

            if (hi < 0 || lo < 0) {
                return -1;
            }
            ch = (char)(hi << 4 | lo);
            i += 2;
        } else if (ch == '+') {
            ch = ' ';
        }
        if (ch == '\0' || o + 1 >= cap) {
            return -1;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    return (int)o;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;

    if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ') {
        return -1;
    }
    errno = 0;
    long long v = strtoll(s, &end, 10);

    if (*end != '\0' || errno != 0) {
        return -1;
    }
    *out = v;
    return 0;
}

/* @return NULL, or the reason the query string is refused. */
static const char *parse_query(const char *q, size_t len, struct query *out)
{
    memset(out, 0, sizeof(*out));
    out->limit = EVENTS_DEFAULT;
    while (len > 0) {
        const char *amp = memchr(q, '&', len);
        size_t plen = amp != NULL ? (size_t)(amp - q) : len;
        const char *eq = memchr(q, '=', plen);
        char key[16], val[QUERY_VALUE_MAX + 1];
        int64_t n;

        if (eq == NULL || pct_decode(q, (size_t)(eq - q), key, sizeof(key)) < 0 ||
            pct_decode(eq + 1, plen - (size_t)(eq - q) - 1, val, sizeof(val)) < 0) {
            return "malformed query string";
        }
        if (strcmp(key, "device") == 0) {
            if (!wcol_device_id_valid(val, strlen(val))) {
                return "device must be a device id";
            }
            memcpy(out->device, val, strlen(val) + 1); /* valid ids fit */
            out->has_device = true;
        } else if (strcmp(key, "since") == 0) {
            if (parse_int(val, &out->since) != 0) {
                return "since must be an event id (the 'next' of an earlier answer)";
            }
            out->has_since = true;
        } else if (strcmp(key, "severity") == 0) {
            out->min_rank = wcol_store_severity_rank(val);
            if (out->min_rank < 0) {
                return "severity must be one of none, low, medium, high";
            }
        } else if (strcmp(key, "limit") == 0) {
            if (parse_int(val, &n) != 0 || n < 1 || n > EVENTS_MAX) {
                return "limit must be 1..1000";
            }
            out->limit = (unsigned)n;
        } else {
            return "unknown query parameter (device, since, severity, limit)";
        }
        q += plen + (amp != NULL);
        len -= plen + (amp != NULL);
    }
    return NULL;
}

void wcol_api_send_doc(struct wcol_conn *conn, struct wcol_jw *w)
{
    size_t len;

    if (w->failed) {
        wcol_jw_free(w);
        wcol_conn_error(conn, 500, "response too large");
        return;
    }
    char *body = wcol_jw_take(w, &len);

    wcol_conn_respond(conn, 200, body, len, NULL, !wcol_conn_request(conn)->keep_alive);
    free(body);
}

static long rss_kib(void)
{
    char buf[4096];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "re");

    if (f == NULL) {
        return -1;
    }
    while (fgets(buf, sizeof(buf), f) != NULL) {
        if (sscanf(buf, "VmRSS: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    return kib;
}

/* Connections closed to make room, by reason (docs/collector.md, "Connection budgets"). */
static void shed_counts(struct wcol_jw *w, const struct wcol_collector_stats *s)
{
    wcol_jw_key(w, "shed");
    wcol_jw_obj_begin(w);
    wcol_jw_kuint(w, "per_source", s->shed_per_source);
    wcol_jw_kuint(w, "unauthenticated", s->shed_unauthenticated);
    wcol_jw_kuint(w, "capacity", s->shed_capacity);
    wcol_jw_kuint(w, "idle_operator", s->shed_idle_operator);
    wcol_jw_obj_end(w);
}

static void get_health(struct wcol_conn *conn)
{
    struct wcol_collector *c = wcol_conn_collector(conn);
    const struct wcol_collector_stats *s = &c->stats;
    struct wcol_store_stats ss;
    struct wcol_jw w;

    c->store.ops->stats(c->store.impl, &ss);
    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "status", "ok");
    wcol_jw_kstr(&w, "version", WCOL_COLLECTOR_VERSION);
    wcol_jw_kint(&w, "uptime_s", (int64_t)((wcol_now_mono() - c->start_mono) / 1000u));
    wcol_jw_kint(&w, "rss_kib", rss_kib());
    wcol_jw_key(&w, "connections");
    wcol_jw_obj_begin(&w);
    wcol_jw_kuint(&w, "devices", c->n_device_conns);
    wcol_jw_kuint(&w, "operators", c->n_api_conns);
    wcol_jw_kuint(&w, "accepted", s->accepted);
    wcol_jw_kuint(&w, "unauthenticated",
                  c->unauth[WCOL_CONN_DEVICE].count + c->unauth[WCOL_CONN_API].count);
    wcol_jw_kuint(&w, "refused_capacity", s->refused_capacity);
    wcol_jw_kuint(&w, "deferred", s->deferred);
    wcol_jw_kuint(&w, "parked", c->parked);
    wcol_jw_kuint(&w, "loops", c->cfg.loops); /* device-port event loops (server/worker.h) */
    shed_counts(&w, s);
    wcol_jw_obj_end(&w);
    wcol_jw_key(&w, "fleet");
    wcol_jw_obj_begin(&w);
    wcol_jw_kuint(&w, "devices", c->fleet.count);
    wcol_jw_kuint(&w, "up", c->fleet.up);
    wcol_jw_kuint(&w, "silent", c->fleet.silent);
    wcol_jw_kuint(&w, "removed", c->fleet.removed);
    wcol_jw_kuint(&w, "transitions", c->fleet.transitions);
    wcol_devices_health(c->devices, &w);
    wcol_jw_obj_end(&w);
    wcol_jw_key(&w, "tls");
    wcol_jw_obj_begin(&w);
    wcol_jw_kuint(&w, "handshakes", s->handshakes);
    wcol_jw_kuint(&w, "resumed", s->handshakes_resumed);
    wcol_jw_kuint(&w, "tickets_issued", wcol_tls_tickets_issued(c->tls));
    wcol_jw_kuint(&w, "rejected", s->rejected_tls);
    wcol_jw_kuint(&w, "plain_text_refused", s->rejected_plain);
    wcol_jw_obj_end(&w);
    wcol_jw_key(&w, "ingest");
    wcol_jw_obj_begin(&w);
    wcol_jw_kuint(&w, "requests", s->requests);
    wcol_jw_kuint(&w, "events_stored", c->group.stats.events_stored);
    wcol_jw_kuint(&w, "events_duplicate", c->group.stats.events_duplicate);
    wcol_jw_kuint(&w, "refused_http", s->rejected_http);
    wcol_jw_kuint(&w, "forbidden", s->forbidden);
    wcol_jw_kint(&w, "sensors_refused", ss.snapshots_refused);
    wcol_jw_kuint(&w, "timeouts", s->timeouts);
    wcol_jw_kuint(&w, "stage_failures", c->group.stats.stage_failures);
    wcol_jw_kuint(&w, "commits", c->group.stats.commits);
    wcol_jw_kuint(&w, "commits_deferred", s->commits_deferred);
    wcol_jw_kuint(&w, "commit_interval_us", c->cfg.commit_interval_us);
    wcol_jw_kuint(&w, "commit_failures", c->group.stats.commit_failures);
    wcol_jw_kuint(&w, "commit_us_last", c->group.stats.commit_us_last);
    wcol_jw_kuint(&w, "commit_us_max", c->group.stats.commit_us_max);
    wcol_jw_kuint(&w, "bytes_in", s->bytes_in);
    wcol_jw_kuint(&w, "bytes_out", s->bytes_out);
    wcol_jw_obj_end(&w);
    wcol_jw_key(&w, "storage");
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "backend", c->store.ops->name);
    wcol_jw_kint(&w, "last_event_id", ss.events); /* events ever stored */
    wcol_jw_kuint(&w, "events_expired", s->events_expired);
    wcol_jw_kint(&w, "devices", ss.devices);
    wcol_jw_kint(&w, "bytes", ss.db_bytes);
    if (wcol_pglink_find("storage") != NULL) { /* PostgreSQL: the connection's state */
        wcol_pglink_fields(wcol_pglink_find("storage"), &w, wcol_now_mono());
    }
    wcol_jw_obj_end(&w);
    /* The heartbeat merge's per-device state (store/hbmerge.h; SQLite only). */
    wcol_jw_key(&w, "heartbeat_state");
    wcol_jw_obj_begin(&w);
    wcol_jw_kuint(&w, "devices", ss.hb_sticky.devices);
    wcol_jw_kuint(&w, "hits", ss.hb_sticky.hits);
    wcol_jw_kuint(&w, "misses", ss.hb_sticky.misses);
    wcol_jw_kuint(&w, "stale", ss.hb_sticky.stale);
    wcol_jw_kuint(&w, "liveness_only", ss.hb_sticky.liveness);
    wcol_jw_kuint(&w, "evictions", ss.hb_sticky.evictions);
    wcol_jw_obj_end(&w);
    wcol_pglink_health(&w, wcol_now_mono()); /* every PostgreSQL connection */
    wcol_dash_health(c, &w);
    wcol_backup_health(c->backups, &w);
    wcol_retention_health(c, &w);
    wcol_cluster_health(c->cluster, &w);
    wcol_history_health(c->history, &w);
    wcol_jw_obj_end(&w);
    wcol_api_send_doc(conn, &w);
}

static void device_fields(struct wcol_collector *c, struct wcol_jw *w,
                          const struct wcol_fleet_device *d, int64_t now_ms)
{
    uint64_t now_mono = wcol_now_mono();

    wcol_jw_kstr(w, "id", d->id);
    wcol_jw_kstr(w, "state", wcol_fleet_state_name(d->state));
    wcol_jw_kstr(w, "health", d->health[0] ? d->health : NULL);
    wcol_jw_kstr(w, "boot_id", d->boot_id[0] ? d->boot_id : NULL);
    wcol_jw_kint(w, "last_heartbeat_ms", d->last_hb_ms);
    wcol_jw_key(w, "heartbeat_age_ms");
    if (d->hb_this_run) {
        /* Measured on the monotonic clock: a step of the wall clock moves neither way. */
        wcol_jw_int(w, (int64_t)(now_mono - d->last_hb_mono));
    } else if (d->last_hb_ms > 0) {
        /* Heard before this process started: only the wall clock knows when; never < 0. */
        wcol_jw_int(w, now_ms > d->last_hb_ms ? now_ms - d->last_hb_ms : 0);
    } else {
        wcol_jw_null(w);
    }
    wcol_jw_kint(w, "interval_ms",
                 d->interval_ms > 0 ? d->interval_ms : c->fleet.default_interval_ms);
    wcol_jw_kint(w, "silent_after_ms",
                 (d->interval_ms > 0 ? d->interval_ms : c->fleet.default_interval_ms) *
                     (int64_t)c->fleet.silent_factor);
    wcol_jw_kint(w, "state_since_ms", d->state_since_ms);
    wcol_jw_kint(w, "first_seen_ms", d->first_seen_ms);
    wcol_jw_kint(w, "last_seen_ms", d->last_seen_ms);
    wcol_jw_kint(w, "revoked_at_ms", wcol_devices_revoked_at(c->devices, d->id));
}

static void get_devices(struct wcol_conn *conn)
{
    struct wcol_collector *c = wcol_conn_collector(conn);
    size_t cap = c->fleet.count < DEVICES_MAX ? c->fleet.count : DEVICES_MAX;
    /* an array of pointers: each element is a pointer */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    struct wcol_fleet_device **list = calloc(cap ? cap : 1, sizeof(*list));
    int64_t now_ms = wcol_now_wall_ms();
    struct wcol_jw w;

    if (list == NULL) {
        wcol_conn_error(conn, 503, "out of memory");
        return;
    }
    size_t all = wcol_fleet_sorted(&c->fleet, list, cap);
    size_t n = 0, up = 0;

    /* A device-scoped principal sees its devices only, and counts of them only. */
    for (size_t i = 0; i < all; i++) {
        if (sees(list[i]->id)) {
            up += list[i]->state == WCOL_FLEET_UP;
            list[n++] = list[i];
        }
    }
    bool whole = n == all;

    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    wcol_jw_kuint(&w, "count", n);
    wcol_jw_kuint(&w, "up", whole ? c->fleet.up : up);
    wcol_jw_kuint(&w, "silent", whole ? c->fleet.silent : n - up);
    wcol_jw_kint(&w, "now_ms", now_ms);
    wcol_jw_key(&w, "devices");
    wcol_jw_arr_begin(&w);
    for (size_t i = 0; i < n && !w.failed; i++) {
        wcol_jw_obj_begin(&w);
        device_fields(c, &w, list[i], now_ms);
        wcol_jw_obj_end(&w);
    }
    wcol_jw_arr_end(&w);
    wcol_jw_obj_end(&w);
    free(list);
    wcol_api_send_doc(conn, &w);
}

static void event_json(struct wcol_jw *w, const struct wcol_store_event *ev)
{
    wcol_jw_obj_begin(w);
    wcol_jw_kint(w, "id", ev->id);
    wcol_jw_kstr(w, "device", ev->device);
    wcol_jw_kstr(w, "source", ev->seq >= 0 ? "device" : "collector");
    if (ev->seq >= 0) {
        wcol_jw_kstr(w, "boot_id", ev->boot_id);
        wcol_jw_kint(w, "seq", ev->seq);
    }
    wcol_jw_kint(w, "received_ms", ev->received_ms);
    wcol_jw_key(w, "time_ms");
    if (ev->time_ms > 0) {
        wcol_jw_int(w, ev->time_ms);
    } else {
        wcol_jw_null(w);
    }
    wcol_jw_kstr(w, "sensor", ev->sensor);
    wcol_jw_kstr(w, "from", ev->from_state);
    wcol_jw_kstr(w, "to", ev->to_state);
    wcol_jw_kstr(w, "severity", ev->severity);
    wcol_jw_key(w, "event");
    wcol_jw_raw(w, ev->doc, ev->doc_len);
    wcol_jw_obj_end(w);
}

struct event_walk {
    struct wcol_jw *w;
    int64_t last_id;
    unsigned n;
};

static int on_event(void *ctx, const struct wcol_store_event *ev)
{
    struct event_walk *ew = ctx;

    if (sees(ev->device)) {
        event_json(ew->w, ev);
    }
    if (ev->id > ew->last_id) {
        ew->last_id = ev->id;
    }
    ew->n++;
    return ew->w->failed ? 1 : 0;
}

/* Newest events come back newest first; collect their ids to print them oldest first. */
struct id_walk {
    int64_t min_id;
    unsigned n;
};

static int on_newest(void *ctx, const struct wcol_store_event *ev)
{
    struct id_walk *iw = ctx;

    iw->min_id = ev->id;
    iw->n++;
    return 0;
}

static int events_into(struct wcol_collector *c, struct wcol_jw *w, const char *device,
                       int64_t since, bool has_since, int min_rank, unsigned limit, int64_t *next)
{
    struct wcol_store_event_query q = {
        .device = device, .after_id = since, .min_rank = min_rank, .limit = limit
    };
    struct event_walk ew = { .w = w, .last_id = since };

    if (!has_since) {
        /* No cursor: the latest `limit` events, still printed oldest first. */
        struct id_walk iw = { .min_id = 0 };
        struct wcol_store_event_query nq = q;

        nq.after_id = 0;
        nq.newest_first = true;
        if (c->store.ops->query_events(c->store.impl, &nq, on_newest, &iw) != 0) {
            return -EIO;
        }
        q.after_id = iw.n > 0 ? iw.min_id - 1 : 0;
        ew.last_id = q.after_id;
    }
    wcol_jw_arr_begin(w);
    int rc = c->store.ops->query_events(c->store.impl, &q, on_event, &ew);

    wcol_jw_arr_end(w);
    *next = ew.last_id;
    return rc;
}

static void get_events(struct wcol_conn *conn, const char *qs, size_t qlen)
{
    struct wcol_collector *c = wcol_conn_collector(conn);
    struct query q;
    const char *why = parse_query(qs, qlen, &q);
    struct wcol_jw w;
    int64_t next = 0;

    if (why != NULL) {
        wcol_conn_error(conn, 400, why);
        return;
    }
    if (q.has_device && !sees(q.device)) {
        deny(conn, s_who, "device out of this token's scope");
        return;
    }
    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "events");
    if (events_into(c, &w, q.has_device ? q.device : NULL, q.since, q.has_since, q.min_rank,
                    q.limit, &next) != 0) {
        wcol_jw_free(&w);
        wcol_conn_error(conn, 503, "storage unavailable");
        return;
    }
    wcol_jw_kint(&w, "next", next);
    wcol_jw_obj_end(&w);
    wcol_api_send_doc(conn, &w);
}

struct device_doc {
    struct wcol_jw *w;
    bool found;
};

static int on_device_row(void *ctx, const struct wcol_store_device *d)
{
    struct device_doc *dd = ctx;

    dd->found = true;
    wcol_jw_key(dd->w, "heartbeat");
    if (d->heartbeat != NULL) {
        wcol_jw_raw(dd->w, d->heartbeat, d->heartbeat_len);
    } else {
        wcol_jw_null(dd->w);
    }
    wcol_jw_key(dd->w, "snapshot");
    if (d->snapshot != NULL) {
        wcol_jw_raw(dd->w, d->snapshot, d->snapshot_len);
    } else {
        wcol_jw_null(dd->w);
    }
    return 0;
}

static void get_device(struct wcol_conn *conn, const char *id_raw, size_t id_len)
{
    struct wcol_collector *c = wcol_conn_collector(conn);
    char id[WCOL_DEVICE_ID_MAX + 1];
    struct wcol_jw w;
    int64_t next;

    if (pct_decode(id_raw, id_len, id, sizeof(id)) < 0 || !wcol_device_id_valid(id, strlen(id))) {
        wcol_conn_error(conn, 400, "not a device id");
        return;
    }
    const struct wcol_fleet_device *d = wcol_fleet_find(&c->fleet, id);

    if (d == NULL) {
        wcol_conn_error(conn, 404, "no such device");
        return;
    }
    struct device_doc dd = { .w = &w };

    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    device_fields(c, &w, d, wcol_now_wall_ms());
    if (c->store.ops->get_device(c->store.impl, id, on_device_row, &dd) != 0) {
        wcol_jw_free(&w);
        wcol_conn_error(conn, 503, "storage unavailable");
        return;
    }
    if (!dd.found) { /* known in memory, not committed yet */
        wcol_jw_key(&w, "heartbeat");
        wcol_jw_null(&w);
        wcol_jw_key(&w, "snapshot");
        wcol_jw_null(&w);
    }
    wcol_jw_key(&w, "recent_events");
    if (events_into(c, &w, id, 0, false, 0, RECENT_EVENTS, &next) != 0) {
        wcol_jw_free(&w);
        wcol_conn_error(conn, 503, "storage unavailable");
        return;
    }
    wcol_jw_obj_end(&w);
    wcol_api_send_doc(conn, &w);
}

/* 403, audited (rate-limited) and counted: p may not do this request. */
static void deny(struct wcol_conn *conn, const struct wcol_principal *p, const char *why)
{
    struct wcol_collector *c = wcol_conn_collector(conn);
    const struct wcol_http_request *r = wcol_conn_request(conn);
    const char *qm = memchr(r->target, '?', r->target_len);
    size_t plen = qm != NULL ? (size_t)(qm - r->target) : r->target_len;
    char target[160];
    struct wcol_audit_entry e = { .actor = p->name,
                                  .source = wcol_conn_addr(conn),
                                  .action = "access.denied",
                                  .target = target,
                                  .detail = why };

    snprintf(target, sizeof(target), "%s %.*s", wcol_http_method_name(r->method),
             (int)(plen < 120 ? plen : 120), r->target);
    wcol_auth_count_refusal(c->auth);
    if (c->audit != NULL) {
        (void)wcol_audit_refusal(c->audit, &e);
    }
    wcol_log_warn("%s: %s refused %s: %s", wcol_conn_addr(conn), p->name, target, why);
    wcol_conn_error(conn, 403, why);
}

/*
 * Who is asking, and may they (auth/policy.c): 401 without a valid credential, 403 for a
 * role or device scope that does not allow the request; both audited (rate-limited).
 * @return true when the request may go on (p filled).
 */
static bool authorize(struct wcol_conn *conn, struct wcol_principal *p)
{
    struct wcol_collector *c = wcol_conn_collector(conn);
    const struct wcol_http_request *r = wcol_conn_request(conn);
    const char *qm = memchr(r->target, '?', r->target_len);
    size_t plen = qm != NULL ? (size_t)(qm - r->target) : r->target_len;
    const char *why;

    const char *cred = r->authorization;
    size_t cred_len = r->authorization_len;
    const struct wcol_session *s = NULL;
    int status = 401;

    if (cred == NULL) {
        /* The dashboard's cookie (dash/dash.h): the credential its session was opened with,
         * checked again as if it were the header (a revoked token or an ended login session
         * ends the dashboard session too). */
        s = wcol_dash_session(conn, &status);
        cred = s != NULL ? s->bearer : NULL;
        cred_len = s != NULL ? strlen(s->bearer) : 0;
        if (s == NULL && status == 403) {
            c->stats.unauthorized++;
            wcol_conn_error(conn, 403, "X-CSRF-Token and Origin of the session are required");
            return false;
        }
    }
    int arc = wcol_auth_bearer(c->auth, &c->tokens, cred, cred_len, wcol_conn_addr(conn),
                               wcol_now_wall_ms(), p, &why);

    if (arc == -EAGAIN) { /* the session stays: the database is only away */
        wcol_conn_error(conn, 503, why);
        return false;
    }
    if (arc != 0) {
        if (s != NULL) {
            wcol_dash_session_end(conn, s);
        }
        c->stats.unauthorized++;
        wcol_log_warn("%s: operator request refused: %s", wcol_conn_addr(conn), why);
        wcol_conn_error(conn, 401, why);
        return false;
    }
    why = wcol_access_check(p, r->method, r->target, plen);
    if (why != NULL) {
        deny(conn, p, why);
        return false;
    }
    /* The access log: who asked what, from where (the target's bytes are checked printable
     * by the HTTP parser). */
    wcol_log_info("%s: operator %s=%s %s %.*s", wcol_conn_addr(conn),
                  s != NULL ? "session" : "token", p->name, wcol_http_method_name(r->method),
                  (int)r->target_len, r->target);
    wcol_conn_authenticated(conn);
    return true;
}

static void route_health(struct wcol_conn *conn, const struct wcol_route_args *a)
{
    (void)a;
    get_health(conn);
}

static void route_devices(struct wcol_conn *conn, const struct wcol_route_args *a)
{
    (void)a;
    get_devices(conn);
}

static void route_device(struct wcol_conn *conn, const struct wcol_route_args *a)
{
    get_device(conn, a->param, a->param_len);
}

static void route_events(struct wcol_conn *conn, const struct wcol_route_args *a)
{
    get_events(conn, a->query, a->query_len);
}

static void route_metrics(struct wcol_conn *conn, const struct wcol_route_args *a)
{
    struct wcol_prom w;

    (void)a;
    wcol_prom_init(&w, WCOL_METRICS_BYTES_MAX);
    if (wcol_metrics_render(wcol_conn_collector(conn), &w, wcol_now_wall_ms()) != 0) {
        wcol_prom_free(&w);
        wcol_conn_error(conn, 500, "metrics too large or out of memory");
        return;
    }
    wcol_conn_respond_typed(conn, 200, WCOL_PROM_CONTENT_TYPE, w.buf, w.len, NULL,
                            !wcol_conn_request(conn)->keep_alive);
    wcol_prom_free(&w);
}

/* Earlier rows win: the exact /v1/devices before /v1/devices/{id}. */
static const struct wcol_route s_routes[] = {
    { WCOL_HTTP_GET, "/v1/health", WCOL_ROUTE_EMPTY_QUERY, route_health },
    { WCOL_HTTP_GET, "/v1/devices", WCOL_ROUTE_EMPTY_QUERY, route_devices },
    { WCOL_HTTP_GET, "/v1/devices/{}", WCOL_ROUTE_EMPTY_QUERY, route_device },
    { WCOL_HTTP_GET, "/v1/events", WCOL_ROUTE_QUERY, route_events },
    { WCOL_HTTP_GET, "/metrics", WCOL_ROUTE_EMPTY_QUERY, route_metrics },
};

void wcol_api_request(struct wcol_conn *conn, const char *body, size_t len)
{
    const struct wcol_route *route = NULL;
    struct wcol_route_args args;
    struct wcol_principal p;

    /* A device enrolling with a one-time token carries no operator token (devices/). */
    if (wcol_devices_token_enrol(conn, body, len)) {
        return;
    }
    /* The dashboard's pages and its login need no credential (dash/dash.h). */
    if (wcol_dash_request(conn, body, len)) {
        return;
    }
    if (wcol_access_login_request(conn, body, len)) { /* the only route without a credential */
        return;
    }
    if (!authorize(conn, &p)) {
        return;
    }
    s_who = &p;
    /* Accounts, tokens, the audit log (auth/access_api.c); incidents and silences
     * (incidents/inc_api.c). Both take POSTs. */
    if (wcol_access_request(conn, &p, body, len) || wcol_stream_request(conn, &p) ||
        wcol_incidents_request(wcol_conn_collector(conn)->incidents, conn, p.name, body, len) ||
        wcol_history_request(conn, p.name, body, len) ||
        wcol_inventory_request(wcol_conn_collector(conn)->inventory, conn, p.name, body, len) ||
        wcol_backup_request(wcol_conn_collector(conn)->backups, conn) ||
        /* Device revocation, removal, enrolment (devices/dev_api.c; role admin). */
        wcol_devices_request(conn, p.name, body, len)) {
        s_who = NULL;
        return;
    }
    /* The rest of the operator API is read-only: any other method is refused before routing. */
    if (wcol_conn_request(conn)->method != WCOL_HTTP_GET) {
        wcol_conn_wrong_method(conn, "GET");
        s_who = NULL;
        return;
    }
    if (wcol_route_find(s_routes, sizeof(s_routes) / sizeof(s_routes[0]), wcol_conn_request(conn),
                        &route, &args) != WCOL_ROUTE_FOUND) {
        wcol_conn_error(conn, 404,
                        "no such resource (/v1/health, /v1/devices, /v1/events, /metrics)");
        s_who = NULL;
        return;
    }
    args.body = body;
    args.body_len = len;
    route->handler(conn, &args);
    s_who = NULL;
}
