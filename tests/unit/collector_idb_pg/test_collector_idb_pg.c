/*
 * incidents/idb_pg.c against a PostgreSQL server (WARD_TEST_PG_CONNINFO; exit 77 without):
 * inside a transaction a write is queued, not waited for. The tests check what that must not
 * change: a read sees the writes queued before it, changes() counts the last write, a queued
 * write that fails fails the transaction (nothing of it is committed), and a write outside a
 * transaction is committed when its step returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "incidents/idb.h"

static const char *s_conninfo;

static struct wcol_idb *db_open(void)
{
    struct wcol_idb *db = NULL;

    assert_int_equal(wcol_idb_open_pg(&db, s_conninfo, "incidents"), 0);
    return db;
}

static int64_t one_int(struct wcol_idb *db, const char *sql)
{
    struct wcol_idb_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(wcol_idb_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (wcol_idb_step(st) == SQLITE_ROW) {
        v = wcol_idb_column_int64(st, 0);
    }
    wcol_idb_finalize(st);
    return v;
}

/* A write (step SQLITE_DONE) of `v` into the table, or with NULL v a NOT NULL violation. */
static int put(struct wcol_idb *db, const char *v)
{
    struct wcol_idb_stmt *st = NULL;

    assert_int_equal(wcol_idb_prepare_v2(db, "INSERT INTO idb_t (v) VALUES (?1)", -1, &st, NULL),
                     SQLITE_OK);
    if (v != NULL) {
        wcol_idb_bind_text(st, 1, v, -1, SQLITE_STATIC);
    }
    int rc = wcol_idb_step(st);

    wcol_idb_finalize(st);
    return rc;
}

static int setup(void **state)
{
    struct wcol_idb *db = db_open();

    assert_int_equal(wcol_idb_exec(db, "DROP TABLE IF EXISTS idb_t; CREATE TABLE idb_t (id "
                                       "bigserial PRIMARY KEY, v text NOT NULL)"),
                     SQLITE_OK);
    *state = db;
    return 0;
}

static int teardown(void **state)
{
    struct wcol_idb *db = *state;

    wcol_idb_exec(db, "DROP TABLE IF EXISTS idb_t");
    wcol_idb_close(db);
    return 0;
}

/* 300 writes (more than one pipeline's worth), each read back in order by the same
 * transaction, and changes() of an UPDATE queued last. */
static void test_reads_see_queued_writes(void **state)
{
    struct wcol_idb *db = *state;
    char v[16];

    assert_int_equal(wcol_idb_exec(db, "BEGIN IMMEDIATE"), SQLITE_OK);
    for (int i = 0; i < 300; i++) {
        snprintf(v, sizeof(v), "w%d", i);
        assert_int_equal(put(db, v), SQLITE_DONE);
        if (i % 50 == 49) {
            assert_int_equal(one_int(db, "SELECT count(*) FROM idb_t"), i + 1);
        }
    }
    struct wcol_idb_stmt *st = NULL;

    assert_int_equal(
        wcol_idb_prepare_v2(db, "UPDATE idb_t SET v = v || '!' WHERE v LIKE 'w1%'", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(wcol_idb_step(st), SQLITE_DONE);
    wcol_idb_finalize(st);
    /* w1, w10-w19, w100-w199 */
    assert_int_equal(wcol_idb_changes(db), 111);
    assert_int_equal(one_int(db, "SELECT count(*) FROM idb_t WHERE v LIKE '%!'"), 111);
    assert_int_equal(one_int(db, "SELECT min(id) FROM idb_t WHERE v = 'w299'"),
                     one_int(db, "SELECT max(id) FROM idb_t"));
    assert_int_equal(wcol_idb_exec(db, "COMMIT"), SQLITE_OK);
    assert_int_equal(one_int(db, "SELECT count(*) FROM idb_t"), 300);
}

/* A queued write that fails: the next read reports it, COMMIT fails, nothing is kept; the
 * connection serves the next transaction. */
static void test_failed_queued_write(void **state)
{
    struct wcol_idb *db = *state;
    int64_t before = one_int(db, "SELECT count(*) FROM idb_t");

    assert_int_equal(wcol_idb_exec(db, "BEGIN IMMEDIATE"), SQLITE_OK);
    assert_int_equal(put(db, "kept?"), SQLITE_DONE);
    assert_int_equal(put(db, NULL), SQLITE_DONE); /* queued: its failure is not known yet */
    assert_int_equal(put(db, "after"), SQLITE_DONE);

    struct wcol_idb_stmt *st = NULL;

    assert_int_equal(wcol_idb_prepare_v2(db, "SELECT count(*) FROM idb_t", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(wcol_idb_step(st), SQLITE_ERROR);
    wcol_idb_finalize(st);
    assert_non_null(strstr(wcol_idb_errmsg(db), "null"));
    assert_int_not_equal(wcol_idb_exec(db, "COMMIT"), SQLITE_OK);
    wcol_idb_exec(db, "ROLLBACK");
    assert_int_equal(one_int(db, "SELECT count(*) FROM idb_t"), before);

    /* The same with the failure reported by COMMIT itself. */
    assert_int_equal(wcol_idb_exec(db, "BEGIN IMMEDIATE"), SQLITE_OK);
    assert_int_equal(put(db, "kept?"), SQLITE_DONE);
    assert_int_equal(put(db, NULL), SQLITE_DONE);
    assert_int_not_equal(wcol_idb_exec(db, "COMMIT"), SQLITE_OK);
    wcol_idb_exec(db, "ROLLBACK");
    assert_int_equal(one_int(db, "SELECT count(*) FROM idb_t"), before);

    assert_int_equal(wcol_idb_exec(db, "BEGIN IMMEDIATE"), SQLITE_OK);
    assert_int_equal(put(db, "next"), SQLITE_DONE);
    assert_int_equal(wcol_idb_exec(db, "COMMIT"), SQLITE_OK);
    assert_int_equal(one_int(db, "SELECT count(*) FROM idb_t"), before + 1);
}

/* Outside a transaction a write is not queued: another connection sees it at once, and a
 * failure is the step's. */
static void test_autocommit_not_queued(void **state)
{
    struct wcol_idb *db = *state, *other = db_open();
    int64_t before = one_int(other, "SELECT count(*) FROM idb_t");

    assert_int_equal(put(db, "now"), SQLITE_DONE);
    assert_int_equal(one_int(other, "SELECT count(*) FROM idb_t"), before + 1);
    assert_int_equal(put(db, NULL), SQLITE_ERROR);
    wcol_idb_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_see_queued_writes),
        cmocka_unit_test(test_failed_queued_write),
        cmocka_unit_test(test_autocommit_not_queued),
    };

    s_conninfo = getenv("WARD_TEST_PG_CONNINFO");
    if (s_conninfo == NULL || s_conninfo[0] == '\0') {
        printf("SKIP: WARD_TEST_PG_CONNINFO is not set (collector_incidents_idb_pg sets it)\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
