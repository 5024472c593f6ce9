/* Device revocations and duplicate certificate use (devices/devices.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "commit/bus.h"
#include "common/clock.h"
#include "common/jw.h"
#include "common/log.h"
#include "devices/devices.h"
#include "devices/devices_impl.h"
#include "devices/devices_pg.h"
#include "export/prom.h"
#include "server/collector.h"
#include "tls/tls.h"

static const char s_schema[] = "CREATE TABLE IF NOT EXISTS device_revocations ("
                               "  device TEXT PRIMARY KEY, revoked_at_ms INTEGER NOT NULL,"
                               "  removed INTEGER NOT NULL, actor TEXT NOT NULL,"
                               "  reason TEXT NOT NULL"
                               ") WITHOUT ROWID;";

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct wcol_revocation *)a)->id, ((const struct wcol_revocation *)b)->id);
}

static struct wcol_revocation *find(const struct wcol_devices *d, const char *id)
{
    struct wcol_revocation key = { .revoked_at_ms = 0 };

    snprintf(key.id, sizeof(key.id), "%s", id);
    return d->n == 0 ? NULL : bsearch(&key, d->v, d->n, sizeof(*d->v), by_id);
}

/* Insert or update in memory, keeping the array sorted. @return 0, -ENOMEM. */
static int remember_locked(struct wcol_devices *d, const char *id, int64_t at_ms, bool removed)
{
    struct wcol_revocation *r = find(d, id);

    if (r == NULL) {
        if (d->n == d->cap) {
            size_t cap = d->cap ? d->cap * 2 : 16;
            struct wcol_revocation *v = realloc(d->v, cap * sizeof(*v));

            if (v == NULL) {
                return -ENOMEM;
            }
            d->v = v;
            d->cap = cap;
        }
        r = &d->v[d->n++];
        memset(r, 0, sizeof(*r));
        snprintf(r->id, sizeof(r->id), "%s", id);
        r->revoked_at_ms = at_ms;
        d->stats.revoked++;
    }
    if (removed && !r->removed) {
        r->removed = true;
        d->stats.removed++;
    }
    qsort(d->v, d->n, sizeof(*d->v), by_id);
    return 0;
}

/* The device loops read the array in their handshakes (tls/tls.h refused lock). */
static int remember(struct wcol_devices *d, const char *id, int64_t at_ms, bool removed)
{
    struct wcol_tls *t = d->c != NULL ? d->c->tls : NULL; /* NULL: loading, no loop yet */

    if (t != NULL) {
        wcol_tls_refused_lock(t);
    }
    int rc = remember_locked(d, id, at_ms, removed);

    if (t != NULL) {
        wcol_tls_refused_unlock(t);
    }
    return rc;
}

static int remember_cb(void *ctx, const char *id, int64_t at_ms, bool removed)
{
    return remember(ctx, id, at_ms, removed);
}

static int load(struct wcol_devices *d)
{
    if (d->pg != NULL) {
        return wcol_devicespg_load(d->pg, remember_cb, d);
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(d->db,
                                "SELECT device, revoked_at_ms, removed FROM "
                                "device_revocations",
                                -1, &st, NULL);

    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);

        if (id != NULL &&
            remember(d, id, sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2) != 0) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int wcol_devices_open(struct wcol_devices **out, const char *db_path)
{
    struct wcol_devices *d = calloc(1, sizeof(*d));
    const char *slash = strrchr(db_path, '/');
    int dir = slash != NULL ? (int)(slash - db_path + 1) : 0;

    if (d == NULL) {
        return -ENOMEM;
    }
    snprintf(d->path, sizeof(d->path), "%.*sdevices.db", dir, db_path);
    if (sqlite3_open_v2(d->path, &d->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(d->db, 5000) != SQLITE_OK ||
        sqlite3_exec(d->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(d->db, s_schema, NULL, NULL, NULL) != SQLITE_OK || load(d) != 0) {
        wcol_log_error("cannot open the device revocations %s: %s", d->path,
                       d->db != NULL ? sqlite3_errmsg(d->db) : "out of memory");
        wcol_devices_close(d);
        return -EIO;
    }
    if (d->n > 0) {
        wcol_log_info("device revocations %s: %u revoked, %u removed", d->path, d->stats.revoked,
                      d->stats.removed);
    }
    *out = d;
    return 0;
}

int wcol_devices_open_pg(struct wcol_devices **out, const char *conninfo)
{
    struct wcol_devices *d = calloc(1, sizeof(*d));
    int rc;

    *out = NULL;
    if (d == NULL) {
        return -ENOMEM;
    }
    snprintf(d->path, sizeof(d->path), "PostgreSQL");
    rc = wcol_pgconn_open(&d->pg, conninfo, "devices");
    rc = rc ?: load(d);
    if (rc != 0) {
        wcol_log_error("cannot read the device revocations from PostgreSQL");
        wcol_devices_close(d);
        return rc;
    }
    if (d->n > 0) {
        wcol_log_info("device revocations in PostgreSQL: %u revoked, %u removed", d->stats.revoked,
                      d->stats.removed);
    }
    *out = d;
    return 0;
}

/* A revocation read back: taken when new to this collector (or newly a removal). */
static int sync_one(void *ctx, const char *id, int64_t at_ms, bool removed)
{
    struct wcol_devices *d = ctx;
    const struct wcol_revocation *r = find(d, id);

    if (r != NULL && (r->removed || !removed)) {
        return 0;
    }
    wcol_log_info("device %s %s on another collector: refused here too", id,
                  removed ? "removed" : "revoked");
    d->next_sync = 0; /* marks a change for wcol_devices_tick */
    d->stats.synced++;
    return remember(d, id, at_ms, removed);
}

void wcol_devices_tick(struct wcol_collector *c, uint64_t now_mono)
{
    struct wcol_devices *d = c->devices;

    if (d == NULL || d->pg == NULL || now_mono < d->next_sync) {
        return;
    }
    d->next_sync = 1;
    (void)wcol_devicespg_load(d->pg, sync_one, d);
    if (d->next_sync == 0) {
        /* Not refused handshakes: the live check keeps that counter to handshakes. */
        uint64_t refused = __atomic_load_n(&d->stats.refused, __ATOMIC_RELAXED);

        d->stats.closed += wcol_collector_drop_refused(c);
        __atomic_store_n(&d->stats.refused, refused, __ATOMIC_RELAXED);
    }
    d->next_sync = now_mono + WCOL_DEVICES_SYNC_MS;
}

void wcol_devices_close(struct wcol_devices *d)
{
    if (d == NULL) {
        return;
    }
    sqlite3_close(d->db);
    wcol_pgconn_close(d->pg);
    wcol_devices_dup_free(d);
    wcol_devices_signer_free(d);
    free(d->v);
    free(d);
}

bool wcol_devices_refused(void *ctx, const struct wcol_ident *id)
{
    struct wcol_devices *d = ctx;
    const struct wcol_revocation *r = id->cn[0] != '\0' ? find(d, id->cn) : NULL;

    /* Seconds against milliseconds: a certificate of the revocation's own second is refused. */
    if (r == NULL || id->not_before * 1000 > r->revoked_at_ms) {
        return false;
    }
    __atomic_fetch_add(&d->stats.refused, 1, __ATOMIC_RELAXED); /* from the device loops */
    return true;
}

int64_t wcol_devices_revoked_at(const struct wcol_devices *d, const char *id)
{
    const struct wcol_revocation *r = find(d, id);

    return r != NULL ? r->revoked_at_ms : 0;
}

int wcol_devices_revoke(struct wcol_devices *d, const char *id, bool removed, int64_t now_ms,
                        const char *actor, const char *reason)
{
    const struct wcol_revocation *r = find(d, id);
    int64_t at = r != NULL ? r->revoked_at_ms : now_ms;

    if (d->pg != NULL) { /* another collector's earlier revocation keeps its time */
        return wcol_devicespg_revoke(d->pg, id, removed, &at, actor, reason) == 0
                   ? remember(d, id, at, removed)
                   : -EIO;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(d->db,
                                "INSERT INTO device_revocations (device, revoked_at_ms, removed, "
                                "actor, reason) VALUES (?1, ?2, ?3, ?4, ?5) "
                                "ON CONFLICT (device) DO UPDATE SET removed = max(removed, ?3)",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, at);
        sqlite3_bind_int(st, 3, removed ? 1 : 0);
        sqlite3_bind_text(st, 4, actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        wcol_log_error("cannot record the revocation of %s in %s: %s", id, d->path,
                       sqlite3_errmsg(d->db));
        return -EIO;
    }
    return remember(d, id, at, removed);
}

struct wcol_devices_stats *wcol_devices_stats(struct wcol_devices *d)
{
    return &d->stats;
}

void wcol_devices_health(struct wcol_devices *d, struct wcol_jw *w)
{
    wcol_jw_key(w, "lifecycle");
    wcol_jw_obj_begin(w);
    wcol_jw_kuint(w, "revoked", d->stats.revoked);
    wcol_jw_kuint(w, "removed", d->stats.removed);
    wcol_jw_kuint(w, "refused_revoked", __atomic_load_n(&d->stats.refused, __ATOMIC_RELAXED));
    wcol_jw_kuint(w, "connections_closed", d->stats.closed);
    wcol_jw_kuint(w, "duplicates", d->stats.duplicates);
    wcol_jw_kuint(w, "enrolled", d->stats.enrolled);
    wcol_jw_kuint(w, "certificate_switches", d->stats.cert_switches);
    wcol_devices_dup_list(d, w);
    wcol_jw_kstr(w, "enrolment", d->signer != NULL ? "enabled" : "disabled");
    wcol_jw_kstr(w, "revocations", d->pg != NULL ? "shared" : "local"); /* PostgreSQL or not */
    wcol_jw_kuint(w, "revocations_synced", d->stats.synced);
    wcol_jw_obj_end(w);
}

static void counter(struct wcol_prom *w, const char *name, const char *type, const char *help,
                    uint64_t v)
{
    wcol_prom_family(w, name, type, help);
    wcol_prom_sample_u64(w, name, NULL, 0, v);
}

void wcol_devices_metrics(struct wcol_devices *d, struct wcol_prom *w)
{
    counter(w, "ward_collector_devices_revoked", "gauge",
            "Devices revoked by an administrator (wardctl device revoke/remove).",
            d->stats.revoked);
    counter(w, "ward_collector_devices_removed", "gauge",
            "Devices decommissioned (wardctl device remove).", d->stats.removed);
    counter(w, "ward_collector_devices_refused_revoked_total", "counter",
            "Handshakes and session tickets refused because their device was revoked.",
            __atomic_load_n(&d->stats.refused, __ATOMIC_RELAXED));
    counter(w, "ward_collector_devices_connections_closed_total", "counter",
            "Live device connections closed by a revocation.", d->stats.closed);
    counter(w, "ward_collector_devices_duplicate_certificate_total", "counter",
            "Times one device certificate was seen in use by two agents at once.",
            d->stats.duplicates);
    counter(w, "ward_collector_devices_enrolled_total", "counter",
            "Certificates the collector signed for enrolment requests.", d->stats.enrolled);
    counter(w, "ward_collector_devices_certificate_switches_total", "counter",
            "Devices seen presenting a newer certificate than before (renewal taken into use).",
            d->stats.cert_switches);
    counter(w, "ward_collector_devices_revocations_synced_total", "counter",
            "Revocations made on other collectors and taken into use here (PostgreSQL).",
            d->stats.synced);
}
