/*
 * The exposition writer (export/prom.h).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/prom.h"

void wcol_prom_init(struct wcol_prom *w, size_t limit)
{
    memset(w, 0, sizeof(*w));
    w->limit = limit;
}

void wcol_prom_free(struct wcol_prom *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

static void put(struct wcol_prom *w, const char *s, size_t n)
{
    if (w->failed) {
        return;
    }
    if (n > w->limit - w->len) {
        w->failed = true;
        return;
    }
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;

        while (cap < w->len + n + 1) {
            cap *= 2;
        }
        char *b = realloc(w->buf, cap);

        if (b == NULL) {
            w->failed = true;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_(struct wcol_prom *w, const char *s)
{
    put(w, s, strlen(s));
}

/* Escape backslash and newline; double quote too when quoted (label values). */
static void put_escaped(struct wcol_prom *w, const char *s, bool quoted)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\') {
            put(w, "\\\\", 2);
        } else if (*s == '\n') {
            put(w, "\\n", 2);
        } else if (*s == '"' && quoted) {
            put(w, "\\\"", 2);
        } else {
            put(w, s, 1);
        }
    }
}

void wcol_prom_family(struct wcol_prom *w, const char *name, const char *type, const char *help)
{
    puts_(w, "# HELP ");
    puts_(w, name);
    puts_(w, " ");
    put_escaped(w, help, false);
    puts_(w, "\n# TYPE ");
    puts_(w, name);
    puts_(w, " ");
    puts_(w, type);
    puts_(w, "\n");
}

static void series(struct wcol_prom *w, const char *name, const struct wcol_prom_label *labels,
                   size_t n)
{
    puts_(w, name);
    if (n == 0) {
        return;
    }
    puts_(w, "{");
    for (size_t i = 0; i < n; i++) {
        puts_(w, i ? "," : "");
        puts_(w, labels[i].name);
        puts_(w, "=\"");
        put_escaped(w, labels[i].value, true);
        puts_(w, "\"");
    }
    puts_(w, "}");
}

static void value_end(struct wcol_prom *w, const char *num)
{
    puts_(w, " ");
    puts_(w, num);
    puts_(w, "\n");
}

static void format_double(char *num, size_t cap, double value)
{
    if (isnan(value)) {
        snprintf(num, cap, "NaN");
    } else if (isinf(value)) {
        snprintf(num, cap, value > 0 ? "+Inf" : "-Inf");
    } else {
        /* The shortest of 15 or 17 digits that reads back as the same double. */
        snprintf(num, cap, "%.15g", value);
        if (strtod(num, NULL) != value) {
            snprintf(num, cap, "%.17g", value);
        }
    }
}

void wcol_prom_sample(struct wcol_prom *w, const char *name, const struct wcol_prom_label *labels,
                      size_t n, double value)
{
    char num[40];

    format_double(num, sizeof(num), value);
    series(w, name, labels, n);
    value_end(w, num);
}

void wcol_prom_sample_u64(struct wcol_prom *w, const char *name,
                          const struct wcol_prom_label *labels, size_t n, uint64_t value)
{
    char num[24];

    snprintf(num, sizeof(num), "%" PRIu64, value);
    series(w, name, labels, n);
    value_end(w, num);
}

void wcol_prom_histogram(struct wcol_prom *w, const char *name, const char *help,
                         const double *bounds, const uint64_t *counts, size_t n, double sum)
{
    char sname[128], le[40];
    struct wcol_prom_label l = { "le", le };
    uint64_t cum = 0;

    if (strlen(name) + sizeof("_bucket") > sizeof(sname)) {
        w->failed = true; /* a programming error: names are literals */
        return;
    }
    wcol_prom_family(w, name, "histogram", help);
    snprintf(sname, sizeof(sname), "%s_bucket", name);
    for (size_t i = 0; i <= n; i++) {
        cum += counts[i];
        format_double(le, sizeof(le), i < n ? bounds[i] : (double)INFINITY);
        wcol_prom_sample_u64(w, sname, &l, 1, cum);
    }
    snprintf(sname, sizeof(sname), "%s_sum", name);
    wcol_prom_sample(w, sname, NULL, 0, sum);
    snprintf(sname, sizeof(sname), "%s_count", name);
    wcol_prom_sample_u64(w, sname, NULL, 0, cum);
}
