/* The incident commands: incidents, incident ID, ack, assign, note, resolve, close, report,
 * silence (docs/incidents.md). Errors are one line; --json prints the collector's answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "safe.h"
#include "table.h"

#include "wardctl.h"

static bool inc_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    return n > 0 && n <= 15 && strspn(id, "0123456789") == n;
}

static void need_id(const char *id)
{
    if (!inc_id_valid(id)) {
        die_usage("an incident ID is a number (wardctl incidents lists them)");
    }
}

void fmt_ms_or_dash(const cJSON *o, const char *key, char *out, size_t cap)
{
    double v = 0;

    if (jnum(o, key, &v) && v > 0) {
        fmt_time(v, out, cap);
    } else {
        snprintf(out, cap, "-");
    }
}

static void list_rows(const cJSON *arr, FILE *out)
{
    static const char *const h[] = { "ID",     "STATE",    "SEVERITY", "DEVICE", "COMPONENT",
                                     "OPENED", "ASSIGNEE", "FLAGS",    NULL };
    struct ward_table t;
    const cJSON *x;

    if (ward_table_init(&t, h) != 0) {
        return;
    }
    cJSON_ArrayForEach(x, arr)
    {
        char id[24], opened[40], flags[64];
        double v = 0;
        const cJSON *fl = cJSON_GetObjectItemCaseSensitive(x, "flapping");
        const cJSON *gr = cJSON_GetObjectItemCaseSensitive(x, "group");

        jnum(x, "id", &v);
        snprintf(id, sizeof(id), "%.0f", v);
        fmt_ms_or_dash(x, "opened_ms", opened, sizeof(opened));
        jnum(x, "parent", &v);
        snprintf(flags, sizeof(flags), "%s%s%s", cJSON_IsTrue(fl) ? "flapping " : "",
                 cJSON_IsTrue(gr) ? "group " : "", v > 0 ? "grouped" : "");
        const char *cells[] = { id,
                                shown(jstr(x, "state"), "-"),
                                shown(jstr(x, "severity"), "-"),
                                shown(jstr(x, "device"), "-"),
                                shown(jstr(x, "component"), "-"),
                                opened,
                                shown(jstr(x, "assignee"), "-"),
                                flags,
                                NULL };

        ward_table_row(&t, cells);
    }
    ward_table_print(&t, out);
    ward_table_free(&t);
}

static void print_incident(const cJSON *x, FILE *out)
{
    char t[40];
    const cJSON *e;

    fprintf(out, "incident %.0f: %s %s\n", cJSON_GetNumberValue(cJSON_GetObjectItem(x, "id")),
            shown(jstr(x, "device"), "-"), shown(jstr(x, "component"), "-"));
    fprintf(out, "  state      %s%s\n", shown(jstr(x, "state"), "-"),
            cJSON_IsTrue(cJSON_GetObjectItem(x, "flapping")) ? " (flapping)" : "");
    fprintf(out, "  severity   %s\n", shown(jstr(x, "severity"), "-"));
    fprintf(out, "  reading    %s\n", shown(jstr(x, "reading"), "-"));
    fmt_ms_or_dash(x, "opened_ms", t, sizeof(t));
    fprintf(out, "  opened     %s\n", t);
    fprintf(out, "  assignee   %s\n", shown(jstr(x, "assignee"), "-"));
    fprintf(out, "  commander  %s\n", shown(jstr(x, "commander"), "-"));
    fprintf(out, "  runbook    %s\n", shown(jstr(x, "runbook"), "-"));
    fprintf(out, "  cause      %s\n", shown(jstr(x, "cause"), "-"));
    fprintf(out, "timeline:\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(x, "timeline"))
    {
        fmt_ms_or_dash(e, "at_ms", t, sizeof(t));
        fprintf(out, "  %s  %-10s %-18s %s\n", t, shown(jstr(e, "who"), "-"),
                shown(jstr(e, "what"), "-"), shown(jstr(e, "detail"), ""));
    }
    fprintf(out, "notifications:\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(x, "notifications"))
    {
        double a = 0;

        jnum(e, "attempts", &a);
        fprintf(out, "  %-12s %-12s %-10s attempts %.0f %s\n", shown(jstr(e, "receiver"), "-"),
                shown(jstr(e, "kind"), "-"), shown(jstr(e, "state"), "-"), a,
                shown(jstr(e, "last_error"), ""));
    }
}

static void print_list(const cJSON *doc, FILE *out)
{
    list_rows(cJSON_GetObjectItem(doc, "incidents"), out);
}

int cmd_incidents(struct client *c, const struct opts *o, const char *arg)
{
    char path[256];
    int n = snprintf(path, sizeof(path), "/v1/incidents?");

    (void)arg;
    if (o->state != NULL) {
        if (strspn(o->state, "abcdefghijklmnopqrstuvwxyz") != strlen(o->state)) {
            die_usage("--state is open, reopened, acknowledged, resolved, closed or live");
        }
        n += snprintf(path + n, sizeof(path) - (size_t)n, "state=%s&", o->state);
    }
    if (o->severity != NULL) {
        if (strspn(o->severity, "abcdefghijklmnopqrstuvwxyz") != strlen(o->severity)) {
            die_usage("--severity is low, medium or high");
        }
        n += snprintf(path + n, sizeof(path) - (size_t)n, "severity=%s&", o->severity);
    }
    if (o->device != NULL) {
        if (!id_valid(o->device)) {
            die_usage("--device must be a device id");
        }
        n += snprintf(path + n, sizeof(path) - (size_t)n, "device=%s&", o->device);
    }
    path[n - 1] = '\0';
    return cmd_show(c, o, path, NULL, "incidents", print_list);
}

int cmd_incident(struct client *c, const struct opts *o, const char *arg)
{
    char path[64];

    need_id(arg);
    snprintf(path, sizeof(path), "/v1/incidents/%s", arg);
    return cmd_show(c, o, path, NULL, "incident", print_incident);
}

/* {"text": s} with s escaped by cJSON. */
static char *text_body(const char *s)
{
    cJSON *o = cJSON_CreateObject();
    char *out;

    if (s != NULL) {
        cJSON_AddStringToObject(o, "text", s);
    }
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

static int action(struct client *c, const struct opts *o, const char *id, const char *verb,
                  const char *text)
{
    char path[96], what[64];
    char *body = text_body(text);

    need_id(id);
    if (body == NULL || strlen(body) > 4000) {
        free(body);
        die_usage("the text is too long (a note is at most 1000 bytes)");
    }
    snprintf(path, sizeof(path), "/v1/incidents/%s/%s", id, verb);
    snprintf(what, sizeof(what), "%s %s", verb, id);
    int rc = cmd_show(c, o, path, body, what, print_incident);

    free(body);
    return rc;
}

int cmd_ack(struct client *c, const struct opts *o, const char *arg)
{
    return action(c, o, arg, "ack", NULL);
}

int cmd_assign(struct client *c, const struct opts *o, const char *arg)
{
    if (o->arg2 == NULL) {
        die_usage("assign needs ID WHO");
    }
    return action(c, o, arg, "assign", o->arg2);
}

int cmd_note(struct client *c, const struct opts *o, const char *arg)
{
    if (o->arg2 == NULL) {
        die_usage("note needs ID TEXT");
    }
    return action(c, o, arg, "note", o->arg2);
}

int cmd_resolve(struct client *c, const struct opts *o, const char *arg)
{
    return action(c, o, arg, "resolve", o->cause);
}

int cmd_close(struct client *c, const struct opts *o, const char *arg)
{
    return action(c, o, arg, "close", NULL);
}

static void md_report(const cJSON *x, FILE *out)
{
    char t[40];
    double v = 0;
    const cJSON *e, *d = cJSON_GetObjectItem(x, "durations_ms");

    fprintf(out, "# Incident %.0f: %s %s\n\n", cJSON_GetNumberValue(cJSON_GetObjectItem(x, "id")),
            shown(jstr(x, "device"), "-"), shown(jstr(x, "component"), "-"));
    fprintf(out, "| field | value |\n|---|---|\n");
    fprintf(out, "| severity | %s |\n| state | %s |\n", shown(jstr(x, "severity"), "-"),
            shown(jstr(x, "state"), "-"));
    fmt_ms_or_dash(x, "opened_ms", t, sizeof(t));
    fprintf(out, "| opened | %s |\n", t);
    fmt_ms_or_dash(x, "resolved_ms", t, sizeof(t));
    fprintf(out, "| resolved | %s |\n", t);
    fprintf(out, "| assignee | %s |\n| commander | %s |\n| runbook | %s |\n",
            shown(jstr(x, "assignee"), "-"), shown(jstr(x, "commander"), "-"),
            shown(jstr(x, "runbook"), "-"));
    static const char *const dn[] = { "detect", "acknowledge", "resolve" };

    for (int i = 0; i < 3; i++) {
        if (jnum(d, dn[i], &v) && v >= 0) {
            fprintf(out, "| time to %s | %.1f s |\n", dn[i], v / 1000.0);
        } else {
            fprintf(out, "| time to %s | - |\n", dn[i]);
        }
    }
    fprintf(out, "\n## Timeline\n\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(x, "timeline"))
    {
        fmt_ms_or_dash(e, "at_ms", t, sizeof(t));
        fprintf(out, "- %s **%s** by %s: %s\n", t, shown(jstr(e, "what"), "-"),
                shown(jstr(e, "who"), "-"), shown(jstr(e, "detail"), ""));
    }
    fprintf(
        out,
        "\n## Readings\n\n| received | from | to | severity | value |\n|---|---|---|---|---|\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(x, "readings"))
    {
        fmt_ms_or_dash(e, "received_ms", t, sizeof(t));
        fprintf(out, "| %s | %s | %s | %s | %s |\n", t, shown(jstr(e, "from"), "-"),
                shown(jstr(e, "to"), "-"), shown(jstr(e, "severity"), "-"),
                shown(jstr(e, "value"), "-"));
    }
    fprintf(out, "\n## Postmortem\n\n- root cause: %s\n- follow-up: %s\n",
            shown(jstr(x, "cause"), "(not recorded)"),
            shown(jstr(x, "followup"), "(not recorded)"));
}

int cmd_report(struct client *c, const struct opts *o, const char *arg)
{
    char path[96];
    struct opts oo = *o;

    need_id(arg);
    if (o->format != NULL && strcmp(o->format, "md") != 0 && strcmp(o->format, "json") != 0) {
        die_usage("--format is md or json");
    }
    oo.json = o->json || (o->format != NULL && strcmp(o->format, "json") == 0);
    snprintf(path, sizeof(path), "/v1/incidents/%s/report", arg);
    return cmd_show(c, &oo, path, NULL, "report", md_report);
}

static void print_silences(const cJSON *doc, FILE *out)
{
    const cJSON *s;
    char t[40];

    cJSON_ArrayForEach(s, cJSON_GetObjectItem(doc, "silences"))
    {
        fmt_ms_or_dash(s, "until_ms", t, sizeof(t));
        fprintf(out, "silence %.0f: %s until %s by %s: %s\n",
                cJSON_GetNumberValue(cJSON_GetObjectItem(s, "id")), shown(jstr(s, "match"), "-"), t,
                shown(jstr(s, "who"), "-"), shown(jstr(s, "reason"), "-"));
    }
}

int cmd_silence(struct client *c, const struct opts *o, const char *arg)
{
    cJSON *b;
    char *body;

    if (arg == NULL) {
        return cmd_show(c, o, "/v1/silences", NULL, "silences", print_silences);
    }
    if (strlen(arg) > 63 || o->for_s <= 0 || o->reason == NULL || o->reason[0] == '\0') {
        die_usage("silence DEVICE|GLOB --for DURATION --reason TEXT");
    }
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "match", arg);
    cJSON_AddNumberToObject(b, "for_s", (double)(long long)o->for_s);
    cJSON_AddStringToObject(b, "text", o->reason);
    body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    int rc = cmd_show(c, o, "/v1/silences", body, "silence", print_silences);

    free(body);
    return rc;
}
