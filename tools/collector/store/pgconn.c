/* A PostgreSQL connection of a feature's own (store/pgconn.h). */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "store/pgconn.h"

static void log_fail(PGconn *c, const char *who, const PGresult *r)
{
    const char *m = r != NULL ? PQresultErrorMessage(r) : NULL;
    char line[512];
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

PGconn *wcol_pg_connect(const char *conninfo, const char *who)
{
    static const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
    char app[64];
    const char *vals[] = { "5", app, conninfo, NULL };

    snprintf(app, sizeof(app), "ward-collector-%s", who);
    PGconn *c = PQconnectdbParams(keys, vals, 1);

    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        log_fail(c, who, NULL);
        PQfinish(c);
        return NULL;
    }
    return c;
}

PGresult *wcol_pg_run(PGconn *c, const char *who, const char *sql, int n, const char *const *v,
                      char *state, const char *quiet)
{
    if (state != NULL) {
        state[0] = '\0';
    }
    if (PQstatus(c) != CONNECTION_OK) {
        PQreset(c);
        if (PQstatus(c) != CONNECTION_OK) {
            log_fail(c, who, NULL);
            return NULL;
        }
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
    return NULL;
}
