/*
 * The incident tables on PostgreSQL (idb.h): a statement is its SQL, translated once from the
 * common dialect (?N to $N, "INSERT OR IGNORE" to ON CONFLICT DO NOTHING), and its parameters
 * as text; the first step runs it (PQexecParams) and later steps walk the result's rows.
 * A connection the server closed is reset at the next statement (its transaction is lost:
 * the caller's COMMIT fails and it rolls back, as on any error).
 *
 * Inside a transaction a write whose result nobody reads (an UPDATE, an INSERT without
 * RETURNING) is not waited for: it is queued in libpq's pipeline mode and goes to the server
 * with the next statement that reads, in that statement's round trip (the engine evaluated
 * 60-110 events/s with one blocking round trip per statement, docs/benchmarks.md, issue 17).
 * The order of the statements is kept; a queued write that fails aborts the transaction as
 * before, and the next read, changes() or COMMIT reports it, so the caller rolls back.
 *
 * Each statement text (with its parameters' types) is prepared on the server the first time a
 * connection runs it, outside a pipeline (PQprepare: one round trip, once), and then run by
 * name, queued or not, so the server neither parses nor plans it again. The names live as long
 * as the connection: a connection made again starts with none; a statement whose cached plan
 * the server refuses (another collector's migration changed a table under it, 0A000) makes the
 * connection forget them all (DEALLOCATE ALL before the next transaction). At most
 * MAX_PREPARED texts; past that a statement runs unprepared, as before.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"
#include "incidents/idb.h"
#include "store/pgconn.h"
#include "store/pglink.h"

#define MAX_PARAMS 32
#define INT8_OID   20u
#define INT2_OID   21u
#define INT4_OID   23u
/* Queued writes at most before they are sent and their results read (a bounded pipeline). */
#define MAX_QUEUED 128
/* Statement texts prepared per connection at most (the engine runs about 40 distinct ones). */
#define MAX_PREPARED 96

struct prepared {
    char *sql;
    uint32_t hash; /* of sql (wcol_fnv1a): most texts differ in it, no strcmp needed */
    unsigned n;
    Oid type[MAX_PARAMS];
    char name[16];
};

struct wcol_idb_pg {
    PGconn *c;
    int changes;
    bool in_txn; /* between BEGIN and COMMIT/ROLLBACK (exec): writes may be queued */
    int queued;  /* writes sent in pipeline mode whose results are not read yet */
    char err[256];
    struct wcol_pglink link; /* its state, its reconnect off the event loop */
    struct prepared prep[MAX_PREPARED];
    unsigned nprep;
    unsigned prep_serial; /* names are never reused on one connection: "wi<serial>" */
    bool prep_stale;      /* forget them all (DEALLOCATE ALL) before the next transaction */
    bool prep_off;        /* a connection for a few statements: preparing would only cost */
};

struct wcol_idb_stmt {
    sqlite3_stmt *lite; /* NULL: this is a PostgreSQL statement (idb.c) */
    struct wcol_idb_pg *pg;
    char *sql;
    uint32_t hash; /* of sql, for its prepared name's lookup */
    int n;
    char *val[MAX_PARAMS];
    Oid type[MAX_PARAMS];
    PGresult *res;
    int row, rows;
    bool write;       /* no rows to read: may be queued in a transaction */
    bool sent;        /* queued: a second step does not send it again */
    const char *name; /* its prepared name on this connection, NULL: run it unprepared */
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

int wcol_idb_pg_connect(struct wcol_idb_pg **out, const char *conninfo, const char *who)
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
    if (wcol_pglink_init(&pg->link, pg->c, who) != 0) {
        wcol_log_error("incidents: PostgreSQL: more than %d connections", WCOL_PGLINK_MAX);
        wcol_idb_pg_close(pg);
        *out = NULL;
        return -ENOSPC;
    }
    return 0;
}

void wcol_idb_pg_unprepared(struct wcol_idb_pg *pg)
{
    pg->prep_off = true;
}

void wcol_idb_pg_own_thread(struct wcol_idb_pg *pg)
{
    wcol_pglink_own_thread(&pg->link);
}

/* The connection's prepared names, forgotten: the session holds none of them any more. */
static void prep_forget(struct wcol_idb_pg *pg)
{
    for (unsigned i = 0; i < pg->nprep; i++) {
        free(pg->prep[i].sql);
    }
    pg->nprep = 0;
    pg->prep_stale = false;
    wcol_pglink_statements(&pg->link, 0, 0);
}

void wcol_idb_pg_close(struct wcol_idb_pg *pg)
{
    if (pg != NULL) {
        prep_forget(pg);
        wcol_pglink_fini(&pg->link);
        PQfinish(pg->c);
        free(pg);
    }
}

/* A connection the server closed (a restart, a failover) is made again in the background
 * (store/pglink.h): until it is, a statement fails at once. @return 0, -EAGAIN. */
static int revive(struct wcol_idb_pg *pg)
{
    int rc = wcol_pglink_ready(&pg->link, wcol_now_mono());

    if (rc < 0) {
        set_err(pg, "the connection to PostgreSQL is being made again");
        return -EAGAIN;
    }
    if (rc == 1) {
        prep_forget(pg); /* a new session: the server holds none of the names */
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
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    /* 0A000 "cached plan must not change result type"; 26000: the server no longer has a
     * name (a DISCARD ALL or DEALLOCATE by someone else): forget them all */
    if (state != NULL && (strcmp(state, "0A000") == 0 || strcmp(state, "26000") == 0) &&
        pg->nprep > 0) {
        pg->prep_stale = true;
    }
    set_err(pg, r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(pg->c));
    wcol_pglink_query_failed(&pg->link, wcol_now_mono());
    return SQLITE_ERROR;
}

/* The pipeline is broken (the connection lost mid-way): made again from scratch. */
static int pipe_fail(struct wcol_idb_pg *pg, const char *why)
{
    set_err(pg, PQerrorMessage(pg->c)[0] != '\0' ? PQerrorMessage(pg->c) : why);
    pg->queued = 0;
    wcol_pglink_drop(&pg->link, wcol_now_mono(), why);
    return SQLITE_ERROR;
}

/* One statement's result from the pipeline and the NULL after it. @return it (NULL: broken). */
static PGresult *pipe_result(struct wcol_idb_pg *pg)
{
    PGresult *r = PQgetResult(pg->c);

    if (r != NULL) {
        PQclear(PQgetResult(pg->c));
    }
    return r;
}

/*
 * Send the queued writes (and `read`, already sent after them, when not NULL) with a sync and
 * read their results: one round trip. The first failure is the error (later statements of the
 * pipeline are skipped by the server). @return SQLITE_OK or SQLITE_ERROR; *read_res the read's
 * result when it ran.
 */
static int pipe_collect(struct wcol_idb_pg *pg, bool read, PGresult **read_res)
{
    int n = pg->queued + (read ? 1 : 0), rc = SQLITE_OK;

    if (!PQpipelineSync(pg->c)) {
        return pipe_fail(pg, "pipeline sync");
    }
    for (int i = 0; i < n; i++) {
        PGresult *r = pipe_result(pg);

        if (r == NULL) {
            return pipe_fail(pg, "pipeline result");
        }
        if (rc == SQLITE_OK) {
            rc = result_rc(pg, r);
        }
        if (read && i == n - 1 && rc == SQLITE_OK) {
            *read_res = r;
        } else {
            PQclear(r);
        }
    }
    PGresult *sync = PQgetResult(pg->c);
    bool synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC;

    PQclear(sync);
    pg->queued = 0;
    if (!synced || !PQexitPipelineMode(pg->c)) {
        if (read_res != NULL) {
            PQclear(*read_res);
            *read_res = NULL;
        }
        return pipe_fail(pg, "pipeline end");
    }
    return rc;
}

/* Before a statement that is not queued: the queued writes' results. */
static int pipe_drain(struct wcol_idb_pg *pg)
{
    return pg->queued > 0 ? pipe_collect(pg, false, NULL) : SQLITE_OK;
}

static int pipe_send(struct wcol_idb_stmt *st)
{
    const char *const *val = (const char *const *)st->val;
    int ok = st->name != NULL
                 ? PQsendQueryPrepared(st->pg->c, st->name, st->n, val, NULL, NULL, 0)
                 : PQsendQueryParams(st->pg->c, st->sql, st->n, st->type, val, NULL, NULL, 0);

    return ok ? SQLITE_OK : pipe_fail(st->pg, "pipeline send");
}

/* Its name on this connection, prepared now if it is new (outside the pipeline: the queued
 * writes are sent first). @return SQLITE_OK (st->name NULL: run it unprepared), SQLITE_ERROR. */
static int prep_lookup(struct wcol_idb_stmt *st)
{
    struct wcol_idb_pg *pg = st->pg;
    size_t types = (size_t)st->n * sizeof(Oid);

    st->name = NULL;
    if (pg->prep_stale || pg->prep_off) {
        return SQLITE_OK; /* the names are forgotten before the next transaction */
    }
    for (unsigned i = 0; i < pg->nprep; i++) {
        struct prepared *p = &pg->prep[i];

        if (p->hash == st->hash && p->n == (unsigned)st->n &&
            memcmp(p->type, st->type, types) == 0 && strcmp(p->sql, st->sql) == 0) {
            st->name = p->name;
            return SQLITE_OK;
        }
    }
    if (pg->nprep == MAX_PREPARED) {
        return SQLITE_OK;
    }
    if (pipe_drain(pg) != SQLITE_OK) {
        return SQLITE_ERROR;
    }
    struct prepared *p = &pg->prep[pg->nprep];

    snprintf(p->name, sizeof(p->name), "wi%u", pg->prep_serial++);
    PGresult *r = PQprepare(pg->c, p->name, st->sql, st->n, st->type);
    int rc = result_rc(pg, r);

    PQclear(r);
    if (rc != SQLITE_OK || (p->sql = strdup(st->sql)) == NULL) {
        return rc != SQLITE_OK ? rc : SQLITE_OK; /* out of memory: unprepared, still correct */
    }
    p->hash = st->hash;
    p->n = (unsigned)st->n;
    memcpy(p->type, st->type, types);
    pg->nprep++;
    wcol_pglink_statements(&pg->link, pg->nprep, 0);
    st->name = p->name;
    return SQLITE_OK;
}

/* A write inside a transaction: sent without waiting for its result. */
static int pipe_queue(struct wcol_idb_stmt *st)
{
    struct wcol_idb_pg *pg = st->pg;

    if (pg->queued == 0 && !PQenterPipelineMode(pg->c)) {
        return pipe_fail(pg, "pipeline mode");
    }
    if (pipe_send(st) != SQLITE_OK) {
        return SQLITE_ERROR;
    }
    st->sent = true;
    pg->queued++;
    return pg->queued < MAX_QUEUED       ? SQLITE_DONE
           : pipe_drain(pg) == SQLITE_OK ? SQLITE_DONE
                                         : SQLITE_ERROR;
}

/* A statement that reads: after the queued writes, in the same round trip. */
static PGresult *pipe_read(struct wcol_idb_stmt *st)
{
    PGresult *r = NULL;

    if (pipe_send(st) == SQLITE_OK) {
        (void)pipe_collect(st->pg, true, &r);
    }
    return r;
}

int wcol_idb_pg_exec(struct wcol_idb_pg *pg, const char *sql)
{
    char lock[160];

    if (strcmp(sql, "BEGIN IMMEDIATE") == 0) {
        snprintf(lock, sizeof(lock), "BEGIN; SELECT pg_advisory_xact_lock(%d, %d)",
                 WCOL_IDB_LOCK_CLASS, WCOL_IDB_LOCK_OBJ);
        sql = lock;
    }
    /* A queued write's failure is reported here; a ROLLBACK still runs. */
    int queued = pipe_drain(pg);

    if (strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0) {
        pg->in_txn = false;
    }
    if (revive(pg) != 0) {
        return SQLITE_ERROR;
    }
    if (pg->prep_stale && !pg->in_txn && strncmp(sql, "BEGIN", 5) == 0) {
        PGresult *d = PQexec(pg->c, "DEALLOCATE ALL");

        if (result_rc(pg, d) == SQLITE_OK) {
            prep_forget(pg);
        }
        PQclear(d);
    }
    PGresult *r = PQexec(pg->c, sql);
    int rc = result_rc(pg, r);

    if (strncmp(sql, "BEGIN", 5) == 0) {
        pg->in_txn = rc == SQLITE_OK;
    }
    if (queued != SQLITE_OK && strcmp(sql, "ROLLBACK") != 0) {
        rc = SQLITE_ERROR;
    }

    /* A transaction a failed statement aborted answers COMMIT with ROLLBACK: not a commit. */
    if (rc == SQLITE_OK && strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
        set_err(pg, "the transaction failed and was rolled back");
        rc = SQLITE_ERROR;
    }

    PQclear(r);
    return rc;
}

/* ?N to $N outside quotes; the highest N; the translated text's length in *out_len. */
static char *translate(const char *sql, int *n, size_t *out_len)
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
    if (upsert) {
        memcpy(o, conflict, sizeof(conflict) - 1);
        o += sizeof(conflict) - 1;
    }
    *o = '\0';
    *out_len = (size_t)(o - out);
    return out;
}

struct wcol_idb_stmt *wcol_idb_pg_prepare(struct wcol_idb_pg *pg, const char *sql)
{
    struct wcol_idb_stmt *st = calloc(1, sizeof(*st));
    size_t len = 0;

    if (st == NULL || (st->sql = translate(sql, &st->n, &len)) == NULL || st->n > MAX_PARAMS) {
        set_err(pg, st != NULL && st->sql != NULL ? "too many parameters" : "out of memory");
        wcol_idb_pg_finalize(st);
        return NULL;
    }
    st->pg = pg;
    st->hash = wcol_fnv1a(WCOL_FNV1A_BASIS, st->sql, len);
    st->write = (strncmp(st->sql, "UPDATE ", 7) == 0 || strncmp(st->sql, "INSERT ", 7) == 0 ||
                 strncmp(st->sql, "DELETE ", 7) == 0) &&
                strstr(st->sql, "RETURNING") == NULL;
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
    if (st->sent) {
        return SQLITE_DONE;
    }
    if (st->res == NULL) {
        if (revive(st->pg) != 0 || prep_lookup(st) != SQLITE_OK) {
            return SQLITE_ERROR;
        }
        if (st->name == NULL) {
            wcol_pglink_statements(&st->pg->link, st->pg->nprep, 1);
        }
        if (st->write && st->pg->in_txn) {
            return pipe_queue(st);
        }
        if (st->pg->queued > 0) {
            st->res = pipe_read(st);
            if (st->res == NULL) {
                return SQLITE_ERROR;
            }
        } else if (st->name != NULL) {
            st->res = PQexecPrepared(st->pg->c, st->name, st->n, (const char *const *)st->val, NULL,
                                     NULL, 0);
        } else {
            st->res = PQexecParams(st->pg->c, st->sql, st->n, st->type,
                                   (const char *const *)st->val, NULL, NULL, 0);
        }
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

int wcol_idb_pg_nfields(struct wcol_idb_stmt *st)
{
    return st->res != NULL ? PQnfields(st->res) : 0;
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
    return pipe_drain(pg) == SQLITE_OK ? pg->changes : 0;
}

const char *wcol_idb_pg_errmsg(struct wcol_idb_pg *pg)
{
    return pg->err[0] != '\0' ? pg->err : "no error";
}
