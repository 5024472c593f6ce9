/*
 * The inventory's tables in the store's PostgreSQL database (invdb.h), on a connection of its
 * own (store/pgconn.h): a statement's ?N become $N, its parameters go as text and PostgreSQL
 * types them from their columns. A connection lost inside the writer's transaction fails the
 * rest of it (no reset half-way: the next transaction reconnects), so nothing commits in part.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "inventory/invdb.h"
#include "store/pgconn.h"

#define PARAMS_MAX 8
#define COLS_MAX   16

struct pg {
    struct inv_db db;
    struct wcol_pgconn *q;
    bool in_tx;
};

/* sql with ?N as $N (outside quoted text). @return heap, NULL without memory. */
static char *dollars(const char *sql)
{
    char *out = strdup(sql);
    bool quoted = false;

    for (char *p = out; p != NULL && *p != '\0'; p++) {
        quoted ^= *p == '\'';
        if (!quoted && *p == '?' && p[1] >= '1' && p[1] <= '9') {
            *p = '$';
        }
    }
    return out;
}

static int pg_run(struct pg *g, const char *sql, int n, const char *const *v, struct inv_rows *out)
{
    if (g->in_tx && PQstatus(g->q->c) != CONNECTION_OK) {
        return -EIO; /* the transaction is gone with the connection */
    }
    PGresult *r = wcol_pgconn_run(g->q, sql, n, v, NULL, NULL);
    int rc = r != NULL ? 0 : -EIO;
    int rows = r != NULL ? PQntuples(r) : 0, cols = r != NULL ? PQnfields(r) : 0;

    cols = cols < COLS_MAX ? cols : COLS_MAX;
    for (int i = 0; rc == 0 && out != NULL && i < rows; i++) {
        const char *cells[COLS_MAX];

        for (int c = 0; c < cols; c++) {
            cells[c] = PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
        }
        rc = wcol_inv_rows_add(out, (unsigned)cols, cells);
    }
    /* A transaction a failed statement aborted answers COMMIT with ROLLBACK. */
    if (rc == 0 && strcmp(PQcmdStatus(r), "ROLLBACK") == 0 && strcmp(sql, "COMMIT") == 0) {
        wcol_log_error("inventory: PostgreSQL: the transaction was rolled back");
        rc = -EIO;
    }
    PQclear(r);
    return rc;
}

static int pg_query(struct inv_db *db, const char *sql, const struct inv_val *v, int n,
                    struct inv_rows *out)
{
    char num[PARAMS_MAX][24];
    const char *text[PARAMS_MAX];
    char *s = dollars(sql);
    int rc;

    if (s == NULL || n > PARAMS_MAX) {
        free(s);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        snprintf(num[i], sizeof(num[i]), "%" PRId64, v[i].i);
        text[i] = v[i].type == INV_VAL_INT ? num[i] : v[i].type == INV_VAL_TEXT ? v[i].s : NULL;
    }
    rc = pg_run((struct pg *)db, s, n, text, out);
    free(s);
    return rc;
}

static int pg_begin(struct inv_db *db)
{
    struct pg *g = (struct pg *)db;
    int rc = pg_run(g, "BEGIN", 0, NULL, NULL);

    g->in_tx = rc == 0;
    return rc;
}

static int pg_end(struct inv_db *db, bool commit)
{
    struct pg *g = (struct pg *)db;
    int rc = pg_run(g, commit ? "COMMIT" : "ROLLBACK", 0, NULL, NULL);

    if (rc != 0 && PQstatus(g->q->c) == CONNECTION_OK &&
        PQtransactionStatus(g->q->c) != PQTRANS_IDLE) {
        PQclear(PQexec(g->q->c, "ROLLBACK"));
    }
    g->in_tx = false;
    return rc;
}

static void pg_close(struct inv_db *db)
{
    struct pg *g = (struct pg *)db;

    wcol_pgconn_close(g->q);
    free(g);
}

static const struct inv_db_ops s_ops = {
    .query = pg_query, .begin = pg_begin, .end = pg_end, .close = pg_close
};

void wcol_invdb_pg_own_thread(struct inv_db *db)
{
    wcol_pgconn_own_thread(((struct pg *)db)->q);
}

int wcol_invdb_open_pg(struct inv_db **out, const char *conninfo)
{
    struct pg *g = calloc(1, sizeof(*g));
    int rc;

    *out = NULL;
    if (g == NULL) {
        return -ENOMEM;
    }
    g->db.ops = &s_ops;
    g->db.shared = true;
    rc = wcol_pgconn_open(&g->q, conninfo, "inventory");
    if (rc != 0) {
        free(g);
        return rc;
    }
    *out = &g->db;
    return 0;
}
