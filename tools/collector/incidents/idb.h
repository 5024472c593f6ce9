/*
 * Where the incident tables live (docs/incidents.md, docs/storage.md): incidents.db (SQLite,
 * beside the store's file, as ever) or the store's PostgreSQL database, shared by every
 * collector of a cluster. The incident code speaks one small statement interface shaped like
 * SQLite's (prepare, bind, step, column, finalize; the SQLITE_* result codes), and writes its
 * SQL once in the common dialect: ?N parameters, "INSERT OR IGNORE", "BEGIN IMMEDIATE". The
 * PostgreSQL backend (idb_pg.c) translates those three; the few statements that read JSON
 * documents give both dialects (wcol_idb_sql()).
 *
 * "BEGIN IMMEDIATE" is the writers' turn: SQLite's write lock, or on PostgreSQL a transaction
 * advisory lock every collector takes, so that the leader's engine and any collector's
 * operator change never interleave a read-modify-write of the same incident.
 */
#ifndef WCOL_INCIDENTS_IDB_H_
#define WCOL_INCIDENTS_IDB_H_

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The writers' advisory lock on PostgreSQL (two-key form; cluster/cluster.h holds 17). */
#define WCOL_IDB_LOCK_CLASS 2003923557
#define WCOL_IDB_LOCK_OBJ   1701

struct wcol_idb;
struct wcol_idb_stmt;
struct wcol_idb_pg;

/** SQLite: open path (read-write, no mutex, URI names). @return 0, -EIO, -ENOMEM. */
int wcol_idb_open_sqlite(struct wcol_idb **out, const char *path);
/** PostgreSQL: connect with conninfo. @return 0, -EIO (logged), -ENOMEM. */
int wcol_idb_open_pg(struct wcol_idb **out, const char *conninfo, const char *who);
void wcol_idb_close(struct wcol_idb *db);
/** db is used from one thread of its own (the engine's, the sender's), not the event loop:
 * its PostgreSQL reconnect is driven by that thread alone (store/pglink.h). */
void wcol_idb_own_thread(struct wcol_idb *db);
/** db runs a few statements and closes (PostgreSQL: none is prepared, each runs as it is). */
void wcol_idb_unprepared(struct wcol_idb *db);

bool wcol_idb_is_pg(const struct wcol_idb *db);
/** SQLite's handle (NULL on PostgreSQL): pragmas, ATTACH, the busy timeout. */
sqlite3 *wcol_idb_sqlite(struct wcol_idb *db);
/** The statement of this backend's dialect. */
const char *wcol_idb_sql(const struct wcol_idb *db, const char *lite, const char *pg);

/** Run statements without results. @return SQLITE_OK or an error code (wcol_idb_errmsg). */
int wcol_idb_exec(struct wcol_idb *db, const char *sql);
int wcol_idb_prepare_v2(struct wcol_idb *db, const char *sql, int n, struct wcol_idb_stmt **st,
                        const char **tail);
int wcol_idb_bind_int64(struct wcol_idb_stmt *st, int i, int64_t v);
int wcol_idb_bind_int(struct wcol_idb_stmt *st, int i, int v);
/** len -1: up to the NUL. The text is copied (the destructor argument is ignored). */
int wcol_idb_bind_text(struct wcol_idb_stmt *st, int i, const char *s, int len, void (*d)(void *));
/** SQLITE_ROW, SQLITE_DONE or an error code. */
int wcol_idb_step(struct wcol_idb_stmt *st);
int64_t wcol_idb_column_int64(struct wcol_idb_stmt *st, int i);
int wcol_idb_column_int(struct wcol_idb_stmt *st, int i);
const unsigned char *wcol_idb_column_text(struct wcol_idb_stmt *st, int i);
int wcol_idb_column_bytes(struct wcol_idb_stmt *st, int i);
/** SQLITE_NULL, SQLITE_INTEGER or SQLITE_TEXT (PostgreSQL: by the column's type). */
int wcol_idb_column_type(struct wcol_idb_stmt *st, int i);
/** Columns of the statement's result (PostgreSQL: of the last result; 0 before a step). */
int wcol_idb_column_count(struct wcol_idb_stmt *st);
int wcol_idb_finalize(struct wcol_idb_stmt *st);
/** Rows changed by the last statement. */
int wcol_idb_changes(struct wcol_idb *db);
const char *wcol_idb_errmsg(struct wcol_idb *db);

/* idb_pg.c, behind the functions above. */
int wcol_idb_pg_connect(struct wcol_idb_pg **out, const char *conninfo, const char *who);
void wcol_idb_pg_close(struct wcol_idb_pg *pg);
void wcol_idb_pg_own_thread(struct wcol_idb_pg *pg);
void wcol_idb_pg_unprepared(struct wcol_idb_pg *pg);
int wcol_idb_pg_exec(struct wcol_idb_pg *pg, const char *sql);
struct wcol_idb_stmt *wcol_idb_pg_prepare(struct wcol_idb_pg *pg, const char *sql);
int wcol_idb_pg_bind(struct wcol_idb_stmt *st, int i, const char *text, int len, bool integer);
int wcol_idb_pg_step(struct wcol_idb_stmt *st);
int wcol_idb_pg_nfields(struct wcol_idb_stmt *st);
const char *wcol_idb_pg_text(struct wcol_idb_stmt *st, int i, int *len, int *type);
void wcol_idb_pg_finalize(struct wcol_idb_stmt *st);
int wcol_idb_pg_changes(struct wcol_idb_pg *pg);
const char *wcol_idb_pg_errmsg(struct wcol_idb_pg *pg);

#endif /* WCOL_INCIDENTS_IDB_H_ */
