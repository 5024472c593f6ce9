/*
 * A PostgreSQL connection of a feature's own (the accounts, the audit log) beside the store's:
 * blocking calls while connected, as the store's API reads. A lost connection is made again in
 * the background (store/pglink.h), never waiting on the event loop: meanwhile every call fails
 * at once. Errors are logged as one line prefixed with who.
 */
#ifndef WCOL_STORE_PGCONN_H_
#define WCOL_STORE_PGCONN_H_

#include <libpq-fe.h>

#include "store/pglink.h"

/*
 * Every PostgreSQL connection of the collector starts from these settings, under the
 * conninfo's own (the operator's win: docs/storage.md, "A host that vanishes"). Keepalives and
 * tcp_user_timeout bound how long a dead host (power lost, a network that drops packets, no
 * RST) goes unnoticed: an idle connection is given up 5 s + 3 probes 2 s apart after its last
 * answer, one with a query in flight once data stays unacknowledged for 10 s. Without them the
 * kernel retries for about 15 minutes and the collector neither acks nor fails over.
 */
#define WCOL_PG_CONNECT_TIMEOUT     "5"
#define WCOL_PG_KEEPALIVES_IDLE     "5"
#define WCOL_PG_KEEPALIVES_INTERVAL "2"
#define WCOL_PG_KEEPALIVES_COUNT    "3"
#define WCOL_PG_TCP_USER_TIMEOUT    "10000" /* ms */

/** Connect, blocking, as application_name app with the defaults above; NULL out of memory. */
PGconn *wcol_pg_connect(const char *conninfo, const char *app);
/** The same, started without waiting (drive it with PQconnectPoll). */
PGconn *wcol_pg_connect_start(const char *conninfo, const char *app);

/** A connection and the name its errors are logged with. */
struct wcol_pgconn {
    PGconn *c;
    char who[24];
    struct wcol_pglink link; /* its state, its reconnect */
};

/** Connect (application_name ward-collector-WHO). @return 0, -ENOMEM, -EIO, -ENOSPC (logged). */
int wcol_pgconn_open(struct wcol_pgconn **out, const char *conninfo, const char *who);
void wcol_pgconn_close(struct wcol_pgconn *q);
/** q is used from one thread of its own, not the event loop (store/pglink.h). */
void wcol_pgconn_own_thread(struct wcol_pgconn *q);

/**
 * Whether q->c may be used now (for a caller that runs libpq calls of its own): a lost
 * connection's reconnect is started or taken a step, without waiting.
 * @return 0 usable, -EAGAIN not connected (its state in /v1/health).
 */
int wcol_pgconn_ready(struct wcol_pgconn *q);

/**
 * Run sql with n text parameters (NULL: SQL null) on q; while q is not connected (a lost
 * connection being made again) fail at once with state "08006".
 * @return the result (PQclear it), NULL after an error, logged unless its SQLSTATE is quiet
 *         or the connection is being made again; state (6 bytes, may be NULL) gets the
 *         SQLSTATE of a failure, "" otherwise.
 */
PGresult *wcol_pgconn_run(struct wcol_pgconn *q, const char *sql, int n, const char *const *v,
                          char *state, const char *quiet);

#endif /* WCOL_STORE_PGCONN_H_ */
