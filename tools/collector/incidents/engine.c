/*
 * The incident engine: a thread with its own database connection. It reads the events stored
 * after its cursor (the after-commit subscriber only wakes it), opens, joins and reopens
 * incidents, and once a second resolves the ones healthy for the hold-down (reconciled with
 * the device's stored snapshot), escalates unacknowledged ones and re-posts firing alerts.
 * Every change, its timeline entry, its outbox rows and the cursor are one transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "incidents/incidents.h"
#include "incidents/drills.h"
#include "incidents/model.h"

#define EVENTS_PER_TXN 200
#define TICK_MS        500
#define TICK_ROWS      500
/* PostgreSQL: an event id may commit after a higher one (several collectors, or a rollback
 * leaves it out for ever). The engine waits this long at a gap in the ids before it passes it,
 * so an event committed late is not skipped. */
#define GAP_WAIT_MS 3000

/* A number member of a JSON text column, as bigint (NULL when absent or not a number). */
#define PG_INT(doc, key)                                                                           \
    "CASE WHEN jsonb_typeof(" doc "::jsonb->'" key "') = 'number' THEN (" doc "::jsonb->>'" key    \
    "')::numeric::bigint END"

struct gap {
    int64_t at;       /* the cursor a gap follows, -1 none */
    int64_t since_ms; /* since when */
};

struct ev {
    int64_t id;
    const char *device, *boot, *sensor, *from, *to;
    int64_t received_ms, time_ms, t_ms;
    int rank;
};

/*
 * PostgreSQL: the live incident of each (device, sensor) of a transaction's events, read in
 * one statement at its start (not one round trip per event) and kept as the engine changes
 * them. The engine holds the writers' turn (idb.h) for the whole transaction, so no one else
 * changes an incident meanwhile; what the engine changes other than through its own rows (a
 * new incident, the grouping under a parent) is forgotten and read again.
 */
struct live {
    char device[64];
    char comp[WCOL_INC_COMP_MAX + 1];
    bool found;
    struct wcol_incident x;
};

struct live_set {
    struct live *v; /* EVENTS_PER_TXN slots; NULL: every lookup reads the table */
    int n;
};

static struct live *live_slot(struct live_set *ls, const char *device, const char *comp)
{
    for (int i = 0; ls != NULL && i < ls->n; i++) {
        if (strcmp(ls->v[i].device, device) == 0 && strcmp(ls->v[i].comp, comp) == 0) {
            return &ls->v[i];
        }
    }
    return NULL;
}

/* wcol_inc_find_live(), from the set when it holds the problem. */
static int live_find(struct live_set *ls, struct wcol_idb *db, const char *device, const char *comp,
                     struct wcol_incident *x)
{
    struct live *l = live_slot(ls, device, comp);

    if (l == NULL) {
        return wcol_inc_find_live(db, device, comp, x);
    }
    if (!l->found) {
        return -ENOENT;
    }
    *x = l->x;
    return 0;
}

/* x was just written (it is live): the set's copy is x. */
static void live_keep(struct live_set *ls, const struct wcol_incident *x)
{
    struct live *l = live_slot(ls, x->device, x->component);

    if (l != NULL) {
        l->found = true;
        l->x = *x;
    }
}

/* The problem's row changed otherwise: read it from the table next time. */
static void live_forget(struct live_set *ls, const char *device, const char *comp)
{
    struct live *l = live_slot(ls, device, comp);

    if (l != NULL) {
        *l = ls->v[--ls->n];
    }
}

static bool is_bad(const char *to)
{
    return strcmp(to, "ok") != 0 && strcmp(to, "up") != 0;
}

/* Another transition of the problem; true when it just became flapping. */
static bool flap_transition(const struct wcol_policy *p, struct wcol_incident *x, int64_t now)
{
    if (now - x->flap_start_ms > (int64_t)p->flap_window_ms) {
        x->flap_start_ms = now;
        x->transitions = 1;
        x->flapping = 0;
        return false;
    }
    x->transitions++;
    if (!x->flapping && x->transitions >= (int64_t)p->flap_count) {
        x->flapping = 1;
        return true;
    }
    return false;
}

static int note_flapping(struct wcol_incidents *in, struct wcol_idb *db, struct wcol_incident *x,
                         int64_t now)
{
    char d[96];

    snprintf(d, sizeof(d), "%lld state changes within %llu s", (long long)x->transitions,
             (unsigned long long)(in->pol.flap_window_ms / 1000));
    int64_t tl = wcol_inc_timeline(db, x->id, now, "collector", "flapping", d, 0);

    return tl > 0 ? wcol_inc_notify(in, db, x, "flapping", tl, now) : -EIO;
}

/*
 * What the stored snapshot says of the incident's component: 1 healthy (ok, and newer than
 * `than_t_ms` of boot `boot`), 0 bad (not ok, and newer), -1 nothing newer known.
 */
static int snapshot_says(struct wcol_idb *db, const struct wcol_incident *x, const char *boot,
                         int64_t than_t_ms, char *state, size_t cap)
{
    struct wcol_idb_stmt *st = NULL;
    bool device = strcmp(x->component, "device") == 0;
    int rc = -1;

    if (wcol_idb_prepare_v2(
            db,
            device ? "SELECT state, NULL, NULL FROM devices WHERE id = ?1"
                   : wcol_idb_sql(
                         db,
                         "SELECT json_extract(s.doc, '$.state'), "
                         "json_extract(s.doc, '$.last_ms'), d.boot_id "
                         "FROM snapshot_sensors AS s JOIN devices_now AS d "
                         "ON d.id = s.device WHERE s.device = ?1 AND "
                         "s.id = ?2",
                         "SELECT s.doc::jsonb->>'state', " PG_INT(
                             "s.doc", "last_ms") ", d.boot_id FROM snapshot_sensors AS s JOIN "
                                                 "devices AS d ON d.id = s.device WHERE "
                                                 "s.device = ?1 AND s.id = ?2"),
            -1, &st, NULL) != SQLITE_OK) {
        return -1;
    }
    wcol_idb_bind_text(st, 1, x->device, -1, SQLITE_STATIC);
    if (!device) {
        wcol_idb_bind_text(st, 2, x->component, -1, SQLITE_STATIC);
    }
    if (wcol_idb_step(st) == SQLITE_ROW && wcol_idb_column_text(st, 0) != NULL) {
        const char *s = (const char *)wcol_idb_column_text(st, 0);
        const char *b = (const char *)wcol_idb_column_text(st, 2);
        bool newer = device || (b != NULL && strcmp(b, boot) != 0) ||
                     (wcol_idb_column_type(st, 1) == SQLITE_INTEGER &&
                      wcol_idb_column_int64(st, 1) > than_t_ms);

        snprintf(state, cap, "%s", s);
        if (newer) {
            rc = is_bad(s) ? 0 : 1;
        }
    }
    wcol_idb_finalize(st);
    return rc;
}

static int open_parent(struct wcol_incidents *in, struct wcol_idb *db, int64_t now, int64_t *id)
{
    struct wcol_incident p = {
        .severity = 3, .opened_ms = now, .first_event_ms = now, .flap_start_ms = now, .is_parent = 1
    };

    if (wcol_inc_find_live(db, WCOL_INC_PARENT_DEV, WCOL_INC_PARENT_COMP, &p) == 0) {
        *id = p.id;
        return 0;
    }
    snprintf(p.device, sizeof(p.device), "%s", WCOL_INC_PARENT_DEV);
    snprintf(p.component, sizeof(p.component), "%s", WCOL_INC_PARENT_COMP);
    snprintf(p.state, sizeof(p.state), "open");
    snprintf(p.last_state, sizeof(p.last_state), "silent");
    snprintf(p.runbook, sizeof(p.runbook), "%s", wcol_policy_runbook(&in->pol, "device"));
    if (wcol_inc_put(db, &p) != 0) {
        return -EIO;
    }
    int64_t tl = wcol_inc_timeline(db, p.id, now, "collector", "opened",
                                   "devices going silent together: grouped here", 0);

    *id = p.id;
    return tl > 0 ? wcol_inc_notify(in, db, &p, "firing", tl, now) : -EIO;
}

/* Many devices silent within the window: one parent incident speaks for them all. */
static int correlate(struct wcol_incidents *in, struct wcol_idb *db, struct wcol_incident *x,
                     int64_t now)
{
    struct wcol_idb_stmt *st = NULL;
    int64_t since = now - (int64_t)in->pol.correlate_window_ms, n = 0, parent;
    char d[64];

    if (wcol_idb_prepare_v2(db,
                            "SELECT count(*) FROM incidents WHERE component = 'device' AND "
                            "is_parent = 0 AND opened_ms >= ?1 AND state IN ('open', "
                            "'reopened', 'acknowledged')",
                            -1, &st, NULL) != SQLITE_OK) {
        return -EIO;
    }
    wcol_idb_bind_int64(st, 1, since);
    if (wcol_idb_step(st) == SQLITE_ROW) {
        n = wcol_idb_column_int64(st, 0);
    }
    wcol_idb_finalize(st);
    if (n < (int64_t)in->pol.correlate_min || open_parent(in, db, now, &parent) != 0) {
        return n < (int64_t)in->pol.correlate_min ? 0 : -EIO;
    }
    if (wcol_idb_prepare_v2(db,
                            "UPDATE incidents SET parent = ?1 WHERE component = 'device' AND "
                            "is_parent = 0 AND parent = 0 AND opened_ms >= ?2 AND state IN "
                            "('open', 'reopened', 'acknowledged')",
                            -1, &st, NULL) != SQLITE_OK) {
        return -EIO;
    }
    wcol_idb_bind_int64(st, 1, parent);
    wcol_idb_bind_int64(st, 2, since);
    int rc = wcol_idb_step(st);
    int moved = wcol_idb_changes(db);

    wcol_idb_finalize(st);
    x->parent = parent;
    snprintf(d, sizeof(d), "%d more device(s) grouped", moved);
    return rc == SQLITE_DONE &&
                   wcol_inc_timeline_note(db, parent, now, "collector", "grouped", d, 0) == 0
               ? 0
               : -EIO;
}

static void set_reading(struct wcol_incident *x, const struct ev *e)
{
    snprintf(x->last_state, sizeof(x->last_state), "%s", e->to);
    snprintf(x->last_boot, sizeof(x->last_boot), "%s", e->boot);
}

static int open_new(struct wcol_incidents *in, struct wcol_idb *db, const struct ev *e, int64_t now)
{
    struct wcol_incident x = { .severity = e->rank,
                               .opened_ms = now,
                               .flap_start_ms = now,
                               .events = 1,
                               .last_bad_t_ms = e->t_ms };
    char d[160], st[16];

    snprintf(x.device, sizeof(x.device), "%s", e->device);
    snprintf(x.component, sizeof(x.component), "%s", e->sensor);
    /* Never open for a reading the snapshot already shows ok (a later page of this boot). */
    if (snapshot_says(db, &x, e->boot, e->t_ms, st, sizeof(st)) == 1 &&
        strcmp(x.component, "device") != 0) {
        wcol_log_debug("incidents: %s %s: event %lld is older than an ok reading; not opened",
                       e->device, e->sensor, (long long)e->id);
        return 0;
    }
    snprintf(x.state, sizeof(x.state), "open");
    x.first_event_ms = e->time_ms > 0 ? e->time_ms : e->received_ms;
    snprintf(x.runbook, sizeof(x.runbook), "%s", wcol_policy_runbook(&in->pol, e->sensor));
    set_reading(&x, e);
    if (wcol_inc_put(db, &x) != 0 || wcol_drill_mark(db, &x) != 0) {
        return -EIO;
    }
    snprintf(d, sizeof(d), "%s -> %s (%s)", e->from, e->to, wcol_inc_sev_name(e->rank));
    int64_t tl = wcol_inc_timeline(db, x.id, now, "collector", "opened", d, e->id);

    if (tl < 0 || (strcmp(x.component, "device") == 0 && correlate(in, db, &x, now) != 0)) {
        return -EIO;
    }
    atomic_fetch_add(&in->opened, 1);
    return wcol_inc_notify(in, db, &x, "firing", tl, now);
}

static int bad_event(struct wcol_incidents *in, struct wcol_idb *db, struct wcol_incident *x,
                     const struct ev *e, int64_t now, bool reopen)
{
    char d[160];
    bool raised = e->rank > x->severity, flapped = false;

    if (reopen) {
        snprintf(x->state, sizeof(x->state), "reopened");
        x->reopened++;
        x->resolved_ms = 0;
        x->escalated = 0;
    }
    if (reopen || x->healthy_since_ms != 0) {
        flapped = flap_transition(&in->pol, x, now);
    }
    x->healthy_since_ms = 0;
    x->events++;
    x->last_bad_t_ms = e->t_ms;
    x->severity = raised ? e->rank : x->severity;
    set_reading(x, e);
    snprintf(d, sizeof(d), "%s -> %s (%s)%s", e->from, e->to, wcol_inc_sev_name(e->rank),
             raised ? ": severity raised" : "");
    /* The entry's id keys a notification only when one follows (else it is not waited for). */
    bool notify = !flapped && !x->flapping && (reopen || raised);
    const char *what = reopen ? "reopened" : "event";
    int64_t tl = notify ? wcol_inc_timeline(db, x->id, now, "collector", what, d, e->id)
                        : wcol_inc_timeline_note(db, x->id, now, "collector", what, d, e->id);

    if (tl < 0 || wcol_inc_put(db, x) != 0) {
        return -EIO;
    }
    if (flapped) {
        return note_flapping(in, db, x, now);
    }
    /* When flapping: one notification for the flapping, not one per flap. */
    return notify ? wcol_inc_notify(in, db, x, reopen ? "reopened" : "firing", tl, now) : 0;
}

static int good_event(struct wcol_incidents *in, struct wcol_idb *db, struct wcol_incident *x,
                      const struct ev *e, int64_t now)
{
    char d[160];
    bool flapped = x->healthy_since_ms == 0 && flap_transition(&in->pol, x, now);

    x->events++;
    if (x->healthy_since_ms == 0) {
        x->healthy_since_ms = now;
    }
    x->healthy_t_ms = e->t_ms;
    snprintf(x->last_state, sizeof(x->last_state), "%s", e->to);
    snprintf(d, sizeof(d), "%s -> %s: healthy; resolves after the hold-down (%llu s)", e->from,
             e->to, (unsigned long long)(in->pol.hold_down_ms / 1000));
    if (wcol_inc_timeline_note(db, x->id, now, "collector", "event", d, e->id) < 0 ||
        wcol_inc_put(db, x) != 0) {
        return -EIO;
    }
    return flapped ? note_flapping(in, db, x, now) : 0;
}

static const char *col(struct wcol_idb_stmt *st, int i);

/* ls: the transaction's live incidents (NULL: none kept). */
static int on_event(struct wcol_incidents *in, struct wcol_idb *db, const struct ev *e, int64_t now,
                    struct live_set *ls)
{
    struct wcol_incident x;
    int rc;

    if (e->sensor == NULL || e->to == NULL || e->from == NULL || e->device == NULL ||
        strlen(e->sensor) > WCOL_INC_COMP_MAX) {
        return 0;
    }
    rc = live_find(ls, db, e->device, e->sensor, &x);
    if (rc == -EIO) {
        return rc;
    }
    if (!is_bad(e->to)) {
        rc = rc == 0 ? good_event(in, db, &x, e, now) ?: 1 : 0;
    } else if (rc == 0) {
        rc = bad_event(in, db, &x, e, now, false) ?: 1;
    } else if ((rc = wcol_inc_find_resolved(db, e->device, e->sensor, &x)) == 0) {
        rc = bad_event(in, db, &x, e, now, true) ?: 1;
    } else if (rc == -ENOENT) {
        rc = open_new(in, db, e, now);
        /* A silent device's incident may group others under a parent: forget them all. */
        live_forget(ls, e->device, e->sensor);
        if (ls != NULL && strcmp(e->sensor, "device") == 0) {
            ls->n = 0;
        }
    }
    if (rc == 1) {
        live_keep(ls, &x); /* x is written and live */
        rc = 0;
    }
    return rc;
}

/* PostgreSQL: the live incidents of the (device, sensor) problems of the next events, as
 * wcol_inc_find_live() reads each, in one statement. */
static void live_load(struct live_set *ls, struct wcol_idb *db, int64_t cursor)
{
    struct wcol_idb_stmt *st = NULL;

    if (ls == NULL) {
        return;
    }
    ls->n = 0;
    if (ls->v == NULL ||
        wcol_idb_prepare_v2(
            db,
            "SELECT i.*, k.device, k.sensor FROM (SELECT DISTINCT device, sensor FROM (SELECT "
            "device, sensor FROM events WHERE id > ?1 ORDER BY id LIMIT ?2) AS e) AS k LEFT JOIN "
            "LATERAL (SELECT " INC_COLS " FROM incidents WHERE device = k.device AND component = "
            "k.sensor AND state IN ('open', 'reopened', 'acknowledged') ORDER BY id DESC LIMIT 1) "
            "AS i ON true",
            -1, &st, NULL) != SQLITE_OK) {
        return;
    }
    wcol_idb_bind_int64(st, 1, cursor);
    wcol_idb_bind_int(st, 2, EVENTS_PER_TXN);
    while (ls->n < EVENTS_PER_TXN && wcol_idb_step(st) == SQLITE_ROW) {
        /* k.device and k.sensor follow i.*: read from the end, whatever INC_COLS holds */
        int n = wcol_idb_column_count(st);
        const char *d = col(st, n - 2), *c = col(st, n - 1);
        struct live *l = &ls->v[ls->n];

        /* A name the row's buffer would cut is left to the table. */
        if (d == NULL || c == NULL || strlen(d) >= sizeof(l->device) ||
            strlen(c) >= sizeof(l->comp)) {
            continue;
        }
        snprintf(l->device, sizeof(l->device), "%s", d);
        snprintf(l->comp, sizeof(l->comp), "%s", c);
        l->found = wcol_idb_column_type(st, 0) != SQLITE_NULL;
        if (l->found) {
            wcol_inc_row(st, &l->x);
        }
        ls->n++;
    }
    wcol_idb_finalize(st);
}

static const char *col(struct wcol_idb_stmt *st, int i)
{
    return (const char *)wcol_idb_column_text(st, i);
}

static int64_t max_event(struct wcol_idb *db, const char *sql);

/* PostgreSQL: at a gap after `last`, wait (true) until it has stayed open GAP_WAIT_MS. */
static bool gap_holds(struct gap *g, int64_t last, int64_t id, int64_t now)
{
    if (id == last + 1) {
        return false;
    }
    if (g->at != last) {
        g->at = last;
        g->since_ms = now;
    }
    return now - g->since_ms < GAP_WAIT_MS;
}

/*
 * One transaction: up to EVENTS_PER_TXN events after the cursor, which is read again inside
 * the writers' turn (idb.h): a collector that led before this one, or believes it still does,
 * moved it in its own transaction, so no event is judged twice or skipped.
 * @return events, or -EIO.
 */
static int process_events(struct wcol_incidents *in, struct wcol_idb *db, int64_t *cursor,
                          struct gap *g, struct live_set *ls)
{
    struct wcol_idb_stmt *st = NULL;
    int n = 0, rc = 0;
    int64_t last, now = wcol_inc_now_ms();
    char sql[96];

    if (wcol_inc_exec(db, "BEGIN IMMEDIATE") != 0) {
        return -EIO;
    }
    last = *cursor = max_event(db, "SELECT value FROM incident_cursor WHERE name = 'events'");
    if (*cursor < 0 ||
        wcol_idb_prepare_v2(
            db,
            wcol_idb_sql(db,
                         "SELECT id, device, boot_id, received_ms, "
                         "coalesce(time_ms, 0), sensor, from_state, to_state, "
                         "severity_rank, coalesce(json_extract(doc, '$.t_ms'), "
                         "0) FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
                         "SELECT id, device, boot_id, received_ms, "
                         "coalesce(time_ms, 0), sensor, from_state, to_state, "
                         "severity_rank, coalesce(" PG_INT(
                             "doc", "t_ms") ", 0) FROM events WHERE id > ?1 ORDER BY id LIMIT ?2"),
            -1, &st, NULL) != SQLITE_OK) {
        wcol_inc_exec(db, "ROLLBACK");
        return -EIO;
    }
    wcol_idb_bind_int64(st, 1, *cursor);
    wcol_idb_bind_int(st, 2, EVENTS_PER_TXN);
    live_load(ls, db, *cursor);
    while (rc == 0 && wcol_idb_step(st) == SQLITE_ROW) {
        struct ev e = { .id = wcol_idb_column_int64(st, 0),
                        .device = col(st, 1),
                        .boot = col(st, 2) ? col(st, 2) : "",
                        .received_ms = wcol_idb_column_int64(st, 3),
                        .time_ms = wcol_idb_column_int64(st, 4),
                        .sensor = col(st, 5),
                        .from = col(st, 6),
                        .to = col(st, 7),
                        .rank = wcol_idb_column_int(st, 8),
                        .t_ms = wcol_idb_column_int64(st, 9) };

        e.rank = e.rank < 1 ? 1 : e.rank > 3 ? 3 : e.rank;
        if (wcol_idb_is_pg(db) && gap_holds(g, last, e.id, now)) {
            break;
        }
        rc = on_event(in, db, &e, now, ls);
        last = e.id;
        n++;
    }
    wcol_idb_finalize(st);
    snprintf(sql, sizeof(sql), "UPDATE incident_cursor SET value = %lld WHERE name = 'events'",
             (long long)last);
    if (rc != 0 || wcol_inc_exec(db, sql) != 0 || wcol_inc_exec(db, "COMMIT") != 0) {
        wcol_inc_exec(db, "ROLLBACK");
        return -EIO;
    }
    *cursor = last;
    atomic_fetch_add(&in->evaluated, (uint64_t)n);
    return n;
}

/* A forecast goes through on_event() as if it were an event: one incident per component. */
int wcol_incidents_forecast(struct wcol_incidents *in, const char *device, const char *sensor,
                            bool firing, const char *detail)
{
    char comp[WCOL_INC_COMP_MAX + 1];

    snprintf(comp, sizeof(comp), "forecast:%s", sensor);
    return wcol_incidents_condition(in, device, comp, "forecast", firing, detail) < 0 ? -EIO : 0;
}

int64_t wcol_incidents_condition(struct wcol_incidents *in, const char *device, const char *comp,
                                 const char *state, bool firing, const char *detail)
{
    struct ev e = { .device = device,
                    .boot = "",
                    .sensor = comp,
                    .rank = 1,
                    .from = firing ? "ok" : state,
                    .to = firing ? state : "ok" };
    struct wcol_incident x;
    struct wcol_idb *db = NULL;
    int64_t now = wcol_inc_now_ms(), id = 0;
    int rc;

    if (in == NULL || device == NULL || comp == NULL || state == NULL || detail == NULL) {
        return -EINVAL;
    }
    e.received_ms = e.time_ms = now;
    if (wcol_inc_db_open(&db, in, 5000, "conditions") != 0) {
        return -EIO;
    }
    wcol_idb_unprepared(db); /* one condition's statements, then closed */
    wcol_inc_pol_enter(in, true);
    rc = wcol_inc_exec(db, "BEGIN IMMEDIATE") == 0 ? on_event(in, db, &e, now, NULL) : -EIO;
    if (rc == 0 && wcol_inc_find_live(db, device, comp, &x) == 0) {
        id = x.id;
        rc = wcol_inc_timeline_note(db, x.id, now, "collector", state, detail, 0);
    }
    rc = rc ?: wcol_inc_exec(db, "COMMIT");
    if (rc != 0) {
        wcol_inc_exec(db, "ROLLBACK");
    }
    wcol_inc_pol_leave(in);
    wcol_idb_close(db);
    wcol_inc_wake(in, false, true);
    return rc != 0 ? -EIO : firing ? id : 0;
}

/* ---- once a second ---- */

static int resolve(struct wcol_incidents *in, struct wcol_idb *db, struct wcol_incident *x,
                   const char *why, int64_t now)
{
    snprintf(x->state, sizeof(x->state), "resolved");
    x->resolved_ms = now;
    x->healthy_since_ms = 0;
    int64_t tl = wcol_inc_timeline(db, x->id, now, "collector", "resolved", why, 0);

    return tl > 0 && wcol_inc_put(db, x) == 0 ? wcol_inc_notify(in, db, x, "resolved", tl, now)
                                              : -EIO;
}

static bool has_alertmanager(const struct wcol_policy *p)
{
    for (unsigned i = 0; i < p->n_receivers; i++) {
        if (p->receivers[i].kind == WCOL_RECV_ALERTMANAGER) {
            return true;
        }
    }
    return false;
}

/* Would review() change x? Read-only, so the write lock is taken only when it would. */
static bool needs_review(struct wcol_incidents *in, struct wcol_idb *db,
                         const struct wcol_incident *x, int64_t now)
{
    const struct wcol_policy *p = &in->pol;
    uint64_t deadline = p->ack_deadline_ms[x->severity & 3];
    char st[16];

    if (x->is_parent) {
        return false;
    }
    if (x->healthy_since_ms != 0) {
        return now - x->healthy_since_ms >= (int64_t)p->hold_down_ms;
    }
    return snapshot_says(db, x, x->last_boot, x->last_bad_t_ms, st, sizeof(st)) == 1 ||
           (!x->escalated && deadline > 0 && strcmp(x->state, "acknowledged") != 0 &&
            now - x->opened_ms >= (int64_t)deadline && x->parent == 0) ||
           (x->resend_ms + (int64_t)p->resend_ms <= now && x->parent == 0 && has_alertmanager(p));
}

/* A live incident, looked at again: resolve, reconcile, escalate, re-post. */
static int review(struct wcol_incidents *in, struct wcol_idb *db, struct wcol_incident *x,
                  int64_t now)
{
    const struct wcol_policy *p = &in->pol;
    char st[16], d[160];

    if (x->is_parent) {
        return 0;
    }
    if (x->healthy_since_ms != 0 && now - x->healthy_since_ms >= (int64_t)p->hold_down_ms) {
        if (snapshot_says(db, x, x->last_boot, x->healthy_t_ms - 1, st, sizeof(st)) == 0) {
            /* Never resolve while the reading is still bad. */
            x->healthy_since_ms = 0;
            snprintf(d, sizeof(d), "hold-down over but the snapshot still reports %s", st);
            return wcol_inc_timeline_note(db, x->id, now, "collector", "still bad", d, 0) == 0
                       ? wcol_inc_put(db, x)
                       : -EIO;
        }
        return resolve(in, db, x, "healthy for the hold-down", now);
    }
    if (x->healthy_since_ms == 0 &&
        snapshot_says(db, x, x->last_boot, x->last_bad_t_ms, st, sizeof(st)) == 1) {
        /* The recovery event was lost or never sent: the snapshot is newer and ok. */
        x->healthy_since_ms = now;
        snprintf(d, sizeof(d), "the stored snapshot reports %s (newer than the last event)", st);
        return wcol_inc_timeline_note(db, x->id, now, "collector", "snapshot ok", d, 0) == 0
                   ? wcol_inc_put(db, x)
                   : -EIO;
    }
    uint64_t deadline = p->ack_deadline_ms[x->severity & 3];

    if (!x->escalated && deadline > 0 && strcmp(x->state, "acknowledged") != 0 &&
        now - x->opened_ms >= (int64_t)deadline && x->parent == 0) {
        x->escalated = 1;
        snprintf(d, sizeof(d), "not acknowledged within %llu s",
                 (unsigned long long)(deadline / 1000));
        int64_t tl = wcol_inc_timeline(db, x->id, now, "collector", "escalated", d, 0);

        return tl > 0 && wcol_inc_put(db, x) == 0
                   ? wcol_inc_notify(in, db, x, "escalation", tl, now)
                   : -EIO;
    }
    if (x->resend_ms + (int64_t)p->resend_ms <= now && x->parent == 0 && has_alertmanager(p)) {
        x->resend_ms = now;
        return wcol_inc_put(db, x) ?: wcol_inc_notify(in, db, x, "refresh", -now, now);
    }
    return 0;
}

static int resolve_parents(struct wcol_incidents *in, struct wcol_idb *db, int64_t now)
{
    struct wcol_idb_stmt *st = NULL;
    int64_t ids[64];
    int n = 0, rc = 0;

    if (wcol_idb_prepare_v2(db,
                            "SELECT p.id FROM incidents AS p WHERE p.is_parent = 1 AND p.state IN "
                            "('open', 'reopened', 'acknowledged') AND NOT EXISTS (SELECT 1 FROM "
                            "incidents AS c WHERE c.parent = p.id AND c.state IN ('open', "
                            "'reopened', 'acknowledged')) LIMIT 64",
                            -1, &st, NULL) != SQLITE_OK) {
        return -EIO;
    }
    while (n < 64 && wcol_idb_step(st) == SQLITE_ROW) {
        ids[n++] = wcol_idb_column_int64(st, 0);
    }
    wcol_idb_finalize(st);
    for (int i = 0; i < n && rc == 0; i++) {
        struct wcol_incident x;

        rc = wcol_inc_get(db, ids[i], &x)
                 ?: resolve(in, db, &x, "every grouped device is back", now);
    }
    return rc;
}

static bool has_live_children(struct wcol_idb *db, int64_t parent)
{
    struct wcol_idb_stmt *st = NULL;
    bool any = true;

    if (wcol_idb_prepare_v2(db,
                            "SELECT 1 FROM incidents WHERE parent = ?1 AND state IN ('open', "
                            "'reopened', 'acknowledged') LIMIT 1",
                            -1, &st, NULL) == SQLITE_OK) {
        wcol_idb_bind_int64(st, 1, parent);
        any = wcol_idb_step(st) == SQLITE_ROW;
    }
    wcol_idb_finalize(st);
    return any;
}

/* The live incidents that need a change now (read-only). @return how many, -EIO. */
static int due_reviews(struct wcol_incidents *in, struct wcol_idb *db, int64_t now, int64_t *ids,
                       bool *parents)
{
    struct wcol_idb_stmt *st = NULL;
    int n = 0;

    *parents = false;
    if (wcol_idb_prepare_v2(db,
                            "SELECT id FROM incidents WHERE state IN ('open', 'reopened', "
                            "'acknowledged') ORDER BY id LIMIT ?1",
                            -1, &st, NULL) != SQLITE_OK) {
        return -EIO;
    }
    wcol_idb_bind_int(st, 1, TICK_ROWS);
    while (wcol_idb_step(st) == SQLITE_ROW) {
        struct wcol_incident x;

        if (wcol_inc_get(db, wcol_idb_column_int64(st, 0), &x) == 0) {
            *parents |= x.is_parent != 0 && !has_live_children(db, x.id);
            if (needs_review(in, db, &x, now)) {
                ids[n++] = x.id;
            }
        }
    }
    wcol_idb_finalize(st);
    return n;
}

static int tick(struct wcol_incidents *in, struct wcol_idb *db)
{
    static int64_t ids[TICK_ROWS];
    int64_t now = wcol_inc_now_ms();
    bool parents;
    int n = due_reviews(in, db, now, ids, &parents), rc = 0;

    if (n <= 0 && !parents) {
        return n;
    }
    if (wcol_inc_exec(db, "BEGIN IMMEDIATE") != 0) {
        return -EIO;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        struct wcol_incident x;

        /* Read again inside the transaction: the operator may have changed it since. */
        rc = wcol_inc_get(db, ids[i], &x);
        if (rc == 0 && wcol_inc_live(x.state)) {
            rc = review(in, db, &x, now);
        }
    }
    rc = rc ?: resolve_parents(in, db, now);
    if (rc != 0 || wcol_inc_exec(db, "COMMIT") != 0) {
        wcol_inc_exec(db, "ROLLBACK");
        return -EIO;
    }
    return 0;
}

static bool has_live(struct wcol_idb *db)
{
    struct wcol_idb_stmt *st = NULL;
    bool any = false;

    if (wcol_idb_prepare_v2(db,
                            "SELECT 1 FROM incidents WHERE state IN ('open', 'reopened', "
                            "'acknowledged') LIMIT 1",
                            -1, &st, NULL) == SQLITE_OK) {
        any = wcol_idb_step(st) == SQLITE_ROW;
    }
    wcol_idb_finalize(st);
    return any;
}

static int64_t max_event(struct wcol_idb *db, const char *sql)
{
    struct wcol_idb_stmt *st = NULL;
    int64_t v = -1;

    if (wcol_idb_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        wcol_idb_step(st) == SQLITE_ROW) {
        v = wcol_idb_column_int64(st, 0);
    }
    wcol_idb_finalize(st);
    return v;
}

/* Open the engine's connection, again and again while the database is away. */
static struct wcol_idb *engine_db(struct wcol_incidents *in)
{
    struct wcol_idb *db = NULL;

    while (!in->stop && wcol_inc_db_open(&db, in, 5000, "incidents") != 0) {
        wcol_idb_close(db);
        db = NULL;
        if (in->pg_conninfo == NULL) {
            return NULL; /* a local file that does not open will not open later */
        }
        wcol_inc_wait(in, &in->wake_engine, 2000);
    }
    wcol_idb_own_thread(db); /* this thread's connection */
    return db;
}

void *wcol_inc_engine_main(void *arg)
{
    struct wcol_incidents *in = arg;
    struct wcol_idb *db = NULL;
    struct gap gap = { .at = -1 };
    int64_t cursor = -1, next_tick = 0;
    struct live_set live = { 0 };

    pthread_setname_np(pthread_self(), "wcol-incidents");
    if ((db = engine_db(in)) == NULL) {
        return NULL;
    }
    if (wcol_idb_is_pg(db)) {
        /* NULL (no memory): every event reads the table, as with SQLite. */
        live.v = calloc(EVENTS_PER_TXN, sizeof(*live.v));
    }
    while (!in->stop) {
        int n = 0;

        if (!atomic_load(&in->leader)) {
            /* Another collector leads; its engine moves the shared cursor (idb.h). */
            wcol_inc_wait(in, &in->wake_engine, TICK_MS);
            continue;
        }
        wcol_inc_pol_enter(in, true);
        /* Only a write transaction when there is something to write. */
        if (max_event(db, "SELECT coalesce(max(id), 0) FROM events") > cursor) {
            n = process_events(in, db, &cursor, &gap, live.v != NULL ? &live : NULL);
        }
        int64_t now = wcol_inc_now_ms();

        if (now >= next_tick) {
            next_tick = now + TICK_MS;
            if (has_live(db) && tick(in, db) != 0) {
                wcol_log_warn("incidents: a review pass failed; retried in %d ms", TICK_MS);
            }
        }
        wcol_inc_pol_leave(in);
        if (n < 0) {
            wcol_log_warn("incidents: evaluating events failed; retried");
        }
        if (n != EVENTS_PER_TXN) {
            wcol_inc_wait(in, &in->wake_engine, n < 0 ? 1000 : TICK_MS);
        }
    }
    wcol_idb_close(db);
    free(live.v);
    return NULL;
}
