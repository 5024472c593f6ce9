/* The inventory's tables in inventory.db (invdb.h): the statements run as they always have. */
#include <errno.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "common/log.h"
#include "inventory/invdb.h"

#define COLS_MAX 16

struct lite {
    struct inv_db db;
    sqlite3 *h;
};

static int lite_exec(struct lite *l, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(l->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        wcol_log_error("inventory: %s", msg != NULL ? msg : sqlite3_errmsg(l->h));
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static void bind(sqlite3_stmt *st, const struct inv_val *v, int n)
{
    int np = sqlite3_bind_parameter_count(st);

    for (int i = 0; i < n && i < np; i++) {
        if (v[i].type == INV_VAL_INT) {
            sqlite3_bind_int64(st, i + 1, v[i].i);
        } else if (v[i].type == INV_VAL_TEXT) {
            sqlite3_bind_text(st, i + 1, v[i].s, -1, SQLITE_STATIC);
        }
    }
}

static int lite_query(struct inv_db *db, const char *sql, const struct inv_val *v, int n,
                      struct inv_rows *out)
{
    struct lite *l = (struct lite *)db;
    sqlite3_stmt *st = NULL;
    int rc = 0, s;

    if (sqlite3_prepare_v2(l->h, sql, -1, &st, NULL) != SQLITE_OK) {
        wcol_log_error("inventory: %s", sqlite3_errmsg(l->h));
        return -EIO;
    }
    bind(st, v, n);
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cells[COLS_MAX];
        int cols = sqlite3_column_count(st);

        cols = cols < COLS_MAX ? cols : COLS_MAX;
        for (int c = 0; c < cols; c++) {
            cells[c] = (const char *)sqlite3_column_text(st, c);
        }
        rc = out != NULL ? wcol_inv_rows_add(out, (unsigned)cols, cells) : 0;
    }
    if (rc == 0 && s != SQLITE_DONE) {
        wcol_log_error("inventory: %s", sqlite3_errmsg(l->h));
        rc = -EIO;
    }
    sqlite3_finalize(st);
    return rc;
}

static int lite_begin(struct inv_db *db)
{
    return lite_exec((struct lite *)db, "BEGIN IMMEDIATE");
}

static int lite_end(struct inv_db *db, bool commit)
{
    int rc = lite_exec((struct lite *)db, commit ? "COMMIT" : "ROLLBACK");

    if (rc != 0 && commit) {
        (void)lite_exec((struct lite *)db, "ROLLBACK");
    }
    return rc;
}

static void lite_close(struct inv_db *db)
{
    struct lite *l = (struct lite *)db;

    sqlite3_close(l->h);
    free(l);
}

static const struct inv_db_ops s_ops = {
    .query = lite_query, .begin = lite_begin, .end = lite_end, .close = lite_close
};

int wcol_invdb_open_sqlite(struct inv_db **out, const char *path, bool readonly)
{
    struct lite *l = calloc(1, sizeof(*l));
    int flags = readonly ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;

    *out = NULL;
    if (l == NULL) {
        return -ENOMEM;
    }
    l->db.ops = &s_ops;
    if (sqlite3_open_v2(path, &l->h, flags, NULL) != SQLITE_OK) {
        wcol_log_error("inventory: cannot open %s: %s", path, sqlite3_errmsg(l->h));
        lite_close(&l->db);
        return -EIO;
    }
    sqlite3_busy_timeout(l->h, 5000);
    if (!readonly && lite_exec(l, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL") != 0) {
        lite_close(&l->db);
        return -EIO;
    }
    *out = &l->db;
    return 0;
}

/* The schema of inventory.db (PostgreSQL's is the store's migration). */
int wcol_invdb_sqlite_schema(struct inv_db *db, const char *sql)
{
    return lite_exec((struct lite *)db, sql);
}
