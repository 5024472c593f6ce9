/* wardctl drill list | start SCENARIO --device ID [--for D] | stop ID | report ID
 * (docs/incidents.md, "Drills"). Errors are one line; --json prints the collector's answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "safe.h"

#include "wardctl.h"

static void drill_line(const cJSON *d, FILE *out)
{
    char t[40];
    double id = 0, for_s = 0;

    (void)jnum(d, "id", &id);
    (void)jnum(d, "for_s", &for_s);
    fmt_ms_or_dash(d, "created_ms", t, sizeof(t));
    fprintf(out, "drill %.0f: %s on %s for %.0f s, %s%s%s (asked %s by %s)\n", id,
            shown(jstr(d, "scenario"), "-"), shown(jstr(d, "device"), "-"), for_s,
            shown(jstr(d, "state"), "-"), jstr(d, "reason") ? ": " : "",
            shown(jstr(d, "reason"), ""), t, shown(jstr(d, "who"), "-"));
}

static void print_list(const cJSON *doc, FILE *out)
{
    const cJSON *d;

    cJSON_ArrayForEach(d, cJSON_GetObjectItem(doc, "drills"))
    {
        drill_line(d, out);
    }
}

static void print_one(const cJSON *doc, FILE *out)
{
    const cJSON *x;

    cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "drill"))
    {
        drill_line(x, out);
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "incidents"))
    {
        fprintf(out, "  incident %.0f: %s %s %s\n",
                cJSON_GetNumberValue(cJSON_GetObjectItem(x, "id")),
                shown(jstr(x, "component"), "-"), shown(jstr(x, "severity"), "-"),
                shown(jstr(x, "state"), "-"));
    }
}

static void print_took(const cJSON *t, FILE *out)
{
    double ms = -1, target = 0;

    (void)jnum(t, "ms", &ms);
    (void)jnum(t, "target_ms", &target);
    if (ms < 0) {
        fprintf(out, " %10s", "-");
    } else {
        fprintf(out, " %9.1fs", ms / 1000.0);
    }
    fprintf(out, "/%-7.0fs %-7s", target / 1000.0, shown(jstr(t, "verdict"), "-"));
}

static void print_report(const cJSON *doc, FILE *out)
{
    const cJSON *x, *s = cJSON_GetObjectItem(doc, "summary");
    double met = 0, missed = 0, pending = 0;

    cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "drill"))
    {
        drill_line(x, out);
    }
    fprintf(out, "%-8s %-40s %-8s %-27s %-27s %-27s\n", "INCIDENT", "COMPONENT", "SEVERITY",
            "DETECT/TARGET", "ACKNOWLEDGE/TARGET", "RESOLVE/TARGET");
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "incidents"))
    {
        fprintf(out, "%-8.0f %-40s %-8s", cJSON_GetNumberValue(cJSON_GetObjectItem(x, "id")),
                shown(jstr(x, "component"), "-"), shown(jstr(x, "severity"), "-"));
        print_took(cJSON_GetObjectItem(x, "detect"), out);
        print_took(cJSON_GetObjectItem(x, "acknowledge"), out);
        print_took(cJSON_GetObjectItem(x, "resolve"), out);
        fputc('\n', out);
    }
    (void)jnum(s, "met", &met);
    (void)jnum(s, "missed", &missed);
    (void)jnum(s, "pending", &pending);
    fprintf(out, "targets: %.0f met, %.0f missed, %.0f pending\n", met, missed, pending);
}

static bool num_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    return n > 0 && n <= 10 && strspn(s, "0123456789") == n;
}

static int start(struct client *c, const struct opts *o, const char *scenario)
{
    cJSON *b;
    char *body;

    if (scenario == NULL || o->device == NULL) {
        die_usage("drill start SCENARIO --device ID [--for DURATION]");
    }
    if (strlen(scenario) > 31 || !id_valid(o->device)) {
        die_usage("a scenario name is at most 31 characters; a device ID 1-63 of [A-Za-z0-9._-]");
    }
    b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "scenario", scenario);
    cJSON_AddStringToObject(b, "device", o->device);
    if (o->for_s > 0) {
        cJSON_AddNumberToObject(b, "for_s", (double)(long long)o->for_s);
    }
    body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    int rc = cmd_show(c, o, "/v1/drills", body, "drill start", print_one);

    free(body);
    return rc;
}

int cmd_drill(struct client *c, const struct opts *o, const char *arg)
{
    char path[64];

    if (strcmp(arg, "list") == 0) {
        return cmd_show(c, o, "/v1/drills", NULL, "drills", print_list);
    }
    if (strcmp(arg, "start") == 0) {
        return start(c, o, o->arg2);
    }
    if (strcmp(arg, "stop") != 0 && strcmp(arg, "report") != 0 && strcmp(arg, "show") != 0) {
        die_usage("drill list | start SCENARIO --device ID [--for D] | stop ID | report ID");
    }
    if (!num_ok(o->arg2)) {
        die_usage("a drill ID is a number (wardctl drill list shows them)");
    }
    if (strcmp(arg, "stop") == 0) {
        snprintf(path, sizeof(path), "/v1/drills/%s/stop", o->arg2);
        return cmd_show(c, o, path, "{}", "drill stop", print_one);
    }
    snprintf(path, sizeof(path), "/v1/drills/%s%s", o->arg2,
             strcmp(arg, "report") == 0 ? "/report" : "");
    return cmd_show(c, o, path, NULL, "drill",
                    strcmp(arg, "report") == 0 ? print_report : print_one);
}
