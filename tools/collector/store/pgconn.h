/*
 * A PostgreSQL connection of a feature's own (the accounts, the audit log) beside the store's:
 * blocking calls, as the store's API reads, at most connect_timeout (5 s unless the conninfo
 * says otherwise) on a reconnect. Errors are logged as one line prefixed with who.
 */
#ifndef WCOL_STORE_PGCONN_H_
#define WCOL_STORE_PGCONN_H_

#include <libpq-fe.h>

/** A connection and the name its errors are logged with. */
struct wcol_pgconn {
    PGconn *c;
    char who[24];
};

/** Connect (application_name ward-collector-WHO). @return 0, -ENOMEM, -EIO (logged). */
int wcol_pgconn_open(struct wcol_pgconn **out, const char *conninfo, const char *who);
void wcol_pgconn_close(struct wcol_pgconn *q);

/**
 * Run sql with n text parameters (NULL: SQL null) on q, reset first after a lost connection.
 * @return the result (PQclear it), NULL after an error, logged unless its SQLSTATE is quiet;
 *         state (6 bytes, may be NULL) gets the SQLSTATE of a failure, "" otherwise.
 */
PGresult *wcol_pgconn_run(struct wcol_pgconn *q, const char *sql, int n, const char *const *v,
                          char *state, const char *quiet);

#endif /* WCOL_STORE_PGCONN_H_ */
