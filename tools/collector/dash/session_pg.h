/*
 * Dashboard sessions shared by every collector on one PostgreSQL database (the op_dash_sessions
 * table, store/store_pg.c): a cookie issued by one collector is taken by every other, and a
 * logout on any of them ends it everywhere. The row holds the SHA-256 of the cookie's id (the
 * secret; never the id itself), the account's name, and the CSRF token and the credential the
 * session re-authorizes with, sealed (AES-256-GCM) with a key derived from the id: whoever
 * reads the table learns neither the cookie nor the credential. dash/session.c keeps its
 * in-memory table as the place a request's session lives while it is served; the row decides
 * whether the session is alive. One blocking round trip per call, as auth/auth_pg.c's.
 */
#ifndef WCOL_DASH_SESSION_PG_H_
#define WCOL_DASH_SESSION_PG_H_

#include <stdbool.h>
#include <stdint.h>

#include "dash/session.h"

/** The sessions of t in PostgreSQL from now on (a connection of their own).
 *  @return 0, -ENOMEM, -EIO (logged). */
int wcol_sessionpg_open(struct wcol_sessions *t, const char *conninfo);
void wcol_sessionpg_close(struct wcol_sessions *t);

/** Store the new session s (its id, csrf, who and bearer set). @return 0, -EIO. */
int wcol_sessionpg_insert(struct wcol_pgconn *q, const struct wcol_session *s, int64_t now_ms);

/**
 * The live session with id (not ended, not idle for WCOL_SESSION_IDLE_MS, younger than
 * WCOL_SESSION_LIFETIME_MS): out's who, csrf and bearer filled, *age_ms its age. With refresh
 * its idle timer restarts (at most one write per WCOL_SESSIONPG_REFRESH_MS).
 * @return 1 (found), 0 (no such live session, or its seal does not open), -EIO.
 */
int wcol_sessionpg_lookup(struct wcol_pgconn *q, const char *id, bool refresh, int64_t now_ms,
                          struct wcol_session *out, int64_t *age_ms);

/** End the session with id everywhere. @return 0 (also when it was gone already), -EIO. */
int wcol_sessionpg_end(struct wcol_pgconn *q, const char *id);

/** Live sessions of every collector. @return the count, -EIO. */
int64_t wcol_sessionpg_count(struct wcol_pgconn *q, int64_t now_ms);

#define WCOL_SESSIONPG_REFRESH_MS 15000 /* the idle timer's precision in the table */

#endif /* WCOL_DASH_SESSION_PG_H_ */
