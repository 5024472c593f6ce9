/* Inventory internals shared by the thread (model.c) and the operator API (inv_api.c). */
#ifndef WCOL_INVENTORY_MODEL_H_
#define WCOL_INVENTORY_MODEL_H_

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/ident.h"
#include "inventory/invdb.h"
#include "inventory/inventory.h"

#define INV_QUEUE_MAX   4096
#define INV_VERSION_MAX 64

enum inv_kind {
    INV_DISCOVERED = 0, /* first time seen: not a change */
    INV_ADDED,          /* a new item on a known device (a new disk, sensor chip) */
    INV_AGENT_UPDATED,  /* firmware (the agent's version) */
    INV_CONFIG_CHANGED, /* config_sha256 */
    INV_RULES_CHANGED,  /* rules_sha256 */
    INV_HARDWARE,       /* board, arch, or an inventory item's value (a disk's serial) */
    INV_REBOOTED,       /* boot id */
    INV_KIND_COUNT,
};

enum inv_job_kind {
    INV_JOB_HEARTBEAT = 0, /* compare a full heartbeat */
    INV_JOB_REMOVED,       /* the device was removed (wcol_inventory_device_removed) */
    INV_JOB_RECONCILE,     /* raise or clear every device's outdated incident (outdated.c) */
};

struct inv_job {
    char device[WCOL_DEVICE_ID_MAX + 1];
    enum inv_job_kind kind;
    int64_t at_ms;
    char boot[40];   /* the batch's boot id (a heartbeat in a batch carries none) */
    char *heartbeat; /* heap, NUL-terminated */
};

struct wcol_inventory {
    pthread_t thread;
    bool thread_up;
    pthread_mutex_t mu; /* the queue, stop */
    pthread_cond_t cv;  /* work queued, stop, or the queue drained */
    bool stop, busy;
    struct inv_job q[INV_QUEUE_MAX];
    unsigned head, n;
    pthread_mutex_t db_mu; /* the write connection: the thread and the API's POSTs */
    struct inv_db *w;
    struct inv_db *r; /* the API's reads (event loop only) */
    char path[4200];  /* inventory.db; "" in PostgreSQL (invdb.h) */
    char min_version[INV_VERSION_MAX];
    atomic_uint_fast64_t changes[INV_KIND_COUNT][2]; /* [kind][unplanned] */
    atomic_uint_fast64_t dropped;                    /* jobs refused, the queue full */
    _Atomic(struct wcol_incidents *) incidents;      /* NULL: no incidents (PostgreSQL) */
};

const char *wcol_inv_kind_name(enum inv_kind k);

/** Run sql (no rows) with n parameters on db. @return 0, -EIO (logged), -ENOMEM. */
int wcol_inv_exec(struct inv_db *db, const char *sql, const struct inv_val *v, int n);

/** Open a change window now (under db_mu). @return its id, -EIO. */
int64_t wcol_inv_window_open(struct wcol_inventory *inv, const char *title, const char *devices,
                             int64_t now_ms, int64_t until_ms, const char *who);

/** Close window id now. @return 0, -ENOENT (none open with that id), -EIO. */
int wcol_inv_window_close(struct wcol_inventory *inv, int64_t id, int64_t now_ms, const char *who);

/* Outdated agents' incidents (outdated.c), on the inventory thread. */
/** inventory.db's tables of outdated.c (PostgreSQL: the store's migration). */
int wcol_inv_outdated_schema(struct inv_db *db);
/** A full heartbeat of device was compared: raise or clear its incident. */
void wcol_inv_outdated_seen(struct wcol_inventory *inv, const char *device);
/** device was removed: clear its incident, and keep it off the outdated list. */
void wcol_inv_outdated_removed(struct wcol_inventory *inv, const char *device, int64_t at_ms);
/** Every device (the incidents were attached, or the minimum changed across a restart). */
void wcol_inv_outdated_reconcile(struct wcol_inventory *inv);

#endif /* WCOL_INVENTORY_MODEL_H_ */
