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

int wcol_inv_exec(struct inv_db *db, const char *sql, const struct inv_val *v, int n)
{
    return wcol_invdb_query(db, sql, v, n, NULL);
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
static int64_t window_for(struct inv_db *db, const char *device, int64_t at_ms)
{
    struct inv_rows w = { 0 };
    struct inv_val v[] = { INV_INT(at_ms) };
    int64_t id = 0;

    if (wcol_invdb_query(db,
                         "SELECT id, devices FROM change_windows WHERE opened_ms <= ?1 AND "
                         "until_ms >= ?1 AND (closed_ms IS NULL OR closed_ms >= ?1) ORDER BY id",
                         v, 1, &w) == 0) {
        for (unsigned i = 0; id == 0 && i < w.n; i++) {
            const char *glob = wcol_inv_cell(&w, i, 1);

            if (glob != NULL && fnmatch(glob, device, 0) == 0) {
                id = wcol_inv_cell_int(&w, i, 0);
            }
        }
    }
    wcol_inv_rows_free(&w);
    return id;
}

/* The stored value of item among the device's items (item, value rows), NULL: none. */
static const char *stored(const struct inv_rows *items, const char *item)
{
    for (unsigned i = 0; i < items->n; i++) {
        const char *name = wcol_inv_cell(items, i, 0);

        if (name != NULL && strcmp(name, item) == 0) {
            return wcol_inv_cell(items, i, 1);
        }
    }
    return NULL;
}

static int record(struct wcol_inventory *inv, const struct inv_job *j, const struct fact *f,
                  const char *old, enum inv_kind kind)
{
    int64_t win = kind == INV_DISCOVERED ? 0 : window_for(inv->w, j->device, j->at_ms);
    bool unplanned = win == 0 && kind != INV_DISCOVERED && kind != INV_REBOOTED;
    struct inv_val item[] = { INV_TEXT(j->device), INV_TEXT(f->item), INV_TEXT(f->value),
                              INV_INT(j->at_ms) };
    struct inv_val change[] = { INV_TEXT(j->device),
                                INV_INT(j->at_ms),
                                INV_TEXT(f->item),
                                INV_TEXT(wcol_inv_kind_name(kind)),
                                INV_TEXT(old),
                                INV_TEXT(f->value),
                                win > 0 ? INV_INT(win) : INV_TEXT(NULL),
                                INV_INT(unplanned) };
    int rc = wcol_inv_exec(inv->w,
                           "INSERT INTO inventory (device, item, value, since_ms) VALUES (?1, ?2, "
                           "?3, ?4) ON CONFLICT (device, item) DO UPDATE SET value = ?3, "
                           "since_ms = ?4",
                           item, 4);

    rc = rc
             ?: wcol_inv_exec(inv->w,
                              "INSERT INTO changes (device, at_ms, item, kind, old, new, "
                              "\"window\", unplanned) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                              change, 8);
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

static int64_t hb_int(const cJSON *hb, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(hb, key);

    return cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 9e15
               ? (int64_t)v->valuedouble
               : 0;
}

/*
 * Shared tables (PostgreSQL): is this heartbeat later, by the device's own order, than the last
 * one any collector compared? Within a boot its seq says; across boots its wall clock when both
 * carry one, else the later comparison wins. The row stays locked until the commit, so two
 * collectors comparing the same device take turns. @return 1 later, 0 not, -EIO.
 */
static int later_than_stored(struct wcol_inventory *inv, const struct inv_job *j, int64_t seq,
                             int64_t wall_ms)
{
    struct inv_rows r = { 0 };
    struct inv_val v[] = { INV_TEXT(j->device), INV_TEXT(j->boot), INV_INT(seq), INV_INT(wall_ms),
                           INV_INT(j->at_ms) };
    int rc = wcol_invdb_query(
        inv->w,
        "INSERT INTO inventory_order AS o (device, boot, seq, wall_ms, at_ms) VALUES (?1, ?2, ?3, "
        "?4, ?5) ON CONFLICT (device) DO UPDATE SET boot = excluded.boot, seq = excluded.seq, "
        "wall_ms = excluded.wall_ms, at_ms = excluded.at_ms WHERE CASE WHEN o.boot = "
        "excluded.boot THEN excluded.seq = 0 OR excluded.seq >= o.seq WHEN o.wall_ms > 0 AND "
        "excluded.wall_ms > 0 THEN excluded.wall_ms >= o.wall_ms ELSE true END RETURNING device",
        v, 5, &r);

    rc = rc == 0 ? r.n == 1 : -EIO;
    wcol_inv_rows_free(&r);
    return rc;
}

static void process(struct wcol_inventory *inv, const struct inv_job *j)
{
    struct fact f[FACTS_MAX];
    cJSON *hb = cJSON_Parse(j->heartbeat);
    unsigned n = hb != NULL ? facts_of(hb, j->boot, f) : 0;
    int64_t seq = hb_int(hb, "seq"), wall_ms = hb_int(hb, "wall_ms");
    struct inv_rows items = { 0 };
    struct inv_val dev[] = { INV_TEXT(j->device) };

    cJSON_Delete(hb);
    pthread_mutex_lock(&inv->db_mu);
    int rc = inv->w->ops->begin(inv->w), later = 1;

    if (rc == 0 && inv->w->shared) {
        later = later_than_stored(inv, j, seq, wall_ms);
        rc = later < 0 ? later : 0;
    }
    if (rc == 0 && later == 0) {
        wcol_log_info("inventory: %s: a full heartbeat older than the last compared one (boot "
                      "%s seq %lld) is left out",
                      j->device, j->boot, (long long)seq);
    }
    rc = rc
             ?: later == 0
                ? 0
                : wcol_invdb_query(inv->w, "SELECT item, value FROM inventory WHERE device = ?1",
                                   dev, 1, &items);
    bool known = items.n > 0;

    for (unsigned i = 0; i < n && rc == 0 && later == 1; i++) {
        const char *old = stored(&items, f[i].item);

        if (old == NULL || strcmp(old, f[i].value) != 0) {
            rc = record(inv, j, &f[i], old,
                        old != NULL ? f[i].kind
                        : known     ? INV_ADDED
                                    : INV_DISCOVERED);
        }
    }
    (void)inv->w->ops->end(inv->w, rc == 0);
    pthread_mutex_unlock(&inv->db_mu);
    wcol_inv_rows_free(&items);
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
    struct inv_rows r = { 0 };
    struct inv_val v[] = { INV_TEXT(title), INV_TEXT(devices), INV_INT(now_ms), INV_INT(until_ms),
                           INV_TEXT(who) };
    int64_t id = -EIO;

    pthread_mutex_lock(&inv->db_mu);
    if (wcol_invdb_query(inv->w,
                         "INSERT INTO change_windows (title, devices, opened_ms, until_ms, "
                         "opened_by) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                         v, 5, &r) == 0 &&
        r.n == 1) {
        id = wcol_inv_cell_int(&r, 0, 0);
    }
    pthread_mutex_unlock(&inv->db_mu);
    wcol_inv_rows_free(&r);
    return id;
}

int wcol_inv_window_close(struct wcol_inventory *inv, int64_t id, int64_t now_ms, const char *who)
{
    struct inv_rows r = { 0 };
    struct inv_val v[] = { INV_INT(id), INV_INT(now_ms), INV_TEXT(who) };
    int rc;

    pthread_mutex_lock(&inv->db_mu);
    rc = wcol_invdb_query(inv->w,
                          "UPDATE change_windows SET closed_ms = ?2, closed_by = ?3 WHERE id = ?1 "
                          "AND closed_ms IS NULL AND until_ms >= ?2 RETURNING id",
                          v, 3, &r);
    pthread_mutex_unlock(&inv->db_mu);
    rc = rc != 0 ? -EIO : r.n == 1 ? 0 : -ENOENT;
    wcol_inv_rows_free(&r);
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

/* inventory.db, or the store's PostgreSQL database (its tables are the store's migration):
 * a writer and the API's reader. */
static int open_db(struct wcol_inventory *inv, const char *pg_conninfo)
{
    if (pg_conninfo != NULL) {
        int rc = wcol_invdb_open_pg(&inv->w, pg_conninfo);

        if (rc == 0) {
            wcol_invdb_pg_own_thread(inv->w); /* the inventory's thread writes through it */
        }
        return rc ?: wcol_invdb_open_pg(&inv->r, pg_conninfo);
    }
    int rc = wcol_invdb_open_sqlite(&inv->w, inv->path, false);

    rc = rc ?: wcol_invdb_sqlite_schema(inv->w, s_schema);
    rc = rc ?: wcol_inv_outdated_schema(inv->w);
    return rc ?: wcol_invdb_open_sqlite(&inv->r, inv->path, true);
}

int wcol_inventory_open(struct wcol_inventory **out, const char *db_path, const char *pg_conninfo,
                        const char *min_version)
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
    if (pg_conninfo == NULL) {
        snprintf(inv->path, sizeof(inv->path), "%.*sinventory.db",
                 slash ? (int)(slash - db_path + 1) : 0, db_path);
    }
    int rc = open_db(inv, pg_conninfo);

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
    wcol_invdb_close(inv->r);
    wcol_invdb_close(inv->w);
    pthread_cond_destroy(&inv->cv);
    pthread_mutex_destroy(&inv->db_mu);
    pthread_mutex_destroy(&inv->mu);
    free(inv);
}
