/* A PostgreSQL connection of a feature's own (store/pgconn.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "store/pgconn.h"

static void log_fail(PGconn *c, const char *who, const PGresult *r)
{
    const char *m = r != NULL ? PQresultErrorMessage(r) : NULL;
    char line[512] = "";
    size_t o = 0;

    if (m == NULL || m[0] == '\0') {
        m = c != NULL ? PQerrorMessage(c) : "out of memory";
    }
    for (; *m != '\0' && o + 1 < sizeof(line); m++) {
        line[o++] = *m == '\n' || *m == '\t' ? ' ' : *m; /* libpq's messages span lines */
    }
    while (o > 0 && line[o - 1] == ' ') {
        o--;
    }
    line[o] = '\0';
    wcol_log_error("%s: PostgreSQL: %s", who, line);
}

/* The defaults first, the conninfo (dbname, expanded) last: libpq keeps a keyword's last value,
 * so whatever the operator's conninfo sets wins. */
static const char *const s_keys[] = { "connect_timeout",     "keepalives",       "keepalives_idle",
                                      "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                                      "application_name",    "dbname",           NULL };

static void fill_vals(const char **vals, const char *conninfo, const char *app)
{
    const char *v[] = { WCOL_PG_CONNECT_TIMEOUT,
                        "1",
                        WCOL_PG_KEEPALIVES_IDLE,
                        WCOL_PG_KEEPALIVES_INTERVAL,
                        WCOL_PG_KEEPALIVES_COUNT,
                        WCOL_PG_TCP_USER_TIMEOUT,
                        app,
                        conninfo != NULL ? conninfo : "",
                        NULL };

    memcpy(vals, v, sizeof(v));
}

PGconn *wcol_pg_connect(const char *conninfo, const char *app)
{
    const char *vals[sizeof(s_keys) / sizeof(s_keys[0])];

    fill_vals(vals, conninfo, app);
    return PQconnectdbParams(s_keys, vals, 1);
}

PGconn *wcol_pg_connect_start(const char *conninfo, const char *app)
{
    const char *vals[sizeof(s_keys) / sizeof(s_keys[0])];

    fill_vals(vals, conninfo, app);
    return PQconnectStartParams(s_keys, vals, 1);
}

int wcol_pgconn_open(struct wcol_pgconn **out, const char *conninfo, const char *who)
{
    char app[64];
    struct wcol_pgconn *q = calloc(1, sizeof(*q));

    *out = NULL;
    if (q == NULL) {
        return -ENOMEM;
    }
    snprintf(q->who, sizeof(q->who), "%s", who);
    snprintf(app, sizeof(app), "ward-collector-%s", who);
    q->c = wcol_pg_connect(conninfo, app);
    if (q->c == NULL || PQstatus(q->c) != CONNECTION_OK) {
        log_fail(q->c, who, NULL);
        wcol_pgconn_close(q);
        return -EIO;
    }
    if (wcol_pglink_init(&q->link, q->c, who) != 0) {
        wcol_log_error("%s: PostgreSQL: more than %d connections", who, WCOL_PGLINK_MAX);
        wcol_pgconn_close(q);
        return -ENOSPC;
    }
    *out = q;
    return 0;
}

void wcol_pgconn_close(struct wcol_pgconn *q)
{
    if (q != NULL) {
        wcol_pglink_fini(&q->link);
        PQfinish(q->c);
        free(q);
    }
}

void wcol_pgconn_own_thread(struct wcol_pgconn *q)
{
    wcol_pglink_own_thread(&q->link);
}

int wcol_pgconn_ready(struct wcol_pgconn *q)
{
    return wcol_pglink_ready(&q->link, wcol_now_mono()) >= 0 ? 0 : -EAGAIN;
}

PGresult *wcol_pgconn_run(struct wcol_pgconn *q, const char *sql, int n, const char *const *v,
                          char *state, const char *quiet)
{
    PGconn *c = q->c;
    const char *who = q->who;

    if (state != NULL) {
        state[0] = '\0';
    }
    if (wcol_pgconn_ready(q) != 0) {
        if (state != NULL) {
            snprintf(state, 6, "08006"); /* connection_failure; pglink.c logged it */
        }
        return NULL;
    }
    PGresult *r = PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);

    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        return r;
    }
    const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);

    if (state != NULL) {
        snprintf(state, 6, "%s", code != NULL ? code : "");
    }
    if (quiet == NULL || code == NULL || strcmp(code, quiet) != 0) {
        log_fail(c, who, r);
    }
    PQclear(r);
    wcol_pglink_query_failed(&q->link, wcol_now_mono());
    return NULL;
}
