/*
 * The inventory's operator API (inventory.h):
 *
 *   GET  /v1/devices/{id}/inventory          items and the device's last changes   (viewer)
 *   GET  /v1/changes[?device=ID&since=MS&limit=N]  changes, newest first            (viewer)
 *   GET  /v1/change-windows                  change windows, newest first          (viewer)
 *   POST /v1/change-windows {"title","devices","for_s"}   open one                (operator)
 *   POST /v1/change-windows/{id}/close       close it                             (operator)
 *   GET  /v1/outdated                        devices below min-agent-version       (viewer)
 *
 * Reads go through the reader connection on the event loop (committed rows only: inventory.db
 * in WAL mode, or the PostgreSQL tables every collector writes, invdb.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "api/api.h"
#include "backup/audit_hook.h"
#include "common/clock.h"
#include "common/jw.h"
#include "export/prom.h"
#include "inventory/model.h"
#include "server/conn.h"

#define RESPONSE_MAX (8u << 20)
#define CHANGES_MAX  1000

/* A text column as a JSON string, or null. */
static void col_str(struct wcol_jw *w, const char *key, const struct inv_rows *r, unsigned row,
                    unsigned col)
{
    const char *v = wcol_inv_cell(r, row, col);

    wcol_jw_key(w, key);
    if (v == NULL) {
        wcol_jw_null(w);
    } else {
        wcol_jw_str(w, v);
    }
}

/* An integer column, or null. */
static void col_int(struct wcol_jw *w, const char *key, const struct inv_rows *r, unsigned row,
                    unsigned col)
{
    wcol_jw_key(w, key);
    if (wcol_inv_cell(r, row, col) == NULL) {
        wcol_jw_null(w);
    } else {
        wcol_jw_int(w, wcol_inv_cell_int(r, row, col));
    }
}

#define CHANGE_COLS "id, device, at_ms, item, kind, old, new, \"window\", unplanned"

static void change_row(struct wcol_jw *w, const struct inv_rows *r, unsigned i)
{
    const char *kind = wcol_inv_cell(r, i, 4);

    wcol_jw_obj_begin(w);
    wcol_jw_kint(w, "id", wcol_inv_cell_int(r, i, 0));
    col_str(w, "device", r, i, 1);
    wcol_jw_kint(w, "at_ms", wcol_inv_cell_int(r, i, 2));
    col_str(w, "item", r, i, 3);
    col_str(w, "kind", r, i, 4);
    col_str(w, "old", r, i, 5);
    col_str(w, "new", r, i, 6);
    col_int(w, "window", r, i, 7);
    wcol_jw_key(w, "unplanned");
    wcol_jw_bool(w, wcol_inv_cell_int(r, i, 8) != 0);
    wcol_jw_kstr(w, "severity", kind != NULL && strcmp(kind, "discovered") == 0 ? "none" : "low");
    wcol_jw_obj_end(w);
}

/* Changes (newest first) into w as an array. @return 0, -EIO. */
static int changes_into(struct wcol_inventory *inv, struct wcol_jw *w, const char *device,
                        int64_t since_ms, unsigned limit)
{
    struct inv_rows r = { 0 };
    struct inv_val v[] = { INV_TEXT(device), INV_INT(since_ms), INV_INT(limit) };

    if (wcol_invdb_query(inv->r,
                         "SELECT " CHANGE_COLS " FROM changes WHERE (CAST(?1 AS TEXT) IS NULL OR "
                         "device = ?1) AND at_ms >= ?2 ORDER BY id DESC LIMIT ?3",
                         v, 3, &r) != 0) {
        wcol_inv_rows_free(&r);
        return -EIO;
    }
    wcol_jw_arr_begin(w);
    for (unsigned i = 0; i < r.n; i++) {
        change_row(w, &r, i);
    }
    wcol_jw_arr_end(w);
    wcol_inv_rows_free(&r);
    return 0;
}

static void get_inventory(struct wcol_inventory *inv, struct wcol_conn *conn, const char *id)
{
    struct wcol_jw w;
    struct inv_rows r = { 0 };
    struct inv_val v[] = { INV_TEXT(id) };
    unsigned n = 0;

    /* COLLATE "C": the byte order SQLite sorts text in, whatever the database's collation. */
    if (wcol_invdb_query(inv->r,
                         inv->r->shared ? "SELECT item, value, since_ms FROM inventory WHERE "
                                          "device = ?1 ORDER BY item COLLATE \"C\""
                                        : "SELECT item, value, since_ms FROM inventory WHERE "
                                          "device = ?1 ORDER BY item",
                         v, 1, &r) != 0) {
        wcol_inv_rows_free(&r);
        wcol_conn_error(conn, 503, "inventory unavailable");
        return;
    }
    wcol_jw_init(&w, RESPONSE_MAX);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "device", id);
    wcol_jw_key(&w, "items");
    wcol_jw_arr_begin(&w);
    for (; n < r.n; n++) {
        wcol_jw_obj_begin(&w);
        col_str(&w, "item", &r, n, 0);
        col_str(&w, "value", &r, n, 1);
        wcol_jw_kint(&w, "since_ms", wcol_inv_cell_int(&r, n, 2));
        wcol_jw_obj_end(&w);
    }
    wcol_jw_arr_end(&w);
    wcol_inv_rows_free(&r);
    wcol_jw_key(&w, "changes");
    (void)changes_into(inv, &w, id, 0, 100);
    wcol_jw_obj_end(&w);
    if (n == 0) {
        wcol_jw_free(&w);
        wcol_conn_error(conn, 404, "no inventory for this device (no full heartbeat yet)");
        return;
    }
    wcol_api_send_doc(conn, &w);
}

/* device=ID&since=MS&limit=N. @return NULL or the error. */
static const char *changes_query(const char *q, size_t ql, char *device, size_t cap, int64_t *since,
                                 unsigned *limit)
{
    char buf[512];

    if (ql >= sizeof(buf)) {
        return "query too long";
    }
    memcpy(buf, q, ql);
    buf[ql] = '\0';
    for (char *save = NULL, *kv = strtok_r(buf, "&", &save); kv != NULL;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '='), *end;

        if (eq == NULL) {
            return "query parameters are device, since and limit";
        }
        *eq++ = '\0';
        if (strcmp(kv, "device") == 0 && strlen(eq) < cap && eq[0] != '\0') {
            snprintf(device, cap, "%s", eq);
        } else if (strcmp(kv, "since") == 0) {
            *since = strtoll(eq, &end, 10);
            if (*end != '\0' || *since < 0) {
                return "since is a time in ms since the epoch";
            }
        } else if (strcmp(kv, "limit") == 0) {
            unsigned long v = strtoul(eq, &end, 10);

            if (*end != '\0' || v < 1 || v > CHANGES_MAX) {
                return "limit must be 1..1000";
            }
            *limit = (unsigned)v;
        } else {
            return "query parameters are device, since and limit";
        }
    }
    return NULL;
}

static void get_changes(struct wcol_inventory *inv, struct wcol_conn *conn, const char *q,
                        size_t ql)
{
    char device[WCOL_DEVICE_ID_MAX + 1] = "";
    int64_t since = 0;
    unsigned limit = CHANGES_MAX;
    struct wcol_jw w;
    const char *bad = changes_query(q, ql, device, sizeof(device), &since, &limit);

    if (bad != NULL) {
        wcol_conn_error(conn, 400, bad);
        return;
    }
    wcol_jw_init(&w, RESPONSE_MAX);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "changes");
    if (changes_into(inv, &w, device[0] ? device : NULL, since, limit) != 0) {
        wcol_jw_free(&w);
        wcol_conn_error(conn, 503, "inventory unavailable");
        return;
    }
    wcol_jw_obj_end(&w);
    wcol_api_send_doc(conn, &w);
}

static void get_windows(struct wcol_inventory *inv, struct wcol_conn *conn)
{
    struct inv_rows r = { 0 };
    struct wcol_jw w;
    int64_t now = wcol_now_wall_ms();

    if (wcol_invdb_query(inv->r,
                         "SELECT id, title, devices, opened_ms, until_ms, closed_ms, opened_by, "
                         "closed_by, (SELECT count(*) FROM changes AS c WHERE c.\"window\" = "
                         "change_windows.id) FROM change_windows ORDER BY id DESC LIMIT 1000",
                         NULL, 0, &r) != 0) {
        wcol_inv_rows_free(&r);
        wcol_conn_error(conn, 503, "inventory unavailable");
        return;
    }
    wcol_jw_init(&w, RESPONSE_MAX);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "windows");
    wcol_jw_arr_begin(&w);
    for (unsigned i = 0; i < r.n; i++) {
        bool closed = wcol_inv_cell(&r, i, 5) != NULL;

        wcol_jw_obj_begin(&w);
        wcol_jw_kint(&w, "id", wcol_inv_cell_int(&r, i, 0));
        col_str(&w, "title", &r, i, 1);
        col_str(&w, "devices", &r, i, 2);
        wcol_jw_kint(&w, "opened_ms", wcol_inv_cell_int(&r, i, 3));
        wcol_jw_kint(&w, "until_ms", wcol_inv_cell_int(&r, i, 4));
        col_int(&w, "closed_ms", &r, i, 5);
        col_str(&w, "opened_by", &r, i, 6);
        col_str(&w, "closed_by", &r, i, 7);
        wcol_jw_kint(&w, "changes", wcol_inv_cell_int(&r, i, 8));
        wcol_jw_key(&w, "open");
        wcol_jw_bool(&w, !closed && wcol_inv_cell_int(&r, i, 4) >= now);
        wcol_jw_obj_end(&w);
    }
    wcol_inv_rows_free(&r);
    wcol_jw_arr_end(&w);
    wcol_jw_obj_end(&w);
    wcol_api_send_doc(conn, &w);
}

static bool printable(const char *s, size_t max)
{
    size_t n = strlen(s);

    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) {
            return false;
        }
    }
    return n > 0 && n <= max;
}

static void open_window(struct wcol_inventory *inv, struct wcol_conn *conn, const char *who,
                        const char *body, size_t len)
{
    cJSON *doc = cJSON_ParseWithLength(body, len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "title");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "devices");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, "for_s");
    int64_t now = wcol_now_wall_ms(), id;
    char detail[400], target[48];

    if (!cJSON_IsString(t) || !printable(t->valuestring, 200) || !cJSON_IsString(d) ||
        !printable(d->valuestring, 200) || (f != NULL && !cJSON_IsNumber(f)) ||
        (f != NULL && (f->valuedouble < 1 || f->valuedouble > 30 * 86400))) {
        cJSON_Delete(doc);
        wcol_conn_error(conn, 400,
                        "a change window is {\"title\": TEXT, \"devices\": GLOB, \"for_s\": "
                        "1..2592000} (printable, at most 200 characters)");
        return;
    }
    int64_t until = now + (int64_t)(f != NULL ? f->valuedouble : 3600) * 1000;

    id = wcol_inv_window_open(inv, t->valuestring, d->valuestring, now, until, who);
    snprintf(detail, sizeof(detail), "devices=%s until_ms=%lld title=%.200s", d->valuestring,
             (long long)until, t->valuestring);
    cJSON_Delete(doc);
    if (id < 0) {
        wcol_conn_error(conn, 503, "inventory unavailable");
        return;
    }
    snprintf(target, sizeof(target), "change-window/%lld", (long long)id);
    WCOL_AUDIT(wcol_conn_collector(conn), who, "change.open", target, detail);
    struct wcol_jw w;

    wcol_jw_init(&w, 4096);
    wcol_jw_obj_begin(&w);
    wcol_jw_kint(&w, "id", id);
    wcol_jw_kint(&w, "opened_ms", now);
    wcol_jw_kint(&w, "until_ms", until);
    wcol_jw_obj_end(&w);
    wcol_api_send_doc(conn, &w);
}

static void close_window(struct wcol_inventory *inv, struct wcol_conn *conn, const char *who,
                         const char *id_s, size_t idl)
{
    char buf[24], *end, target[48];
    long long id;

    if (idl == 0 || idl >= sizeof(buf)) {
        wcol_conn_error(conn, 400, "a change window id is a number");
        return;
    }
    memcpy(buf, id_s, idl);
    buf[idl] = '\0';
    id = strtoll(buf, &end, 10);
    if (*end != '\0' || id <= 0) {
        wcol_conn_error(conn, 400, "a change window id is a number");
        return;
    }
    int rc = wcol_inv_window_close(inv, id, wcol_now_wall_ms(), who);

    if (rc == -ENOENT) {
        wcol_conn_error(conn, 409, "no open change window with this id");
        return;
    }
    if (rc != 0) {
        wcol_conn_error(conn, 503, "inventory unavailable");
        return;
    }
    snprintf(target, sizeof(target), "change-window/%lld", id);
    WCOL_AUDIT(wcol_conn_collector(conn), who, "change.close", target, "");
    WCOL_CONN_RESPOND_LIT(conn, 200, "{\"closed\":true}", NULL,
                          !wcol_conn_request(conn)->keep_alive);
}

/* Devices whose agent version is below the minimum, into w (an array). @return count. */
static unsigned outdated_into(struct wcol_inventory *inv, struct wcol_jw *w)
{
    struct inv_rows r = { 0 };
    unsigned n = 0;

    if (inv->min_version[0] == '\0' ||
        wcol_invdb_query(inv->r,
                         inv->r->shared
                             ? "SELECT i.device, i.value, i.since_ms, o.incident FROM inventory i "
                               "LEFT JOIN outdated_raised o ON o.device = i.device WHERE i.item = "
                               "'firmware' AND i.device NOT IN (SELECT device FROM "
                               "removed_devices) ORDER BY i.device COLLATE \"C\""
                             : "SELECT i.device, i.value, i.since_ms, o.incident FROM inventory i "
                               "LEFT JOIN outdated_raised o ON o.device = i.device WHERE i.item = "
                               "'firmware' AND i.device NOT IN (SELECT device FROM "
                               "removed_devices) ORDER BY i.device",
                         NULL, 0, &r) != 0) {
        wcol_inv_rows_free(&r);
        return 0;
    }
    for (unsigned i = 0; i < r.n; i++) {
        const char *v = wcol_inv_cell(&r, i, 1);

        if (v == NULL || wcol_version_cmp(v, inv->min_version) >= 0) {
            continue;
        }
        n++;
        if (w != NULL) {
            wcol_jw_obj_begin(w);
            col_str(w, "id", &r, i, 0);
            wcol_jw_kstr(w, "version", v);
            wcol_jw_kint(w, "since_ms", wcol_inv_cell_int(&r, i, 2));
            col_int(w, "incident", &r, i, 3); /* the low incident it raised (null: none yet) */
            wcol_jw_obj_end(w);
        }
    }
    wcol_inv_rows_free(&r);
    return n;
}

static void get_outdated(struct wcol_inventory *inv, struct wcol_conn *conn)
{
    struct wcol_jw w;

    wcol_jw_init(&w, RESPONSE_MAX);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "min_agent_version");
    if (inv->min_version[0] != '\0') {
        wcol_jw_str(&w, inv->min_version);
    } else {
        wcol_jw_null(&w);
    }
    wcol_jw_key(&w, "devices");
    wcol_jw_arr_begin(&w);
    (void)outdated_into(inv, &w);
    wcol_jw_arr_end(&w);
    wcol_jw_obj_end(&w);
    wcol_api_send_doc(conn, &w);
}

static bool is(const char *t, size_t pl, const char *path)
{
    return pl == strlen(path) && memcmp(t, path, pl) == 0;
}

static void windows(struct wcol_inventory *inv, struct wcol_conn *conn, const char *who,
                    const char *t, size_t pl, const char *body, size_t len)
{
    bool post = wcol_conn_request(conn)->method == WCOL_HTTP_POST;
    const size_t base = strlen("/v1/change-windows");

    if (pl == base) {
        if (post) {
            open_window(inv, conn, who, body, len);
        } else {
            get_windows(inv, conn);
        }
        return;
    }
    const char *id = t + base + 1, *slash = memchr(id, '/', pl - base - 1);

    if (slash == NULL || !is(slash, (size_t)(t + pl - slash), "/close")) {
        wcol_conn_error(conn, 404, "POST /v1/change-windows/{id}/close");
    } else if (!post) {
        wcol_conn_wrong_method(conn, "POST");
    } else {
        close_window(inv, conn, who, id, (size_t)(slash - id));
    }
}

bool wcol_inventory_request(struct wcol_inventory *inv, struct wcol_conn *conn, const char *who,
                            const char *body, size_t len)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    const char *t = r->target, *q = memchr(t, '?', r->target_len);
    size_t pl = q ? (size_t)(q - t) : r->target_len, ql = q ? r->target_len - pl - 1 : 0;
    bool get = r->method == WCOL_HTTP_GET;
    static const char inv_tail[] = "/inventory";
    const size_t tl = sizeof(inv_tail) - 1, dl = strlen("/v1/devices/");

    if (inv == NULL) {
        return false;
    }
    if (pl >= strlen("/v1/change-windows") && memcmp(t, "/v1/change-windows", 18) == 0 &&
        (pl == 18 || t[18] == '/')) {
        windows(inv, conn, who, t, pl, body, len);
        return true;
    }
    if (is(t, pl, "/v1/changes") || is(t, pl, "/v1/outdated")) {
        if (!get) {
            wcol_conn_wrong_method(conn, "GET");
        } else if (pl == 11) {
            get_changes(inv, conn, q ? q + 1 : "", ql);
        } else {
            get_outdated(inv, conn);
        }
        return true;
    }
    if (pl > dl + tl && memcmp(t, "/v1/devices/", dl) == 0 &&
        memcmp(t + pl - tl, inv_tail, tl) == 0 && pl - dl - tl <= WCOL_DEVICE_ID_MAX &&
        memchr(t + dl, '/', pl - dl - tl) == NULL) {
        char id[WCOL_DEVICE_ID_MAX + 1];

        snprintf(id, sizeof(id), "%.*s", (int)(pl - dl - tl), t + dl);
        if (!get) {
            wcol_conn_wrong_method(conn, "GET");
        } else {
            get_inventory(inv, conn, id);
        }
        return true;
    }
    return false;
}

/* ---- metrics ---- */

/* A count(*) with at most one parameter (?1 a). */
static int64_t count_of(struct wcol_inventory *inv, const char *sql, int64_t a)
{
    struct inv_rows r = { 0 };
    struct inv_val v[] = { INV_INT(a) };
    int64_t n = wcol_invdb_query(inv->r, sql, v, strstr(sql, "?1") != NULL, &r) == 0
                    ? wcol_inv_cell_int(&r, 0, 0)
                    : 0;

    wcol_inv_rows_free(&r);
    return n;
}

void wcol_inventory_metrics(struct wcol_inventory *inv, struct wcol_prom *w)
{
    static const char *const planned[2] = { "yes", "no" };

    if (inv == NULL) {
        return;
    }
    wcol_prom_family(w, "ward_collector_inventory_changes_total", "counter",
                     "inventory changes seen since start, by kind and whether a change window "
                     "covered them (unplanned: planned=\"no\")");
    for (int k = 0; k < INV_KIND_COUNT; k++) {
        for (int u = 0; u < 2; u++) {
            struct wcol_prom_label l[2] = { { "kind", wcol_inv_kind_name((enum inv_kind)k) },
                                            { "planned", planned[u] } };

            wcol_prom_sample_u64(w, "ward_collector_inventory_changes_total", l, 2,
                                 (uint64_t)atomic_load(&inv->changes[k][u]));
        }
    }
    wcol_prom_family(w, "ward_collector_inventory_dropped_total", "counter",
                     "full heartbeats not compared (the inventory queue was full)");
    wcol_prom_sample_u64(w, "ward_collector_inventory_dropped_total", NULL, 0,
                         (uint64_t)atomic_load(&inv->dropped));
    wcol_prom_family(w, "ward_collector_change_windows_open", "gauge", "change windows open now");
    wcol_prom_sample(w, "ward_collector_change_windows_open", NULL, 0,
                     (double)count_of(inv,
                                      "SELECT count(*) FROM change_windows WHERE closed_ms IS NULL "
                                      "AND until_ms >= ?1",
                                      wcol_now_wall_ms()));
    wcol_prom_family(w, "ward_collector_devices_outdated", "gauge",
                     "devices whose agent is older than min-agent-version");
    wcol_prom_sample(w, "ward_collector_devices_outdated", NULL, 0,
                     (double)outdated_into(inv, NULL));
    wcol_prom_family(
        w, "ward_collector_devices_outdated_incidents", "gauge",
        "outdated devices with a low incident raised (clears once updated or removed)");
    wcol_prom_sample(w, "ward_collector_devices_outdated_incidents", NULL, 0,
                     (double)count_of(inv, "SELECT count(*) FROM outdated_raised", 0));
}
