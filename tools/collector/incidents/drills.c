/*
 * Drills (drills.h): the requests, the ingest hooks and the operator API
 *   GET  /v1/drills?device=&limit=          newest first
 *   POST /v1/drills {"scenario","device","for_s"}   operator: ask a device to play a scenario
 *   GET  /v1/drills/{id}                    the drill and its incidents
 *   POST /v1/drills/{id}/stop               operator
 *   GET  /v1/drills/{id}/report             times to detect, acknowledge, resolve vs targets
 * Table drills in incidents.db (model.c, migration 2). States: requested (waiting for the
 * device's next report), running, refused (the agent's reason), stopping, stopped, done.
 */
#include "incidents/drills.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/base/jscan.h"
#include "ward/wire/protocol.h"
#include "ward/wire/ack.h"

#include "common/jw.h"
#include "export/prom.h"
#include "incidents/incidents.h"
#include "incidents/model.h"
#include "server/conn.h"

#define LIVE_MAX      64 /* drills waiting for or playing on their device at once */
#define RESPONSE_MAX  (1024u * 1024u)
#define LIST_MAX      500
#define DRILL_FOR_DEF 600
#define REASON_MAX    80
/* An agent that does not know the member refuses the whole acknowledgement (and frees
 * nothing): after this many answers without hearing of the drill, it is given up. */
#define UNHEARD_MAX 5u

/* A drill not yet over, as the ingest hooks need it (no database on the ingest path). */
struct live {
    bool used;
    bool heard;    /* the agent named it: the start is no longer repeated */
    bool stop;     /* a stop is asked: repeated until the agent says stopped or done */
    unsigned sent; /* answers that carried it */
    char device[64];
    char state[16]; /* as last written to the table */
    struct ward_wire_drill w;
};

struct wcol_drills {
    pthread_mutex_t mu;
    _Atomic unsigned n; /* used entries: the hooks' fast path */
    struct live live[LIVE_MAX];
    _Atomic uint64_t refusals;
};

/* An update the heartbeat hook writes after leaving the lock. */
struct heard {
    int64_t id;
    char state[16];
    char reason[REASON_MAX];
};

static bool name_ok(const char *n)
{
    size_t len = strlen(n);

    return len > 0 && len <= WARD_WIRE_DRILL_NAME_MAX && n[0] != '-' &&
           strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

static bool over(const char *state)
{
    return strcmp(state, "refused") == 0 || strcmp(state, "stopped") == 0 ||
           strcmp(state, "done") == 0;
}

/* Under mu. */
static struct live *find(struct wcol_drills *d, const char *device, int64_t id)
{
    for (unsigned i = 0; i < LIVE_MAX; i++) {
        struct live *l = &d->live[i];

        if (l->used && strcmp(l->device, device) == 0 && (id == 0 || l->w.id == id)) {
            return l;
        }
    }
    return NULL;
}

/* Under mu. @return 0, -ENOSPC. */
static int add_live(struct wcol_drills *d, int64_t id, const char *device, const char *scenario,
                    int64_t for_s, const char *state)
{
    for (unsigned i = 0; i < LIVE_MAX; i++) {
        struct live *l = &d->live[i];

        if (!l->used) {
            memset(l, 0, sizeof(*l));
            l->used = true;
            l->w.id = (uint32_t)id;
            l->w.for_s = (uint32_t)for_s;
            snprintf(l->w.scenario, sizeof(l->w.scenario), "%s", scenario);
            snprintf(l->device, sizeof(l->device), "%s", device);
            snprintf(l->state, sizeof(l->state), "%s", state);
            l->heard = strcmp(state, "requested") != 0;
            l->stop = strcmp(state, "stopping") == 0;
            atomic_fetch_add(&d->n, 1);
            return 0;
        }
    }
    return -ENOSPC;
}

static void drop_live(struct wcol_drills *d, struct live *l)
{
    l->used = false;
    atomic_fetch_sub(&d->n, 1);
}

int wcol_drills_open(struct wcol_incidents *in)
{
    struct wcol_drills *d = calloc(1, sizeof(*d));
    struct wcol_idb_stmt *st = NULL;

    if (d == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_init(&d->mu, NULL);
    in->drills = d;
    if (wcol_idb_prepare_v2(in->api_db,
                            "SELECT id, device, scenario, for_s, state FROM drills WHERE state IN "
                            "('requested', 'running', 'stopping') ORDER BY id DESC LIMIT 64",
                            -1, &st, NULL) != SQLITE_OK) {
        return -EIO;
    }
    while (wcol_idb_step(st) == SQLITE_ROW) {
        (void)add_live(d, wcol_idb_column_int64(st, 0), (const char *)wcol_idb_column_text(st, 1),
                       (const char *)wcol_idb_column_text(st, 2), wcol_idb_column_int64(st, 3),
                       (const char *)wcol_idb_column_text(st, 4));
    }
    wcol_idb_finalize(st);
    return 0;
}

void wcol_drills_free(struct wcol_incidents *in)
{
    if (in->drills != NULL) {
        pthread_mutex_destroy(&in->drills->mu);
        free(in->drills);
        in->drills = NULL;
    }
}

/* ---- ingest hooks ---- */

static void write_state(struct wcol_incidents *in, const struct heard *h, const char *device);

int wcol_incidents_drill_ack(struct wcol_incidents *in, const char *device, char *body, size_t cap,
                             int len)
{
    struct wcol_drills *d = in != NULL ? in->drills : NULL;
    struct ward_wire_drill w;
    struct live *l;
    bool send = false;

    if (d == NULL || atomic_load(&d->n) == 0 || len < 0) {
        return len;
    }
    struct heard gone = { 0 };

    pthread_mutex_lock(&d->mu);
    l = find(d, device, 0);
    if (l != NULL && (!l->heard || l->stop) && l->sent >= UNHEARD_MAX) {
        gone.id = l->w.id;
        snprintf(gone.state, sizeof(gone.state), "%s", l->stop ? "stopped" : "refused");
        snprintf(gone.reason, sizeof(gone.reason),
                 "no answer from the agent after %u requests (an agent without drills?)",
                 UNHEARD_MAX);
        drop_live(d, l);
    } else if (l != NULL && (!l->heard || l->stop)) {
        l->sent++;
        w = l->w;
        w.stop = l->stop;
        send = true;
    }
    pthread_mutex_unlock(&d->mu);
    if (gone.id != 0) {
        atomic_fetch_add(&d->refusals, 1);
        write_state(in, &gone, device);
    }
    if (!send) {
        return len;
    }
    int n = ward_ingest_ack_add_drill(body, cap, (size_t)len, &w);

    if (n < 0) {
        wcol_log_warn("drill %u for %s waits for a smaller acknowledgement: %s", (unsigned)w.id,
                      device, strerror(-n));
        return len;
    }
    return n;
}

/* The heartbeat's "drill":{"id":N,"state":S,"scenario":..,"reason":..}. @return 0 or -1. */
static int parse_heard(const char *hb, size_t len, struct heard *h)
{
    const char *p = memmem(hb, len, "\"" WARD_WIRE_M_DRILL "\":{", 9);
    struct ward_jscan s;
    char key[16], skip[REASON_MAX];
    int rc;

    if (p == NULL) {
        return -1;
    }
    memset(h, 0, sizeof(*h));
    ward_jscan_init(&s, p + 8, len - (size_t)(p + 8 - hb));
    if (ward_jscan_object(&s) != 0) {
        return -1;
    }
    while ((rc = ward_jscan_member(&s, key, sizeof(key))) > 0) {
        if (strcmp(key, "id") == 0) {
            rc = ward_jscan_int64(&s, &h->id);
        } else if (strcmp(key, "state") == 0) {
            rc = ward_jscan_string(&s, h->state, sizeof(h->state)) < 0 ? -1 : 0;
        } else if (strcmp(key, "reason") == 0) {
            rc = ward_jscan_string(&s, h->reason, sizeof(h->reason)) < 0 ? -1 : 0;
        } else {
            rc = ward_jscan_string(&s, skip, sizeof(skip)) < 0 ? -1 : 0;
        }
        if (rc != 0) {
            return -1;
        }
    }
    return rc == 0 && h->id > 0 && h->state[0] != '\0' ? 0 : -1;
}

static void write_state(struct wcol_incidents *in, const struct heard *h, const char *device)
{
    struct wcol_idb_stmt *st = NULL;
    int64_t now = wcol_inc_now_ms();

    if (wcol_idb_prepare_v2(in->api_db,
                            "UPDATE drills SET state = ?2, reason = CASE WHEN ?3 = '' THEN reason "
                            "ELSE ?3 END, started_ms = CASE WHEN ?2 = 'running' AND started_ms = 0 "
                            "THEN ?4 ELSE started_ms END, ended_ms = CASE WHEN ?2 IN ('refused', "
                            "'stopped', 'done') AND ended_ms = 0 THEN ?4 ELSE ended_ms END WHERE "
                            "id = ?1",
                            -1, &st, NULL) == SQLITE_OK) {
        wcol_idb_bind_int64(st, 1, h->id);
        wcol_idb_bind_text(st, 2, h->state, -1, SQLITE_STATIC);
        wcol_idb_bind_text(st, 3, h->reason, -1, SQLITE_STATIC);
        wcol_idb_bind_int64(st, 4, now);
        if (wcol_idb_step(st) != SQLITE_DONE) {
            wcol_log_error("drills: storage: %s", wcol_idb_errmsg(in->api_db));
        }
    }
    wcol_idb_finalize(st);
    if (strcmp(h->state, "refused") == 0) {
        wcol_log_warn("drill %lld: %s refused it: %s", (long long)h->id, device, h->reason);
    } else {
        wcol_log_info("drill %lld: %s says %s", (long long)h->id, device, h->state);
    }
}

void wcol_incidents_drill_heard(struct wcol_incidents *in, const char *device, const char *hb,
                                size_t len)
{
    struct wcol_drills *d = in != NULL ? in->drills : NULL;
    struct heard h;
    struct live *l;
    bool changed = false;

    if (d == NULL || atomic_load(&d->n) == 0 || hb == NULL || parse_heard(hb, len, &h) != 0) {
        return;
    }
    pthread_mutex_lock(&d->mu);
    l = find(d, device, h.id);
    /* A stop asked is recorded as stopping until the agent says stopped (or done). */
    if (l != NULL && strcmp(l->state, h.state) != 0 &&
        !(l->stop && strcmp(h.state, "running") == 0)) {
        changed = true;
        l->heard = true;
        snprintf(l->state, sizeof(l->state), "%s", h.state);
        if (over(h.state)) {
            drop_live(d, l);
        }
    } else if (l != NULL) {
        l->heard = true;
    }
    pthread_mutex_unlock(&d->mu);
    if (changed) {
        if (strcmp(h.state, "refused") == 0) {
            atomic_fetch_add(&d->refusals, 1);
        }
        write_state(in, &h, device);
    }
}

/* ---- the engine's mark ---- */

int wcol_drill_mark(struct wcol_idb *db, struct wcol_incident *x)
{
    struct wcol_idb_stmt *st = NULL;
    int rc;

    if (strncmp(x->component, WARD_WIRE_DRILL_PREFIX, sizeof(WARD_WIRE_DRILL_PREFIX) - 1) != 0) {
        return 0;
    }
    x->drill = 1;
    /* The device's drill that started last (one plays at a time on an agent). */
    if (wcol_idb_prepare_v2(db,
                            "UPDATE incidents SET drill = 1, drill_id = coalesce((SELECT id FROM "
                            "drills WHERE device = ?2 AND started_ms > 0 ORDER BY id DESC LIMIT "
                            "1), 0) WHERE id = ?1 RETURNING drill_id",
                            -1, &st, NULL) != SQLITE_OK) {
        wcol_log_error("drills: storage: %s", wcol_idb_errmsg(db));
        return -EIO;
    }
    wcol_idb_bind_int64(st, 1, x->id);
    wcol_idb_bind_text(st, 2, x->device, -1, SQLITE_STATIC);
    rc = wcol_idb_step(st);
    if (rc == SQLITE_ROW) {
        x->drill_id = wcol_idb_column_int64(st, 0);
        rc = wcol_idb_step(st);
    }
    wcol_idb_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

/* ---- operator API ---- */

static const char *const s_cols[] = { "id",         "device",   "scenario",  "for_s",
                                      "state",      "reason",   "who",       "created_ms",
                                      "started_ms", "ended_ms", "stopped_by" };
#define DRILL_COLS                                                                                 \
    "id, device, scenario, for_s, state, reason, who, created_ms, started_ms, ended_ms, "          \
    "stopped_by"
#define DRILL_TYPES "ississsiiis"

struct start_body {
    char scenario[WARD_WIRE_DRILL_NAME_MAX + 2];
    char device[66];
    int64_t for_s;
};

/* {"scenario": NAME, "device": ID, "for_s": N}. @return NULL or why not. */
static const char *parse_start(const char *text, size_t len, struct start_body *b)
{
    struct ward_jscan s;
    char key[16];
    int rc;

    memset(b, 0, sizeof(*b));
    b->for_s = DRILL_FOR_DEF;
    ward_jscan_init(&s, text != NULL ? text : "", text != NULL ? len : 0);
    if (ward_jscan_object(&s) != 0) {
        return "the body must be a JSON object";
    }
    while ((rc = ward_jscan_member(&s, key, sizeof(key))) > 0) {
        if (strcmp(key, "scenario") == 0) {
            rc = ward_jscan_string(&s, b->scenario, sizeof(b->scenario)) < 0 ? -1 : 0;
        } else if (strcmp(key, "device") == 0) {
            rc = ward_jscan_string(&s, b->device, sizeof(b->device)) < 0 ? -1 : 0;
        } else if (strcmp(key, "for_s") == 0) {
            rc = ward_jscan_int64(&s, &b->for_s);
        } else {
            return "unknown member (scenario, device, for_s)";
        }
        if (rc != 0) {
            return "scenario and device are strings, for_s a number";
        }
    }
    if (rc < 0 || ward_jscan_end(&s) != 0) {
        return "malformed JSON";
    }
    if (!name_ok(b->scenario)) {
        return "scenario: 1-31 of a-z, 0-9 and '-' (a file of the agent's --drill-dir)";
    }
    if (b->device[0] == '\0' || strlen(b->device) > 63) {
        return "device: 1-63 characters";
    }
    if (b->for_s < 1 || b->for_s > WARD_WIRE_DRILL_FOR_MAX) {
        return "for_s must be 1..86400";
    }
    return NULL;
}

static int64_t one_i64(struct wcol_idb *db, const char *sql, const char *a, int64_t b)
{
    struct wcol_idb_stmt *st = NULL;
    int64_t v = -1;

    if (wcol_idb_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        wcol_idb_bind_text(st, 1, a, -1, SQLITE_STATIC);
        wcol_idb_bind_int64(st, 2, b);
        v = wcol_idb_step(st) == SQLITE_ROW ? wcol_idb_column_int64(st, 0) : 0;
    }
    wcol_idb_finalize(st);
    return v;
}

static void one_drill(struct wcol_incidents *in, struct wcol_conn *conn, int64_t id, bool report);

static void start(struct wcol_incidents *in, struct wcol_conn *conn, const char *who,
                  const char *body, size_t len)
{
    struct start_body b;
    const char *why = parse_start(body, len, &b);
    struct wcol_idb_stmt *st = NULL;
    int64_t id = 0;
    char detail[160];

    if (why != NULL) {
        wcol_conn_error(conn, 400, why);
        return;
    }
    if (one_i64(in->api_db, "SELECT count(*) FROM w.devices WHERE id = ?1", b.device, 0) != 1) {
        wcol_conn_error(conn, 404, "no such device (wardctl devices lists them)");
        return;
    }
    pthread_mutex_lock(&in->drills->mu);
    bool busy = find(in->drills, b.device, 0) != NULL;

    pthread_mutex_unlock(&in->drills->mu);
    if (busy) {
        wcol_conn_error(conn, 409, "a drill of this device is not over yet (wardctl drill list)");
        return;
    }
    if (wcol_idb_prepare_v2(in->api_db,
                            "INSERT INTO drills (device, scenario, for_s, state, who, created_ms) "
                            "VALUES (?1, ?2, ?3, 'requested', ?4, ?5) RETURNING id",
                            -1, &st, NULL) == SQLITE_OK) {
        wcol_idb_bind_text(st, 1, b.device, -1, SQLITE_STATIC);
        wcol_idb_bind_text(st, 2, b.scenario, -1, SQLITE_STATIC);
        wcol_idb_bind_int64(st, 3, b.for_s);
        wcol_idb_bind_text(st, 4, who, -1, SQLITE_STATIC);
        wcol_idb_bind_int64(st, 5, wcol_inc_now_ms());
        if (wcol_idb_step(st) == SQLITE_ROW) {
            id = wcol_idb_column_int64(st, 0);
        }
        (void)wcol_idb_step(st);
    }
    wcol_idb_finalize(st);
    if (id <= 0 || id > (int64_t)UINT32_MAX) {
        wcol_conn_error(conn, 503, "storage unavailable");
        return;
    }
    pthread_mutex_lock(&in->drills->mu);
    int rc = add_live(in->drills, id, b.device, b.scenario, b.for_s, "requested");

    pthread_mutex_unlock(&in->drills->mu);
    if (rc != 0) {
        wcol_conn_error(conn, 503, "too many drills at once (64)");
        return;
    }
    snprintf(detail, sizeof(detail), "drill %lld: %s for %llds", (long long)id, b.scenario,
             (long long)b.for_s);
    WCOL_AUDIT(wcol_conn_collector(conn), who, "drill.start", b.device, detail);
    one_drill(in, conn, id, false);
}

static void stop(struct wcol_incidents *in, struct wcol_conn *conn, int64_t id, const char *who)
{
    struct live *l;
    char device[64] = "", detail[64];
    struct wcol_idb_stmt *st = NULL;

    pthread_mutex_lock(&in->drills->mu);
    for (unsigned i = 0; i < LIVE_MAX; i++) {
        l = &in->drills->live[i];
        if (l->used && l->w.id == id) {
            snprintf(device, sizeof(device), "%s", l->device);
            if (!l->heard) { /* never reached the agent: nothing to stop there */
                drop_live(in->drills, l);
            } else {
                l->stop = true;
                l->sent = 0;
                snprintf(l->state, sizeof(l->state), "stopping");
            }
            break;
        }
    }
    pthread_mutex_unlock(&in->drills->mu);
    if (device[0] == '\0') {
        bool known = one_i64(in->api_db,
                             "SELECT count(*) FROM drills WHERE ?1 IS NOT NULL AND "
                             "id = ?2",
                             "", id) == 1;

        wcol_conn_error(conn, known ? 409 : 404, known ? "the drill is over" : "no such drill");
        return;
    }
    if (wcol_idb_prepare_v2(in->api_db,
                            "UPDATE drills SET state = CASE WHEN state = 'requested' THEN "
                            "'stopped' ELSE 'stopping' END, stopped_by = ?2, ended_ms = CASE WHEN "
                            "state = 'requested' THEN ?3 ELSE ended_ms END WHERE id = ?1",
                            -1, &st, NULL) == SQLITE_OK) {
        wcol_idb_bind_int64(st, 1, id);
        wcol_idb_bind_text(st, 2, who, -1, SQLITE_STATIC);
        wcol_idb_bind_int64(st, 3, wcol_inc_now_ms());
        (void)wcol_idb_step(st);
    }
    wcol_idb_finalize(st);
    snprintf(detail, sizeof(detail), "drill %lld", (long long)id);
    WCOL_AUDIT(wcol_conn_collector(conn), who, "drill.stop", device, detail);
    one_drill(in, conn, id, false);
}

/* One incident's durations against the targets of its severity. */
static void judge(struct wcol_jw *w, const struct wcol_policy *pol, int sev, const char *name,
                  int k, int64_t took_ms)
{
    uint64_t target = pol->drill_target_ms[sev & 3][k];

    wcol_jw_key(w, name);
    wcol_jw_obj_begin(w);
    wcol_jw_kint(w, "ms", took_ms);
    wcol_jw_kint(w, "target_ms", (int64_t)target);
    wcol_jw_kstr(w, "verdict",
                 took_ms < 0                                  ? "pending"
                 : target == 0 || (uint64_t)took_ms <= target ? "met"
                                                              : "missed");
    wcol_jw_obj_end(w);
}

static void report_incidents(struct wcol_incidents *in, struct wcol_jw *w, int64_t id)
{
    struct wcol_idb_stmt *st = NULL;
    unsigned met = 0, missed = 0, pending = 0;

    wcol_jw_key(w, "incidents");
    wcol_jw_arr_begin(w);
    if (wcol_idb_prepare_v2(in->api_db,
                            "SELECT id, component, severity, state, first_event_ms, opened_ms, "
                            "acked_ms, resolved_ms FROM incidents WHERE drill_id = ?1 ORDER BY id",
                            -1, &st, NULL) == SQLITE_OK) {
        wcol_idb_bind_int64(st, 1, id);
        while (!w->failed && wcol_idb_step(st) == SQLITE_ROW) {
            int sev = wcol_idb_column_int(st, 2);
            int64_t first = wcol_idb_column_int64(st, 4), opened = wcol_idb_column_int64(st, 5);
            int64_t acked = wcol_idb_column_int64(st, 6), res = wcol_idb_column_int64(st, 7);
            /* Detected is never pending: the incident is open. The first event's time is the
             * device's clock, which may run ahead of this one (24 ms on one host under load):
             * an incident opened "before" its first event was detected at once. */
            int64_t took[3] = { opened > first ? opened - first : 0, acked ? acked - opened : -1,
                                res ? res - opened : -1 };
            static const char *const names[] = { "detect", "acknowledge", "resolve" };

            wcol_jw_obj_begin(w);
            wcol_jw_kint(w, "id", wcol_idb_column_int64(st, 0));
            wcol_jw_kstr(w, "component", (const char *)wcol_idb_column_text(st, 1));
            wcol_jw_kstr(w, "severity", wcol_inc_sev_name(sev));
            wcol_jw_kstr(w, "state", (const char *)wcol_idb_column_text(st, 3));
            for (int k = 0; k < 3; k++) {
                uint64_t t = in->pol.drill_target_ms[sev & 3][k];

                judge(w, &in->pol, sev, names[k], k, took[k]);
                pending += took[k] < 0;
                met += took[k] >= 0 && (t == 0 || (uint64_t)took[k] <= t);
                missed += took[k] >= 0 && t != 0 && (uint64_t)took[k] > t;
            }
            wcol_jw_obj_end(w);
        }
    }
    wcol_idb_finalize(st);
    wcol_jw_arr_end(w);
    wcol_jw_key(w, "summary");
    wcol_jw_obj_begin(w);
    wcol_jw_kuint(w, "met", met);
    wcol_jw_kuint(w, "missed", missed);
    wcol_jw_kuint(w, "pending", pending);
    wcol_jw_obj_end(w);
}

static void one_drill(struct wcol_incidents *in, struct wcol_conn *conn, int64_t id, bool report)
{
    struct wcol_jw w;
    static const char *const inc_names[] = { "id", "component", "severity", "state", "opened_ms" };

    if (one_i64(in->api_db, "SELECT count(*) FROM drills WHERE ?1 IS NOT NULL AND id = ?2", "",
                id) != 1) {
        wcol_conn_error(conn, 404, "no such drill");
        return;
    }
    wcol_jw_init(&w, RESPONSE_MAX);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "drill");
    wcol_inc_rows_into(&w, in->api_db, "SELECT " DRILL_COLS " FROM drills WHERE id = ?1 LIMIT ?2",
                       id, s_cols, DRILL_TYPES, 1);
    if (report) {
        report_incidents(in, &w, id);
    } else {
        wcol_jw_key(&w, "incidents");
        wcol_inc_rows_into(&w, in->api_db,
                           "SELECT id, component, severity, state, opened_ms FROM incidents "
                           "WHERE drill_id = ?1 ORDER BY id LIMIT ?2",
                           id, inc_names, "isiii", LIST_MAX);
    }
    wcol_jw_obj_end(&w);
    wcol_inc_answer(conn, &w);
}

static void list(struct wcol_incidents *in, struct wcol_conn *conn)
{
    struct wcol_jw w;

    wcol_jw_init(&w, RESPONSE_MAX);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "drills");
    wcol_inc_rows_into(&w, in->api_db,
                       "SELECT " DRILL_COLS " FROM drills WHERE ?1 IS NOT NULL ORDER BY id DESC "
                       "LIMIT ?2",
                       0, s_cols, DRILL_TYPES, LIST_MAX);
    wcol_jw_obj_end(&w);
    wcol_inc_answer(conn, &w);
}

bool wcol_drills_request(struct wcol_incidents *in, struct wcol_conn *conn, const char *who,
                         const char *body, size_t len)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    const char *t = r->target, *q = memchr(t, '?', r->target_len);
    size_t pl = q ? (size_t)(q - t) : r->target_len;
    bool post = r->method == WCOL_HTTP_POST;

    if (pl < 10 || memcmp(t, "/v1/drills", 10) != 0 || (pl > 10 && t[10] != '/') || in == NULL ||
        in->drills == NULL) {
        return false;
    }
    if (pl == 10) {
        if (post) {
            start(in, conn, who, body, len);
        } else {
            list(in, conn);
        }
        return true;
    }
    const char *id_s = t + 11, *slash = memchr(id_s, '/', pl - 11);
    size_t idl = slash ? (size_t)(slash - id_s) : pl - 11;
    int64_t id = wcol_inc_parse_id(id_s, idl);
    const char *verb = slash ? slash + 1 : "";
    size_t vl = slash ? pl - 11 - idl - 1 : 0;

    if (id <= 0 || id > (int64_t)UINT32_MAX) {
        wcol_conn_error(conn, 400, "a drill id is a number");
    } else if (vl == 0 || (vl == 6 && memcmp(verb, "report", 6) == 0)) {
        if (post) {
            wcol_conn_wrong_method(conn, "GET");
        } else {
            one_drill(in, conn, id, vl != 0);
        }
    } else if (vl == 4 && memcmp(verb, "stop", 4) == 0) {
        if (!post) {
            wcol_conn_wrong_method(conn, "POST");
        } else {
            stop(in, conn, id, who);
        }
    } else {
        wcol_conn_error(conn, 404, "unknown drill action (report, stop)");
    }
    return true;
}

void wcol_drills_metrics(struct wcol_incidents *in, struct wcol_prom *w)
{
    static const char *const states[] = { "requested", "running", "stopping" };
    uint64_t n[3] = { 0 };

    if (in->drills == NULL) {
        return;
    }
    pthread_mutex_lock(&in->drills->mu);
    for (unsigned i = 0; i < LIVE_MAX; i++) {
        const struct live *l = &in->drills->live[i];

        for (int k = 0; l->used && k < 3; k++) {
            n[k] += strcmp(l->state, states[k]) == 0;
        }
    }
    pthread_mutex_unlock(&in->drills->mu);
    wcol_prom_family(w, "ward_drills", "gauge", "drills not over yet, by state");
    for (int k = 0; k < 3; k++) {
        struct wcol_prom_label l = { "state", states[k] };

        wcol_prom_sample_u64(w, "ward_drills", &l, 1, n[k]);
    }
    wcol_prom_family(w, "ward_drill_refusals_total", "counter",
                     "drills an agent refused (its reason is in the drill)");
    wcol_prom_sample_u64(w, "ward_drill_refusals_total", NULL, 0,
                         atomic_load(&in->drills->refusals));
}
