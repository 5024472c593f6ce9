/*
 * The SQLite store through its batch interface: one request's events are stored once per
 * (device, boot, seq) and the acknowledgement names the highest stored sequence; a request
 * that fails is undone alone. Migrations: a database written by the collector before the
 * schema_version table existed (schema 1, PRAGMA user_version = 1) opens, keeps its rows and
 * is at the newest version; a database from a newer collector is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/hbmerge_sql.h"
#include "store/store.h"

static char s_db[64];

static void remove_db(void)
{
    char path[96];

    unlink(s_db);
    snprintf(path, sizeof(path), "%s-wal", s_db);
    unlink(path);
    snprintf(path, sizeof(path), "%s-shm", s_db);
    unlink(path);
}

static int setup(void **state)
{
    (void)state;
    snprintf(s_db, sizeof(s_db), "/tmp/ward-store-%ld.db", (long)getpid());
    remove_db();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    remove_db();
    return 0;
}

static int open_store(struct wcol_store *st)
{
    struct wcol_store_sqlite_opts opts = { .path = s_db, .busy_timeout_ms = 1000 };

    return wcol_store_sqlite_open(st, &opts);
}

/* Run SQL on the file directly (what another process, or an older collector, did). */
static void sql(const char *text)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(s_db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int64_t sql_int(const char *text)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_open(s_db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, text, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static struct wcol_store_event ev(const char *device, int64_t seq)
{
    return (struct wcol_store_event){
        .device = device,
        .boot_id = "b1",
        .seq = seq,
        .received_ms = 1000,
        .sensor = "temp:cpu",
        .from_state = "ok",
        .to_state = "caution",
        .severity = "low",
        .severity_rank = 1,
        .doc = "{}",
        .doc_len = 2,
    };
}

static void test_batch_dedup_and_acks(void **state)
{
    struct wcol_store st;
    struct wcol_store_event e1[] = { ev("dev-a", 1), ev("dev-a", 2) };
    struct wcol_store_event e2[] = { ev("dev-a", 2), ev("dev-a", 3) };
    struct wcol_store_report r = { .device = "dev-a", .received_ms = 1000, .boot_id = "b1" };
    struct wcol_store_ack a1 = { .boot_id = "b1" }, a2 = { .boot_id = "b1" };
    struct wcol_store_ack other = { .boot_id = "b9" };
    struct wcol_store_put puts[] = {
        { .device = "dev-a", .events = e1, .n_events = 2, .report = &r, .acks = &a1, .n_acks = 1 },
        { .device = "dev-a", .events = e2, .n_events = 2, .report = &r, .acks = &a2, .n_acks = 1 },
    };
    struct wcol_store_batch b = { .puts = puts, .n_puts = 2 };

    (void)state;
    assert_int_equal(open_store(&st), 0);
    assert_int_equal(wcol_store_commit_batch(&st, &b), 0);
    assert_int_equal(puts[0].status, 0);
    assert_int_equal(puts[0].stored, 2);
    assert_int_equal(a1.seq, 2);
    /* The second request sees the first one's rows in the same transaction. */
    assert_int_equal(puts[1].stored, 1);
    assert_int_equal(puts[1].duplicates, 1);
    assert_false(e2[0].inserted);
    assert_true(e2[1].inserted);
    assert_int_equal(a2.seq, 3);

    /* The same again: nothing new, acknowledged alike; a boot with nothing stored is -1. */
    struct wcol_store_put again = {
        .device = "dev-a", .events = e2, .n_events = 2, .report = &r, .acks = &other, .n_acks = 1
    };
    struct wcol_store_batch b2 = { .puts = &again, .n_puts = 1 };

    assert_int_equal(wcol_store_commit_batch(&st, &b2), 0);
    assert_int_equal(again.stored, 0);
    assert_int_equal(again.duplicates, 2);
    assert_int_equal(other.seq, -1);
    st.ops->close(st.impl);
    assert_int_equal(sql_int("SELECT count(*) FROM events"), 3);
}

static void test_request_fails_alone(void **state)
{
    struct wcol_store st;
    struct wcol_store_event good[] = { ev("dev-a", 1) };
    struct wcol_store_event bad[] = { ev("dev-b", 1) };
    struct wcol_store_report ra = { .device = "dev-a", .received_ms = 1000 };
    struct wcol_store_put puts[] = {
        { .device = "dev-b", .events = bad, .n_events = 1 },
        { .device = "dev-a", .events = good, .n_events = 1, .report = &ra },
    };
    struct wcol_store_batch b = { .puts = puts, .n_puts = 2 };

    (void)state;
    bad[0].severity = NULL; /* stored as "none" */
    bad[0].doc = NULL;      /* doc is NOT NULL in the schema: this request fails */
    assert_int_equal(open_store(&st), 0);
    assert_int_equal(wcol_store_commit_batch(&st, &b), 0);
    assert_int_not_equal(puts[0].status, 0);
    assert_int_equal(puts[1].status, 0);
    st.ops->close(st.impl);
    assert_int_equal(sql_int("SELECT count(*) FROM events WHERE device = 'dev-b'"), 0);
    assert_int_equal(sql_int("SELECT count(*) FROM events WHERE device = 'dev-a'"), 1);
}

/* Triggers that make one write fail on purpose, the dev-a one after it changed two rows. */
static const char s_failing[] =
    "CREATE TRIGGER fail_second_event BEFORE INSERT ON events WHEN NEW.device = 'dev-b' "
    "AND NEW.seq = 2 BEGIN SELECT RAISE(ABORT, 'test: second event'); END;"
    "CREATE TRIGGER fail_report AFTER INSERT ON devices WHEN NEW.id = 'dev-c' "
    "BEGIN SELECT RAISE(ABORT, 'test: report after an event'); END;"
    "CREATE TRIGGER fail_heartbeat AFTER UPDATE ON devices WHEN NEW.health = 'bad' BEGIN "
    "INSERT INTO events (device, boot_id, seq, received_ms, severity, severity_rank, doc) "
    "VALUES (NEW.id, 'b1', 99, 1, 'none', 0, '{}'); "
    "SELECT RAISE(ABORT, 'test: heartbeat after its row changed'); END;";

/*
 * A request that fails after its first write leaves nothing of it, whether it runs in a
 * savepoint (events, then the report) or is one statement (a heartbeat: the trigger fails it
 * after it changed the device row and inserted an event). The other requests of the batch
 * are stored, and a heartbeat's ack is the highest stored sequence of its boot.
 */
static void test_failing_write_leaves_nothing(void **state)
{
    struct wcol_store st;
    struct wcol_store_event seed[] = { ev("dev-e", 7) };
    struct wcol_store_event two[] = { ev("dev-b", 1), ev("dev-b", 2) };
    struct wcol_store_event one[] = { ev("dev-c", 1) };
    struct wcol_store_report ok = { .device = "dev-a", .received_ms = 1000, .health = "ok" };
    struct wcol_store_report bad = { .device = "dev-a", .received_ms = 2000, .health = "bad" };
    struct wcol_store_report rb = { .device = "dev-b", .received_ms = 2000 };
    struct wcol_store_report rc = { .device = "dev-c", .received_ms = 2000 };
    struct wcol_store_report rd = { .device = "dev-d", .received_ms = 2000, .health = "ok" };
    struct wcol_store_report re = { .device = "dev-e", .received_ms = 2000, .health = "ok" };
    struct wcol_store_ack ack_d = { .boot_id = "b1" }, ack_e = { .boot_id = "b1" };
    struct wcol_store_put first[] = {
        { .device = "dev-a", .report = &ok },
        { .device = "dev-e", .events = seed, .n_events = 1 },
    };
    struct wcol_store_put puts[] = {
        { .device = "dev-d", .report = &rd, .acks = &ack_d, .n_acks = 1 },
        { .device = "dev-a", .report = &bad },
        { .device = "dev-b", .events = two, .n_events = 2, .report = &rb },
        { .device = "dev-c", .events = one, .n_events = 1, .report = &rc },
        { .device = "dev-e", .report = &re, .acks = &ack_e, .n_acks = 1 },
    };
    struct wcol_store_batch b1 = { .puts = first, .n_puts = 2 };
    struct wcol_store_batch b2 = { .puts = puts, .n_puts = 5 };

    (void)state;
    assert_int_equal(open_store(&st), 0);
    assert_int_equal(wcol_store_commit_batch(&st, &b1), 0);
    st.ops->close(st.impl);
    sql(s_failing);
    assert_int_equal(open_store(&st), 0);
    assert_int_equal(wcol_store_commit_batch(&st, &b2), 0);
    assert_int_equal(puts[0].status, 0);
    assert_int_not_equal(puts[1].status, 0);
    assert_int_not_equal(puts[2].status, 0);
    assert_int_not_equal(puts[3].status, 0);
    assert_int_equal(puts[4].status, 0);
    assert_int_equal(ack_d.seq, -1);
    assert_int_equal(ack_e.seq, 7);
    st.ops->close(st.impl);
    /* Nothing of the failed requests: not the trigger's event, not the first of two, not the
     * event before the failing report, no device row changed or created. */
    assert_int_equal(sql_int("SELECT count(*) FROM events WHERE device <> 'dev-e'"), 0);
    assert_int_equal(sql_int("SELECT count(*) FROM devices WHERE id IN ('dev-b', 'dev-c')"), 0);
    assert_int_equal(sql_int("SELECT count(*) FROM devices WHERE id = 'dev-a' AND "
                             "health = 'ok' AND last_seen_ms = 1000"),
                     1);
    assert_int_equal(sql_int("SELECT count(*) FROM devices WHERE id IN ('dev-d', 'dev-e') AND "
                             "last_seen_ms = 2000"),
                     2);
}

/*
 * A request whose error makes SQLite roll the whole transaction back (RAISE(ROLLBACK) here;
 * some SQLITE_FULL, IOERR and NOMEM do the same) fails the batch: nothing of it is stored,
 * neither the requests before it nor those after it, which must not run in autocommit.
 */
static void test_transaction_lost_fails_batch(void **state)
{
    struct wcol_store st;
    struct wcol_store_event before[] = { ev("dev-a", 1) };
    struct wcol_store_event after[] = { ev("dev-c", 1) };
    struct wcol_store_report boom = { .device = "dev-b", .received_ms = 2000, .health = "ok" };
    struct wcol_store_report late = { .device = "dev-d", .received_ms = 2000, .health = "ok" };
    struct wcol_store_put puts[] = {
        { .device = "dev-a", .events = before, .n_events = 1 },
        { .device = "dev-b", .report = &boom },
        { .device = "dev-c", .events = after, .n_events = 1 },
        { .device = "dev-d", .report = &late },
    };
    struct wcol_store_batch b = { .puts = puts, .n_puts = 4 };

    (void)state;
    assert_int_equal(open_store(&st), 0);
    st.ops->close(st.impl);
    sql("CREATE TRIGGER lose_txn BEFORE INSERT ON devices WHEN NEW.id = 'dev-b' "
        "BEGIN SELECT RAISE(ROLLBACK, 'test: the whole transaction'); END;");
    assert_int_equal(open_store(&st), 0);
    assert_int_not_equal(wcol_store_commit_batch(&st, &b), 0);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_not_equal(puts[i].status, 0);
    }
    /* The store still works: the next batch is a transaction of its own again. */
    struct wcol_store_put again[] = { { .device = "dev-d", .report = &late } };
    struct wcol_store_batch b2 = { .puts = again, .n_puts = 1 };

    assert_int_equal(wcol_store_commit_batch(&st, &b2), 0);
    st.ops->close(st.impl);
    assert_int_equal(sql_int("SELECT count(*) FROM events"), 0);
    assert_int_equal(sql_int("SELECT count(*) FROM devices WHERE id <> 'dev-d'"), 0);
    assert_int_equal(sql_int("SELECT count(*) FROM devices WHERE id = 'dev-d'"), 1);
}

/* A heartbeat-only request's ack for dev-m's boot b1 (-1: nothing stored). */
static int64_t hb_ack(struct wcol_store *st)
{
    struct wcol_store_report r = { .device = "dev-m", .received_ms = 3000, .boot_id = "b1" };
    struct wcol_store_ack ack = { .boot_id = "b1" };
    struct wcol_store_put put = { .device = "dev-m", .report = &r, .acks = &ack, .n_acks = 1 };
    struct wcol_store_batch b = { .puts = &put, .n_puts = 1 };

    assert_int_equal(wcol_store_commit_batch(st, &b), 0);
    assert_int_equal(put.status, 0);
    return ack.seq;
}

/*
 * Acks are kept per (device, boot) so that a heartbeat-only request needs no SELECT max(seq),
 * and always name what is stored: after new events (the device's slot cleared), after a
 * transaction lost with an ack read inside it (every slot cleared), after retention deleted
 * the highest events.
 */
static void test_ack_memo(void **state)
{
    struct wcol_store st;
    struct wcol_store_event e12[] = { ev("dev-m", 1), ev("dev-m", 2) };
    struct wcol_store_event e3[] = { ev("dev-m", 3) };
    struct wcol_store_event e4[] = { ev("dev-m", 4) };
    struct wcol_store_ack a1 = { .boot_id = "b1" }, a2 = { .boot_id = "b1" };
    struct wcol_store_report boom = { .device = "dev-x", .received_ms = 2000, .health = "ok" };
    struct wcol_store_put first = {
        .device = "dev-m", .events = e12, .n_events = 2, .acks = &a1, .n_acks = 1
    };
    struct wcol_store_put lost[] = {
        { .device = "dev-m", .events = e3, .n_events = 1, .acks = &a2, .n_acks = 1 },
        { .device = "dev-x", .report = &boom },
    };
    struct wcol_store_put fourth = { .device = "dev-m", .events = e4, .n_events = 1 };
    struct wcol_store_batch b1 = { .puts = &first, .n_puts = 1 };
    struct wcol_store_batch b2 = { .puts = lost, .n_puts = 2 };
    struct wcol_store_batch b3 = { .puts = &fourth, .n_puts = 1 };
    struct wcol_store_expired deleted = { 0 };

    (void)state;
    assert_int_equal(open_store(&st), 0);
    assert_int_equal(hb_ack(&st), -1);
    assert_int_equal(wcol_store_commit_batch(&st, &b1), 0);
    assert_int_equal(a1.seq, 2);
    assert_int_equal(hb_ack(&st), 2);
    assert_int_equal(hb_ack(&st), 2);
    /* Event 3 is written and its ack read (3) inside a transaction that is then lost. */
    sql("CREATE TRIGGER lose_txn BEFORE INSERT ON devices WHEN NEW.id = 'dev-x' "
        "BEGIN SELECT RAISE(ROLLBACK, 'test: the whole transaction'); END;");
    assert_int_not_equal(wcol_store_commit_batch(&st, &b2), 0);
    assert_int_equal(a2.seq, 3);
    assert_int_not_equal(lost[0].status, 0);
    assert_int_equal(hb_ack(&st), 2);
    assert_int_equal(wcol_store_commit_batch(&st, &b3), 0);
    assert_int_equal(hb_ack(&st), 4);
    /* Retention deletes every event: nothing is stored for the boot any more. */
    assert_int_equal(st.ops->expire(st.impl, 1000000, 100, &deleted), 0);
    assert_int_equal(deleted.events, 3);
    assert_int_equal(deleted.rows, 3);
    assert_int_equal(hb_ack(&st), -1);
    st.ops->close(st.impl);
}

/* The schema as the collector wrote it before versioned migrations (schema 1). */
static const char s_v1[] =
    "CREATE TABLE devices (id TEXT PRIMARY KEY, first_seen_ms INTEGER NOT NULL,"
    " last_seen_ms INTEGER NOT NULL, last_heartbeat_ms INTEGER, interval_ms INTEGER,"
    " boot_id TEXT, state TEXT NOT NULL DEFAULT 'up', state_since_ms INTEGER, health TEXT,"
    " heartbeat TEXT, snapshot TEXT, peer TEXT) WITHOUT ROWID;"
    "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL,"
    " boot_id TEXT NOT NULL, seq INTEGER, received_ms INTEGER NOT NULL, time_ms INTEGER,"
    " sensor TEXT, from_state TEXT, to_state TEXT, severity TEXT NOT NULL,"
    " severity_rank INTEGER NOT NULL, doc TEXT NOT NULL);"
    "CREATE UNIQUE INDEX events_identity ON events(device, boot_id, seq);"
    "CREATE INDEX events_by_device ON events(device, id);"
    "INSERT INTO devices (id, first_seen_ms, last_seen_ms) VALUES ('old-dev', 1, 2);"
    "INSERT INTO events (device, boot_id, seq, received_ms, severity, severity_rank, doc)"
    " VALUES ('old-dev', 'b0', 5, 2, 'high', 3, '{}');"
    "PRAGMA user_version = 1;";

static int count_device(void *ctx, const struct wcol_store_device *d)
{
    int *n = ctx;

    *n += strcmp(d->id, "old-dev") == 0;
    return 0;
}

static void test_migrate_from_version_1(void **state)
{
    struct wcol_store st;
    int found = 0;

    (void)state;
    sql(s_v1);
    assert_int_equal(sql_int("SELECT count(*) FROM sqlite_master WHERE name = "
                             "'schema_version'"),
                     0);
    assert_int_equal(open_store(&st), 0);
    assert_int_equal(st.ops->load_devices(st.impl, count_device, &found), 0);
    assert_int_equal(found, 1);
    st.ops->close(st.impl);
    /* Every step is recorded, the old rows are kept, user_version mirrors the version. */
    assert_int_equal(sql_int("SELECT count(*) FROM schema_version"), 4);
    assert_int_equal(sql_int("SELECT max(version) FROM schema_version"), 4);
    assert_int_equal(sql_int("PRAGMA user_version"), 4);
    assert_int_equal(sql_int("SELECT seq FROM events WHERE device = 'old-dev'"), 5);
    /* Opening again changes nothing. */
    assert_int_equal(open_store(&st), 0);
    st.ops->close(st.impl);
    assert_int_equal(sql_int("SELECT count(*) FROM schema_version"), 4);
}

static void test_fresh_and_newer(void **state)
{
    struct wcol_store st;

    (void)state;
    assert_int_equal(open_store(&st), 0);
    st.ops->close(st.impl);
    assert_int_equal(sql_int("SELECT max(version) FROM schema_version"), 4);
    sql("INSERT INTO schema_version (version, applied_ms) VALUES (99, 0)");
    assert_int_equal(open_store(&st), -EIO);
}

static int copy_snapshot(void *ctx, const struct wcol_store_device *d)
{
    char *out = ctx;

    snprintf(out, 1024, "%.*s", (int)d->snapshot_len, d->snapshot != NULL ? d->snapshot : "");
    return 0;
}

/* A snapshot stored as one document by schema 2 reads back the same from rows (schema 3). */
static void test_migrate_snapshot_rows(void **state)
{
    static const char snap[] =
        "{\"v\":1,\"type\":\"health\",\"device\":\"old-dev\",\"boot\":\"b1\",\"t_ms\":5,"
        "\"state\":\"ok\",\"sensors_total\":3,\"first\":0,\"sensors\":[{\"id\":\"b\",\"value\":"
        "2},{\"id\":\"a\",\"value\":1},{\"id\":\"c\",\"value\":3}]}";
    struct wcol_store st;
    char got[1024] = "";
    char ins[1024];

    (void)state;
    sql(s_v1);
    snprintf(ins, sizeof(ins), "UPDATE devices SET snapshot = '%s' WHERE id = 'old-dev'", snap);
    sql(ins);
    assert_int_equal(open_store(&st), 0);
    assert_int_equal(st.ops->get_device(st.impl, "old-dev", copy_snapshot, got), 0);
    assert_string_equal(got, snap);
    st.ops->close(st.impl);
    assert_int_equal(sql_int("SELECT count(*) FROM snapshot_sensors"), 3);
    assert_int_equal(sql_int("SELECT sensor_count FROM devices WHERE id = 'old-dev'"), 3);
}

/* A snapshot page of n sensors from index first, of a snapshot of `total` sensors. */
static char *page(unsigned first, unsigned n, unsigned long total)
{
    size_t cap = 256 + (size_t)n * 160;
    char *doc = malloc(cap);
    size_t len = (size_t)snprintf(doc, cap,
                                  "{\"v\":1,\"type\":\"health\",\"device\":\"dev-a\","
                                  "\"boot\":\"b1\",\"t_ms\":5000,\"state\":\"ok\","
                                  "\"severity\":\"none\",\"sensors_total\":%lu,\"first\":%u,"
                                  "\"sensors\":[",
                                  total, first);

    for (unsigned i = 0; i < n; i++) {
        len += (size_t)snprintf(doc + len, cap - len,
                                "%s{\"id\":\"temp:s%u\",\"state\":\"ok\",\"severity\":"
                                "\"none\",\"kind\":\"threshold\",\"value\":%u}",
                                i > 0 ? "," : "", first + i, 40000 + i);
    }
    snprintf(doc + len, cap - len, "]}");
    return doc;
}

/* Store one page; @return the put's status. */
static int put_page(struct wcol_store *st, unsigned first, unsigned n, unsigned long total)
{
    char *doc = page(first, n, total);
    struct wcol_store_report r = { .device = "dev-a",
                                   .received_ms = 1000,
                                   .boot_id = "b1",
                                   .snapshot = doc,
                                   .snapshot_len = strlen(doc) };
    struct wcol_store_put put = { .device = "dev-a", .report = &r };
    struct wcol_store_batch b = { .puts = &put, .n_puts = 1 };

    assert_int_equal(wcol_store_commit_batch(st, &b), 0);
    free(doc);
    return put.status;
}

static int64_t work_last(struct wcol_store *st)
{
    struct wcol_store_stats ss;

    assert_int_equal(st->ops->stats(st->impl, &ss), 0);
    return ss.snapshot_work_last;
}

/*
 * Merging a page costs the same whether 50 or 2,000 sensors are stored already: the work is
 * counted (SQLite VM steps), not timed. The merged snapshot holds every page's sensors.
 */
static void test_snapshot_merge_work_flat(void **state)
{
    struct wcol_store st;
    struct wcol_store_sqlite_opts opts = { .path = s_db,
                                           .busy_timeout_ms = 1000,
                                           .max_sensors = 100000 };

    (void)state;
    assert_int_equal(wcol_store_sqlite_open(&st, &opts), 0);
    assert_int_equal(put_page(&st, 0, 50, 10000000ul), 0);
    assert_int_equal(put_page(&st, 50, 50, 10000000ul), 0);
    int64_t small = work_last(&st);

    for (unsigned first = 100; first < 2000; first += 50) {
        assert_int_equal(put_page(&st, first, 50, 10000000ul), 0);
    }
    assert_int_equal(put_page(&st, 2000, 50, 10000000ul), 0);
    int64_t large = work_last(&st);

    print_message("snapshot merge: %lld VM steps with 50 sensors stored, %lld with 2000\n",
                  (long long)small, (long long)large);
    assert_true(small > 0);
    assert_true(large < small + small / 4); /* 40x the stored sensors, the same work */
    st.ops->close(st.impl);
    assert_int_equal(sql_int("SELECT count(*) FROM snapshot_sensors"), 2050);
}

/* Past max_sensors a page is refused alone (nothing of its request stored), and counted. */
static void test_snapshot_bound(void **state)
{
    struct wcol_store st;
    struct wcol_store_sqlite_opts opts = { .path = s_db,
                                           .busy_timeout_ms = 1000,
                                           .max_sensors = 64 };
    struct wcol_store_stats ss;

    (void)state;
    assert_int_equal(wcol_store_sqlite_open(&st, &opts), 0);
    assert_int_equal(put_page(&st, 0, 40, 10000000ul), 0);
    assert_int_equal(put_page(&st, 0, 40, 10000000ul), 0); /* the same ids again: no growth */
    assert_int_equal(put_page(&st, 40, 40, 10000000ul), -E2BIG);
    assert_int_equal(put_page(&st, 40, 24, 10000000ul), 0); /* exactly the bound */
    assert_int_equal(put_page(&st, 64, 1, 10000000ul), -E2BIG);
    assert_int_equal(st.ops->stats(st.impl, &ss), 0);
    assert_int_equal(ss.snapshots_refused, 2);
    /* A whole snapshot of a new boot replaces the stored one, so the room comes back. */
    st.ops->close(st.impl);
}

/* A heartbeat (put_beat: no snapshot expressions) keeps the device's snapshot, its sensor
 * count and the last page's work as they were; a new device's heartbeat has neither. */
static void test_heartbeat_keeps_snapshot(void **state)
{
    struct wcol_store st;
    struct wcol_store_report hb = { .device = "dev-a", .received_ms = 2000, .health = "ok" };
    struct wcol_store_put put = { .device = "dev-a", .report = &hb };
    struct wcol_store_batch b = { .puts = &put, .n_puts = 1 };

    (void)state;
    assert_int_equal(open_store(&st), 0);
    assert_int_equal(wcol_store_commit_batch(&st, &b), 0);
    assert_int_equal(put.status, 0);
    assert_int_equal(put_page(&st, 0, 40, 40), 0);
    int64_t work = work_last(&st);

    assert_int_equal(wcol_store_commit_batch(&st, &b), 0);
    assert_int_equal(put.status, 0);
    assert_int_equal(work_last(&st), work);
    st.ops->close(st.impl);
    sql("CREATE TABLE kept AS SELECT snapshot, sensor_count FROM devices");
    assert_int_equal(open_store(&st), 0);
    hb.received_ms = 3000;
    hb.health = "warn";
    assert_int_equal(wcol_store_commit_batch(&st, &b), 0);
    st.ops->close(st.impl);
    assert_int_equal(sql_int("SELECT count(*) FROM devices AS d, kept AS k WHERE d.id = 'dev-a' "
                             "AND d.snapshot = k.snapshot AND d.sensor_count = 40 AND "
                             "k.sensor_count = 40 AND d.health = 'warn' AND "
                             "d.last_seen_ms = 3000 AND d.first_seen_ms = 2000"),
                     1);
}

/* ---- liveness-only heartbeats: the beats table and devices_now (migration 4) ---- */

static const char s_full_hb[] =
    "{\"v\":2,\"type\":\"heartbeat\",\"device\":\"dev-l\",\"boot\":\"b1\",\"seq\":1,"
    "\"t_ms\":61000,\"wall_ms\":1700000059000,\"config\":\"d44d0a1b2c3d4e5f\","
    "\"uptime_ms\":60000,\"interval_ms\":60000,\"firmware\":\"0.1.0\",\"board\":\"sim\","
    "\"arch\":\"x86_64\",\"config_sha256\":\"d44d0a1b2c3d4e5f00\",\"rules_sha256\":\"c9c1\","
    "\"health\":{\"state\":\"ok\",\"severity\":\"low\",\"sensors\":4,\"not_ok\":0},"
    "\"events\":{\"pending\":0,\"last_seq\":2},\"loop\":{\"lag_max_ms\":3},"
    "\"memory\":{\"context_bytes\":32568,\"sensors_used\":4}}";

/* The stored heartbeat as the SQL merge makes it: merge(old, new). */
static void sql_merge(char *old, size_t cap, const char *nw)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT " HEARTBEAT_MERGE_OF("?1", "?2"), -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, old, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, nw, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(old, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int copy_heartbeat(void *ctx, const struct wcol_store_device *d)
{
    char *out = ctx;

    snprintf(out, 2048, "%.*s", (int)d->heartbeat_len, d->heartbeat != NULL ? d->heartbeat : "");
    return 0;
}

/* One report of dev-l: doc (NULL: none), health, at received_ms. */
static void put_hb(struct wcol_store *st, const char *doc, const char *health, int64_t at)
{
    struct wcol_store_report r = { .device = "dev-l",
                                   .received_ms = at,
                                   .peer = "198.18.0.7",
                                   .has_heartbeat = doc != NULL,
                                   .boot_id = "b1",
                                   .health = health,
                                   .interval_ms = doc == s_full_hb ? 60000 : 0,
                                   .heartbeat = doc,
                                   .heartbeat_len = doc != NULL ? strlen(doc) : 0 };
    struct wcol_store_put put = { .device = "dev-l", .report = &r };
    struct wcol_store_batch b = { .puts = &put, .n_puts = 1 };

    assert_int_equal(wcol_store_commit_batch(st, &b), 0);
    assert_int_equal(put.status, 0);
}

static uint64_t liveness(struct wcol_store *st)
{
    struct wcol_store_stats ss;

    assert_int_equal(st->ops->stats(st->impl, &ss), 0);
    return ss.hb_sticky.liveness;
}

/* dev-l as the API reads it equals the SQL merge of every heartbeat so far. */
static void check_shown(struct wcol_store *st, const char *expect)
{
    char shown[2048] = "";

    assert_int_equal(st->ops->get_device(st->impl, "dev-l", copy_heartbeat, shown), 0);
    assert_string_equal(shown, expect);
}

/*
 * An idle agent's compact heartbeats (only seq and t_ms change) after the first one merged
 * are kept in beats, the device's row untouched; the device as read (get_device, devices_now,
 * load_devices) is byte for byte what merging each of them gives. A compact heartbeat with
 * health, a different config, or a report without a heartbeat goes back to the row and drops
 * or folds the beat; what is read stays the merge's.
 */
static void test_liveness_heartbeats(void **state)
{
    static const char *const pure[] = {
        "{\"v\":2,\"seq\":2,\"t_ms\":121000,\"config\":\"d44d0a1b2c3d4e5f\"}",
        "{\"v\":2,\"seq\":3,\"t_ms\":181000,\"config\":\"d44d0a1b2c3d4e5f\"}",
        "{\"v\":2,\"seq\":4,\"t_ms\":241000,\"config\":\"d44d0a1b2c3d4e5f\"}",
    };
    static const char health[] = "{\"v\":2,\"seq\":5,\"t_ms\":301000,\"config\":"
                                 "\"d44d0a1b2c3d4e5f\",\"health\":{\"state\":\"warn\","
                                 "\"sensors\":4}}";
    static const char after[][80] = {
        "{\"v\":2,\"seq\":6,\"t_ms\":361000,\"config\":\"d44d0a1b2c3d4e5f\"}",
        "{\"v\":2,\"seq\":7,\"t_ms\":421000,\"config\":\"d44d0a1b2c3d4e5f\"}",
        "{\"v\":2,\"seq\":8,\"t_ms\":481000,\"config\":\"d44d0a1b2c3d4e5f\"}",
        "{\"v\":2,\"seq\":9,\"t_ms\":541000,\"config\":\"0000000000000000\"}",
    };
    struct wcol_store st;
    char expect[2048];

    (void)state;
    assert_int_equal(open_store(&st), 0);
    snprintf(expect, sizeof(expect), "%s", s_full_hb);
    put_hb(&st, s_full_hb, "ok", 1000);
    for (unsigned i = 0; i < 3; i++) {
        struct wcol_store_expired deleted = { 1, 1 };

        put_hb(&st, pure[i], NULL, 2000 + i);
        sql_merge(expect, sizeof(expect), pure[i]);
        check_shown(&st, expect);
        /* A retention pass that deleted nothing (rolled back) undoes nothing of ours. */
        assert_int_equal(st.ops->expire(st.impl, 0, 100, &deleted), 0);
        assert_int_equal(deleted.events, 0);
        assert_int_equal(deleted.rows, 0);
    }
    /* The first compact one was merged (the stored one was the full heartbeat), the next two
     * went to beats: the row still has the first's times and sequence. */
    assert_int_equal(liveness(&st), 2);
    assert_int_equal(sql_int("SELECT count(*) FROM beats WHERE id = 'dev-l' AND seq = 4"), 1);
    assert_int_equal(sql_int("SELECT last_seen_ms FROM devices WHERE id = 'dev-l'"), 2000);
    assert_int_equal(sql_int("SELECT json_extract(heartbeat, '$.seq') FROM devices"), 2);
    assert_int_equal(sql_int("SELECT last_seen_ms FROM devices_now WHERE id = 'dev-l'"), 2002);
    assert_int_equal(sql_int("SELECT last_heartbeat_ms FROM devices_now"), 2002);
    assert_int_equal(sql_int("SELECT json_extract(heartbeat, '$.uptime_ms') FROM devices_now"),
                     240000);
    /* A changed health summary: merged over the row, the beat dropped in the same statement. */
    put_hb(&st, health, "warn", 3000);
    sql_merge(expect, sizeof(expect), health);
    check_shown(&st, expect);
    assert_int_equal(sql_int("SELECT count(*) FROM beats"), 0);
    for (unsigned i = 0; i < 4; i++) {
        put_hb(&st, after[i], NULL, 4000 + i);
        sql_merge(expect, sizeof(expect), after[i]);
        check_shown(&st, expect);
    }
    /* seq 6 merged (after a heartbeat with health), 7 and 8 beats, 9 (another config) merged. */
    assert_int_equal(liveness(&st), 4);
    assert_int_equal(sql_int("SELECT count(*) FROM beats"), 0);
    for (unsigned i = 0; i < 2; i++) {
        put_hb(&st,
               i == 0 ? after[3]
                      : "{\"v\":2,\"seq\":10,\"t_ms\":601000,\"config\":"
                        "\"0000000000000000\"}",
               NULL, 5000 + i);
    }
    sql_merge(expect, sizeof(expect), after[3]);
    sql_merge(expect, sizeof(expect),
              "{\"v\":2,\"seq\":10,\"t_ms\":601000,\"config\":\"0000000000000000\"}");
    check_shown(&st, expect);
    assert_int_equal(sql_int("SELECT count(*) FROM beats"), 1);
    /* A report without a heartbeat folds the beat into the row: nothing read changes but the
     * time last seen. */
    put_hb(&st, NULL, NULL, 6000);
    check_shown(&st, expect);
    assert_int_equal(sql_int("SELECT count(*) FROM beats"), 0);
    assert_int_equal(sql_int("SELECT last_seen_ms FROM devices WHERE id = 'dev-l'"), 6000);
    assert_int_equal(sql_int("SELECT last_heartbeat_ms FROM devices WHERE id = 'dev-l'"), 5001);
    assert_int_equal(sql_int("SELECT json_extract(heartbeat, '$.seq') FROM devices"), 10);
    /* A row another process deletes takes its beat with it (after the fold the state was
     * forgotten: seq 11 is merged, seq 12 a beat). */
    put_hb(&st, "{\"v\":2,\"seq\":11,\"t_ms\":661000,\"config\":\"0000000000000000\"}", NULL, 6500);
    put_hb(&st, "{\"v\":2,\"seq\":12,\"t_ms\":721000,\"config\":\"0000000000000000\"}", NULL, 6501);
    assert_int_equal(sql_int("SELECT count(*) FROM beats"), 1);
    sql("DELETE FROM devices WHERE id = 'dev-l'");
    assert_int_equal(sql_int("SELECT count(*) FROM beats"), 0);
    st.ops->close(st.impl);
    /* Reopened (no state kept in memory): the first compact heartbeat is merged again. */
    assert_int_equal(open_store(&st), 0);
    snprintf(expect, sizeof(expect), "%s", s_full_hb);
    put_hb(&st, s_full_hb, "ok", 7000);
    put_hb(&st, pure[0], NULL, 7001);
    assert_int_equal(liveness(&st), 0);
    sql_merge(expect, sizeof(expect), pure[0]);
    check_shown(&st, expect);
    st.ops->close(st.impl);
}

/*
 * A compact heartbeat merged in a transaction that is then lost leaves its kept state
 * behind; the next one must not be taken for a beat over the row that is still stored (the
 * full heartbeat), but merged over it.
 */
static void test_liveness_after_lost_batch(void **state)
{
    static const char c1[] = "{\"v\":2,\"seq\":2,\"t_ms\":121000,\"config\":\"d44d0a1b2c3d4e5f\"}";
    static const char c2[] = "{\"v\":2,\"seq\":3,\"t_ms\":181000,\"config\":\"d44d0a1b2c3d4e5f\"}";
    struct wcol_store st;
    struct wcol_store_report r = { .device = "dev-l",
                                   .received_ms = 2000,
                                   .has_heartbeat = true,
                                   .boot_id = "b1",
                                   .heartbeat = c1,
                                   .heartbeat_len = sizeof(c1) - 1 };
    struct wcol_store_report boom = { .device = "dev-x", .received_ms = 2000, .health = "ok" };
    struct wcol_store_put puts[] = { { .device = "dev-l", .report = &r },
                                     { .device = "dev-x", .report = &boom } };
    struct wcol_store_batch b = { .puts = puts, .n_puts = 2 };
    char expect[2048];

    (void)state;
    assert_int_equal(open_store(&st), 0);
    put_hb(&st, s_full_hb, "ok", 1000);
    sql("CREATE TRIGGER lose_txn BEFORE INSERT ON devices WHEN NEW.id = 'dev-x' "
        "BEGIN SELECT RAISE(ROLLBACK, 'test: the whole transaction'); END;");
    assert_int_not_equal(wcol_store_commit_batch(&st, &b), 0);
    put_hb(&st, c2, NULL, 3000);
    assert_int_equal(liveness(&st), 0);
    snprintf(expect, sizeof(expect), "%s", s_full_hb);
    sql_merge(expect, sizeof(expect), c2);
    check_shown(&st, expect);
    st.ops->close(st.impl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_dedup_and_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_fails_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_write_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_lost_fails_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_memo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_version_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_and_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_snapshot_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_merge_work_flat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_keeps_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_liveness_heartbeats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_liveness_after_lost_batch, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
