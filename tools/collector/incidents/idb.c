/*
 * The incident tables' statement interface (idb.h): SQLite here, PostgreSQL in idb_pg.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "incidents/idb.h"

struct wcol_idb {
    sqlite3 *lite;
    struct wcol_idb_pg *pg;
};

/* A SQLite statement is handed out as itself; a PostgreSQL one is idb_pg.c's. The first
 * member tells them apart. */
struct wcol_idb_stmt {
    sqlite3_stmt *lite;
};

int wcol_idb_open_sqlite(struct wcol_idb **out, const char *path)
{
    struct wcol_idb *db = calloc(1, sizeof(*db));

    *out = db;
    if (db == NULL) {
        return -ENOMEM;
    }
    if (sqlite3_open_v2(path, &db->lite,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
                        NULL) != SQLITE_OK) {
        wcol_log_error("incidents: cannot open %s: %s", path,
                       db->lite ? sqlite3_errmsg(db->lite) : "out of memory");
        wcol_idb_close(db);
        *out = NULL;
        return -EIO;
    }
    return 0;
}

int wcol_idb_open_pg(struct wcol_idb **out, const char *conninfo, const char *who)
{
    struct wcol_idb *db = calloc(1, sizeof(*db));
    int rc;

    *out = db;
    if (db == NULL) {
        return -ENOMEM;
    }
    rc = wcol_idb_pg_connect(&db->pg, conninfo, who);
    if (rc != 0) {
        free(db);
        *out = NULL;
    }
    return rc;
}

void wcol_idb_own_thread(struct wcol_idb *db)
{
    if (db != NULL && db->pg != NULL) {
        wcol_idb_pg_own_thread(db->pg);
    }
}

void wcol_idb_unprepared(struct wcol_idb *db)
{
    if (db != NULL && db->pg != NULL) {
        wcol_idb_pg_unprepared(db->pg);
    }
}

void wcol_idb_close(struct wcol_idb *db)
{
    if (db == NULL) {
        return;
    }
    sqlite3_close(db->lite);
    wcol_idb_pg_close(db->pg);
    free(db);
}

bool wcol_idb_is_pg(const struct wcol_idb *db)
{
    return db->pg != NULL;
}

sqlite3 *wcol_idb_sqlite(struct wcol_idb *db)
{
    return db->lite;
}

const char *wcol_idb_sql(const struct wcol_idb *db, const char *lite, const char *pg)
{
    return db->pg != NULL ? pg : lite;
}

int wcol_idb_exec(struct wcol_idb *db, const char *sql)
{
    if (db->pg != NULL) {
        return wcol_idb_pg_exec(db->pg, sql);
    }
    return sqlite3_exec(db->lite, sql, NULL, NULL, NULL);
}

int wcol_idb_prepare_v2(struct wcol_idb *db, const char *sql, int n, struct wcol_idb_stmt **st,
                        const char **tail)
{
    sqlite3_stmt *s = NULL;

    (void)n;
    (void)tail;
    *st = NULL;
    if (db->pg != NULL) {
        *st = wcol_idb_pg_prepare(db->pg, sql);
        return *st != NULL ? SQLITE_OK : SQLITE_NOMEM;
    }
    int rc = sqlite3_prepare_v2(db->lite, sql, -1, &s, NULL);

    if (rc != SQLITE_OK) {
        return rc;
    }
    struct wcol_idb_stmt *w = malloc(sizeof(*w));

    if (w == NULL) {
        sqlite3_finalize(s);
        return SQLITE_NOMEM;
    }
    w->lite = s;
    *st = w;
    return SQLITE_OK;
}

int wcol_idb_bind_int64(struct wcol_idb_stmt *st, int i, int64_t v)
{
    char b[24];

    if (st->lite != NULL) {
        return sqlite3_bind_int64(st->lite, i, v);
    }
    snprintf(b, sizeof(b), "%lld", (long long)v);
    return wcol_idb_pg_bind(st, i, b, -1, true);
}

int wcol_idb_bind_int(struct wcol_idb_stmt *st, int i, int v)
{
    return wcol_idb_bind_int64(st, i, v);
}

int wcol_idb_bind_text(struct wcol_idb_stmt *st, int i, const char *s, int len, void (*d)(void *))
{
    (void)d;
    if (st->lite != NULL) {
        return sqlite3_bind_text(st->lite, i, s, len, SQLITE_TRANSIENT);
    }
    return wcol_idb_pg_bind(st, i, s, len, false);
}

int wcol_idb_step(struct wcol_idb_stmt *st)
{
    return st->lite != NULL ? sqlite3_step(st->lite) : wcol_idb_pg_step(st);
}

const unsigned char *wcol_idb_column_text(struct wcol_idb_stmt *st, int i)
{
    if (st->lite != NULL) {
        return sqlite3_column_text(st->lite, i);
    }
    return (const unsigned char *)wcol_idb_pg_text(st, i, NULL, NULL);
}

int64_t wcol_idb_column_int64(struct wcol_idb_stmt *st, int i)
{
    if (st->lite != NULL) {
        return sqlite3_column_int64(st->lite, i);
    }
    const char *s = wcol_idb_pg_text(st, i, NULL, NULL);

    return s != NULL ? strtoll(s, NULL, 10) : 0;
}

int wcol_idb_column_int(struct wcol_idb_stmt *st, int i)
{
    return (int)wcol_idb_column_int64(st, i);
}

int wcol_idb_column_bytes(struct wcol_idb_stmt *st, int i)
{
    int len = 0;

    if (st->lite != NULL) {
        return sqlite3_column_bytes(st->lite, i);
    }
    (void)wcol_idb_pg_text(st, i, &len, NULL);
    return len;
}

int wcol_idb_column_type(struct wcol_idb_stmt *st, int i)
{
    int type = SQLITE_NULL;

    if (st->lite != NULL) {
        return sqlite3_column_type(st->lite, i);
    }
    (void)wcol_idb_pg_text(st, i, NULL, &type);
    return type;
}

int wcol_idb_column_count(struct wcol_idb_stmt *st)
{
    return st->lite != NULL ? sqlite3_column_count(st->lite) : wcol_idb_pg_nfields(st);
}

int wcol_idb_finalize(struct wcol_idb_stmt *st)
{
    if (st == NULL) {
        return SQLITE_OK;
    }
    if (st->lite != NULL) {
        int rc = sqlite3_finalize(st->lite);

        free(st);
        return rc;
    }
    wcol_idb_pg_finalize(st);
    return SQLITE_OK;
}

int wcol_idb_changes(struct wcol_idb *db)
{
    return db->pg != NULL ? wcol_idb_pg_changes(db->pg) : sqlite3_changes(db->lite);
}

const char *wcol_idb_errmsg(struct wcol_idb *db)
{
    return db->pg != NULL ? wcol_idb_pg_errmsg(db->pg) : sqlite3_errmsg(db->lite);
}
