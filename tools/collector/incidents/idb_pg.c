/*
 * The incident tables on PostgreSQL (idb.h): a statement is its SQL, translated once from the
 * common dialect (?N to $N, "INSERT OR IGNORE" to ON CONFLICT DO NOTHING), and its parameters
 * as text; the first step runs it (PQexecParams) and later steps walk the result's rows.
 * A connection the server closed is reset at the next statement (its transaction is lost:
 * the caller's COMMIT fails and it rolls back, as on any error).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/clock.h"
#include "common/log.h"
#include "incidents/idb.h"
#include "store/pgconn.h"
#include "store/pglink.h"

#define MAX_PARAMS 32
#define INT8_OID   20u
#define INT2_OID   21u
#define INT4_OID   23u

struct wcol_idb_pg {
    PGconn *c;
    int changes;
    char err[256];
    struct wcol_pglink link; /* its state, its reconnect off the event loop */
};

struct wcol_idb_stmt {
    sqlite3_stmt *lite; /* NULL: this is a PostgreSQL statement (idb.c) */
    struct wcol_idb_pg *pg;
    char *sql;
    int n;
    char *val[MAX_PARAMS];
    Oid type[MAX_PARAMS];
    PGresult *res;
    int row, rows;
};

static void set_err(struct wcol_idb_pg *pg, const char *msg)
{
    size_t o = 0;

    for (const char *p = msg ? msg : "unknown error"; *p != '\0' && o + 1 < sizeof(pg->err); p++) {
        pg->err[o++] = *p == '\n' || *p == '\t' ? ' ' : *p;
    }
    while (o > 0 && pg->err[o - 1] == ' ') {
        o--;
    }
    pg->err[o] = '\0';
}

static void on_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int wcol_idb_pg_connect(struct wcol_idb_pg **out, const char *conninfo)
{
    struct wcol_idb_pg *pg = calloc(1, sizeof(*pg));

    *out = pg;
    if (pg == NULL) {
        return -ENOMEM;
    }
    pg->c = wcol_pg_connect(conninfo, "ward-collector-incidents");
    if (pg->c == NULL || PQstatus(pg->c) != CONNECTION_OK) {
        set_err(pg, pg->c ? PQerrorMessage(pg->c) : "out of memory");
        wcol_log_error("incidents: cannot connect to PostgreSQL: %s", pg->err);
        wcol_idb_pg_close(pg);
        *out = NULL;
        return -EIO;
    }
    PQsetNoticeProcessor(pg->c, on_notice, NULL);
    if (wcol_pglink_init(&pg->link, pg->c, "incidents") != 0) {
        wcol_log_error("incidents: PostgreSQL: more than %d connections", WCOL_PGLINK_MAX);
        wcol_idb_pg_close(pg);
        *out = NULL;
        return -ENOSPC;
    }
    return 0;
}

void wcol_idb_pg_own_thread(struct wcol_idb_pg *pg)
{
    wcol_pglink_own_thread(&pg->link);
}

void wcol_idb_pg_close(struct wcol_idb_pg *pg)
{
    if (pg != NULL) {
        wcol_pglink_fini(&pg->link);
        PQfinish(pg->c);
        free(pg);
    }
}

/* A connection the server closed (a restart, a failover) is made again in the background
 * (store/pglink.h): until it is, a statement fails at once. @return 0, -EAGAIN. */
static int revive(struct wcol_idb_pg *pg)
{
    if (wcol_pglink_ready(&pg->link, wcol_now_mono()) < 0) {
        set_err(pg, "the connection to PostgreSQL is being made again");
        return -EAGAIN;
    }
    return 0;
}

static int result_rc(struct wcol_idb_pg *pg, PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);

    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        pg->changes = atoi(PQcmdTuples(r));
        return SQLITE_OK;
    }
    set_err(pg, r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(pg->c));
    return SQLITE_ERROR;
}

int wcol_idb_pg_exec(struct wcol_idb_pg *pg, const char *sql)
{
    char lock[160];

    if (strcmp(sql, "BEGIN IMMEDIATE") == 0) {
        snprintf(lock, sizeof(lock), "BEGIN; SELECT pg_advisory_xact_lock(%d, %d)",
                 WCOL_IDB_LOCK_CLASS, WCOL_IDB_LOCK_OBJ);
        sql = lock;
    }
    if (revive(pg) != 0) {
        return SQLITE_ERROR;
    }
    PGresult *r = PQexec(pg->c, sql);
    int rc = result_rc(pg, r);

    /* A transaction a failed statement aborted answers COMMIT with ROLLBACK: not a commit. */
    if (rc == SQLITE_OK && strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
        set_err(pg, "the transaction failed and was rolled back");
        rc = SQLITE_ERROR;
    }

    PQclear(r);
    return rc;
}

/* ?N to $N outside quotes; the highest N. */
static char *translate(const char *sql, int *n)
{
    static const char ignore[] = "INSERT OR IGNORE ";
    static const char conflict[] = " ON CONFLICT DO NOTHING";
    bool upsert = strncmp(sql, ignore, sizeof(ignore) - 1) == 0;
    size_t len = strlen(sql);
    char *out = malloc(len + sizeof(conflict) + 1), *o = out;
    bool quoted = false;

    *n = 0;
    if (out == NULL) {
        return NULL;
    }
    if (upsert) {
        o += sprintf(o, "INSERT ");
        sql += sizeof(ignore) - 1;
    }
    for (const char *p = sql; *p != '\0'; p++) {
        quoted ^= *p == '\'';
        if (!quoted && *p == '?' && p[1] >= '1' && p[1] <= '9') {
            int v = (int)strtol(p + 1, NULL, 10);

            *n = v > *n ? v : *n;
            *o++ = '$';
            continue;
        }
        *o++ = *p;
    }
    *o = '\0';
    if (upsert) {
        strcat(out, conflict);
    }
    return out;
}

struct wcol_idb_stmt *wcol_idb_pg_prepare(struct wcol_idb_pg *pg, const char *sql)
{
    struct wcol_idb_stmt *st = calloc(1, sizeof(*st));

    if (st == NULL || (st->sql = translate(sql, &st->n)) == NULL || st->n > MAX_PARAMS) {
        set_err(pg, st != NULL && st->sql != NULL ? "too many parameters" : "out of memory");
        wcol_idb_pg_finalize(st);
        return NULL;
    }
    st->pg = pg;
    return st;
}

int wcol_idb_pg_bind(struct wcol_idb_stmt *st, int i, const char *text, int len, bool integer)
{
    if (i < 1 || i > MAX_PARAMS) {
        return SQLITE_RANGE;
    }
    size_t n = len < 0 ? strlen(text) : (size_t)len;
    char *v = malloc(n + 1);

    if (v == NULL) {
        return SQLITE_NOMEM;
    }
    memcpy(v, text, n);
    v[n] = '\0';
    free(st->val[i - 1]);
    st->val[i - 1] = v;
    st->type[i - 1] = integer ? INT8_OID : 0;
    return SQLITE_OK;
}

int wcol_idb_pg_step(struct wcol_idb_stmt *st)
{
    if (st->res == NULL) {
        if (revive(st->pg) != 0) {
            return SQLITE_ERROR;
        }
        st->res = PQexecParams(st->pg->c, st->sql, st->n, st->type, (const char *const *)st->val,
                               NULL, NULL, 0);
        if (result_rc(st->pg, st->res) != SQLITE_OK) {
            return SQLITE_ERROR;
        }
        if (PQresultStatus(st->res) != PGRES_TUPLES_OK) {
            return SQLITE_DONE;
        }
        st->rows = PQntuples(st->res);
        st->row = 0;
    } else if (st->row < st->rows) {
        st->row++;
    }
    return st->row < st->rows ? SQLITE_ROW : SQLITE_DONE;
}

const char *wcol_idb_pg_text(struct wcol_idb_stmt *st, int i, int *len, int *type)
{
    bool none = st->res == NULL || st->row >= st->rows || i < 0 || i >= PQnfields(st->res) ||
                PQgetisnull(st->res, st->row, i);

    if (len != NULL) {
        *len = none ? 0 : PQgetlength(st->res, st->row, i);
    }
    if (type != NULL) {
        Oid t = none ? 0 : PQftype(st->res, i);

        *type = none                                              ? SQLITE_NULL
                : t == INT8_OID || t == INT4_OID || t == INT2_OID ? SQLITE_INTEGER
                                                                  : SQLITE_TEXT;
    }
    return none ? NULL : PQgetvalue(st->res, st->row, i);
}

void wcol_idb_pg_finalize(struct wcol_idb_stmt *st)
{
    if (st == NULL) {
        return;
    }
    for (int i = 0; i < MAX_PARAMS; i++) {
        free(st->val[i]);
    }
    PQclear(st->res);
    free(st->sql);
    free(st);
}

int wcol_idb_pg_changes(struct wcol_idb_pg *pg)
{
    return pg->changes;
}

int64_t wcol_idb_pg_lastval(struct wcol_idb_pg *pg)
{
    PGresult *r = PQexec(pg->c, "SELECT lastval()");
    int64_t v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                    ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                    : 0;

    if (v == 0) {
        set_err(pg, PQresultErrorMessage(r));
    }
    PQclear(r);
    return v;
}

const char *wcol_idb_pg_errmsg(struct wcol_idb_pg *pg)
{
    return pg->err[0] != '\0' ? pg->err : "no error";
}
