/* The audit log in PostgreSQL (audit/audit_pg.h). Hashes travel as hex text. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/base/hex.h"

#include "audit/audit_impl.h"
#include "audit/audit_pg.h"
#include "common/jw.h"
#include "common/log.h"
#include "store/pgconn.h"

/* sql with text parameters. @return the result, NULL after an error (logged unless a unique
 * violation, the caller's to handle); state its SQLSTATE. */
static PGresult *run(struct wcol_pgconn *q, const char *sql, int n, const char *const *v,
                     char state[6])
{
    return wcol_pgconn_run(q, sql, n, v, state, "23505");
}

static void unhex32(const char *hex, uint8_t out[32])
{
    if (strlen(hex) != 64 || ward_hex_decode(hex, out, 32) != 0) {
        memset(out, 0, 32);
    }
}

int wcol_auditpg_head(struct wcol_pgconn *q, const char *node, int64_t *seq, uint8_t hash[32])
{
    char state[6];
    const char *v[] = { node };
    PGresult *r = run(q,
                      "SELECT seq, encode(hash, 'hex') FROM op_audit WHERE node = $1 ORDER BY "
                      "seq DESC LIMIT 1",
                      1, v, state);

    *seq = 0;
    memset(hash, 0, 32);
    if (r == NULL) {
        return -EIO;
    }
    if (PQntuples(r) == 1) {
        *seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        unhex32(PQgetvalue(r, 0, 1), hash);
    }
    PQclear(r);
    return 0;
}

int wcol_auditpg_insert(struct wcol_pgconn *q, const char *node, int64_t seq,
                        const struct wcol_audit_entry *e, const uint8_t prev[32],
                        const uint8_t hash[32])
{
    char s[24], at[24], p[65], h[65], state[6];
    const char *v[] = { node,      s,          at,        e->actor, e->source, e->action,
                        e->target, e->outcome, e->detail, p,        h };

    snprintf(s, sizeof(s), "%" PRId64, seq);
    snprintf(at, sizeof(at), "%" PRId64, e->at_ms);
    ward_hex_encode(prev, 32, p);
    ward_hex_encode(hash, 32, h);
    PGresult *r = run(q,
                      "INSERT INTO op_audit (node, seq, at_ms, actor, source, action, target, "
                      "outcome, detail, prev, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                      "decode($10, 'hex'), decode($11, 'hex'))",
                      11, v, state);

    PQclear(r);
    return r != NULL ? 0 : strcmp(state, "23505") == 0 ? -EEXIST : -EIO;
}

int wcol_auditpg_list(struct wcol_pgconn *q, const struct wcol_audit_query *qq, struct wcol_jw *w,
                      int64_t *next)
{
    static const char *const names[] = {
        "actor", "source", "action", "target", "outcome", "detail"
    };
    char after[24], since[24], limit[24], state[6];
    /* The action as given and as translated from a name before the scheme (audit/names.c):
     * every entry in this table has a name of the scheme. */
    const char *v[] = { after, since, qq->actor, qq->action, wcol_audit_action_name(qq->action),
                        limit };

    snprintf(after, sizeof(after), "%" PRId64, qq->after);
    snprintf(since, sizeof(since), "%" PRId64, qq->since_ms);
    snprintf(limit, sizeof(limit), "%u", qq->limit);
    *next = qq->after;
    PGresult *r = run(q,
                      "SELECT id, at_ms, actor, source, action, target, outcome, detail, "
                      "encode(hash, 'hex'), node, seq FROM op_audit WHERE id > $1 AND at_ms >= "
                      "$2 AND ($3::text IS NULL OR actor = $3) AND ($4::text IS NULL OR action "
                      "= $4 OR starts_with(action, $4 || '.') OR action = $5 OR "
                      "starts_with(action, $5 || '.')) ORDER BY id LIMIT $6",
                      6, v, state);

    wcol_jw_key(w, "entries");
    wcol_jw_arr_begin(w);
    for (int i = 0; r != NULL && i < PQntuples(r); i++) {
        *next = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        wcol_jw_obj_begin(w);
        wcol_jw_kint(w, "seq", *next);
        wcol_jw_kint(w, "at_ms", strtoll(PQgetvalue(r, i, 1), NULL, 10));
        for (int k = 0; k < 6; k++) {
            wcol_jw_kstr(w, names[k], PQgetvalue(r, i, 2 + k));
        }
        wcol_jw_kstr(w, "hash", PQgetvalue(r, i, 8));
        wcol_jw_kstr(w, "node", PQgetvalue(r, i, 9));
        wcol_jw_kint(w, "node_seq", strtoll(PQgetvalue(r, i, 10), NULL, 10));
        wcol_jw_obj_end(w);
    }
    wcol_jw_arr_end(w);
    int rc = r != NULL ? 0 : -EIO;

    PQclear(r);
    return rc;
}

/* Row i of r into ch. @return 0, -ENOMEM. */
static int add_row(struct wcol_audit_chain *ch, const PGresult *r, int i)
{
    struct wcol_audit_entry e = { .at_ms = strtoll(PQgetvalue(r, i, 2), NULL, 10),
                                  .actor = PQgetvalue(r, i, 3),
                                  .source = PQgetvalue(r, i, 4),
                                  .action = PQgetvalue(r, i, 5),
                                  .target = PQgetvalue(r, i, 6),
                                  .outcome = PQgetvalue(r, i, 7),
                                  .detail = PQgetvalue(r, i, 8) };
    uint8_t prev[32], hash[32];
    size_t pl = strlen(PQgetvalue(r, i, 9)) == 64 ? 32 : 0;
    size_t hl = strlen(PQgetvalue(r, i, 10)) == 64 ? 32 : 0;

    unhex32(PQgetvalue(r, i, 9), prev);
    unhex32(PQgetvalue(r, i, 10), hash);
    return wcol_audit_chain_add(ch, strtoll(PQgetvalue(r, i, 1), NULL, 10), &e, prev, pl, hash, hl);
}

int wcol_auditpg_chains(struct wcol_pgconn *q,
                        int (*check)(void *ctx, const char *node, struct wcol_audit_chain *ch),
                        void *ctx)
{
    char state[6];
    PGresult *r = run(q,
                      "SELECT node, seq, at_ms, actor, source, action, target, outcome, detail, "
                      "encode(prev, 'hex'), encode(hash, 'hex') FROM op_audit ORDER BY node, seq",
                      0, NULL, state);
    struct wcol_audit_chain ch = { 0 };
    int rc = r != NULL ? 0 : -EIO;

    for (int i = 0, first = 0; rc == 0 && r != NULL && i < PQntuples(r); i++) {
        rc = add_row(&ch, r, i);
        bool last =
            i + 1 == PQntuples(r) || strcmp(PQgetvalue(r, i + 1, 0), PQgetvalue(r, first, 0)) != 0;

        if (rc == 0 && last) {
            rc = check(ctx, PQgetvalue(r, first, 0), &ch);
            ch.n = 0;
            first = i + 1;
        }
    }
    free(ch.rows);
    PQclear(r);
    return rc;
}
