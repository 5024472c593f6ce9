/*
 * The exposition writer (ward/nms/prom.h). Bottom up: bytes into the sink, escaping, values,
 * then families and samples.
 */
#include "ward/nms/prom.h"

#include <errno.h>
#include <string.h>

#include "ward/base/fmt.h"

void ward_prom_init(struct ward_prom *w, enum ward_prom_format format, char *buf, size_t cap,
                    ward_prom_flush_fn flush, void *user)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
    w->flush = flush;
    w->user = user;
    w->format = format;
    w->err = (buf == NULL || cap < 64) ? -EINVAL : 0;
}

static void drain(struct ward_prom *w)
{
    int rc;

    if (w->flush == NULL) {
        w->err = -ENOSPC;
        return;
    }
    rc = w->flush(w->user, w->buf, w->len);
    w->len = 0;
    if (rc < 0) {
        w->err = rc;
    }
}

void ward_prom_raw(struct ward_prom *w, const char *s, size_t n)
{
    while (n > 0 && w->err == 0) {
        size_t room;
        size_t k;

        if (w->len == w->cap) {
            drain(w); /* only when more must go in: an answer that fits exactly is fine */
            continue;
        }
        room = w->cap - w->len;
        k = n < room ? n : room;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        w->total += k;
        s += k;
        n -= k;
    }
}

static void put(struct ward_prom *w, const char *s)
{
    ward_prom_raw(w, s, strlen(s));
}

static void putc1(struct ward_prom *w, char c)
{
    ward_prom_raw(w, &c, 1);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80                   ? 1
               : s[0] >= 0xf0 && s[0] < 0xf5 ? 4
               : s[0] >= 0xe0                ? 3
               : s[0] >= 0xc2                ? 2
                                             : 0;

    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    return n;
}

/*
 * Escape for a label value (quote true) or a HELP text: backslash and newline always, the
 * double quote in label values and in OpenMetrics; other control bytes and invalid UTF-8
 * become '?', so the document always parses.
 */
static void escaped(struct ward_prom *w, const char *s, bool quote)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != '\0') {
        size_t n = utf8_len(p);

        if (*p == '\\') {
            put(w, "\\\\");
        } else if (*p == '\n') {
            put(w, "\\n");
        } else if (*p == '"' && (quote || w->format == WARD_PROM_OPENMETRICS)) {
            put(w, "\\\"");
        } else if (n == 0 || *p < 0x20 || *p == 0x7f) {
            putc1(w, '?');
        } else {
            ward_prom_raw(w, (const char *)p, n);
            p += n;
            continue;
        }
        p++;
    }
}

void ward_prom_json_string(struct ward_prom *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;

    while (*p != '\0') {
        size_t n = utf8_len(p);

        if (*p == '"' || *p == '\\') {
            putc1(w, '\\');
            putc1(w, (char)*p);
        } else if (*p < 0x20) {
            char u[7] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15], '\0' };

            put(w, u);
        } else if (n == 0) {
            putc1(w, '?');
        } else {
            ward_prom_raw(w, (const char *)p, n);
            p += n;
            continue;
        }
        p++;
    }
}

static void value(struct ward_prom *w, struct ward_prom_value v)
{
    char digits[WARD_FMT_INT64_MAX];
    bool neg = !v.is_unsigned && v.num < 0;
    uint64_t mag = v.is_unsigned ? (uint64_t)v.num
                   : neg         ? (uint64_t)0 - (uint64_t)v.num
                                 : (uint64_t)v.num;
    uint64_t rem;
    uint64_t den = v.den != 0 ? v.den : 1u;
    char frac[8] = { 0 };
    int nf = 0;

    if (neg) {
        putc1(w, '-');
    }
    (void)ward_fmt_u64(digits, sizeof(digits), mag / den);
    put(w, digits);
    rem = mag % den;
    /* Up to 6 decimals, truncated, trailing zeros dropped; den is small (1000, USER_HZ). */
    while (nf < 6 && rem > 0 && den <= UINT64_MAX / 10u) {
        uint64_t tenfold = rem * 10u;

        frac[nf++] = (char)('0' + tenfold / den);
        rem = tenfold % den;
    }
    while (nf > 0 && frac[nf - 1] == '0') {
        nf--;
    }
    if (nf > 0) {
        putc1(w, '.');
        ward_prom_raw(w, frac, (size_t)nf);
    }
}

void ward_prom_family(struct ward_prom *w, const char *name, enum ward_prom_type type,
                      const char *help)
{
    /* 0.0.4 names the family as its samples (foo_total); OpenMetrics drops the suffix. */
    const char *suffix = (type == WARD_PROM_COUNTER && w->format == WARD_PROM_TEXT) ? "_total" : "";

    w->family = name;
    w->type = type;
    put(w, "# HELP ");
    put(w, name);
    put(w, suffix);
    putc1(w, ' ');
    escaped(w, help, false);
    put(w, "\n# TYPE ");
    put(w, name);
    put(w, suffix);
    put(w, type == WARD_PROM_COUNTER ? " counter\n" : " gauge\n");
}

void ward_prom_sample(struct ward_prom *w, const struct ward_prom_label *labels, unsigned n,
                      struct ward_prom_value v)
{
    if (w->family == NULL) {
        w->err = w->err != 0 ? w->err : -EINVAL;
        return;
    }
    put(w, w->family);
    if (w->type == WARD_PROM_COUNTER) {
        put(w, "_total");
    }
    for (unsigned i = 0; i < n; i++) {
        put(w, i == 0 ? "{" : ",");
        put(w, labels[i].name);
        put(w, "=\"");
        escaped(w, labels[i].value != NULL ? labels[i].value : "", true);
        putc1(w, '"');
    }
    put(w, n > 0 ? "} " : " ");
    value(w, v);
    putc1(w, '\n');
}

long ward_prom_end(struct ward_prom *w)
{
    if (w->err == 0 && w->len > 0 && w->flush != NULL) {
        drain(w);
    }
    return w->err != 0 ? (long)w->err : (long)w->total;
}

long ward_prom_finish(struct ward_prom *w)
{
    if (w->format == WARD_PROM_OPENMETRICS) {
        put(w, "# EOF\n");
    }
    return ward_prom_end(w);
}

const char *ward_prom_content_type(enum ward_prom_format format)
{
    return format == WARD_PROM_OPENMETRICS
               ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
               : "text/plain; version=0.0.4; charset=utf-8";
}
