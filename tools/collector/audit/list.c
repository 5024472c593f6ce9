/* Reading the audit log for GET /v1/audit (audit.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit_impl.h"
#include "audit/audit_pg.h"
#include "common/jw.h"
#include "ward/base/hex.h"

static void sql_matches(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_result_int(ctx, wcol_audit_action_matches((const char *)sqlite3_value_text(argv[0]),
                                                      (const char *)sqlite3_value_text(argv[1])));
}

int wcol_audit_list(struct wcol_audit *a, const struct wcol_audit_query *q, struct wcol_jw *w,
                    int64_t *next)
{
    sqlite3_stmt *st = NULL;
    char hex[65];
    int rc;

    *next = q->after;
    if (a->pg != NULL) {
        pthread_mutex_lock(&a->mu);
        rc = wcol_auditpg_list(a->pg, q, w, next);
        pthread_mutex_unlock(&a->mu);
        return rc;
    }
    pthread_mutex_lock(&a->mu);
    rc = sqlite3_create_function(a->db, "ward_action_matches", 2,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_matches, NULL, NULL);
    rc = rc
             ?: sqlite3_prepare_v2(
                    a->db,
                    "SELECT seq, at_ms, actor, source, action, target, outcome, detail, "
                    "hash FROM audit WHERE seq > ?1 AND at_ms >= ?2 AND (?3 IS NULL OR "
                    "actor = ?3) AND (?4 IS NULL OR ward_action_matches(action, ?4)) "
                    "ORDER BY seq LIMIT ?5",
                    -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, q->after);
        sqlite3_bind_int64(st, 2, q->since_ms);
        if (q->actor != NULL) {
            sqlite3_bind_text(st, 3, q->actor, -1, SQLITE_STATIC);
        }
        if (q->action != NULL) {
            sqlite3_bind_text(st, 4, q->action, -1, SQLITE_STATIC);
        }
        sqlite3_bind_int(st, 5, (int)q->limit);
    }
    wcol_jw_key(w, "entries");
    wcol_jw_arr_begin(w);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        static const char *const names[] = { "actor",  "source",  "action",
                                             "target", "outcome", "detail" };

        *next = sqlite3_column_int64(st, 0);
        wcol_jw_obj_begin(w);
        wcol_jw_kint(w, "seq", *next);
        wcol_jw_kint(w, "at_ms", sqlite3_column_int64(st, 1));
        for (int i = 0; i < 6; i++) {
            wcol_jw_kstr(w, names[i], (const char *)sqlite3_column_text(st, 2 + i));
        }
        if (sqlite3_column_bytes(st, 8) == 32) {
            ward_hex_encode(sqlite3_column_blob(st, 8), 32, hex);
            wcol_jw_kstr(w, "hash", hex);
        }
        wcol_jw_obj_end(w);
        rc = SQLITE_OK;
    }
    wcol_jw_arr_end(w);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&a->mu);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

struct live {
    struct wcol_audit *a;
    const char *pub;
    struct wcol_audit_verdict *v;
    bool mine_seen; /* this node's chain was walked */
};

/* One node's chain: this node's against its checkpoints too; a problem names the node. */
static int check_node(void *ctx, const char *node, struct wcol_audit_chain *ch)
{
    struct live *l = ctx;
    bool mine = strcmp(node, l->a->node) == 0;

    l->mine_seen |= mine;
    int rc = wcol_audit_chain_verify(ch, mine ? l->a->ckpt_path : NULL, l->pub, l->v);

    if (!l->v->ok) {
        char problem[sizeof(l->v->problem)];

        snprintf(problem, sizeof(problem), "node %.20s%s: %.400s", node,
                 mine ? " (this collector)" : "", l->v->problem);
        memcpy(l->v->problem, problem, sizeof(problem));
        return rc != 0 ? rc : 1; /* the first problem ends the walk */
    }
    return rc;
}

int wcol_audit_verify_live(struct wcol_audit *a, struct wcol_audit_verdict *v)
{
    char pub[4200];

    snprintf(pub, sizeof(pub), "%.*s/audit-key.pub.pem", (int)(sizeof(pub) - 32), a->state_dir);
    if (a->pg != NULL) {
        struct live l = { a, pub, v, false };
        struct wcol_audit_chain none = { 0 };

        memset(v, 0, sizeof(*v));
        v->ok = true;
        pthread_mutex_lock(&a->mu);
        int rc = wcol_auditpg_chains(a->pg, check_node, &l);

        pthread_mutex_unlock(&a->mu);
        if (rc == 0 && !l.mine_seen) { /* every entry of this node deleted: its checkpoints */
            rc = check_node(&l, a->node, &none);
        }
        if (rc < 0 && v->ok) {
            v->ok = false;
            snprintf(v->problem, sizeof(v->problem), "cannot read the audit log in PostgreSQL");
        }
        return rc < 0 ? rc : 0;
    }
    return wcol_audit_verify(sqlite3_db_filename(a->db, "main"), a->ckpt_path, pub, v);
}

int wcol_audit_verify_pg(const char *conninfo, const char *state_dir, struct wcol_audit_verdict *v)
{
    struct wcol_audit *a = NULL;
    int rc = wcol_audit_open_pg(&a, conninfo, state_dir, 0);

    memset(v, 0, sizeof(*v));
    if (rc == 0) {
        rc = wcol_audit_verify_live(a, v);
        wcol_audit_key_free(a); /* a verification writes no checkpoint at close */
        wcol_audit_close(a);
    }
    if (rc != 0 && v->problem[0] == '\0') {
        snprintf(v->problem, sizeof(v->problem), "cannot read the audit log in PostgreSQL");
    }
    return rc;
}
