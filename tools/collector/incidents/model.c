#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/jw.h"
#include "common/log.h"
#include "incidents/incidents.h"
#include "incidents/model.h"

#define BODY_MAX (64u * 1024u)

/*
 * The incident tables' migrations, in the store's way (store_sqlite.c): ordered steps, each in
 * a transaction with the row that records it (here in incidents_schema, so the store's own
 * schema_version keeps counting only its steps). A released step never changes.
 */
static const char s_inc_v1[] =
    "CREATE TABLE IF NOT EXISTS incidents ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  device TEXT NOT NULL, component TEXT NOT NULL, state TEXT NOT NULL,"
    "  severity INTEGER NOT NULL, opened_ms INTEGER NOT NULL, acked_ms INTEGER NOT NULL,"
    "  resolved_ms INTEGER NOT NULL, closed_ms INTEGER NOT NULL, first_event_ms INTEGER NOT NULL,"
    "  healthy_since_ms INTEGER NOT NULL, healthy_t_ms INTEGER NOT NULL,"
    "  last_bad_t_ms INTEGER NOT NULL, last_boot TEXT NOT NULL, last_state TEXT NOT NULL,"
    "  events INTEGER NOT NULL, flap_start_ms INTEGER NOT NULL, transitions INTEGER NOT NULL,"
    "  flapping INTEGER NOT NULL, parent INTEGER NOT NULL, is_parent INTEGER NOT NULL,"
    "  escalated INTEGER NOT NULL, resend_ms INTEGER NOT NULL, reopened INTEGER NOT NULL,"
    "  assignee TEXT NOT NULL, commander TEXT NOT NULL, runbook TEXT NOT NULL,"
    "  cause TEXT, followup TEXT, drill INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX IF NOT EXISTS incidents_problem ON incidents(device, component, id);"
    "CREATE INDEX IF NOT EXISTS incidents_by_state ON incidents(state, id);"
    "CREATE TABLE IF NOT EXISTS incident_timeline ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, incident INTEGER NOT NULL, at_ms INTEGER NOT NULL,"
    "  who TEXT NOT NULL, what TEXT NOT NULL, detail TEXT, event_id INTEGER"
    ");"
    "CREATE INDEX IF NOT EXISTS timeline_by_incident ON incident_timeline(incident, id);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, incident INTEGER NOT NULL, receiver TEXT NOT NULL,"
    "  kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, next_ms INTEGER NOT NULL, attempts INTEGER NOT NULL,"
    "  delivered_ms INTEGER, last_error TEXT, UNIQUE (key, receiver)"
    ");"
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(state, receiver, incident, id);"
    "CREATE INDEX IF NOT EXISTS outbox_by_incident ON outbox(incident, id);"
    "CREATE TABLE IF NOT EXISTS silences ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, pattern TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    "  until_ms INTEGER NOT NULL, who TEXT NOT NULL, reason TEXT NOT NULL"
    ");"
    "CREATE TABLE IF NOT EXISTS incident_cursor ("
    "  name TEXT PRIMARY KEY, value INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    /* Incidents start from the events stored after the upgrade, not the whole history. */
    "INSERT OR IGNORE INTO incident_cursor (name, value) "
    "SELECT 'events', coalesce(max(id), 0) FROM events;";

/* Drills (drills.c): the requests, and which drill an incident of a drill sensor belongs to. */
static const char s_inc_v2[] =
    "ALTER TABLE incidents ADD COLUMN drill_id INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE IF NOT EXISTS drills ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, scenario TEXT NOT NULL,"
    "  for_s INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT, who TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL DEFAULT 0,"
    "  ended_ms INTEGER NOT NULL DEFAULT 0, stopped_by TEXT"
    ");"
    "CREATE INDEX IF NOT EXISTS drills_by_device ON drills(device, id);"
    "CREATE INDEX IF NOT EXISTS incidents_by_drill ON incidents(drill_id) WHERE drill_id > 0;"
    "CREATE INDEX IF NOT EXISTS outbox_delivered ON outbox(delivered_ms) WHERE state = "
    "'delivered';";

static const char *const s_inc_migrations[] = {
    s_inc_v1, /* 1: incidents, timeline, outbox, silences, the engine's cursor */
    s_inc_v2, /* 2: drills, incidents.drill_id, the pruning index */
};

#define INC_SCHEMA ((int)(sizeof(s_inc_migrations) / sizeof(s_inc_migrations[0])))

bool wcol_inc_live(const char *state)
{
    return strcmp(state, "open") == 0 || strcmp(state, "reopened") == 0 ||
           strcmp(state, "acknowledged") == 0;
}

const char *wcol_inc_sev_name(int rank)
{
    static const char *const names[] = { "none", "low", "medium", "high" };

    return rank >= 0 && rank <= 3 ? names[rank] : "none";
}

int64_t wcol_inc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int wcol_inc_exec(struct wcol_idb *db, const char *sql)
{
    if (wcol_idb_exec(db, sql) != SQLITE_OK) {
        wcol_log_error("incidents: storage: %s", wcol_idb_errmsg(db));
        return -EIO;
    }
    return 0;
}

/* "file:PATH?mode=ro" with the URI's special characters escaped. */
static int ro_uri(const char *path, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "file:");

    for (const char *p = path; *p != '\0'; p++) {
        if (o + 4 >= cap) {
            return -1;
        }
        if (*p == '%' || *p == '?' || *p == '#') {
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", (unsigned char)*p);
        } else {
            out[o++] = *p;
        }
    }
    return snprintf(out + o, cap - o, "?mode=ro") < (int)(cap - o) ? 0 : -1;
}

static int attach_store(sqlite3 *db, const char *path)
{
    char uri[8300];
    sqlite3_stmt *st = NULL;
    int rc = -EIO;

    if (access(path, F_OK) != 0 && errno == ENOENT) {
        return 0; /* the store is not a SQLite file here (PostgreSQL, docs/storage.md) */
    }
    if (ro_uri(path, uri, sizeof(uri)) == 0 &&
        sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS w", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        wcol_log_error("incidents: cannot attach %s: %s", path, sqlite3_errmsg(db));
    }
    return rc;
}

int wcol_inc_db_open(struct wcol_idb **db, const struct wcol_incidents *in, int busy_ms,
                     const char *who)
{
    if (in->pg_conninfo != NULL) {
        return wcol_idb_open_pg(db, in->pg_conninfo, who); /* the tables are the store's (idb.h) */
    }
    int fd = open(in->inc_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd < 0 || fchmod(fd, 0600) != 0) {
        wcol_log_error("incidents: cannot create %s: %s", in->inc_path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -EIO;
    }
    close(fd);
    if (wcol_idb_open_sqlite(db, in->inc_path) != 0) {
        return -EIO;
    }
    sqlite3_busy_timeout(wcol_idb_sqlite(*db), busy_ms);
    if (attach_store(wcol_idb_sqlite(*db), in->db_path) != 0) {
        return -EIO;
    }
    return wcol_inc_exec(*db, "PRAGMA main.journal_mode = WAL; PRAGMA main.synchronous = FULL");
}

static int one_int(struct wcol_idb *db, const char *sql, int64_t *out)
{
    struct wcol_idb_stmt *st = NULL;
    int rc = wcol_idb_prepare_v2(db, sql, -1, &st, NULL);

    *out = 0;
    if (rc == SQLITE_OK && (rc = wcol_idb_step(st)) == SQLITE_ROW) {
        *out = wcol_idb_column_int64(st, 0);
    }
    wcol_idb_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        wcol_log_error("incidents: storage: %s", wcol_idb_errmsg(db));
        return -EIO;
    }
    return 0;
}

int wcol_inc_db_migrate(struct wcol_idb *db)
{
    int64_t v = 0;
    char sql[200];

    if (wcol_idb_is_pg(db)) {
        return 0; /* the store's migrations made the tables (store/store_pg.c) */
    }
    if (wcol_inc_exec(db, "CREATE TABLE IF NOT EXISTS incidents_schema (version INTEGER "
                          "PRIMARY KEY, applied_ms INTEGER NOT NULL)") != 0 ||
        one_int(db, "SELECT coalesce(max(version), 0) FROM incidents_schema", &v) != 0) {
        return -EIO;
    }
    if (v > INC_SCHEMA) {
        wcol_log_error("incidents: the database's incident schema %lld is newer than this "
                       "collector's %d; use a newer ward-collector",
                       (long long)v, INC_SCHEMA);
        return -EIO;
    }
    for (size_t i = (size_t)v; i < (size_t)INC_SCHEMA; i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO incidents_schema (version, applied_ms) VALUES (%zu, %lld)", i + 1,
                 (long long)wcol_inc_now_ms());
        if (wcol_inc_exec(db, "BEGIN IMMEDIATE") != 0) {
            return -EIO;
        }
        if (wcol_inc_exec(db, s_inc_migrations[i]) != 0 || wcol_inc_exec(db, sql) != 0 ||
            wcol_inc_exec(db, "COMMIT") != 0) {
            wcol_inc_exec(db, "ROLLBACK");
            return -EIO;
        }
    }
    return 0;
}

/* ---- rows ---- */

static void col_str(struct wcol_idb_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *s = wcol_idb_column_text(st, i);

    snprintf(dst, cap, "%s", s ? (const char *)s : "");
}

void wcol_inc_row(struct wcol_idb_stmt *st, struct wcol_incident *x)
{
    int i = 0;

    memset(x, 0, sizeof(*x));
    x->id = wcol_idb_column_int64(st, i++);
    col_str(st, i++, x->device, sizeof(x->device));
    col_str(st, i++, x->component, sizeof(x->component));
    col_str(st, i++, x->state, sizeof(x->state));
    x->severity = wcol_idb_column_int(st, i++);
    x->opened_ms = wcol_idb_column_int64(st, i++);
    x->acked_ms = wcol_idb_column_int64(st, i++);
    x->resolved_ms = wcol_idb_column_int64(st, i++);
    x->closed_ms = wcol_idb_column_int64(st, i++);
    x->first_event_ms = wcol_idb_column_int64(st, i++);
    x->healthy_since_ms = wcol_idb_column_int64(st, i++);
    x->healthy_t_ms = wcol_idb_column_int64(st, i++);
    x->last_bad_t_ms = wcol_idb_column_int64(st, i++);
    col_str(st, i++, x->last_boot, sizeof(x->last_boot));
    col_str(st, i++, x->last_state, sizeof(x->last_state));
    x->events = wcol_idb_column_int64(st, i++);
    x->flap_start_ms = wcol_idb_column_int64(st, i++);
    x->transitions = wcol_idb_column_int64(st, i++);
    x->flapping = wcol_idb_column_int(st, i++);
    x->parent = wcol_idb_column_int64(st, i++);
    x->is_parent = wcol_idb_column_int(st, i++);
    x->escalated = wcol_idb_column_int(st, i++);
    x->resend_ms = wcol_idb_column_int64(st, i++);
    x->reopened = wcol_idb_column_int(st, i++);
    col_str(st, i++, x->assignee, sizeof(x->assignee));
    col_str(st, i++, x->commander, sizeof(x->commander));
    col_str(st, i++, x->runbook, sizeof(x->runbook));
    x->drill = wcol_idb_column_int(st, i++);
    x->drill_id = wcol_idb_column_int64(st, i++);
}

static int get_where(struct wcol_idb *db, const char *where, const char *a, const char *b,
                     int64_t id, struct wcol_incident *x)
{
    char sql[512];
    struct wcol_idb_stmt *st = NULL;

    snprintf(sql, sizeof(sql), "SELECT " INC_COLS " FROM incidents WHERE %s", where);
    if (wcol_idb_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        wcol_log_error("incidents: storage: %s", wcol_idb_errmsg(db));
        return -EIO;
    }
    if (a != NULL) {
        wcol_idb_bind_text(st, 1, a, -1, SQLITE_STATIC);
        wcol_idb_bind_text(st, 2, b, -1, SQLITE_STATIC);
    } else {
        wcol_idb_bind_int64(st, 1, id);
    }
    int rc = wcol_idb_step(st);

    if (rc == SQLITE_ROW) {
        wcol_inc_row(st, x);
    }
    wcol_idb_finalize(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int wcol_inc_get(struct wcol_idb *db, int64_t id, struct wcol_incident *inc)
{
    return get_where(db, "id = ?1", NULL, NULL, id, inc);
}

int wcol_inc_find_live(struct wcol_idb *db, const char *device, const char *component,
                       struct wcol_incident *inc)
{
    return get_where(db,
                     "device = ?1 AND component = ?2 AND state IN ('open', 'reopened', "
                     "'acknowledged') ORDER BY id DESC LIMIT 1",
                     device, component, 0, inc);
}

int wcol_inc_find_resolved(struct wcol_idb *db, const char *device, const char *component,
                           struct wcol_incident *inc)
{
    return get_where(db,
                     "device = ?1 AND component = ?2 AND state = 'resolved' ORDER BY id DESC "
                     "LIMIT 1",
                     device, component, 0, inc);
}

/* Incident rows written (opened, updated, acknowledged, resolved...): the dashboard's event
 * stream tells its pages to look again when this moves (dash/stream.h). */
static _Atomic uint64_t s_changes;

uint64_t wcol_incidents_changes(void)
{
    return atomic_load(&s_changes);
}

#define INC_INS                                                                                    \
    "INSERT INTO incidents (device, component, state, severity, opened_ms, acked_ms, "             \
    "resolved_ms, closed_ms, first_event_ms, healthy_since_ms, healthy_t_ms, last_bad_t_ms, "      \
    "last_boot, last_state, events, flap_start_ms, transitions, flapping, parent, is_parent, "     \
    "escalated, resend_ms, reopened, assignee, commander, runbook) VALUES (?2, ?3, ?4, ?5, "       \
    "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, "       \
    "?24, ?25, ?26, ?27)"

/* Step an INSERT that ends with RETURNING id (both dialects): *id that id, 0 without it.
 * @return SQLITE_DONE or an error code. */
static int step_returning(struct wcol_idb_stmt *st, int64_t *id)
{
    int rc = wcol_idb_step(st);

    *id = 0;
    if (rc == SQLITE_ROW) {
        *id = wcol_idb_column_int64(st, 0);
        rc = wcol_idb_step(st);
    }
    return rc;
}

int wcol_inc_put(struct wcol_idb *db, struct wcol_incident *x)
{
    static const char upd[] =
        "UPDATE incidents SET device = ?2, component = ?3, state = ?4, severity = ?5, "
        "opened_ms = ?6, acked_ms = ?7, resolved_ms = ?8, closed_ms = ?9, first_event_ms = ?10, "
        "healthy_since_ms = ?11, healthy_t_ms = ?12, last_bad_t_ms = ?13, last_boot = ?14, "
        "last_state = ?15, events = ?16, flap_start_ms = ?17, transitions = ?18, flapping = ?19, "
        "parent = ?20, is_parent = ?21, escalated = ?22, resend_ms = ?23, reopened = ?24, "
        "assignee = ?25, commander = ?26, runbook = ?27 WHERE id = ?1";
    struct wcol_idb_stmt *st = NULL;
    int i = 1;

    /* The new id in the insert's own round trip (on PostgreSQL not a second one). */
    if (wcol_idb_prepare_v2(db, x->id == 0 ? INC_INS " RETURNING id" : upd, -1, &st, NULL) !=
        SQLITE_OK) {
        wcol_log_error("incidents: storage: %s", wcol_idb_errmsg(db));
        return -EIO;
    }
    wcol_idb_bind_int64(st, i++, x->id);
    wcol_idb_bind_text(st, i++, x->device, -1, SQLITE_STATIC);
    wcol_idb_bind_text(st, i++, x->component, -1, SQLITE_STATIC);
    wcol_idb_bind_text(st, i++, x->state, -1, SQLITE_STATIC);
    wcol_idb_bind_int(st, i++, x->severity);
    wcol_idb_bind_int64(st, i++, x->opened_ms);
    wcol_idb_bind_int64(st, i++, x->acked_ms);
    wcol_idb_bind_int64(st, i++, x->resolved_ms);
    wcol_idb_bind_int64(st, i++, x->closed_ms);
    wcol_idb_bind_int64(st, i++, x->first_event_ms);
    wcol_idb_bind_int64(st, i++, x->healthy_since_ms);
    wcol_idb_bind_int64(st, i++, x->healthy_t_ms);
    wcol_idb_bind_int64(st, i++, x->last_bad_t_ms);
    wcol_idb_bind_text(st, i++, x->last_boot, -1, SQLITE_STATIC);
    wcol_idb_bind_text(st, i++, x->last_state, -1, SQLITE_STATIC);
    wcol_idb_bind_int64(st, i++, x->events);
    wcol_idb_bind_int64(st, i++, x->flap_start_ms);
    wcol_idb_bind_int64(st, i++, x->transitions);
    wcol_idb_bind_int(st, i++, x->flapping);
    wcol_idb_bind_int64(st, i++, x->parent);
    wcol_idb_bind_int(st, i++, x->is_parent);
    wcol_idb_bind_int(st, i++, x->escalated);
    wcol_idb_bind_int64(st, i++, x->resend_ms);
    wcol_idb_bind_int(st, i++, x->reopened);
    wcol_idb_bind_text(st, i++, x->assignee, -1, SQLITE_STATIC);
    wcol_idb_bind_text(st, i++, x->commander, -1, SQLITE_STATIC);
    wcol_idb_bind_text(st, i++, x->runbook, -1, SQLITE_STATIC);
    int64_t id = 0;
    int rc = step_returning(st, &id);

    wcol_idb_finalize(st);
    if (rc != SQLITE_DONE) {
        wcol_log_error("incidents: storage: %s", wcol_idb_errmsg(db));
        return -EIO;
    }
    if (x->id == 0) {
        x->id = id;
    }
    atomic_fetch_add(&s_changes, 1);
    return 0;
}

#define TIMELINE_INS                                                                               \
    "INSERT INTO incident_timeline (incident, at_ms, who, what, detail, event_id) VALUES (?1, "    \
    "?2, ?3, ?4, ?5, ?6)"

/* want_id false: on PostgreSQL the insert is queued, not waited for (idb_pg.c). */
static int64_t timeline_row(struct wcol_idb *db, int64_t incident, int64_t at_ms, const char *who,
                            const char *what, const char *detail, int64_t event_id, bool want_id)
{
    struct wcol_idb_stmt *st = NULL;

    if (wcol_idb_prepare_v2(db, want_id ? TIMELINE_INS " RETURNING id" : TIMELINE_INS, -1, &st,
                            NULL) != SQLITE_OK) {
        wcol_log_error("incidents: storage: %s", wcol_idb_errmsg(db));
        return -EIO;
    }
    wcol_idb_bind_int64(st, 1, incident);
    wcol_idb_bind_int64(st, 2, at_ms);
    wcol_idb_bind_text(st, 3, who, -1, SQLITE_STATIC);
    wcol_idb_bind_text(st, 4, what, -1, SQLITE_STATIC);
    if (detail != NULL) {
        wcol_idb_bind_text(st, 5, detail, -1, SQLITE_STATIC);
    }
    if (event_id > 0) {
        wcol_idb_bind_int64(st, 6, event_id);
    }
    int64_t id = 0;
    int rc = step_returning(st, &id);

    wcol_idb_finalize(st);
    if (rc != SQLITE_DONE) {
        wcol_log_error("incidents: storage: %s", wcol_idb_errmsg(db));
        return -EIO;
    }
    if (!want_id) {
        return 1;
    }
    return id;
}

int64_t wcol_inc_timeline(struct wcol_idb *db, int64_t incident, int64_t at_ms, const char *who,
                          const char *what, const char *detail, int64_t event_id)
{
    return timeline_row(db, incident, at_ms, who, what, detail, event_id, true);
}

int wcol_inc_timeline_note(struct wcol_idb *db, int64_t incident, int64_t at_ms, const char *who,
                           const char *what, const char *detail, int64_t event_id)
{
    return timeline_row(db, incident, at_ms, who, what, detail, event_id, false) > 0 ? 0 : -EIO;
}

/* ---- notifications ---- */

static void rfc3339(int64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&s, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);

    snprintf(out + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

static void incident_link(const struct wcol_incidents *in, int64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/v1/incidents/%lld", in->base_url, (long long)id);
}

static void summary(const struct wcol_incident *x, char *out, size_t cap)
{
    if (x->is_parent) {
        snprintf(out, cap, "many devices went silent within a short window (incident %lld)",
                 (long long)x->id);
    } else if (strcmp(x->component, "device") == 0) {
        snprintf(out, cap, "%s is silent (no heartbeat)", x->device);
    } else {
        snprintf(out, cap, "%s %s is %s", x->device, x->component,
                 x->last_state[0] ? x->last_state : "not ok");
    }
}

static void webhook_body(const struct wcol_incidents *in, struct wcol_jw *w,
                         const struct wcol_incident *x, const char *kind, const char *key,
                         int64_t now_ms)
{
    char link[WCOL_POL_TEXT_MAX + 64], sum[256];

    incident_link(in, x->id, link, sizeof(link));
    summary(x, sum, sizeof(sum));
    wcol_jw_obj_begin(w);
    wcol_jw_kint(w, "version", 1);
    wcol_jw_kstr(w, "key", key);
    wcol_jw_kstr(w, "kind", kind);
    wcol_jw_kint(w, "created_ms", now_ms);
    wcol_jw_key(w, "incident");
    wcol_jw_obj_begin(w);
    wcol_jw_kint(w, "id", x->id);
    wcol_jw_kstr(w, "device", x->device);
    wcol_jw_kstr(w, "component", x->component);
    wcol_jw_kstr(w, "state", x->state);
    wcol_jw_kstr(w, "severity", wcol_inc_sev_name(x->severity));
    wcol_jw_kstr(w, "summary", sum);
    wcol_jw_key(w, "flapping");
    wcol_jw_bool(w, x->flapping != 0);
    wcol_jw_kint(w, "parent", x->parent);
    wcol_jw_kint(w, "opened_ms", x->opened_ms);
    wcol_jw_kint(w, "resolved_ms", x->resolved_ms);
    wcol_jw_kstr(w, "assignee", x->assignee[0] ? x->assignee : NULL);
    wcol_jw_kstr(w, "runbook", x->runbook[0] ? x->runbook : NULL);
    wcol_jw_kstr(w, "url", link);
    wcol_jw_key(w, "drill");
    wcol_jw_bool(w, x->drill != 0);
    if (x->drill) {
        wcol_jw_kint(w, "drill_id", x->drill_id);
    }
    wcol_jw_obj_end(w);
    wcol_jw_obj_end(w);
}

/* Alertmanager API v2: one alert, firing until endsAt (a re-post extends it) or resolved. */
static void alertmanager_body(const struct wcol_incidents *in, struct wcol_jw *w,
                              const struct wcol_incident *x, bool resolved, int64_t now_ms)
{
    char link[WCOL_POL_TEXT_MAX + 64], sum[256], id[24], t0[40], t1[40];

    incident_link(in, x->id, link, sizeof(link));
    summary(x, sum, sizeof(sum));
    snprintf(id, sizeof(id), "%lld", (long long)x->id);
    rfc3339(x->opened_ms, t0, sizeof(t0));
    rfc3339(resolved ? (x->resolved_ms ? x->resolved_ms : now_ms)
                     : now_ms + 4 * (int64_t)in->pol.resend_ms,
            t1, sizeof(t1));
    wcol_jw_arr_begin(w);
    wcol_jw_obj_begin(w);
    wcol_jw_key(w, "labels");
    wcol_jw_obj_begin(w);
    wcol_jw_kstr(w, "alertname", "WardIncident");
    wcol_jw_kstr(w, "device", x->device);
    wcol_jw_kstr(w, "sensor", x->component);
    wcol_jw_kstr(w, "severity", wcol_inc_sev_name(x->severity));
    wcol_jw_kstr(w, "incident", id);
    wcol_jw_kstr(w, "drill", x->drill ? "true" : "false");
    wcol_jw_obj_end(w);
    wcol_jw_key(w, "annotations");
    wcol_jw_obj_begin(w);
    wcol_jw_kstr(w, "summary", sum);
    if (x->runbook[0]) {
        wcol_jw_kstr(w, "runbook", x->runbook);
    }
    wcol_jw_kstr(w, "flapping", x->flapping ? "true" : "false");
    wcol_jw_obj_end(w);
    wcol_jw_kstr(w, "startsAt", t0);
    wcol_jw_kstr(w, "endsAt", t1);
    wcol_jw_kstr(w, "generatorURL", link);
    wcol_jw_obj_end(w);
    wcol_jw_arr_end(w);
}

/* Which kinds reach which receiver kind: Alertmanager keeps an alert, not a conversation. */
static bool kind_for(enum wcol_receiver_kind rk, const char *kind, bool *resolved)
{
    *resolved = strcmp(kind, "resolved") == 0 || strcmp(kind, "closed") == 0;
    if (rk == WCOL_RECV_WEBHOOK) {
        return strcmp(kind, "refresh") != 0;
    }
    return strcmp(kind, "firing") == 0 || strcmp(kind, "reopened") == 0 ||
           strcmp(kind, "refresh") == 0 || strcmp(kind, "flapping") == 0 ||
           strcmp(kind, "resolved") == 0;
}

static bool route_matches(const struct wcol_route_rule *r, const struct wcol_incident *x)
{
    return x->severity >= r->min_severity &&
           (r->device[0] == '\0' || fnmatch(r->device, x->device, 0) == 0) &&
           (r->component[0] == '\0' || fnmatch(r->component, x->component, 0) == 0);
}

/* The silence that holds this device's notifications now (0 none). */
static int64_t silenced(struct wcol_idb *db, const char *device, int64_t now_ms)
{
    struct wcol_idb_stmt *st = NULL;
    int64_t id = 0;

    if (wcol_idb_prepare_v2(db, "SELECT id, pattern FROM silences WHERE until_ms > ?1", -1, &st,
                            NULL) != SQLITE_OK) {
        return 0;
    }
    wcol_idb_bind_int64(st, 1, now_ms);
    while (id == 0 && wcol_idb_step(st) == SQLITE_ROW) {
        const char *pat = (const char *)wcol_idb_column_text(st, 1);

        if (pat != NULL && fnmatch(pat, device, 0) == 0) {
            id = wcol_idb_column_int64(st, 0);
        }
    }
    wcol_idb_finalize(st);
    return id;
}

static int enqueue(struct wcol_idb *db, const struct wcol_incident *x, const char *receiver,
                   const char *kind, const char *key, const char *body, size_t len,
                   const char *state, int64_t now_ms)
{
    struct wcol_idb_stmt *st = NULL;

    if (wcol_idb_prepare_v2(db,
                            "INSERT OR IGNORE INTO outbox (incident, receiver, kind, key, body, "
                            "state, created_ms, next_ms, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                            "?7, ?7, 0)",
                            -1, &st, NULL) != SQLITE_OK) {
        wcol_log_error("incidents: storage: %s", wcol_idb_errmsg(db));
        return -EIO;
    }
    wcol_idb_bind_int64(st, 1, x->id);
    wcol_idb_bind_text(st, 2, receiver, -1, SQLITE_STATIC);
    wcol_idb_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    wcol_idb_bind_text(st, 4, key, -1, SQLITE_STATIC);
    wcol_idb_bind_text(st, 5, body, (int)len, SQLITE_STATIC);
    wcol_idb_bind_text(st, 6, state, -1, SQLITE_STATIC);
    wcol_idb_bind_int64(st, 7, now_ms);
    int rc = wcol_idb_step(st);

    wcol_idb_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static int notify_one(struct wcol_incidents *in, struct wcol_idb *db, const struct wcol_incident *x,
                      const struct wcol_receiver *r, const char *kind, const char *key,
                      const char *state, int64_t now_ms)
{
    struct wcol_jw w;
    bool resolved;
    size_t len;

    if (!kind_for(r->kind, kind, &resolved)) {
        return 0;
    }
    wcol_jw_init(&w, BODY_MAX);
    if (r->kind == WCOL_RECV_WEBHOOK) {
        webhook_body(in, &w, x, kind, key, now_ms);
    } else {
        alertmanager_body(in, &w, x, resolved, now_ms);
    }
    if (w.failed) {
        wcol_jw_free(&w);
        return -EIO;
    }
    char *body = wcol_jw_take(&w, &len);
    int rc = enqueue(db, x, r->name, kind, key, body, len, state, now_ms);

    free(body);
    return rc;
}

int wcol_inc_notify(struct wcol_incidents *in, struct wcol_idb *db, const struct wcol_incident *x,
                    const char *kind, int64_t change, int64_t now_ms)
{
    const struct wcol_policy *p = &in->pol;
    bool done[WCOL_POL_RECEIVERS] = { false };
    char key[64], detail[96];
    int64_t silence = silenced(db, x->device, now_ms);
    const char *state = silence ? "held" : "pending";
    bool escalation = strcmp(kind, "escalation") == 0;
    int rc = 0, n = 0;

    if (x->parent != 0) {
        return 0; /* grouped: the parent incident speaks for it */
    }
    snprintf(key, sizeof(key), change < 0 ? "ward-%lld-refresh-%lld" : "ward-%lld-%lld",
             (long long)x->id, (long long)(change < 0 ? -change : change));
    for (unsigned i = 0; i < p->n_routes && rc == 0; i++) {
        unsigned ri = p->routes[i].receiver;

        if (escalation || done[ri] || !route_matches(&p->routes[i], x)) {
            continue;
        }
        done[ri] = true;
        rc = notify_one(in, db, x, &p->receivers[ri], kind, key, state, now_ms);
        n++;
    }
    if (escalation && p->escalate >= 0) {
        rc = notify_one(in, db, x, &p->receivers[p->escalate], kind, key, state, now_ms);
        n++;
    }
    if (rc == 0 && silence && n > 0 && strcmp(kind, "refresh") != 0) {
        snprintf(detail, sizeof(detail), "%s held by silence %lld", kind, (long long)silence);
        rc = wcol_inc_timeline(db, x->id, now_ms, "collector", "notification held", detail, 0) > 0
                 ? 0
                 : -EIO;
    }
    if (rc == 0 && n > 0 && !silence) {
        wcol_inc_wake(in, false, true);
    }
    return rc;
}

/* Under mu, with no pass inside. */
static void pol_apply(struct wcol_incidents *in)
{
    in->pol = *in->pol_next;
    free(in->pol_next);
    in->pol_next = NULL;
    snprintf(in->base_url, sizeof(in->base_url), "%s",
             in->pol.external_url[0] ? in->pol.external_url : in->default_url);
    pthread_cond_broadcast(&in->cv);
}

void wcol_inc_pol_enter(struct wcol_incidents *in, bool wait)
{
    pthread_mutex_lock(&in->mu);
    while (wait && in->pol_next != NULL && !in->stop) {
        if (in->pol_users == 0) {
            pol_apply(in);
            break;
        }
        pthread_cond_wait(&in->cv, &in->mu);
    }
    in->pol_users++;
    pthread_mutex_unlock(&in->mu);
}

void wcol_inc_pol_leave(struct wcol_incidents *in)
{
    pthread_mutex_lock(&in->mu);
    if (--in->pol_users == 0 && in->pol_next != NULL) {
        pol_apply(in);
    }
    pthread_mutex_unlock(&in->mu);
}

void wcol_inc_pol_replace(struct wcol_incidents *in, struct wcol_policy *next)
{
    pthread_mutex_lock(&in->mu);
    free(in->pol_next); /* an earlier reload still waiting: this one supersedes it */
    in->pol_next = next;
    if (in->pol_users == 0) {
        pol_apply(in);
    }
    pthread_mutex_unlock(&in->mu);
}

void wcol_inc_wake(struct wcol_incidents *in, bool engine, bool sender)
{
    pthread_mutex_lock(&in->mu);
    in->wake_engine |= engine;
    in->wake_sender |= sender;
    pthread_cond_broadcast(&in->cv);
    pthread_mutex_unlock(&in->mu);
}

void wcol_inc_wait(struct wcol_incidents *in, bool *flag, unsigned ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&in->mu);
    while (!in->stop && !*flag) {
        if (pthread_cond_timedwait(&in->cv, &in->mu, &ts) != 0) {
            break;
        }
    }
    *flag = false;
    pthread_mutex_unlock(&in->mu);
}
