/*
 * Outdated agents raise a low incident (docs/operations.md, "Outdated agents"): one per device
 * whose last reported agent version is below min-agent-version, through the incident engine's
 * entry point for conditions the collector observes itself (wcol_incidents_condition(), the
 * path trend forecasts take). It is marked healthy (resolved after the hold-down) once the
 * device reports a version at or above the minimum, is removed, or the minimum is lowered.
 *
 * inventory.db (or the shared PostgreSQL tables, invdb.h) remembers which devices have one
 * raised (outdated_raised) and which were removed (removed_devices), so the check runs on a
 * change only and a restart neither raises twice nor forgets to clear. Runs on the inventory
 * thread. With several collectors, two that check one device at once both call the engine,
 * which joins the second call to the incident the first opened (one incident).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "incidents/incidents.h"
#include "inventory/model.h"

#define OUTDATED_COMPONENT "agent:version"
#define OUTDATED_STATE     "outdated"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS outdated_raised ("
    "  device TEXT PRIMARY KEY, version TEXT NOT NULL, incident INTEGER NOT NULL,"
    "  since_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS removed_devices ("
    "  device TEXT PRIMARY KEY, at_ms INTEGER NOT NULL) WITHOUT ROWID;";

int wcol_inv_outdated_schema(struct inv_db *db)
{
    return wcol_invdb_sqlite_schema(db, s_schema);
}

/* One text column of a one-row query on device (heap), NULL when there is no row. */
static char *query_text(struct inv_db *db, const char *sql, const char *device)
{
    struct inv_rows r = { 0 };
    struct inv_val v[] = { INV_TEXT(device) };
    char *t = NULL;

    if (wcol_invdb_query(db, sql, v, 1, &r) == 0 && wcol_inv_cell(&r, 0, 0) != NULL) {
        t = strdup(wcol_inv_cell(&r, 0, 0));
    }
    wcol_inv_rows_free(&r);
    return t;
}

/* Raise or clear device's incident when what it should have differs from what it has. */
static void check(struct wcol_inventory *inv, struct wcol_incidents *inc, const char *device)
{
    char detail[256];
    int64_t id;

    pthread_mutex_lock(&inv->db_mu);
    char *version = query_text(inv->w,
                               "SELECT value FROM inventory WHERE device = ?1 AND "
                               "item = 'firmware'",
                               device);
    char *raised =
        query_text(inv->w, "SELECT version FROM outdated_raised WHERE device = ?1", device);
    char *removed =
        query_text(inv->w, "SELECT 'yes' FROM removed_devices WHERE device = ?1", device);
    pthread_mutex_unlock(&inv->db_mu);
    bool want = inv->min_version[0] != '\0' && version != NULL && removed == NULL &&
                wcol_version_cmp(version, inv->min_version) < 0;

    if (want == (raised != NULL)) {
        goto out;
    }
    if (want) {
        snprintf(detail, sizeof(detail), "agent version %s is below min-agent-version %s", version,
                 inv->min_version);
    } else if (removed != NULL) {
        snprintf(detail, sizeof(detail), "device removed (its agent was %s)", raised);
    } else if (version != NULL && inv->min_version[0] != '\0') {
        snprintf(detail, sizeof(detail), "agent version %s reaches min-agent-version %s", version,
                 inv->min_version);
    } else {
        snprintf(detail, sizeof(detail), "no min-agent-version is set any more");
    }
    id = wcol_incidents_condition(inc, device, OUTDATED_COMPONENT, OUTDATED_STATE, want, detail);
    if (id < 0) {
        wcol_log_error("inventory: %s: the outdated-agent incident was not %s (retried on the "
                       "next full heartbeat)",
                       device, want ? "opened" : "cleared");
        goto out;
    }
    wcol_log_info("inventory: %s: %s", device, detail);
    pthread_mutex_lock(&inv->db_mu);
    struct inv_val v[] = { INV_TEXT(device), INV_TEXT(version), INV_INT(id),
                           INV_INT(wcol_now_wall_ms()) };

    (void)(want ? wcol_inv_exec(inv->w,
                                "INSERT INTO outdated_raised (device, version, incident, since_ms) "
                                "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (device) DO UPDATE SET "
                                "version = excluded.version, incident = excluded.incident, "
                                "since_ms = excluded.since_ms",
                                v, 4)
                : wcol_inv_exec(inv->w, "DELETE FROM outdated_raised WHERE device = ?1", v, 1));
    pthread_mutex_unlock(&inv->db_mu);
out:
    free(version);
    free(raised);
    free(removed);
}

void wcol_inv_outdated_seen(struct wcol_inventory *inv, const char *device)
{
    struct wcol_incidents *inc = atomic_load(&inv->incidents);

    struct inv_val v[] = { INV_TEXT(device) };

    pthread_mutex_lock(&inv->db_mu);
    (void)wcol_inv_exec(inv->w, "DELETE FROM removed_devices WHERE device = ?1", v, 1);
    pthread_mutex_unlock(&inv->db_mu);
    if (inc != NULL) {
        check(inv, inc, device);
    }
}

void wcol_inv_outdated_removed(struct wcol_inventory *inv, const char *device, int64_t at_ms)
{
    struct wcol_incidents *inc = atomic_load(&inv->incidents);

    struct inv_val v[] = { INV_TEXT(device), INV_INT(at_ms) };

    pthread_mutex_lock(&inv->db_mu);
    (void)wcol_inv_exec(inv->w,
                        "INSERT INTO removed_devices (device, at_ms) VALUES (?1, ?2) ON CONFLICT "
                        "(device) DO UPDATE SET at_ms = excluded.at_ms",
                        v, 2);
    pthread_mutex_unlock(&inv->db_mu);
    if (inc != NULL) {
        check(inv, inc, device);
    }
}

/* Every device with a version or a raised incident (a minimum changed across a restart). */
void wcol_inv_outdated_reconcile(struct wcol_inventory *inv)
{
    struct wcol_incidents *inc = atomic_load(&inv->incidents);
    struct inv_rows r = { 0 };

    if (inc == NULL) {
        return;
    }
    pthread_mutex_lock(&inv->db_mu);
    (void)wcol_invdb_query(inv->w,
                           "SELECT device FROM inventory WHERE item = 'firmware' UNION "
                           "SELECT device FROM outdated_raised",
                           NULL, 0, &r);
    pthread_mutex_unlock(&inv->db_mu);
    for (unsigned i = 0; i < r.n; i++) {
        const char *d = wcol_inv_cell(&r, i, 0);

        check(inv, inc, d != NULL ? d : "");
    }
    wcol_inv_rows_free(&r);
}
