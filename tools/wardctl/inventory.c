/*
 * wardctl inventory ID | changes [ID] [--since D] | change open TITLE --devices GLOB [--for D]
 * | change close ID | change list | devices --outdated: the collector's inventory, change
 * history, change windows and outdated agents (docs/operations.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cJSON.h>

#include "safe.h"
#include "table.h"
#include "wardctl.h"

/* A value as a cell: one longer than a cell (a SHA-256, a disk's JSON) shows its start and
 * "..." (--json has it whole). */
static const char *cell(const char *v, char *buf, size_t cap)
{
    if (v == NULL) {
        return "-";
    }
    if (strlen(v) <= WARD_TABLE_CELL_MAX) {
        return v;
    }
    snprintf(buf, cap, "%.*s...", WARD_TABLE_CELL_MAX - 3, v);
    return buf;
}

static void print_table(struct ward_table *t, FILE *out)
{
    ward_table_print(t, out);
    ward_table_free(t);
}

static void print_changes_of(const cJSON *arr, FILE *out)
{
    static const char *const h[] = { "ID",  "TIME", "DEVICE", "KIND", "ITEM",
                                     "OLD", "NEW",  "PLAN",   NULL };
    struct ward_table t;
    const cJSON *x;
    char id[24], when[40], win[32], o[WARD_TABLE_CELL_MAX + 1], n[WARD_TABLE_CELL_MAX + 1];

    if (ward_table_init(&t, h) != 0) {
        return;
    }
    cJSON_ArrayForEach(x, arr)
    {
        double w = 0;

        snprintf(id, sizeof(id), "%.0f", cJSON_GetNumberValue(cJSON_GetObjectItem(x, "id")));
        fmt_ms_or_dash(x, "at_ms", when, sizeof(when));
        if (jnum(x, "window", &w)) {
            snprintf(win, sizeof(win), "window %.0f", w);
        } else {
            snprintf(win, sizeof(win), "%s",
                     cJSON_IsTrue(cJSON_GetObjectItem(x, "unplanned")) ? "UNPLANNED" : "-");
        }
        const char *row[] = { id,
                              when,
                              shown(jstr(x, "device"), "-"),
                              shown(jstr(x, "kind"), "-"),
                              shown(jstr(x, "item"), "-"),
                              cell(shown(jstr(x, "old"), "-"), o, sizeof(o)),
                              cell(shown(jstr(x, "new"), "-"), n, sizeof(n)),
                              win };

        (void)ward_table_row(&t, row);
    }
    print_table(&t, out);
}

static void print_changes(const cJSON *doc, FILE *out)
{
    print_changes_of(cJSON_GetObjectItem(doc, "changes"), out);
}

static void print_inventory(const cJSON *doc, FILE *out)
{
    static const char *const h[] = { "ITEM", "VALUE", "SINCE", NULL };
    struct ward_table t;
    const cJSON *x;
    char since[40], v[WARD_TABLE_CELL_MAX + 1];

    fprintf(out, "device %s\n", shown(jstr(doc, "device"), "-"));
    if (ward_table_init(&t, h) != 0) {
        return;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "items"))
    {
        fmt_ms_or_dash(x, "since_ms", since, sizeof(since));
        const char *row[] = { shown(jstr(x, "item"), "-"),
                              cell(shown(jstr(x, "value"), "-"), v, sizeof(v)), since };

        (void)ward_table_row(&t, row);
    }
    print_table(&t, out);
    fprintf(out, "\nchanges (newest first):\n");
    print_changes_of(cJSON_GetObjectItem(doc, "changes"), out);
}

static void print_windows(const cJSON *doc, FILE *out)
{
    static const char *const h[] = { "ID",     "STATE", "TITLE",   "DEVICES",
                                     "OPENED", "UNTIL", "CHANGES", NULL };
    struct ward_table t;
    const cJSON *x;
    char id[24], opened[40], until[40], n[24];

    if (ward_table_init(&t, h) != 0) {
        return;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "windows"))
    {
        snprintf(id, sizeof(id), "%.0f", cJSON_GetNumberValue(cJSON_GetObjectItem(x, "id")));
        snprintf(n, sizeof(n), "%.0f", cJSON_GetNumberValue(cJSON_GetObjectItem(x, "changes")));
        fmt_ms_or_dash(x, "opened_ms", opened, sizeof(opened));
        double closed = 0;

        fmt_ms_or_dash(x, jnum(x, "closed_ms", &closed) ? "closed_ms" : "until_ms", until,
                       sizeof(until));
        const char *row[] = { id,
                              cJSON_IsTrue(cJSON_GetObjectItem(x, "open")) ? "open" : "closed",
                              shown(jstr(x, "title"), "-"),
                              shown(jstr(x, "devices"), "-"),
                              opened,
                              until,
                              n };

        (void)ward_table_row(&t, row);
    }
    print_table(&t, out);
}

static void print_window(const cJSON *doc, FILE *out)
{
    fprintf(out, "change window %.0f open\n", cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "id")));
}

static void print_closed(const cJSON *doc, FILE *out)
{
    (void)doc;
    fprintf(out, "change window closed\n");
}

static void print_outdated(const cJSON *doc, FILE *out)
{
    static const char *const h[] = { "DEVICE", "VERSION", "SINCE", "INCIDENT", NULL };
    struct ward_table t;
    const cJSON *x;
    char since[40], incident[32];
    double id;

    if (jstr(doc, "min_agent_version") == NULL) {
        fprintf(out, "no min-agent-version is set in the collector's configuration\n");
        return;
    }
    fprintf(out, "agents older than %s:\n", jstr(doc, "min_agent_version"));
    if (ward_table_init(&t, h) != 0) {
        return;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "devices"))
    {
        fmt_ms_or_dash(x, "since_ms", since, sizeof(since));
        snprintf(incident, sizeof(incident), "-");
        if (jnum(x, "incident", &id)) {
            snprintf(incident, sizeof(incident), "%.0f (low)", id);
        }
        const char *row[] = { shown(jstr(x, "id"), "-"), shown(jstr(x, "version"), "-"), since,
                              incident };

        (void)ward_table_row(&t, row);
    }
    print_table(&t, out);
}

int cmd_inventory(struct client *c, const struct opts *o, const char *arg)
{
    char path[160];

    if (!id_valid(arg)) {
        die_usage("inventory needs a device ID");
    }
    snprintf(path, sizeof(path), "/v1/devices/%s/inventory", arg);
    return cmd_show(c, o, path, NULL, "inventory", print_inventory);
}

/* --since D: D ago (90s, 30m, 2h, 7d). */
static long long since_ms(const char *arg)
{
    char *end;
    double v = strtod(arg, &end);
    struct timeval tv;

    if (end != arg && *end != '\0' && end[1] == '\0' && strchr("smhd", *end) != NULL) {
        v *= *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 1;
        end++;
    }
    if (*arg == '\0' || *end != '\0' || v <= 0 || v > 3650.0 * 86400) {
        die_usage("changes --since takes a duration: 90s, 30m, 2h or 7d (ago)");
    }
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000 - (long long)(v * 1000);
}

int cmd_changes(struct client *c, const struct opts *o, const char *arg)
{
    char path[256];
    int n = snprintf(path, sizeof(path), "/v1/changes?limit=1000");

    if (arg != NULL && !id_valid(arg)) {
        die_usage("changes [ID]: not a device ID");
    }
    if (arg != NULL) {
        n += snprintf(path + n, sizeof(path) - (size_t)n, "&device=%s", arg);
    }
    if (o->since != NULL) {
        snprintf(path + n, sizeof(path) - (size_t)n, "&since=%lld", since_ms(o->since));
    }
    return cmd_show(c, o, path, NULL, "changes", print_changes);
}

int cmd_change(struct client *c, const struct opts *o, const char *arg)
{
    char path[96];

    if (strcmp(arg, "list") == 0 && o->arg2 == NULL) {
        return cmd_show(c, o, "/v1/change-windows", NULL, "change windows", print_windows);
    }
    if (strcmp(arg, "close") == 0 && o->arg2 != NULL && strlen(o->arg2) < 24 &&
        strspn(o->arg2, "0123456789") == strlen(o->arg2)) {
        snprintf(path, sizeof(path), "/v1/change-windows/%s/close", o->arg2);
        return cmd_show(c, o, path, "{}", "change window", print_closed);
    }
    if (strcmp(arg, "open") != 0 || o->arg2 == NULL || o->devices == NULL) {
        die_usage("change open TITLE --devices GLOB [--for DURATION] | change close ID | "
                  "change list");
    }
    cJSON *b = cJSON_CreateObject();

    cJSON_AddStringToObject(b, "title", o->arg2);
    cJSON_AddStringToObject(b, "devices", o->devices);
    cJSON_AddNumberToObject(b, "for_s", o->for_s > 0 ? (double)(long long)o->for_s : 3600.0);
    char *body = cJSON_PrintUnformatted(b);

    cJSON_Delete(b);
    int rc = cmd_show(c, o, "/v1/change-windows", body, "change window", print_window);

    free(body);
    return rc;
}

int cmd_outdated(struct client *c, const struct opts *o)
{
    return cmd_show(c, o, "/v1/outdated", NULL, "outdated devices", print_outdated);
}

static void print_backups(const cJSON *doc, FILE *out)
{
    static const char *const h[] = { "FILE", "BYTES", "WRITTEN", NULL };
    const cJSON *s = cJSON_GetObjectItem(doc, "schedule"), *x;
    struct ward_table t;
    char last[40], bytes[24], when[40];
    double ok = 0, failed = 0, every = 0, keep = 0;

    if (!cJSON_IsObject(s)) {
        fprintf(out, "no scheduled backups (backup-dir is not set; ward-collector backup makes "
                     "one by hand)\n");
        return;
    }
    fmt_ms_or_dash(s, "last_ok_ms", last, sizeof(last));
    (void)jnum(s, "ok", &ok);
    (void)jnum(s, "failed", &failed);
    (void)jnum(s, "every_s", &every);
    (void)jnum(s, "keep", &keep);
    fprintf(out,
            "backups every %.0f s into %s, keeping %.0f%s; %.0f written, %.0f failed; last %s%s\n",
            every, shown(jstr(s, "dir"), "-"), keep,
            cJSON_IsTrue(cJSON_GetObjectItem(s, "encrypted")) ? " (AES-256-GCM)" : "", ok, failed,
            last, cJSON_IsTrue(cJSON_GetObjectItem(s, "running")) ? " (one running now)" : "");
    if (jnum(s, "interrupted", &ok) && ok > 0) {
        fmt_ms_or_dash(s, "last_interrupted_ms", last, sizeof(last));
        fprintf(out, "%.0f interrupted by a stop (not written; last %s)\n", ok, last);
    }
    if (ward_table_init(&t, h) != 0) {
        return;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "files"))
    {
        snprintf(bytes, sizeof(bytes), "%.0f",
                 cJSON_GetNumberValue(cJSON_GetObjectItem(x, "bytes")));
        fmt_ms_or_dash(x, "mtime_ms", when, sizeof(when));
        const char *row[] = { shown(jstr(x, "name"), "-"), bytes, when };

        (void)ward_table_row(&t, row);
    }
    print_table(&t, out);
}

int cmd_backups(struct client *c, const struct opts *o, const char *arg)
{
    (void)arg;
    return cmd_show(c, o, "/v1/backups", NULL, "backups", print_backups);
}
