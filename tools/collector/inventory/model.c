/*
 * The inventory's database and thread (inventory.h): each queued full heartbeat is compared
 * with the stored items of its device; what differs is stored with a change row in one
 * transaction.
 */
#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "commit/bus.h"
#include "common/clock.h"
#include "common/log.h"
#include "inventory/model.h"
#include "store/store.h"

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS inventory ("
    "  device TEXT NOT NULL, item TEXT NOT NULL, value TEXT NOT NULL,"
    "  since_ms INTEGER NOT NULL, PRIMARY KEY (device, item)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS changes ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    "  item TEXT NOT NULL, kind TEXT NOT NULL, old TEXT, new TEXT,"
    "  window INTEGER, unplanned INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS changes_by_device ON changes(device, id);"
    "CREATE TABLE IF NOT EXISTS change_windows ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, devices TEXT NOT NULL,"
    "  opened_ms INTEGER NOT NULL, until_ms INTEGER NOT NULL, closed_ms INTEGER,"
    "  opened_by TEXT NOT NULL, closed_by TEXT);"
    "PRAGMA user_version = 1;";

static const char *const s_kinds[INV_KIND_COUNT] = {
    "discovered",       "added",    "agent_updated", "config_changed", "rules_changed",
    "hardware_changed", "rebooted",
};

const char *wcol_inv_kind_name(enum inv_kind k)
{
    return (unsigned)k < INV_KIND_COUNT ? s_kinds[k] : "?";
}

int wcol_inv_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        wcol_log_error("inventory: %s", msg != NULL ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

/* The heartbeat's items: the sticky build fields, the boot, and an `inventory` object's
 * members (a string as is; an array of objects by each one's "name" or "id"). */
struct fact {
    char item[96];
    char *value; /* heap */
    enum inv_kind kind;
};

#define FACTS_MAX 128

static void add_fact(struct fact *f, unsigned *n, const char *item, const char *value,
                     enum inv_kind kind)
{
    if (*n >= FACTS_MAX || value == NULL || value[0] == '\0' || strlen(value) > 1024) {
        return;
    }
    snprintf(f[*n].item, sizeof(f[*n].item), "%s", item);
    f[*n].value = strdup(value);
    f[*n].kind = kind;
    *n += f[*n].value != NULL;
}

static void inventory_facts(const cJSON *inv, struct fact *f, unsigned *n)
{
    const cJSON *m, *e;
    char item[96];

    cJSON_ArrayForEach(m, inv)
    {
        if (cJSON_IsString(m)) {
            snprintf(item, sizeof(item), "inventory.%.60s", m->string);
            add_fact(f, n, item, m->valuestring, INV_HARDWARE);
            continue;
        }
        if (!cJSON_IsArray(m)) {
            continue;
        }
        cJSON_ArrayForEach(e, m)
        {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
            char *v = cJSON_PrintUnformatted(e);

            name = cJSON_IsString(name) ? name : cJSON_GetObjectItemCaseSensitive(e, "id");
            if (cJSON_IsString(name) && v != NULL) {
                snprintf(item, sizeof(item), "%.30s:%.60s", m->string, name->valuestring);
                add_fact(f, n, item, v, INV_HARDWARE);
            }
            free(v);
        }
    }
}

static unsigned facts_of(const cJSON *hb, const char *boot, struct fact *f)
{
    static const struct {
        const char *key;
        enum inv_kind kind;
    } sticky[] = {
        { "firmware", INV_AGENT_UPDATED },
        { "board", INV_HARDWARE },
        { "arch", INV_HARDWARE },
        { "config_sha256", INV_CONFIG_CHANGED },
        { "rules_sha256", INV_RULES_CHANGED },
    };
    unsigned n = 0;

    add_fact(f, &n, "boot", boot, INV_REBOOTED);
    for (size_t i = 0; i < sizeof(sticky) / sizeof(sticky[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(hb, sticky[i].key);

        if (cJSON_IsString(v)) {
            add_fact(f, &n, sticky[i].key, v->valuestring, sticky[i].kind);
        }
    }
    inventory_facts(cJSON_GetObjectItemCaseSensitive(hb, "inventory"), f, &n);
    return n;
}

/* The open window covering device at at_ms (0: none). */
static int64_t window_for(sqlite3 *db, const char *device, int64_t at_ms)
{
    sqlite3_stmt *st = NULL;
    int64_t id = 0;

    if (sqlite3_prepare_v2(db,
                           "SELECT id, devices FROM change_windows WHERE opened_ms <= ?1 AND "
                           "until_ms >= ?1 AND (closed_ms IS NULL OR closed_ms >= ?1) ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        return 0;
    }
    sqlite3_bind_int64(st, 1, at_ms);
    while (id == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *glob = (const char *)sqlite3_column_text(st, 1);

        if (glob != NULL && fnmatch(glob, device, 0) == 0) {
            id = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    return id;
}

/* Stored value of one item (heap) or NULL; *known: the device has any item. */
static char *stored(sqlite3 *db, const char *device, const char *item)
{
    sqlite3_stmt *st = NULL;
    char *v = NULL;

    if (sqlite3_prepare_v2(db, "SELECT value FROM inventory WHERE device = ?1 AND item = ?2", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, item, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v = strdup((const char *)sqlite3_column_text(st, 0));
        }
    }
    sqlite3_finalize(st);
    return v;
}

static bool device_known(sqlite3 *db, const char *device)
{
    sqlite3_stmt *st = NULL;
    bool known = false;

    if (sqlite3_prepare_v2(db, "SELECT 1 FROM inventory WHERE device = ?1 LIMIT 1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, device, -1, SQLITE_STATIC);
        known = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return known;
}

static int record(struct wcol_inventory *inv, const struct inv_job *j, const struct fact *f,
                  const char *old, enum inv_kind kind)
{
    sqlite3_stmt *st = NULL;
    int64_t win = kind == INV_DISCOVERED ? 0 : window_for(inv->w, j->device, j->at_ms);
    bool unplanned = win == 0 && kind != INV_DISCOVERED && kind != INV_REBOOTED;
    int rc = -EIO;

    if (sqlite3_prepare_v2(inv->w,
                           "INSERT INTO inventory (device, item, value, since_ms) VALUES (?1, ?2, "
                           "?3, ?4) ON CONFLICT (device, item) DO UPDATE SET value = ?3, "
                           "since_ms = ?4",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, j->device, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, f->item, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, f->value, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, j->at_ms);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == 0 && sqlite3_prepare_v2(inv->w,
                                      "INSERT INTO changes (device, at_ms, item, kind, old, new, "
                                      "window, unplanned) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                      -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, j->device, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, j->at_ms);
        sqlite3_bind_text(st, 3, f->item, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, wcol_inv_kind_name(kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, old, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, f->value, -1, SQLITE_STATIC);
        if (win > 0) {
            sqlite3_bind_int64(st, 7, win);
        }
        sqlite3_bind_int(st, 8, unplanned);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
    }
    sqlite3_finalize(st);
    if (rc == 0) {
        atomic_fetch_add(&inv->changes[kind][unplanned], 1);
        if (kind != INV_DISCOVERED) {
            wcol_log_info("inventory: %s %s %s: %s -> %s%s", j->device, wcol_inv_kind_name(kind),
                          f->item, old != NULL ? old : "(none)", f->value,
                          unplanned ? " (unplanned: no change window)" : "");
        }
    }
    return rc;
}

static void process(struct wcol_inventory *inv, const struct inv_job *j)
{
    struct fact f[FACTS_MAX];
    cJSON *hb = cJSON_Parse(j->heartbeat);
    unsigned n = hb != NULL ? facts_of(hb, j->boot, f) : 0;
    int rc = 0;

    cJSON_Delete(hb);
    pthread_mutex_lock(&inv->db_mu);
    bool known = device_known(inv->w, j->device);
    bool begun = false;

    for (unsigned i = 0; i < n && rc == 0; i++) {
        char *old = stored(inv->w, j->device, f[i].item);

        if (old == NULL || strcmp(old, f[i].value) != 0) {
            if (!begun) {
                rc = wcol_inv_exec(inv->w, "BEGIN IMMEDIATE");
                begun = rc == 0;
            }
            rc = rc
                     ?: record(inv, j, &f[i], old,
                               old != NULL ? f[i].kind
                               : known     ? INV_ADDED
                                           : INV_DISCOVERED);
        }
        free(old);
    }
    if (begun) {
        (void)wcol_inv_exec(inv->w, rc == 0 ? "COMMIT" : "ROLLBACK");
    }
    pthread_mutex_unlock(&inv->db_mu);
    for (unsigned i = 0; i < n; i++) {
        free(f[i].value);
    }
}

static void run_job(struct wcol_inventory *inv, const struct inv_job *j)
{
    switch (j->kind) {
    case INV_JOB_HEARTBEAT:
        process(inv, j);
        wcol_inv_outdated_seen(inv, j->device);
        break;
    case INV_JOB_REMOVED:
        wcol_inv_outdated_removed(inv, j->device, j->at_ms);
        break;
    case INV_JOB_RECONCILE:
        wcol_inv_outdated_reconcile(inv);
        break;
    }
}

static void *inv_main(void *arg)
{
    struct wcol_inventory *inv = arg;

    pthread_setname_np(pthread_self(), "wcol-inventory");
    pthread_mutex_lock(&inv->mu);
    for (;;) {
        while (inv->n == 0 && !inv->stop) {
            pthread_cond_wait(&inv->cv, &inv->mu);
        }
        if (inv->n == 0) {
            break; /* stopping, drained */
        }
        struct inv_job j = inv->q[inv->head];

        inv->head = (inv->head + 1) % INV_QUEUE_MAX;
        inv->n--;
        inv->busy = true;
        pthread_mutex_unlock(&inv->mu);
        run_job(inv, &j);
        free(j.heartbeat);
        pthread_mutex_lock(&inv->mu);
        inv->busy = false;
        pthread_cond_broadcast(&inv->cv);
    }
    pthread_mutex_unlock(&inv->mu);
    return NULL;
}

/* ---- the subscriber (event loop): copy and queue, never wait ---- */

/* Queue a job (copy: a heap heartbeat the queue then owns, or NULL); a full queue drops it. */
static void enqueue(struct wcol_inventory *inv, enum inv_job_kind kind, const char *device,
                    int64_t at_ms, const char *boot, char *copy)
{
    pthread_mutex_lock(&inv->mu);
    if ((kind == INV_JOB_HEARTBEAT && copy == NULL) || inv->n >= INV_QUEUE_MAX) {
        atomic_fetch_add(&inv->dropped, 1);
        free(copy);
    } else {
        struct inv_job *j = &inv->q[(inv->head + inv->n) % INV_QUEUE_MAX];

        j->kind = kind;
        snprintf(j->device, sizeof(j->device), "%s", device);
        j->at_ms = at_ms;
        snprintf(j->boot, sizeof(j->boot), "%s", boot);
        j->heartbeat = copy;
        inv->n++;
        pthread_cond_broadcast(&inv->cv);
    }
    pthread_mutex_unlock(&inv->mu);
}

static void on_report(void *ctx, const struct wcol_msg *m)
{
    struct wcol_inventory *inv = ctx;
    const struct wcol_store_report *r = m->u.report.report;

    /* Only a full heartbeat carries the sticky fields (docs/protocol.md). */
    if (!r->has_heartbeat || r->heartbeat == NULL ||
        memmem(r->heartbeat, r->heartbeat_len, "\"config_sha256\"", 15) == NULL) {
        return;
    }
    enqueue(inv, INV_JOB_HEARTBEAT, r->device, r->received_ms, r->boot_id != NULL ? r->boot_id : "",
            strndup(r->heartbeat, r->heartbeat_len));
}

void wcol_inventory_set_incidents(struct wcol_inventory *inv, struct wcol_incidents *inc)
{
    if (inv != NULL) {
        atomic_store(&inv->incidents, inc);
        if (inc != NULL) {
            enqueue(inv, INV_JOB_RECONCILE, "", wcol_now_wall_ms(), "", NULL);
        }
    }
}

void wcol_inventory_device_removed(struct wcol_inventory *inv, const char *device)
{
    if (inv != NULL && device != NULL) {
        enqueue(inv, INV_JOB_REMOVED, device, wcol_now_wall_ms(), "", NULL);
    }
}

int wcol_inventory_subscribe(struct wcol_inventory *inv, struct wcol_bus *bus)
{
    return wcol_bus_subscribe(bus, WCOL_TOPIC_REPORT_RECEIVED, on_report, inv);
}

void wcol_inventory_flush(struct wcol_inventory *inv)
{
    pthread_mutex_lock(&inv->mu);
    while ((inv->n > 0 || inv->busy) && inv->thread_up) {
        pthread_cond_wait(&inv->cv, &inv->mu);
    }
    pthread_mutex_unlock(&inv->mu);
}

/* ---- change windows ---- */

int64_t wcol_inv_window_open(struct wcol_inventory *inv, const char *title, const char *devices,
                             int64_t now_ms, int64_t until_ms, const char *who)
{
    sqlite3_stmt *st = NULL;
    int64_t id = -EIO;

    pthread_mutex_lock(&inv->db_mu);
    if (sqlite3_prepare_v2(inv->w,
                           "INSERT INTO change_windows (title, devices, opened_ms, until_ms, "
                           "opened_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, title, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, devices, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now_ms);
        sqlite3_bind_int64(st, 4, until_ms);
        sqlite3_bind_text(st, 5, who, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE) {
            id = sqlite3_last_insert_rowid(inv->w);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&inv->db_mu);
    return id;
}

int wcol_inv_window_close(struct wcol_inventory *inv, int64_t id, int64_t now_ms, const char *who)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;

    pthread_mutex_lock(&inv->db_mu);
    if (sqlite3_prepare_v2(inv->w,
                           "UPDATE change_windows SET closed_ms = ?2, closed_by = ?3 WHERE id = ?1 "
                           "AND closed_ms IS NULL AND until_ms >= ?2",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_text(st, 3, who, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? (sqlite3_changes(inv->w) == 1 ? 0 : -ENOENT) : -EIO;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&inv->db_mu);
    return rc;
}

/* ---- life ---- */

int wcol_version_cmp(const char *a, const char *b)
{
    while (*a != '\0' || *b != '\0') {
        char *ea, *eb;
        unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);

        if (ea == a || eb == b) {
            return strcmp(a, b);
        }
        if (x != y) {
            return x < y ? -1 : 1;
        }
        a = *ea == '.' ? ea + 1 : ea;
        b = *eb == '.' ? eb + 1 : eb;
        if ((*a == '\0') != (*b == '\0')) {
            return *a == '\0' ? -1 : 1;
        }
        if (*a != '\0' && (*a < '0' || *a > '9')) {
            return strcmp(a, b);
        }
    }
    return 0;
}

static int open_db(struct wcol_inventory *inv)
{
    if (sqlite3_open_v2(inv->path, &inv->w,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        wcol_log_error("inventory: cannot open %s: %s", inv->path, sqlite3_errmsg(inv->w));
        return -EIO;
    }
    sqlite3_busy_timeout(inv->w, 5000);
    int rc = wcol_inv_exec(inv->w, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL");

    rc = rc ?: wcol_inv_exec(inv->w, s_schema);
    rc = rc ?: wcol_inv_outdated_schema(inv->w);
    if (rc == 0 && sqlite3_open_v2(inv->path, &inv->r, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        wcol_log_error("inventory: cannot open %s: %s", inv->path, sqlite3_errmsg(inv->r));
        rc = -EIO;
    }
    return rc;
}

int wcol_inventory_open(struct wcol_inventory **out, const char *db_path, const char *min_version)
{
    struct wcol_inventory *inv = calloc(1, sizeof(*inv));
    const char *slash = strrchr(db_path, '/');
    sigset_t all, old;

    *out = inv;
    if (inv == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_init(&inv->mu, NULL);
    pthread_mutex_init(&inv->db_mu, NULL);
    pthread_cond_init(&inv->cv, NULL);
    if (min_version != NULL) {
        if (strlen(min_version) >= sizeof(inv->min_version) || min_version[0] < '0' ||
            min_version[0] > '9') {
            wcol_log_error("min-agent-version '%s' is not a version like 0.2.0", min_version);
            return -EINVAL;
        }
        snprintf(inv->min_version, sizeof(inv->min_version), "%s", min_version);
    }
    snprintf(inv->path, sizeof(inv->path), "%.*sinventory.db",
             slash ? (int)(slash - db_path + 1) : 0, db_path);
    int rc = open_db(inv);

    if (rc != 0) {
        return rc;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    inv->thread_up = pthread_create(&inv->thread, NULL, inv_main, inv) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return inv->thread_up ? 0 : -ENOMEM;
}

void wcol_inventory_close(struct wcol_inventory *inv)
{
    if (inv == NULL) {
        return;
    }
    pthread_mutex_lock(&inv->mu);
    inv->stop = true;
    pthread_cond_broadcast(&inv->cv);
    pthread_mutex_unlock(&inv->mu);
    if (inv->thread_up) {
        pthread_join(inv->thread, NULL);
    }
    while (inv->n > 0) {
        free(inv->q[inv->head].heartbeat);
        inv->head = (inv->head + 1) % INV_QUEUE_MAX;
        inv->n--;
    }
    sqlite3_close(inv->r);
    sqlite3_close(inv->w);
    pthread_cond_destroy(&inv->cv);
    pthread_mutex_destroy(&inv->db_mu);
    pthread_mutex_destroy(&inv->mu);
    free(inv);
}
