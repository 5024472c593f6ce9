/*
 * wardctl history ID SENSOR: a sensor's history as a sparkline with min/mean/max (or --json,
 * --csv), and wardctl trends: the sensors forecast to reach their threshold (docs/history.md).
 */
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "safe.h"
#include "wardctl.h"

#define SPARK_COLUMNS 72

/* Query-string escaping: unreserved characters, ':' and the glob's '*', '?', '[', ']' pass. */
static int put_escaped(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out);

    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        int w = strchr("-._~:*?[]", ch) != NULL || (ch >= '0' && ch <= '9') ||
                        (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
                    ? snprintf(out + n, cap - n, "%c", ch)
                    : snprintf(out + n, cap - n, "%%%02X", ch);

        if (w < 0 || (size_t)w >= cap - n) {
            return -1;
        }
        n += (size_t)w;
    }
    return 0;
}

/* A literal part of the query ("&step="). */
static int put_raw(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out), m = strlen(s);

    if (n + m >= cap) {
        return -1;
    }
    memcpy(out + n, s, m + 1);
    return 0;
}

static bool utf8_terminal(void)
{
    setlocale(LC_CTYPE, "");
    return strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
}

/* The means of points in up to SPARK_COLUMNS columns (neighbours averaged). */
static unsigned columns(const cJSON *points, double *col)
{
    int n = cJSON_GetArraySize(points);
    int per = (n + SPARK_COLUMNS - 1) / SPARK_COLUMNS;
    unsigned m = 0;

    for (int i = 0; i < n; i += per) {
        double sum = 0;
        int k = 0;

        for (; k < per && i + k < n; k++) {
            const cJSON *mean = cJSON_GetArrayItem(cJSON_GetArrayItem(points, i + k), 2);

            sum += cJSON_IsNumber(mean) ? mean->valuedouble : 0;
        }
        col[m++] = sum / k;
    }
    return m;
}

static void sparkline(const double *col, unsigned m, bool utf8, FILE *out)
{
    static const char *const blocks[8] = { "\u2581", "\u2582", "\u2583", "\u2584",
                                           "\u2585", "\u2586", "\u2587", "\u2588" };
    static const char ascii[] = " .:-=+*#";
    double lo, hi;

    if (m == 0) {
        return;
    }
    lo = hi = col[0];

    for (unsigned i = 0; i < m; i++) {
        lo = col[i] < lo ? col[i] : lo;
        hi = col[i] > hi ? col[i] : hi;
    }
    fputs("  ", out);
    for (unsigned i = 0; i < m; i++) {
        int level = hi > lo ? (int)((col[i] - lo) / (hi - lo) * 7.0 + 0.5) : 3;

        fputs(utf8 ? blocks[level] : (char[2]){ ascii[level], '\0' }, out);
    }
    fputc('\n', out);
}

static void print_series(const cJSON *s, const cJSON *doc, bool utf8, FILE *out)
{
    const char *sensor = jstr(s, "sensor");
    const cJSON *points = cJSON_GetObjectItemCaseSensitive(s, "points");
    int n = cJSON_GetArraySize(points);
    double col[SPARK_COLUMNS], step = 0, lo = 0, hi = 0, sum = 0, t0 = 0, t1 = 0;
    char a[48], b[48], c[48], from[40], to[40];

    jnum(doc, "step_s", &step);
    fprintf(out, "%s  %s  (%s tier, step %.0f s, %d points)\n", shown(sensor, "?"),
            shown(jstr(s, "unit"), ""), shown(jstr(s, "tier"), "?"), step, n);
    if (n == 0) {
        fputs("  no points in this range\n", out);
        return;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *p = cJSON_GetArrayItem(points, i);
        double mn = cJSON_GetArrayItem(p, 1)->valuedouble,
               mx = cJSON_GetArrayItem(p, 3)->valuedouble;

        lo = i == 0 || mn < lo ? mn : lo;
        hi = i == 0 || mx > hi ? mx : hi;
        sum += cJSON_GetArrayItem(p, 2)->valuedouble;
    }
    t0 = cJSON_GetArrayItem(cJSON_GetArrayItem(points, 0), 0)->valuedouble;
    t1 = cJSON_GetArrayItem(cJSON_GetArrayItem(points, n - 1), 0)->valuedouble;
    sparkline(col, columns(points, col), utf8, out);
    fmt_time(t0, from, sizeof(from));
    fmt_time(t1, to, sizeof(to));
    fprintf(out, "  %s .. %s\n", from, to);
    format_value(sensor, lo, a, sizeof(a));
    format_value(sensor, sum / n, b, sizeof(b));
    format_value(sensor, hi, c, sizeof(c));
    fprintf(out, "  min %s   mean %s   max %s\n", a, b, c);
}

static bool s_utf8;

static void print_history(const cJSON *doc, FILE *out)
{
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(doc, "series");
    const cJSON *s;

    fprintf(out, "%s\n", shown(jstr(doc, "device"), "?"));
    if (cJSON_GetArraySize(series) == 0) {
        fputs("no history for this sensor (wrong id, or nothing reported yet)\n", out);
    }
    cJSON_ArrayForEach(s, series)
    {
        print_series(s, doc, s_utf8, out);
    }
}

static int print_csv(struct client *c, const char *path)
{
    char *raw = NULL;
    size_t len;
    int status = client_get(c, path, &raw, &len);

    if (status != 200) {
        int rc = fail_status(c, status, status > 0 ? raw : NULL, "history");

        free(raw);
        return rc;
    }
    char *save = NULL;

    for (char *line = strtok_r(raw, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        printf("%s\n", shown(line, ""));
    }
    free(raw);
    return 0;
}

int cmd_history(struct client *c, const struct opts *o, const char *arg)
{
    char path[512];
    bool ok;

    if (!id_valid(arg)) {
        die_usage("history needs a device ID (letters, digits, '.', '_', '-')");
    }
    if (o->arg2 == NULL || o->arg2[0] == '\0' || strlen(o->arg2) > 63) {
        die_usage("history needs a SENSOR id or glob (temp:cpu0, 'temp:*')");
    }
    snprintf(path, sizeof(path), "/v1/devices/%s/history?sensor=", arg);
    ok = put_escaped(path, sizeof(path), o->arg2) == 0;
    ok = ok && put_raw(path, sizeof(path), "&from=-") == 0 &&
         put_escaped(path, sizeof(path), o->since != NULL ? o->since : "7d") == 0;
    if (ok && o->step != NULL) {
        ok = put_raw(path, sizeof(path), "&step=") == 0 &&
             put_escaped(path, sizeof(path), o->step) == 0;
    }
    if (ok && o->csv) {
        ok = put_raw(path, sizeof(path), "&format=csv") == 0;
    }
    if (!ok) {
        die_usage("SENSOR, --since or --step too long");
    }
    if (o->csv) {
        return print_csv(c, path);
    }
    s_utf8 = utf8_terminal();
    return cmd_show(c, o, path, NULL, "history", print_history);
}

static void print_trends(const cJSON *doc, FILE *out)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "trends"), *t;
    double within = 0;

    jnum(doc, "within_ms", &within);
    if (cJSON_GetArraySize(list) == 0) {
        fprintf(out, "no sensor is forecast to reach its threshold within %.0f days\n",
                within / 86400000.0);
        return;
    }
    fprintf(out, "%-20s %-28s %12s %12s  FORECAST\n", "DEVICE", "SENSOR", "NOW", "THRESHOLD");
    cJSON_ArrayForEach(t, list)
    {
        const char *sensor = jstr(t, "sensor");
        double v = 0, thr = 0;
        char a[48], b[48];

        jnum(t, "value", &v);
        jnum(t, "threshold", &thr);
        format_value(sensor, v, a, sizeof(a));
        format_value(sensor, thr, b, sizeof(b));
        fprintf(out, "%-20s %-28s %12s %12s  %s\n", shown(jstr(t, "device"), "?"),
                shown(sensor, "?"), a, b, shown(jstr(t, "forecast"), ""));
        fprintf(out, "%-20s %-28s   %s\n", "", "", shown(jstr(t, "confidence"), ""));
    }
}

int cmd_trends(struct client *c, const struct opts *o, const char *arg)
{
    char path[128] = "/v1/trends?within=";

    (void)arg;
    if (put_escaped(path, sizeof(path), o->within != NULL ? o->within : "90d") != 0) {
        die_usage("--within too long");
    }
    return cmd_show(c, o, path, NULL, "trends", print_trends);
}
