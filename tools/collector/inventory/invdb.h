/*
 * Where the inventory's tables live (docs/operations.md, "Inventory and change management";
 * docs/storage.md): inventory.db beside the store's SQLite file, as ever, or the store's
 * PostgreSQL database (store migration "inventory"), shared by every collector of a cluster.
 *
 * The inventory code (model.c, outdated.c, inv_api.c) writes its SQL once in the dialect both
 * speak (?N parameters, upserts with ON CONFLICT, RETURNING, the column "window" quoted) and
 * runs it through this small ops table: one statement with typed parameters, its rows read
 * back whole as text (a null column is NULL), and the writer's transaction.
 *
 * Backends: invdb_sqlite.c (sqlite3 prepare, bind, step) and invdb_pg.c (a connection of its
 * own through store/pgconn.h, application_name ward-collector-inventory).
 */
#ifndef WCOL_INVENTORY_INVDB_H_
#define WCOL_INVENTORY_INVDB_H_

#include <stdbool.h>
#include <stdint.h>

enum inv_val_type { INV_VAL_NULL = 0, INV_VAL_INT, INV_VAL_TEXT };

/** One statement parameter (?1 is v[0]). */
struct inv_val {
    enum inv_val_type type;
    int64_t i;
    const char *s;
};

static inline struct inv_val INV_INT(int64_t i) {
    return (struct inv_val){ .type = INV_VAL_INT, .i = i };
}

/** Text, or SQL null for NULL. */
static inline struct inv_val
INV_TEXT(const char *s) {
    return (struct inv_val){ .type = s != NULL ? INV_VAL_TEXT : INV_VAL_NULL, .s = s };
}

/** A statement's rows: cell[row * cols + col], NUL-terminated text or NULL (SQL null). */
struct inv_rows {
    unsigned n, cols;
    char **cell;
};

struct inv_db;

struct inv_db_ops {
    /** Run sql with n parameters; out (may be NULL) gets its rows. @return 0, -EIO (logged),
     *  -ENOMEM. */
    int (*query)(struct inv_db *db, const char *sql, const struct inv_val *v, int n,
                 struct inv_rows *out);
    /** Begin the writer's transaction (SQLite: BEGIN IMMEDIATE). @return 0, -EIO. */
    int (*begin)(struct inv_db *db);
    /** Commit (or roll back) it. @return 0, -EIO (a failed commit is rolled back). */
    int (*end)(struct inv_db *db, bool commit);
    void (*close)(struct inv_db *db);
};

/** A connection: its ops, and whether other collectors share its tables (PostgreSQL). */
struct inv_db {
    const struct inv_db_ops *ops;
    bool shared;
};

/** inventory.db at path (read-only: the API's reader). @return 0, -EIO (logged), -ENOMEM. */
int wcol_invdb_open_sqlite(struct inv_db **out, const char *path, bool readonly);
/** The store's PostgreSQL database (its tables made by the store's migration). */
int wcol_invdb_open_pg(struct inv_db **out, const char *conninfo);
/** A PostgreSQL db used from the inventory's thread (under its lock), not only the event loop:
 * its reconnect is driven by its users' calls alone (store/pglink.h). */
void wcol_invdb_pg_own_thread(struct inv_db *db);
/** Run SQLite statements without parameters (inventory.db's schema). @return 0, -EIO. */
int wcol_invdb_sqlite_schema(struct inv_db *db, const char *sql);

static inline int wcol_invdb_query(struct inv_db *db, const char *sql, const struct inv_val *v,
                                   int n, struct inv_rows *out)
{
    return db->ops->query(db, sql, v, n, out);
}

static inline void wcol_invdb_close(struct inv_db *db)
{
    if (db != NULL) {
        db->ops->close(db);
    }
}

/** Cell (row, col) as text (NULL: null or out of range) and as an integer (0 for null). */
const char *wcol_inv_cell(const struct inv_rows *r, unsigned row, unsigned col);
int64_t wcol_inv_cell_int(const struct inv_rows *r, unsigned row, unsigned col);
/** Free the cells (r may be zeroed or already freed). */
void wcol_inv_rows_free(struct inv_rows *r);
/** Append a row of cols cells (each copied; NULL stays null). @return 0, -ENOMEM. */
int wcol_inv_rows_add(struct inv_rows *r, unsigned cols, const char *const *cells);

#endif /* WCOL_INVENTORY_INVDB_H_ */
