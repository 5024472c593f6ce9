/*
 * ward_heartbeat_merge(old, new): store/hbmerge.c as an SQL function (store/hbmerge_sql.h).
 * A NULL result means "not merged here": HEARTBEAT_MERGE_C_OF then runs the SQL merge.
 */
#include "store/hbmerge_sql.h"

#include <errno.h>

#include "store/hbmerge.h"

static void merge_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct wcol_hbmerge *m = sqlite3_user_data(ctx);
    sqlite3_value *old = argv[0], *nw = argv[1], *id = argv[2];
    const char *out;
    size_t len;

    (void)argc;
    if (sqlite3_value_type(nw) == SQLITE_NULL) {
        sqlite3_result_value(ctx, old); /* no heartbeat in this report: the stored one */
        return;
    }
    if (sqlite3_value_type(old) == SQLITE_NULL) {
        sqlite3_result_value(ctx, nw); /* the first heartbeat: as it came */
        return;
    }
    if (sqlite3_value_type(old) != SQLITE_TEXT || sqlite3_value_type(nw) != SQLITE_TEXT) {
        return; /* NULL: the SQL merge */
    }
    const char *o = (const char *)sqlite3_value_text(old);
    size_t o_len = (size_t)sqlite3_value_bytes(old);
    const char *n = (const char *)sqlite3_value_text(nw);
    size_t n_len = (size_t)sqlite3_value_bytes(nw);
    /* After o and n: reading id as text must not convert them (it is a separate value). */
    const char *d = (const char *)sqlite3_value_text(id);
    size_t d_len = (size_t)sqlite3_value_bytes(id);
    int rc = wcol_hbmerge_run(m, d, d_len, o, o_len, n, n_len, &out, &len);

    if (rc == 0) {
        sqlite3_result_text64(ctx, out, len, SQLITE_TRANSIENT, SQLITE_UTF8);
    } else if (rc == 1) {
        sqlite3_result_value(ctx, nw);
    }
}

static void free_ctx(void *p)
{
    wcol_hbmerge_free(p);
}

int wcol_hbmerge_sql_define(sqlite3 *db, unsigned devices, struct wcol_hbmerge **ctx)
{
    struct wcol_hbmerge *m = wcol_hbmerge_new(devices);

    if (m == NULL) {
        return -ENOMEM;
    }
    if (ctx != NULL) {
        *ctx = m;
    }
    /* On failure SQLite calls free_ctx itself. */
    return sqlite3_create_function_v2(db, "ward_heartbeat_merge", 3,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, m,
                                      merge_func, NULL, NULL, free_ctx) == SQLITE_OK
               ? 0
               : -EIO;
}
