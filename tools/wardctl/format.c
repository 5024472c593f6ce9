/* wardctl's text output: times and durations, and the tables of devices, events, one
 * device and the collector's health. Every string from a document is printed through
 * safe.h (tables through table.c, which uses it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/asn1.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "safe.h"
#include "table.h"

#include "wardctl.h"

/* ---- formatting ---- */

const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool jnum(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsNumber(v)) {
        return false;
    }
    *out = v->valuedouble;
    return true;
}

static void fmt_age(double ms, char *out, size_t cap)
{
    double s = ms / 1000.0;

    if (s < 0) {
        snprintf(out, cap, "-");
    } else if (s < 120) {
        snprintf(out, cap, "%.0fs ago", s);
    } else if (s < 7200) {
        snprintf(out, cap, "%.0fm ago", s / 60);
    } else if (s < 172800) {
        snprintf(out, cap, "%.0fh ago", s / 3600);
    } else {
        snprintf(out, cap, "%.0fd ago", s / 86400);
    }
}

static void fmt_duration(double ms, char *out, size_t cap)
{
    if (ms >= 3600000 && (long long)ms % 3600000 == 0) {
        snprintf(out, cap, "%.0fh", ms / 3600000);
    } else if (ms >= 60000 && (long long)ms % 60000 == 0) {
        snprintf(out, cap, "%.0fm", ms / 60000);
    } else if (ms >= 1000) {
        snprintf(out, cap, "%.0fs", ms / 1000);
    } else {
        snprintf(out, cap, "%.0fms", ms);
    }
}

void fmt_time(double ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0) {
        snprintf(out, cap, "-");
        return;
    }
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%SZ", &tm);
}

void print_devices(const cJSON *doc, FILE *out)
{
    static const char *const head[] = { "DEVICE",   "STATE", "HEALTH", "LAST HEARTBEAT",
                                        "INTERVAL", "BOOT",  NULL };
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(doc, "devices");
    const cJSON *d;
    struct ward_table t;
    double up = 0, silent = 0, count = 0;

    ward_table_init(&t, head);
    cJSON_ArrayForEach(d, devs)
    {
        char age[32] = "never", interval[32] = "-", boot[16] = "";
        double v;

        if (jnum(d, "heartbeat_age_ms", &v)) {
            fmt_age(v, age, sizeof(age));
        }
        if (jnum(d, "interval_ms", &v)) {
            fmt_duration(v, interval, sizeof(interval));
        }
        snprintf(boot, sizeof(boot), "%.8s", jstr(d, "boot_id") ? jstr(d, "boot_id") : "");
        const char *row[] = { jstr(d, "id"), jstr(d, "state"), jstr(d, "health"),
                              age,           interval,         boot };

        ward_table_row(&t, row);
    }
    ward_table_print(&t, out);
    ward_table_free(&t);
    jnum(doc, "count", &count);
    jnum(doc, "up", &up);
    jnum(doc, "silent", &silent);
    fprintf(out, "%.0f devices: %.0f up, %.0f silent\n", count, up, silent);
}

static void event_change(const cJSON *e, char *out, size_t cap)
{
    snprintf(out, cap, "%s -> %s", jstr(e, "from") ? jstr(e, "from") : "?",
             jstr(e, "to") ? jstr(e, "to") : "?");
}

void print_events_table(const cJSON *events, FILE *out, bool with_device)
{
    static const char *const head_dev[] = { "ID",     "TIME",     "DEVICE", "SENSOR",
                                            "CHANGE", "SEVERITY", "VALUE",  NULL };
    static const char *const head_one[] = { "ID",       "TIME",  "SENSOR", "CHANGE",
                                            "SEVERITY", "VALUE", NULL };
    const cJSON *e;
    struct ward_table t;

    ward_table_init(&t, with_device ? head_dev : head_one);
    cJSON_ArrayForEach(e, events)
    {
        char id[24] = "", when[32] = "", change[48], value[32] = "";
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(e, "event");
        double v;

        if (jnum(e, "id", &v)) {
            snprintf(id, sizeof(id), "%.0f", v);
        }
        if ((!jnum(e, "time_ms", &v) || v <= 0) && !jnum(e, "received_ms", &v)) {
            v = 0; /* neither time: "-", not the id (or garbage) as a date */
        }
        fmt_time(v, when, sizeof(when));
        event_change(e, change, sizeof(change));
        if (jnum(ev, "value", &v)) {
            format_value(jstr(e, "sensor"), v, value, sizeof(value));
        }
        const char *row_dev[] = {
            id, when, jstr(e, "device"), jstr(e, "sensor"), change, jstr(e, "severity"), value
        };
        const char *row_one[] = { id, when, jstr(e, "sensor"), change, jstr(e, "severity"), value };

        ward_table_row(&t, with_device ? row_dev : row_one);
    }
    ward_table_print(&t, out);
    ward_table_free(&t);
}

/* A sensor's thresholds (full snapshot pages, docs/protocol.md): "caution>80.0 C ..." with
 * ">" for thr (a reading above enters the state) and "<" for thr_below; "" without any. */
static void format_thresholds(const cJSON *s, char *out, size_t cap)
{
    static const char *const member[] = { "thr", "thr_below" };
    size_t n = 0;

    out[0] = '\0';
    for (unsigned m = 0; m < 2; m++) {
        const cJSON *lv;

        cJSON_ArrayForEach(lv, cJSON_GetObjectItemCaseSensitive(s, member[m]))
        {
            char value[32];
            int w;

            if (!cJSON_IsNumber(lv) || n >= cap) {
                continue;
            }
            format_value(jstr(s, "id"), lv->valuedouble, value, sizeof(value));
            w = snprintf(out + n, cap - n, "%s%s%s%s", n > 0 ? " " : "", shown(lv->string, "?"),
                         m == 0 ? ">" : "<", value);
            n = w > 0 ? n + (size_t)w : n;
        }
    }
}

/* Whether any sensor carries thresholds: the column is shown only then. */
static bool any_thresholds(const cJSON *sensors)
{
    const cJSON *s;

    cJSON_ArrayForEach(s, sensors)
    {
        if (cJSON_GetObjectItemCaseSensitive(s, "thr") != NULL ||
            cJSON_GetObjectItemCaseSensitive(s, "thr_below") != NULL) {
            return true;
        }
    }
    return false;
}

void print_device(const cJSON *d, FILE *out)
{
    const cJSON *hb = cJSON_GetObjectItemCaseSensitive(d, "heartbeat");
    const cJSON *snap = cJSON_GetObjectItemCaseSensitive(d, "snapshot");
    char buf[64], since[96], iv[32] = "-", silent[32] = "-";
    double v;

    fprintf(out, "device:          %s\n", shown(jstr(d, "id"), "?"));
    since[0] = '\0';
    if (jnum(d, "state_since_ms", &v) && v > 0) {
        fmt_time(v, buf, sizeof(buf));
        snprintf(since, sizeof(since), " (since %s)", buf);
    }
    fprintf(out, "state:           %s%s\n", shown(jstr(d, "state"), "?"), since);
    fprintf(out, "health:          %s\n", shown(jstr(d, "health"), "-"));
    strcpy(buf, "never");
    if (jnum(d, "heartbeat_age_ms", &v)) {
        fmt_age(v, buf, sizeof(buf));
    }
    if (jnum(d, "interval_ms", &v)) {
        fmt_duration(v, iv, sizeof(iv));
    }
    if (jnum(d, "silent_after_ms", &v)) {
        fmt_duration(v, silent, sizeof(silent));
    }
    fprintf(out, "last heartbeat:  %s (interval %s, silent after %s)\n", buf, iv, silent);
    fprintf(out, "boot:            %s\n", shown(jstr(d, "boot_id"), "-"));
    if (cJSON_IsObject(hb)) {
        fprintf(out, "firmware:        %s (board %s, %s)\n", shown(jstr(hb, "firmware"), "-"),
                shown(jstr(hb, "board"), "-"), shown(jstr(hb, "arch"), "-"));
        if (jnum(hb, "uptime_ms", &v)) {
            fmt_duration(v - (double)((long long)v % 1000), buf, sizeof(buf));
            fprintf(out, "uptime:          %s\n", buf);
        }
    }
    const cJSON *sensors = cJSON_GetObjectItemCaseSensitive(snap, "sensors");

    if (cJSON_IsArray(sensors)) {
        static const char *const head[] = { "SENSOR", "STATE",      "SEVERITY", "VALUE",
                                            "REASON", "THRESHOLDS", NULL };
        static const char *const head_no_thr[] = { "SENSOR", "STATE",  "SEVERITY",
                                                   "VALUE",  "REASON", NULL };
        struct ward_table t;
        const cJSON *s;

        fprintf(out, "\nsensors:\n");
        ward_table_init(&t, any_thresholds(sensors) ? head : head_no_thr);
        cJSON_ArrayForEach(s, sensors)
        {
            char value[32] = "";
            char thr[WARD_TABLE_CELL_MAX + 1];

            if (jnum(s, "value", &v)) {
                format_value(jstr(s, "id"), v, value, sizeof(value));
            }
            format_thresholds(s, thr, sizeof(thr));
            const char *row[] = { jstr(s, "id"), jstr(s, "state"),  jstr(s, "severity"),
                                  value,         jstr(s, "reason"), thr };

            ward_table_row(&t, row);
        }
        ward_table_print(&t, out);
        ward_table_free(&t);
    }
    fprintf(out, "\nrecent events:\n");
    print_events_table(cJSON_GetObjectItemCaseSensitive(d, "recent_events"), out, false);
}

/* A group inside a section (connections.shed, postgresql.auth): " shed.per_source=3 ...". */
static void print_counter_group(const cJSON *group, FILE *out)
{
    const cJSON *item;

    cJSON_ArrayForEach(item, group)
    {
        if (cJSON_IsNumber(item)) {
            fprintf(out, " %s.%s=%.0f", shown(group->string, "?"), shown(item->string, "?"),
                    item->valuedouble);
        } else if (cJSON_IsString(item) && item->valuestring[0] != '\0') {
            fprintf(out, " %s.%s=%s", shown(group->string, "?"), shown(item->string, "?"),
                    item->valuestring);
        }
    }
}

void print_health(const cJSON *h, FILE *out)
{
    const cJSON *sec;
    double up = 0, rss = 0;

    jnum(h, "uptime_s", &up);
    jnum(h, "rss_kib", &rss);
    fprintf(out, "collector %s: %s, up %.0f s, RSS %.0f KiB\n", shown(jstr(h, "version"), "?"),
            shown(jstr(h, "status"), "?"), up, rss);
    cJSON_ArrayForEach(sec, h)
    {
        const cJSON *item;

        if (!cJSON_IsObject(sec)) {
            continue;
        }
        fprintf(out, "%s:", shown(sec->string, "?"));
        cJSON_ArrayForEach(item, sec)
        {
            if (cJSON_IsNumber(item)) {
                fprintf(out, " %s=%.0f", shown(item->string, "?"), item->valuedouble);
            } else if (cJSON_IsString(item)) {
                fprintf(out, " %s=%s", shown(item->string, "?"), shown(item->valuestring, ""));
            } else if (cJSON_IsObject(item)) {
                print_counter_group(item, out);
            }
        }
        fputc('\n', out);
    }
}
