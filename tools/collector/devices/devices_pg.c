/* Device revocations and enrolment tokens in PostgreSQL (devices/devices_pg.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devices_pg.h"
#include "store/pgconn.h"

static PGresult *run(struct wcol_pgconn *q, const char *sql, int n, const char *const *v)
{
    return wcol_pgconn_run(q, sql, n, v, NULL, NULL);
}

int wcol_devicespg_revoke(struct wcol_pgconn *q, const char *id, bool removed, int64_t *at_ms,
                          const char *actor, const char *reason)
{
    char at[24];
    const char *v[] = { id, at, removed ? "t" : "f", actor, reason };

    snprintf(at, sizeof(at), "%" PRId64, *at_ms);
    PGresult *r = run(q,
                      "INSERT INTO op_device_revocations (device, revoked_at_ms, removed, actor, "
                      "reason) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (device) DO UPDATE SET "
                      "removed = op_device_revocations.removed OR EXCLUDED.removed RETURNING "
                      "revoked_at_ms",
                      5, v);
    int rc = r != NULL && PQntuples(r) == 1 ? 0 : -EIO;

    if (rc == 0) {
        *at_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    }
    PQclear(r);
    return rc;
}

int wcol_devicespg_load(struct wcol_pgconn *q,
                        int (*cb)(void *ctx, const char *id, int64_t at_ms, bool removed),
                        void *ctx)
{
    PGresult *r =
        run(q, "SELECT device, revoked_at_ms, removed FROM op_device_revocations", 0, NULL);
    int rc = r != NULL ? 0 : -EIO;

    for (int i = 0; rc == 0 && r != NULL && i < PQntuples(r); i++) {
        rc = cb(ctx, PQgetvalue(r, i, 0), strtoll(PQgetvalue(r, i, 1), NULL, 10),
                PQgetvalue(r, i, 2)[0] == 't');
    }
    PQclear(r);
    return rc;
}

int wcol_devicespg_token_add(struct wcol_pgconn *q, const char *sha_hex, const char *id,
                             int64_t expires_ms, const char *who)
{
    char e[24];
    const char *v[] = { sha_hex, id, e, who };

    snprintf(e, sizeof(e), "%" PRId64, expires_ms);
    PGresult *r = run(q,
                      "INSERT INTO op_enrol_tokens (sha256, device, expires_ms, created_by) "
                      "VALUES ($1, $2, $3, $4)",
                      4, v);

    PQclear(r);
    return r != NULL ? 0 : -EIO;
}

bool wcol_devicespg_token_spend(struct wcol_pgconn *q, const char *sha_hex, const char *id,
                                int64_t now_ms)
{
    char now[24];
    const char *v[] = { sha_hex, id, now };

    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    PGresult *r = run(q,
                      "UPDATE op_enrol_tokens SET used_ms = $3 WHERE sha256 = $1 AND device = $2 "
                      "AND used_ms = 0 AND expires_ms > $3",
                      3, v);
    bool ok = r != NULL && strcmp(PQcmdTuples(r), "1") == 0;

    PQclear(r);
    return ok;
}
