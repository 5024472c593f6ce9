/*
 * SQLite backend of the storage interface.
 *
 * Durability: WAL journal with synchronous=FULL, so COMMIT returns only after the WAL is on
 * stable storage; a kill -9 or a power cut after that loses nothing the collector
 * acknowledged. The collector writes through one connection and reads (operator API) through
 * a second, read-only one: in WAL mode a reader sees the last committed state and never the
 * rows of the group transaction that is still being staged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/hash.h"
#include "common/log.h"
#include "store/hbmerge.h"
#include "store/hbmerge_sql.h"
#include "store/store.h"

/*
 * The highest stored sequence per (device, boot) that acknowledgements name, as last read or
 * written by this connection: a heartbeat-only request (most of them) is answered from here
 * without its SELECT max(seq). Direct-mapped by device; an event written for a device clears
 * its slot, and anything undone (a rollback, a savepoint rolled back, a failed statement) or
 * deleted (retention) clears all (gen). Events written by another process behind the
 * collector's back are not seen until then: an ack then names less than is stored, and the
 * agent resends what the store keeps once anyway.
 */
#define ACK_MEMO 1024 /* slots, a power of two */
struct ack_memo {
    uint32_t gen; /* sq.memo_gen when taken (0: empty) */
    bool found;
    int64_t seq;
    char device[65];
    char boot[40];
};

struct sq {
    sqlite3 *w;
    sqlite3 *r;
    char path[4096];
    bool in_txn;
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *sp, *sp_release, *sp_undo;
    sqlite3_stmt *ins_event, *max_seq, *put_report, *put_beat, *put_state, *expire;
    sqlite3_stmt *load_devices, *get_device, *max_id, *count_devices;
    sqlite3_stmt *events[2][2]; /* [by device][newest first] */
    sqlite3_stmt *sn_check, *sn_clear, *sn_new, *sn_upsert;
    sqlite3_stmt *put_live, *new_live, *fold_live; /* the beats table (migration 4) */
    unsigned max_sensors;
    int64_t snapshot_work_last;
    int64_t snapshots_refused;
    struct wcol_hbmerge *hbmerge; /* the write connection's merge context (its sticky state) */
    uint32_t memo_gen;
    struct ack_memo memo[ACK_MEMO];
};

static struct ack_memo *memo_slot(struct sq *q, const char *device, size_t len)
{
    return &q->memo[wcol_fnv1a(WCOL_FNV1A_BASIS, device, len) & (ACK_MEMO - 1)];
}

/* Every kept ack forgotten (their events may be undone or deleted). */
static void memo_reset(struct sq *q)
{
    q->memo_gen = q->memo_gen + 1 == 0 ? 1 : q->memo_gen + 1;
}

/* What this connection wrote may be undone: the kept merge states and acks. */
static void sq_undone(struct sq *q)
{
    wcol_hbmerge_distrust(q->hbmerge);
    memo_reset(q);
}

/* clang-format off */
/* The stored heartbeat's merge (sticky fields): in C, else in SQL (store/hbmerge_sql.h). */
#define HEARTBEAT_MERGE HEARTBEAT_MERGE_C_OF("heartbeat", "excluded.heartbeat", "id")

/*
 * The stored snapshot is the device's current sensor state, merged from the pages of the
 * health snapshot (docs/protocol.md): each page's sensors replace the stored ones with the
 * same id (upsert), the others stay, in the agent's order (a sensor's place is the page's
 * "first" plus its index). The header (t_ms, state, sensors_total) is the latest page's and
 * "first" becomes 0. A page of another boot, or one holding the whole snapshot, replaces
 * it: that is when sensors the agent no longer has are pruned; otherwise upsert only.
 * A delta page ("delta": true) lists only sensors that changed, not a contiguous run: its
 * sensors keep their stored place (a new one takes "first" plus its index until the next
 * full page), and "delta" is not kept in the stored header.
 *
 * The header lives in devices.snapshot (its "sensors" emptied), the sensors as rows of
 * snapshot_sensors keyed (device, id), so merging a page touches the page's rows and never
 * the rest: the cost of a page does not grow with what is stored. A sensor without a string
 * id is keyed by its place. Reading puts the array back in place.
 */
#define SN_FIRST "coalesce(json_extract(?2, '$.first'), 0)"
#define SN_KEY(x)                                                                                  \
    "coalesce(CASE WHEN " x ".type = 'object' THEN json_extract(" x ".value, '$.id') END, "       \
    "char(1) || (" SN_FIRST " + " x ".key))"
#define SN_DOC(x)                                                                                  \
    "CASE WHEN " x ".type IN ('object', 'array') THEN " x ".value WHEN " x ".type IN "            \
    "('true', 'false', 'null') THEN " x ".type ELSE json_quote(" x ".value) END"
#define SNAPSHOT_CHECK                                                                             \
    "SELECT CASE WHEN d.snapshot IS NULL OR json_valid(d.snapshot) = 0 "                           \
    "OR json_extract(d.snapshot, '$.boot') IS NOT json_extract(?2, '$.boot') "                     \
    "OR (" SN_FIRST " = 0 AND json_array_length(?2, '$.sensors') >= "                              \
    "json_extract(?2, '$.sensors_total')) THEN 1 ELSE 0 END, coalesce(d.sensor_count, 0) "         \
    "FROM (SELECT 1) LEFT JOIN devices AS d ON d.id = ?1"
#define SNAPSHOT_NEW                                                                               \
    "SELECT count(DISTINCT n.k) FROM (SELECT " SN_KEY("p") " AS k "                                \
    "FROM json_each(?2, '$.sensors') AS p) AS n WHERE NOT EXISTS (SELECT 1 FROM "                  \
    "snapshot_sensors AS s WHERE s.device = ?1 AND s.id = n.k)"
/* A delta page's sensor carries no thresholds (full pages only): it keeps the stored ones. */
#define SN_OLD_THR "json_extract(snapshot_sensors.doc, '$.thr')"
#define SN_OLD_BELOW "json_extract(snapshot_sensors.doc, '$.thr_below')"
#define SN_KEEP_THR                                                                                \
    "CASE WHEN json_extract(?2, '$.delta') AND json_type(excluded.doc) = 'object' "              \
    "AND json_type(excluded.doc, '$.thr') IS NULL "                                                \
    "AND json_type(excluded.doc, '$.thr_below') IS NULL "                                          \
    "AND json_valid(snapshot_sensors.doc) AND coalesce(" SN_OLD_THR ", " SN_OLD_BELOW ") IS NOT NULL " \
    "THEN json_patch(excluded.doc, json_patch('{}', json_object("                                  \
    "'thr', json(" SN_OLD_THR "), 'thr_below', json(" SN_OLD_BELOW ")))) "                         \
    "ELSE excluded.doc END"
#define SNAPSHOT_UPSERT                                                                            \
    "INSERT INTO snapshot_sensors (device, id, pos, gen, doc) SELECT ?1, " SN_KEY("p") ", "        \
    SN_FIRST " + p.key, ?3, " SN_DOC("p") " FROM json_each(?2, '$.sensors') AS p WHERE true "      \
    "ON CONFLICT (device, id) DO UPDATE SET pos = CASE WHEN json_extract(?2, '$.delta') "          \
    "THEN snapshot_sensors.pos ELSE excluded.pos END, gen = excluded.gen, doc = " SN_KEEP_THR
/* The header as stored: ?8 the page, ?11 1 when it replaces the stored snapshot. */
#define SNAPSHOT_HEADER                                                                            \
    "CASE WHEN ?8 IS NULL THEN NULL "                                                              \
    "WHEN ?11 THEN CASE WHEN json_type(?8, '$.sensors') IS NULL THEN json_remove(?8, '$.delta') "  \
    "ELSE json_remove(json_set(?8, '$.sensors', json('[]')), '$.delta') END "                      \
    "ELSE json_remove(json_set(?8, '$.first', 0, '$.sensors', json('[]')), '$.delta') END"
/* The snapshot as the API shows it: the header with its sensors back in place. */
#define SNAPSHOT_READ                                                                              \
    "CASE WHEN snapshot IS NULL OR json_type(snapshot, '$.sensors') IS NULL THEN snapshot "        \
    "ELSE json_set(snapshot, '$.sensors', json((SELECT json_group_array(json(m.doc)) FROM "        \
    "(SELECT doc FROM snapshot_sensors WHERE device = ?1 ORDER BY pos, gen DESC, id) AS m))) END"
/*
 * The device's UPSERT. A report without a snapshot page (every heartbeat) leaves snapshot and
 * sensor_count as they are: put_beat is the same statement without their expressions
 * (PUT_REPORT("NULL", "0", "")), so a heartbeat runs fewer instructions for the same row.
 */
#define SNAPSHOT_SET                                                                               \
    "snapshot = coalesce(excluded.snapshot, snapshot), sensor_count = CASE "                      \
    "WHEN excluded.snapshot IS NULL THEN sensor_count ELSE excluded.sensor_count END, "
#define PUT_REPORT(snapshot, sensor_count, snapshot_set)                                           \
    "INSERT INTO devices (id, first_seen_ms, last_seen_ms, last_heartbeat_ms, interval_ms, "       \
    "boot_id, health, heartbeat, snapshot, peer, state, state_since_ms, sensor_count) VALUES "    \
    "(?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, " snapshot ", ?9, 'up', ?2, " sensor_count ") "             \
    "ON CONFLICT (id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms, "                       \
    "last_heartbeat_ms = coalesce(excluded.last_heartbeat_ms, last_heartbeat_ms), "               \
    "interval_ms = coalesce(excluded.interval_ms, interval_ms), "                                 \
    "boot_id = coalesce(excluded.boot_id, boot_id), health = coalesce(excluded.health, health), " \
    "heartbeat = " HEARTBEAT_MERGE ", " snapshot_set "peer = excluded.peer"
/* clang-format on */

/*
 * Versioned migrations: the schema is the list of steps below, applied in order, each in a
 * transaction with the row that records it in schema_version. A database is at the highest
 * version recorded there; one written before that table existed (user_version 1) is at 1.
 * A new step goes at the end and never changes once released; PRAGMA user_version mirrors
 * the version so that older collectors refuse a database they do not understand.
 */
static const char s_schema_v1[] =
    "CREATE TABLE IF NOT EXISTS devices ("
    "  id TEXT PRIMARY KEY,"
    "  first_seen_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL,"
    "  last_heartbeat_ms INTEGER,"
    "  interval_ms INTEGER,"
    "  boot_id TEXT,"
    "  state TEXT NOT NULL DEFAULT 'up',"
    "  state_since_ms INTEGER,"
    "  health TEXT,"
    "  heartbeat TEXT,"
    "  snapshot TEXT,"
    "  peer TEXT"
    ") WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  device TEXT NOT NULL,"
    "  boot_id TEXT NOT NULL,"
    "  seq INTEGER,"
    "  received_ms INTEGER NOT NULL,"
    "  time_ms INTEGER,"
    "  sensor TEXT,"
    "  from_state TEXT,"
    "  to_state TEXT,"
    "  severity TEXT NOT NULL,"
    "  severity_rank INTEGER NOT NULL,"
    "  doc TEXT NOT NULL"
    ");"
    "CREATE UNIQUE INDEX IF NOT EXISTS events_identity ON events(device, boot_id, seq);"
    "CREATE INDEX IF NOT EXISTS events_by_device ON events(device, id);";

static const char s_schema_v2[] = "CREATE TABLE IF NOT EXISTS schema_version ("
                                  "  version INTEGER PRIMARY KEY,"
                                  "  applied_ms INTEGER NOT NULL"
                                  ");";

/* Snapshot sensors as rows (the merge's cost independent of the stored size), moved out of
 * the stored documents; devices.sensor_count keeps the per-device bound O(1). The document
 * expression is a copy of SN_DOC on purpose: a released step never changes with the merge. */
#define SN_MIGRATE_DOC(x)                                                                          \
    "CASE WHEN " x ".type IN ('object', 'array') THEN " x ".value WHEN " x ".type IN "             \
    "('true', 'false', 'null') THEN " x ".type ELSE json_quote(" x ".value) END"
static const char s_schema_v3[] =
    "CREATE TABLE IF NOT EXISTS snapshot_sensors ("
    "  device TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  pos INTEGER NOT NULL,"
    "  gen INTEGER NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  PRIMARY KEY (device, id)"
    ") WITHOUT ROWID;"
    "ALTER TABLE devices ADD COLUMN sensor_count INTEGER NOT NULL DEFAULT 0;"
    "UPDATE devices SET snapshot = NULL WHERE snapshot IS NOT NULL AND json_valid(snapshot) = 0;"
    "INSERT OR REPLACE INTO snapshot_sensors (device, id, pos, gen, doc) "
    "SELECT d.id, coalesce(CASE WHEN o.type = 'object' THEN json_extract(o.value, '$.id') END, "
    "char(1) || (coalesce(json_extract(d.snapshot, '$.first'), 0) + o.key)), "
    "coalesce(json_extract(d.snapshot, '$.first'), 0) + o.key, 0, " SN_MIGRATE_DOC(
        "o") " "
             "FROM devices AS d, json_each(coalesce(d.snapshot, '{}'), '$.sensors') AS o;"
             "UPDATE devices SET sensor_count = (SELECT count(*) FROM snapshot_sensors AS s "
             "WHERE s.device = devices.id), snapshot = json_set(snapshot, '$.sensors', json('[]')) "
             "WHERE json_type(snapshot, '$.sensors') IS NOT NULL;";

/*
 * A heartbeat that changes only seq, t_ms and uptime_ms (wcol_hbmerge_liveness(): an idle
 * agent's compact heartbeat) is kept in beats, a narrow row, instead of merged into the
 * device's wide one: the device's row (its ~600-byte heartbeat and snapshot header) and its
 * page are not written again each time. devices_now is the device as stored plus its beat:
 * what merging each of those heartbeats would have stored (seq, t_ms, uptime_ms, the times,
 * boot and peer). Every read of a device goes through it. A report that is not such a
 * heartbeat drops the beat in the statement that writes the row's heartbeat (beats_merged:
 * merged over the row's document it gives what merging over the beat's would, and one
 * statement is all or nothing); one without a heartbeat folds the beat into the row first.
 * A row inserted or deleted (by anyone) takes its beat with it. A heartbeat document another
 * process writes into the row while the collector runs (not a supported way to change it)
 * is shown with the device's later beats applied, and as it is when it is not valid JSON,
 * until the device's next heartbeat that is more than a beat or a restart of the collector.
 */
static const char s_schema_v4[] =
    "CREATE TABLE IF NOT EXISTS beats ("
    "  id TEXT PRIMARY KEY,"
    "  last_seen_ms INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  t_ms INTEGER NOT NULL,"
    "  boot_id TEXT,"
    "  peer TEXT"
    ") WITHOUT ROWID;"
    "CREATE VIEW IF NOT EXISTS devices_now AS SELECT d.id AS id, d.state AS state, "
    "d.state_since_ms AS state_since_ms, d.first_seen_ms AS first_seen_ms, "
    "coalesce(b.last_seen_ms, d.last_seen_ms) AS last_seen_ms, "
    "coalesce(b.last_seen_ms, d.last_heartbeat_ms) AS last_heartbeat_ms, "
    "d.interval_ms AS interval_ms, coalesce(b.boot_id, d.boot_id) AS boot_id, "
    "d.health AS health, CASE WHEN b.id IS NULL OR json_valid(d.heartbeat) = 0 "
    "THEN d.heartbeat ELSE json_set(d.heartbeat, "
    "'$.seq', b.seq, '$.t_ms', b.t_ms, '$.uptime_ms', b.t_ms - json_extract(d.heartbeat, "
    "'$.t_ms') + json_extract(d.heartbeat, '$.uptime_ms')) END AS heartbeat, "
    "d.snapshot AS snapshot, coalesce(b.peer, d.peer) AS peer, d.sensor_count AS sensor_count "
    "FROM devices AS d LEFT JOIN beats AS b ON b.id = d.id;"
    "CREATE TRIGGER IF NOT EXISTS beats_merged AFTER UPDATE OF heartbeat ON devices "
    "BEGIN DELETE FROM beats WHERE id = NEW.id; END;"
    "CREATE TRIGGER IF NOT EXISTS beats_new_row AFTER INSERT ON devices "
    "BEGIN DELETE FROM beats WHERE id = NEW.id; END;"
    "CREATE TRIGGER IF NOT EXISTS beats_row_gone AFTER DELETE ON devices "
    "BEGIN DELETE FROM beats WHERE id = OLD.id; END;";

static const char *const s_migrations[] = {
    s_schema_v1, /* 1: devices and events */
    s_schema_v2, /* 2: schema_version (the migrations' own record) */
    s_schema_v3, /* 3: snapshot sensors as rows, sensor_count */
    s_schema_v4, /* 4: beats (liveness-only heartbeats), devices_now */
};

#define SCHEMA_VERSION ((int)(sizeof(s_migrations) / sizeof(s_migrations[0])))

static int fail(struct sq *q, sqlite3 *db, const char *what)
{
    int code = sqlite3_extended_errcode(db);

    wcol_log_error("storage: %s failed on %s: %s", what, q->path, sqlite3_errmsg(db));
    return (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED ? -EBUSY : -EIO;
}

static int exec(struct sq *q, sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        wcol_log_error("storage: '%.60s' failed on %s: %s", sql, q->path, msg ? msg : "?");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static int prep(struct sq *q, sqlite3 *db, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        return fail(q, db, "prepare");
    }
    return 0;
}

/* Run a statement that returns no rows, then make it reusable. */
static int step_done(struct sq *q, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int ret = rc == SQLITE_DONE ? 0 : fail(q, sqlite3_db_handle(st), what);

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL) {
        sqlite3_bind_null(st, i);
    } else {
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    }
}

static void bind_textn(sqlite3_stmt *st, int i, const char *s, size_t n)
{
    if (s == NULL) {
        sqlite3_bind_null(st, i);
    } else {
        sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC);
    }
}

static void bind_pos(sqlite3_stmt *st, int i, int64_t v)
{
    if (v <= 0) {
        sqlite3_bind_null(st, i);
    } else {
        sqlite3_bind_int64(st, i, v);
    }
}

static int sq_begin(struct sq *q)
{
    int rc = step_done(q, q->begin, "BEGIN");

    q->in_txn = rc == 0;
    return rc;
}

static int sq_savepoint(struct sq *q)
{
    return step_done(q, q->sp, "SAVEPOINT");
}

static int sq_release(struct sq *q, bool keep)
{
    if (!keep) {
        sq_undone(q); /* a merge it undid may have kept its state, an ack its events */
        int rc = step_done(q, q->sp_undo, "ROLLBACK TO");

        if (rc != 0) {
            return rc;
        }
    }
    return step_done(q, q->sp_release, "RELEASE");
}

static int sq_commit(struct sq *q)
{
    int rc = step_done(q, q->commit, "COMMIT");

    if (rc == 0) {
        q->in_txn = false;
    }
    return rc;
}

static int sq_rollback(struct sq *q)
{
    q->in_txn = false;
    if (sqlite3_get_autocommit(q->w)) {
        return 0; /* SQLite already rolled back (a failed COMMIT can do that) */
    }
    return step_done(q, q->rollback, "ROLLBACK");
}

static int sq_put_event(struct sq *q, const struct wcol_store_event *ev, bool *inserted)
{
    sqlite3_stmt *st = q->ins_event;

    bind_text(st, 1, ev->device);
    bind_text(st, 2, ev->boot_id != NULL ? ev->boot_id : "");
    if (ev->seq >= 0) {
        sqlite3_bind_int64(st, 3, ev->seq);
    } else {
        sqlite3_bind_null(st, 3);
    }
    sqlite3_bind_int64(st, 4, ev->received_ms);
    bind_pos(st, 5, ev->time_ms);
    bind_text(st, 6, ev->sensor);
    bind_text(st, 7, ev->from_state);
    bind_text(st, 8, ev->to_state);
    bind_text(st, 9, ev->severity != NULL ? ev->severity : "none");
    sqlite3_bind_int(st, 10, ev->severity_rank);
    bind_textn(st, 11, ev->doc, ev->doc_len);
    memo_slot(q, ev->device, strlen(ev->device))->gen = 0;
    int rc = step_done(q, st, "insert event");

    if (rc == 0) {
        *inserted = sqlite3_changes(q->w) == 1;
    }
    return rc;
}

static int sq_max_seq(struct sq *q, const char *device, const char *boot_id, int64_t *seq,
                      bool *found)
{
    sqlite3_stmt *st = q->max_seq;
    size_t dl = strlen(device), bl = boot_id != NULL ? strlen(boot_id) : 0;
    struct ack_memo *m = memo_slot(q, device, dl);
    bool keep = boot_id != NULL && dl < sizeof(m->device) && bl < sizeof(m->boot);
    int rc;

    if (keep && m->gen == q->memo_gen && strcmp(m->device, device) == 0 &&
        strcmp(m->boot, boot_id) == 0) {
        *found = m->found;
        if (m->found) {
            *seq = m->seq;
        }
        return 0;
    }
    bind_text(st, 1, device);
    bind_text(st, 2, boot_id);
    rc = sqlite3_step(st);
    *found = false;
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *seq = sqlite3_column_int64(st, 0);
        *found = true;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return fail(q, q->w, "max seq");
    }
    if (keep) {
        *m = (struct ack_memo){ .gen = q->memo_gen, .found = *found, .seq = *found ? *seq : -1 };
        memcpy(m->device, device, dl + 1);
        memcpy(m->boot, boot_id, bl + 1);
    }
    return 0;
}

/* Run a statement that returns one row of integers. @return 0 or a negative errno. */
static int step_ints(struct sq *q, sqlite3_stmt *st, int64_t *out, int n, const char *what)
{
    int rc = sqlite3_step(st);

    for (int i = 0; i < n && rc == SQLITE_ROW; i++) {
        out[i] = sqlite3_column_int64(st, i);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW ? 0 : fail(q, q->w, what);
}

static void bind_page(sqlite3_stmt *st, const struct wcol_store_report *r)
{
    bind_text(st, 1, r->device);
    bind_textn(st, 2, r->snapshot, r->snapshot_len);
}

static int64_t vm_steps(sqlite3_stmt *st)
{
    return sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
}

/*
 * A snapshot page's sensors: cleared first when the page replaces the snapshot, refused
 * (-E2BIG) when the device would hold more than max_sensors, else upserted.
 * @return 0 or a negative errno; *replace and *count say what the device row records.
 */
static int put_sensors(struct sq *q, const struct wcol_store_report *r, bool *replace,
                       int64_t *count)
{
    int64_t check[2], fresh = 0;
    int rc;

    bind_page(q->sn_check, r);
    rc = step_ints(q, q->sn_check, check, 2, "snapshot check");
    if (rc != 0) {
        return rc;
    }
    *replace = check[0] != 0;
    if (*replace) {
        bind_text(q->sn_clear, 1, r->device);
        rc = step_done(q, q->sn_clear, "snapshot clear");
        check[1] = 0;
    }
    bind_page(q->sn_new, r);
    rc = rc ?: step_ints(q, q->sn_new, &fresh, 1, "snapshot count");
    if (rc != 0) {
        return rc;
    }
    *count = check[1] + fresh;
    if (*count > (int64_t)q->max_sensors) {
        q->snapshots_refused++;
        return -E2BIG;
    }
    bind_page(q->sn_upsert, r);
    sqlite3_bind_int64(q->sn_upsert, 3, r->received_ms);
    return step_done(q, q->sn_upsert, "snapshot upsert");
}

/* A heartbeat that changes only seq, t_ms and uptime_ms: its beat (s_schema_v4). @return 1
 * when r is not one (the caller stores it as a report), else 0 or an error. */
static int put_live(struct sq *q, const struct wcol_store_report *r)
{
    sqlite3_stmt *st = q->put_live;
    int64_t seq, t_ms;

    if (r->snapshot != NULL || !r->has_heartbeat || r->heartbeat == NULL || r->health != NULL ||
        r->interval_ms > 0 ||
        !wcol_hbmerge_liveness(q->hbmerge, r->device, strlen(r->device), r->heartbeat,
                               r->heartbeat_len, &seq, &t_ms)) {
        return 1;
    }
    for (int i = 0; i < 2; i++, st = q->new_live) {
        bind_text(st, 1, r->device);
        sqlite3_bind_int64(st, 2, r->received_ms);
        sqlite3_bind_int64(st, 3, seq);
        sqlite3_bind_int64(st, 4, t_ms);
        bind_text(st, 5, r->boot_id);
        bind_text(st, 6, r->peer);
        int rc = step_done(q, st, "update device beat");

        if (rc != 0 || sqlite3_changes(q->w) > 0) {
            return rc;
        }
    }
    return -EIO; /* not reached: the INSERT changes one row or fails */
}

/* A report without a heartbeat: the device's beat into its row first (its times, boot and
 * document; beats_merged drops the beat in the same statement), so that the report's own
 * times are not older than the beat's on reading. */
static int fold_live(struct sq *q, const struct wcol_store_report *r)
{
    int rc;

    if (r->heartbeat != NULL) {
        return 0; /* the row's UPSERT writes the heartbeat: beats_merged drops the beat */
    }
    bind_text(q->fold_live, 1, r->device);
    rc = step_done(q, q->fold_live, "fold device beat");
    if (rc == 0 && sqlite3_changes(q->w) > 0) {
        wcol_hbmerge_forget(q->hbmerge, r->device, strlen(r->device));
    }
    return rc;
}

static int sq_put_report(struct sq *q, const struct wcol_store_report *r)
{
    sqlite3_stmt *st = r->snapshot != NULL ? q->put_report : q->put_beat;
    sqlite3_stmt *sn[] = { q->sn_check, q->sn_clear, q->sn_new, q->sn_upsert, st };
    bool replace = false;
    int64_t count = 0;
    int rc = put_live(q, r);

    if (rc <= 0) {
        return rc;
    }
    rc = fold_live(q, r);
    if (rc != 0) {
        return rc;
    }

    if (r->snapshot != NULL) {
        for (size_t i = 0; i < sizeof(sn) / sizeof(sn[0]); i++) {
            (void)vm_steps(sn[i]); /* start counting this page's work */
        }
        rc = put_sensors(q, r, &replace, &count);
        if (rc != 0) {
            return rc;
        }
    }
    bind_text(st, 1, r->device);
    sqlite3_bind_int64(st, 2, r->received_ms);
    if (r->has_heartbeat) {
        sqlite3_bind_int64(st, 3, r->received_ms);
    } else {
        sqlite3_bind_null(st, 3);
    }
    bind_pos(st, 4, r->interval_ms);
    bind_text(st, 5, r->boot_id);
    bind_text(st, 6, r->health);
    bind_textn(st, 7, r->heartbeat, r->heartbeat_len);
    bind_text(st, 9, r->peer);
    if (r->snapshot != NULL) { /* put_beat has no ?8, ?10, ?11 */
        bind_textn(st, 8, r->snapshot, r->snapshot_len);
        sqlite3_bind_int64(st, 10, count);
        sqlite3_bind_int(st, 11, replace);
    }
    rc = step_done(q, st, "update device");
    if (r->snapshot != NULL) {
        q->snapshot_work_last = 0;
        for (size_t i = 0; i < sizeof(sn) / sizeof(sn[0]); i++) {
            q->snapshot_work_last += vm_steps(sn[i]);
        }
    }
    return rc;
}

static int sq_put_state(struct sq *q, const char *device, const char *state, int64_t at_ms)
{
    sqlite3_stmt *st = q->put_state;

    bind_text(st, 1, device);
    bind_text(st, 2, state);
    sqlite3_bind_int64(st, 3, at_ms);
    return step_done(q, st, "update device state");
}

static int sq_expire(struct sq *q, int64_t cutoff_ms, unsigned max, unsigned *deleted)
{
    sqlite3_bind_int64(q->expire, 1, cutoff_ms);
    sqlite3_bind_int(q->expire, 2, (int)max);
    int rc = step_done(q, q->expire, "expire events");

    *deleted = rc == 0 ? (unsigned)sqlite3_changes(q->w) : 0;
    return rc;
}

static const char *col_text(sqlite3_stmt *st, int i, size_t *len)
{
    const char *s = (const char *)sqlite3_column_text(st, i);

    if (len != NULL) {
        *len = s != NULL ? (size_t)sqlite3_column_bytes(st, i) : 0;
    }
    return s;
}

static void row_device(sqlite3_stmt *st, struct wcol_store_device *d, bool docs)
{
    memset(d, 0, sizeof(*d));
    d->id = col_text(st, 0, NULL);
    d->state = col_text(st, 1, NULL);
    d->first_seen_ms = sqlite3_column_int64(st, 2);
    d->last_seen_ms = sqlite3_column_int64(st, 3);
    d->last_heartbeat_ms = sqlite3_column_int64(st, 4);
    d->interval_ms = sqlite3_column_int64(st, 5);
    d->boot_id = col_text(st, 6, NULL);
    d->health = col_text(st, 7, NULL);
    if (docs) {
        d->heartbeat = col_text(st, 8, &d->heartbeat_len);
        d->snapshot = col_text(st, 9, &d->snapshot_len);
    }
}

static int walk_devices(struct sq *q, sqlite3_stmt *st, bool docs, wcol_store_device_cb cb,
                        void *ctx)
{
    struct wcol_store_device d;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_device(st, &d, docs);
        if (cb(ctx, &d) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : fail(q, sqlite3_db_handle(st), "read devices");
}

static int sq_load_devices(void *impl, wcol_store_device_cb cb, void *ctx)
{
    struct sq *q = impl;

    return walk_devices(q, q->load_devices, false, cb, ctx);
}

static int sq_get_device(void *impl, const char *id, wcol_store_device_cb cb, void *ctx)
{
    struct sq *q = impl;

    bind_text(q->get_device, 1, id);
    return walk_devices(q, q->get_device, true, cb, ctx);
}

static int sq_query_events(void *impl, const struct wcol_store_event_query *qq,
                           wcol_store_event_cb cb, void *ctx)
{
    struct sq *q = impl;
    sqlite3_stmt *st = q->events[qq->device != NULL][qq->newest_first];
    struct wcol_store_event ev;
    int rc;

    sqlite3_bind_int64(st, 1, qq->after_id);
    sqlite3_bind_int(st, 2, qq->min_rank);
    sqlite3_bind_int(st, 3, (int)qq->limit);
    if (qq->device != NULL) {
        bind_text(st, 4, qq->device);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&ev, 0, sizeof(ev));
        ev.id = sqlite3_column_int64(st, 0);
        ev.device = col_text(st, 1, NULL);
        ev.boot_id = col_text(st, 2, NULL);
        ev.seq = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
        ev.received_ms = sqlite3_column_int64(st, 4);
        ev.time_ms = sqlite3_column_int64(st, 5);
        ev.sensor = col_text(st, 6, NULL);
        ev.from_state = col_text(st, 7, NULL);
        ev.to_state = col_text(st, 8, NULL);
        ev.severity = col_text(st, 9, NULL);
        ev.severity_rank = sqlite3_column_int(st, 10);
        ev.doc = col_text(st, 11, &ev.doc_len);
        if (cb(ctx, &ev) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : fail(q, q->r, "query events");
}

static int sq_stats(void *impl, struct wcol_store_stats *out)
{
    struct sq *q = impl;
    struct stat st;
    char wal[4200];

    memset(out, 0, sizeof(*out));
    /* Ids are never reused (AUTOINCREMENT): the largest is the number ever stored, O(1). */
    if (sqlite3_step(q->max_id) == SQLITE_ROW) {
        out->events = sqlite3_column_int64(q->max_id, 0);
    }
    sqlite3_reset(q->max_id);
    if (sqlite3_step(q->count_devices) == SQLITE_ROW) {
        out->devices = sqlite3_column_int64(q->count_devices, 0);
    }
    sqlite3_reset(q->count_devices);
    out->snapshot_work_last = q->snapshot_work_last;
    out->snapshots_refused = q->snapshots_refused;
    wcol_hbmerge_stats(q->hbmerge, &out->hb_sticky);
    if (stat(q->path, &st) == 0) {
        out->db_bytes += st.st_size;
    }
    snprintf(wal, sizeof(wal), "%s-wal", q->path);
    if (stat(wal, &st) == 0) {
        out->db_bytes += st.st_size;
    }
    return 0;
}

static void sq_close(void *impl)
{
    struct sq *q = impl;

    if (q == NULL) {
        return;
    }
    /* Every prepared statement: one left unfinalized keeps sqlite3_close() from closing. */
    sqlite3_stmt *all[] = { q->begin,        q->commit,       q->rollback,     q->sp,
                            q->sp_release,   q->sp_undo,      q->ins_event,    q->max_seq,
                            q->put_report,   q->put_beat,     q->put_state,    q->expire,
                            q->load_devices, q->get_device,   q->max_id,       q->count_devices,
                            q->events[0][0], q->events[0][1], q->events[1][0], q->events[1][1],
                            q->sn_check,     q->sn_clear,     q->sn_new,       q->sn_upsert,
                            q->put_live,     q->new_live,     q->fold_live };

    if (q->in_txn) {
        sq_rollback(q);
    }
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        sqlite3_finalize(all[i]);
    }
    sqlite3_close(q->r);
    sqlite3_close(q->w);
    free(q);
}

/* The highest stored sequence of each boot the request names (-1: none stored). */
static int put_acks(struct sq *q, struct wcol_store_put *p)
{
    int rc = 0;

    for (unsigned i = 0; rc == 0 && i < p->n_acks; i++) {
        bool found = false;

        rc = sq_max_seq(q, p->device, p->acks[i].boot_id, &p->acks[i].seq, &found);
        if (!found) {
            p->acks[i].seq = -1;
        }
    }
    return rc;
}

/*
 * A request with no events and no snapshot page writes one statement, the device's UPSERT or
 * its beat: SQLite undoes a failing statement by itself and leaves the transaction open, so
 * the request is all or nothing without a savepoint. (A report without a heartbeat folds the
 * device's beat into its row first: a move devices_now shows nothing of, kept if the UPSERT
 * then fails.) Its acks are read first (it writes no events, so
 * they read the same before as after), so nothing can fail once it wrote. Every other request
 * writes several statements, or can be refused after a write (a page past max_sensors).
 */
static bool one_write(const struct wcol_store_put *p)
{
    return p->n_events == 0 && (p->report == NULL || p->report->snapshot == NULL);
}

static int put_single(struct sq *q, struct wcol_store_put *p)
{
    int rc = put_acks(q, p);

    p->stored = p->duplicates = 0;
    rc = rc != 0 || p->report == NULL ? rc : sq_put_report(q, p->report);
    if (rc != 0) {
        sq_undone(q); /* the statement SQLite undid may have merged */
    }
    return rc;
}

/* One request of the batch, all or nothing: a savepoint around its rows. */
static int put_one(struct sq *q, struct wcol_store_put *p)
{
    if (one_write(p)) {
        return put_single(q, p);
    }
    int rc = sq_savepoint(q);

    if (rc != 0) {
        return rc;
    }
    p->stored = p->duplicates = 0;
    for (unsigned i = 0; rc == 0 && i < p->n_events; i++) {
        rc = sq_put_event(q, &p->events[i], &p->events[i].inserted);
        if (rc == 0) {
            p->stored += p->events[i].inserted;
            p->duplicates += !p->events[i].inserted;
        }
    }
    if (rc == 0 && p->report != NULL) {
        rc = sq_put_report(q, p->report);
    }
    rc = rc ?: put_acks(q, p);
    int rc2 = sq_release(q, rc == 0);

    return rc != 0 ? rc : rc2;
}

static int put_change(struct sq *q, const struct wcol_store_state_change *ch)
{
    bool inserted;
    int rc = sq_put_state(q, ch->device, ch->state, ch->at_ms);

    return rc != 0 ? rc : sq_put_event(q, &ch->event, &inserted);
}

static int sq_commit_batch(void *impl, struct wcol_store_batch *b)
{
    struct sq *q = impl;
    int rc = sq_begin(q);

    if (rc != 0) { /* nothing can be stored: every request fails on its own account */
        for (unsigned i = 0; i < b->n_puts; i++) {
            b->puts[i].status = rc;
        }
        return rc;
    }
    for (unsigned i = 0; i < b->n_puts; i++) {
        b->puts[i].status = put_one(q, &b->puts[i]);
        /* An error SQLite answers by rolling the whole transaction back (RAISE(ROLLBACK), and
         * some SQLITE_FULL, IOERR or NOMEM): nothing of the batch is stored any more, and the
         * requests after it must not run in autocommit, each committed on its own. */
        if (b->puts[i].status != 0 && sqlite3_get_autocommit(q->w)) {
            q->in_txn = false;
            sq_undone(q);
            for (unsigned k = 0; k < b->n_puts; k++) {
                b->puts[k].status = b->puts[i].status;
            }
            return b->puts[i].status;
        }
    }
    for (unsigned i = 0; rc == 0 && i < b->n_changes; i++) {
        rc = put_change(q, &b->changes[i]);
    }
    rc = rc ?: sq_commit(q);
    if (rc != 0) {
        sq_undone(q); /* merges it undoes may have kept their state, acks their events */
        sq_rollback(q);
    }
    return rc;
}

/* Retention: its own transaction, committed only when it deleted something. */
static int sq_expire_txn(void *impl, int64_t cutoff_ms, unsigned max,
                         struct wcol_store_expired *out)
{
    struct sq *q = impl;
    unsigned deleted = 0;
    int rc = sq_begin(q);

    *out = (struct wcol_store_expired){ 0 };
    if (rc != 0) {
        return rc;
    }
    rc = sq_expire(q, cutoff_ms, max, &deleted);
    if (rc == 0 && deleted > 0) {
        memo_reset(q); /* the highest sequences acks name may be gone */
        rc = sq_commit(q);
    } else {
        sq_rollback(q);
    }
    if (rc != 0) {
        sq_rollback(q);
        deleted = 0;
    }
    out->events = out->rows = deleted;
    return rc;
}

static const struct wcol_store_ops s_sqlite_ops = {
    .name = "sqlite",
    .commit_batch = sq_commit_batch,
    .expire = sq_expire_txn,
    .load_devices = sq_load_devices,
    .get_device = sq_get_device,
    .query_events = sq_query_events,
    .stats = sq_stats,
    .close = sq_close,
};

#define DEVICE_COLS                                                                                \
    "id, state, first_seen_ms, last_seen_ms, last_heartbeat_ms, interval_ms, boot_id, health"
#define EVENT_COLS                                                                                 \
    "id, device, boot_id, seq, received_ms, time_ms, sensor, from_state, to_state, severity, "     \
    "severity_rank, doc"

/* A device's beat into its row: the row as devices_now shows it (s_schema_v4). */
#define FOLD_LIVE                                                                                  \
    "UPDATE devices SET last_seen_ms = n.last_seen_ms, last_heartbeat_ms = n.last_heartbeat_ms, "  \
    "boot_id = n.boot_id, heartbeat = n.heartbeat, peer = n.peer FROM devices_now AS n "           \
    "WHERE devices.id = ?1 AND n.id = ?1 AND EXISTS (SELECT 1 FROM beats WHERE id = ?1)"

static int prepare_all(struct sq *q)
{
    static const char *const ev_sql[2][2] = {
        { "SELECT " EVENT_COLS " FROM events WHERE id > ?1 AND severity_rank >= ?2 "
          "ORDER BY id LIMIT ?3",
          "SELECT " EVENT_COLS " FROM events WHERE id > ?1 AND severity_rank >= ?2 "
          "ORDER BY id DESC LIMIT ?3" },
        { "SELECT " EVENT_COLS " FROM events WHERE device = ?4 AND id > ?1 AND "
          "severity_rank >= ?2 ORDER BY id LIMIT ?3",
          "SELECT " EVENT_COLS " FROM events WHERE device = ?4 AND id > ?1 AND "
          "severity_rank >= ?2 ORDER BY id DESC LIMIT ?3" },
    };
    int rc = 0;

    rc = rc ?: prep(q, q->w, &q->begin, "BEGIN IMMEDIATE");
    rc = rc ?: prep(q, q->w, &q->commit, "COMMIT");
    rc = rc ?: prep(q, q->w, &q->rollback, "ROLLBACK");
    rc = rc ?: prep(q, q->w, &q->sp, "SAVEPOINT req");
    rc = rc ?: prep(q, q->w, &q->sp_release, "RELEASE req");
    rc = rc ?: prep(q, q->w, &q->sp_undo, "ROLLBACK TO req");
    rc = rc
             ?: prep(q, q->w, &q->ins_event,
                     "INSERT INTO events (device, boot_id, seq, received_ms, time_ms, sensor, "
                     "from_state, to_state, severity, severity_rank, doc) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
                     "ON CONFLICT (device, boot_id, seq) DO NOTHING");
    rc = rc
             ?: prep(q, q->w, &q->max_seq,
                     "SELECT max(seq) FROM events WHERE device = ?1 AND boot_id = ?2");
    rc = rc ?: prep(q, q->w, &q->put_report, PUT_REPORT(SNAPSHOT_HEADER, "?10", SNAPSHOT_SET));
    rc = rc ?: prep(q, q->w, &q->put_beat, PUT_REPORT("NULL", "0", ""));
    rc = rc ?: prep(q, q->w, &q->sn_check, SNAPSHOT_CHECK);
    rc = rc ?: prep(q, q->w, &q->sn_clear, "DELETE FROM snapshot_sensors WHERE device = ?1");
    rc = rc ?: prep(q, q->w, &q->sn_new, SNAPSHOT_NEW);
    rc = rc ?: prep(q, q->w, &q->sn_upsert, SNAPSHOT_UPSERT);
    rc = rc
             ?: prep(q, q->w, &q->put_state,
                     "UPDATE devices SET state = ?2, state_since_ms = ?3 WHERE id = ?1");
    /* Ids grow with arrival, so the oldest events are the lowest ids: a bounded slice. */
    rc = rc
             ?: prep(q, q->w, &q->expire,
                     "DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id "
                     "LIMIT ?2) AND received_ms < ?1");
    /* An UPDATE, then the INSERT only for the device's first beat: cheaper than an UPSERT,
     * which tries the insert first each time. */
    rc = rc
             ?: prep(q, q->w, &q->put_live,
                     "UPDATE beats SET last_seen_ms = ?2, seq = ?3, t_ms = ?4, "
                     "boot_id = coalesce(?5, boot_id), peer = ?6 WHERE id = ?1");
    rc = rc
             ?: prep(q, q->w, &q->new_live,
                     "INSERT INTO beats (id, last_seen_ms, seq, t_ms, boot_id, peer) VALUES "
                     "(?1, ?2, ?3, ?4, ?5, ?6)");
    rc = rc ?: prep(q, q->w, &q->fold_live, FOLD_LIVE);
    rc = rc ?: prep(q, q->r, &q->load_devices, "SELECT " DEVICE_COLS " FROM devices_now");
    rc = rc
             ?: prep(q, q->r, &q->get_device,
                     "SELECT " DEVICE_COLS ", heartbeat, " SNAPSHOT_READ
                     " FROM devices_now WHERE id = ?1");
    rc = rc ?: prep(q, q->r, &q->max_id, "SELECT coalesce(max(id), 0) FROM events");
    rc = rc ?: prep(q, q->r, &q->count_devices, "SELECT count(*) FROM devices");
    for (int d = 0; d < 2 && rc == 0; d++) {
        for (int n = 0; n < 2 && rc == 0; n++) {
            rc = prep(q, q->r, &q->events[d][n], ev_sql[d][n]);
        }
    }
    return rc;
}

static int query_int(struct sq *q, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;

    if (prep(q, q->w, &st, sql) != 0) {
        return -EIO;
    }
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(q, q->w, sql);
}

/* The version a database is at: schema_version's highest row, else user_version (0 new). */
static int schema_version(struct sq *q, int *version)
{
    int has_table = 0;
    int rc = query_int(q,
                       "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                       "name = 'schema_version'",
                       &has_table);

    *version = 0;
    if (rc == 0 && has_table) {
        return query_int(q, "SELECT coalesce(max(version), 0) FROM schema_version", version);
    }
    return rc ?: query_int(q, "PRAGMA user_version", version);
}

static int migrate_to(struct sq *q, int version)
{
    char sql[160];
    int rc = exec(q, q->w, "BEGIN IMMEDIATE");

    rc = rc ?: exec(q, q->w, s_migrations[version - 1]);
    /* The record of every step the table did not exist for, then this one. */
    for (int v = 1; rc == 0 && v <= version && version >= 2; v++) {
        snprintf(sql, sizeof(sql),
                 "INSERT OR IGNORE INTO schema_version (version, applied_ms) VALUES (%d, "
                 "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
                 v);
        rc = exec(q, q->w, sql);
    }
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
    rc = rc ?: exec(q, q->w, sql);
    rc = rc ?: exec(q, q->w, "COMMIT");
    if (rc != 0) {
        exec(q, q->w, "ROLLBACK");
        return -EIO;
    }
    return 0;
}

static int check_schema(struct sq *q)
{
    int version;

    if (schema_version(q, &version) != 0) {
        return -EIO;
    }
    if (version > SCHEMA_VERSION) {
        wcol_log_error("storage: %s has schema version %d, newer than this collector's %d; "
                       "use a newer ward-collector",
                       q->path, version, SCHEMA_VERSION);
        return -EIO;
    }
    for (int v = version + 1; v <= SCHEMA_VERSION; v++) {
        if (migrate_to(q, v) != 0) {
            return -EIO;
        }
    }
    if (version > 0 && version < SCHEMA_VERSION) {
        wcol_log_info("storage: %s migrated from schema version %d to %d", q->path, version,
                      SCHEMA_VERSION);
    }
    return 0;
}

/*
 * The database holds every device's reports: owner only. SQLite gives its -wal and -shm files
 * the database file's mode, so creating (or correcting) the database 0600 first covers all
 * three; files left by an older collector are corrected too.
 */
static int restrict_mode(const char *path)
{
    static const char *const suffix[] = { "", "-wal", "-shm" };
    char name[4200];

    if (path[0] == '\0' || path[0] == ':') {
        return 0; /* in memory, or a URI: nothing on disk we name */
    }
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        struct stat st;

        snprintf(name, sizeof(name), "%s%s", path, suffix[i]);
        int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (i == 0 ? O_CREAT : 0), 0600);

        if (fd < 0) {
            if (i > 0 && errno == ENOENT) {
                continue;
            }
            int err = errno;

            wcol_log_error("storage: cannot open %s: %s", name, strerror(err));
            return -err;
        }
        if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
            wcol_log_warn("storage: %s was mode %o; now 600", name, (unsigned)(st.st_mode & 0777));
            (void)fchmod(fd, 0600);
        }
        close(fd);
    }
    return 0;
}

int wcol_store_sqlite_open(struct wcol_store *store, const struct wcol_store_sqlite_opts *opts)
{
    struct sq *q = calloc(1, sizeof(*q));
    int rc;

    if (q == NULL) {
        return -ENOMEM;
    }
    snprintf(q->path, sizeof(q->path), "%s", opts->path);
    q->memo_gen = 1;
    q->max_sensors = opts->max_sensors > 0 ? opts->max_sensors : WCOL_STORE_MAX_SENSORS;
    rc = restrict_mode(opts->path);
    if (rc != 0) {
        goto close_q;
    }
    if (sqlite3_open_v2(opts->path, &q->w,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = fail(q, q->w, "open");
        goto close_q;
    }
    sqlite3_busy_timeout(q->w, (int)opts->busy_timeout_ms);
    rc = exec(q, q->w, "PRAGMA journal_mode = WAL");
    rc = rc ?: exec(q, q->w, "PRAGMA synchronous = FULL");
    rc = rc ?: check_schema(q);
    if (rc != 0) {
        goto close_q;
    }
    if (sqlite3_open_v2(opts->path, &q->r, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = fail(q, q->r, "open for reading");
        goto close_q;
    }
    sqlite3_busy_timeout(q->r, (int)opts->busy_timeout_ms);
    rc = wcol_hbmerge_sql_define(q->w, WCOL_HBMERGE_DEVICES, &q->hbmerge);
    rc = rc ?: prepare_all(q);
    if (rc != 0) {
        goto close_q;
    }
    store->ops = &s_sqlite_ops;
    store->impl = q;
    return 0;
close_q:
    sq_close(q);
    return rc < 0 ? rc : -EIO;
}
