/*
 * Outdated agents raise a low incident (docs/operations.md, "Outdated agents"): one per device
 * whose last reported agent version is below min-agent-version, through the incident engine's
 * entry point for conditions the collector observes itself (wcol_incidents_condition(), the
 * path trend forecasts take). It is marked healthy (resolved after the hold-down) once the
 * device reports a version at or above the minimum, is removed, or the minimum is lowered.
 *
 * inventory.db remembers which devices have one raised (outdated_raised) and which were
 * removed (removed_devices), so the check runs on a change only and a restart neither raises
 * twice nor forgets to clear. Runs on the inventory thread.
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

int wcol_inv_outdated_schema(sqlite3 *db)
{
    return wcol_inv_exec(db, s_schema);
}

/* One text column of a one-row query on device (heap), NULL when there is no row. */
static char *query_text(sqlite3 *db, const char *sql, const char *device)
{
    sqlite3_stmt *st = NULL;
    char *v = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL) {
            v = strdup((const char *)sqlite3_column_text(st, 0));
        }
    }
    sqlite3_finalize(st);
    return v;
}

/* Run sql with ?1 device, ?2 text, ?3 a, ?4 b (a parameter sql does not use is not bound). */
static int run1(sqlite3 *db, const char *sql, const char *device, const char *text, int64_t a,
                int64_t b)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        int np = sqlite3_bind_parameter_count(st);

        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        if (np >= 2) {
            sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        }
        if (np >= 3) {
            sqlite3_bind_int64(st, 3, a);
        }
        if (np >= 4) {
            sqlite3_bind_int64(st, 4, b);
        }
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    }
    sqlite3_finalize(st);
    return rc;
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
    (void)(want
               ? run1(inv->w,
                      "INSERT OR REPLACE INTO outdated_raised (device, version, incident, "
                      "since_ms) VALUES (?1, ?2, ?3, ?4)",
                      device, version, id, wcol_now_wall_ms())
               : run1(inv->w, "DELETE FROM outdated_raised WHERE device = ?1", device, NULL, 0, 0));
    pthread_mutex_unlock(&inv->db_mu);
out:
    free(version);
    free(raised);
    free(removed);
}

void wcol_inv_outdated_seen(struct wcol_inventory *inv, const char *device)
{
    struct wcol_incidents *inc = atomic_load(&inv->incidents);

    pthread_mutex_lock(&inv->db_mu);
    (void)run1(inv->w, "DELETE FROM removed_devices WHERE device = ?1", device, NULL, 0, 0);
    pthread_mutex_unlock(&inv->db_mu);
    if (inc != NULL) {
        check(inv, inc, device);
    }
}

void wcol_inv_outdated_removed(struct wcol_inventory *inv, const char *device, int64_t at_ms)
{
    struct wcol_incidents *inc = atomic_load(&inv->incidents);

    pthread_mutex_lock(&inv->db_mu);
    (void)run1(inv->w, "INSERT OR REPLACE INTO removed_devices (device, at_ms) VALUES (?1, ?3)",
               device, NULL, at_ms, 0);
    pthread_mutex_unlock(&inv->db_mu);
    if (inc != NULL) {
        check(inv, inc, device);
    }
}

/* Every device with a version or a raised incident (a minimum changed across a restart). */
void wcol_inv_outdated_reconcile(struct wcol_inventory *inv)
{
    struct wcol_incidents *inc = atomic_load(&inv->incidents);
    sqlite3_stmt *st = NULL;
    char(*devices)[WCOL_DEVICE_ID_MAX + 1] = NULL;
    size_t n = 0, cap = 0;

    if (inc == NULL) {
        return;
    }
    pthread_mutex_lock(&inv->db_mu);
    if (sqlite3_prepare_v2(inv->w,
                           "SELECT device FROM inventory WHERE item = 'firmware' UNION "
                           "SELECT device FROM outdated_raised",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(st, 0);

            if (n == cap) {
                size_t ncap = cap > 0 ? cap * 2 : 64;
                void *p = realloc(devices, ncap * sizeof(*devices));

                if (p == NULL) {
                    break;
                }
                devices = p;
                cap = ncap;
            }
            snprintf(devices[n++], sizeof(devices[0]), "%s", d != NULL ? d : "");
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&inv->db_mu);
    for (size_t i = 0; i < n; i++) {
        check(inv, inc, devices[i]);
    }
    free(devices);
}
