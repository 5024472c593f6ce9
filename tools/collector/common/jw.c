#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jw.h"

void wcol_jw_init(struct wcol_jw *w, size_t limit)
{
    memset(w, 0, sizeof(*w));
    w->limit = limit;
    w->first[0] = true;
}

void wcol_jw_free(struct wcol_jw *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

char *wcol_jw_take(struct wcol_jw *w, size_t *len)
{
    char *b = w->buf;

    *len = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
    return b;
}

static void put(struct wcol_jw *w, const char *s, size_t n)
{
    if (w->failed) {
        return;
    }
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 1024;

        while (cap < w->len + n + 1) {
            cap *= 2;
        }
        if (cap > w->limit) {
            cap = w->limit;
        }
        if (w->len + n + 1 > cap) {
            w->failed = true;
            return;
        }
        char *nb = realloc(w->buf, cap);

        if (nb == NULL) {
            w->failed = true;
            return;
        }
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

/* Comma before every value but the first at its depth; nothing right after a key. */
static void sep(struct wcol_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth]) {
        put(w, ",", 1);
    }
    w->first[w->depth] = false;
}

static void open_(struct wcol_jw *w, char c)
{
    sep(w);
    put(w, &c, 1);
    if (w->depth + 1 >= WCOL_JW_MAX_DEPTH) {
        w->failed = true;
        return;
    }
    w->depth++;
    w->first[w->depth] = true;
}

static void close_(struct wcol_jw *w, char c)
{
    if (w->depth == 0) {
        w->failed = true;
        return;
    }
    w->depth--;
    put(w, &c, 1);
}

void wcol_jw_obj_begin(struct wcol_jw *w)
{
    open_(w, '{');
}

void wcol_jw_obj_end(struct wcol_jw *w)
{
    close_(w, '}');
}

void wcol_jw_arr_begin(struct wcol_jw *w)
{
    open_(w, '[');
}

void wcol_jw_arr_end(struct wcol_jw *w)
{
    close_(w, ']');
}

/*
 * Length (2-4) of the well-formed UTF-8 sequence at s (Unicode 15, table 3-7: no overlong,
 * no surrogate, nothing past U+10FFFF), 0 when the bytes there are not one.
 */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    static const struct {
        unsigned char lead_lo, lead_hi, next_lo, next_hi;
        size_t len;
    } k_forms[] = {
        { 0xc2, 0xdf, 0x80, 0xbf, 2 }, { 0xe0, 0xe0, 0xa0, 0xbf, 3 }, { 0xe1, 0xec, 0x80, 0xbf, 3 },
        { 0xed, 0xed, 0x80, 0x9f, 3 }, { 0xee, 0xef, 0x80, 0xbf, 3 }, { 0xf0, 0xf0, 0x90, 0xbf, 4 },
        { 0xf1, 0xf3, 0x80, 0xbf, 4 }, { 0xf4, 0xf4, 0x80, 0x8f, 4 },
    };

    for (size_t f = 0; f < sizeof(k_forms) / sizeof(k_forms[0]); f++) {
        if (s[0] < k_forms[f].lead_lo || s[0] > k_forms[f].lead_hi) {
            continue;
        }
        if (left < k_forms[f].len || s[1] < k_forms[f].next_lo || s[1] > k_forms[f].next_hi) {
            return 0;
        }
        for (size_t k = 2; k < k_forms[f].len; k++) {
            if (s[k] < 0x80 || s[k] > 0xbf) {
                return 0;
            }
        }
        return k_forms[f].len;
    }
    return 0;
}

/*
 * Text into the document with nothing a terminal acts on left raw: C0 controls, DEL and C1
 * controls (U+0080-U+009F) as \u escapes, a byte that is not UTF-8 as U+FFFD. A string
 * (quoted) also escapes '"' and '\'; a stored document (raw, already JSON) keeps its
 * structure: those bytes can only stand inside its strings.
 */
static void put_text(struct wcol_jw *w, const char *text, size_t n, bool raw)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    size_t run = 0;
    size_t i = 0;

    while (i < n) {
        size_t k = s[i] < 0x80 ? 1 : utf8_len(s + i, n - i);
        unsigned cp = k == 2 && s[i] == 0xc2 ? s[i + 1] : s[i]; /* C1: U+0080-U+009F */
        bool control = (cp < 0x20 && !raw) || cp == 0x7f || (cp >= 0x80 && cp < 0xa0 && k == 2);

        if (k != 0 && !control && (raw || (cp != '"' && cp != '\\'))) {
            i += k;
            continue;
        }
        put(w, text + run, i - run);
        if (k == 0) {
            put(w, "\\ufffd", 6);
        } else if (cp == '"' || cp == '\\') {
            char e[2] = { '\\', (char)cp };

            put(w, e, 2);
        } else {
            char e[6] = { '\\', 'u', '0', '0', hex[cp >> 4], hex[cp & 15] };

            put(w, e, 6);
        }
        i += k != 0 ? k : 1;
        run = i;
    }
    put(w, text + run, n - run);
}

static void put_escaped(struct wcol_jw *w, const char *s, size_t n)
{
    put(w, "\"", 1);
    put_text(w, s, n, false);
    put(w, "\"", 1);
}

void wcol_jw_key(struct wcol_jw *w, const char *key)
{
    sep(w);
    put_escaped(w, key, strlen(key));
    put(w, ":", 1);
    w->after_key = true;
}

void wcol_jw_strn(struct wcol_jw *w, const char *s, size_t n)
{
    sep(w);
    put_escaped(w, s, n);
}

void wcol_jw_str(struct wcol_jw *w, const char *s)
{
    if (s == NULL) {
        wcol_jw_null(w);
        return;
    }
    wcol_jw_strn(w, s, strlen(s));
}

void wcol_jw_int(struct wcol_jw *w, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%" PRId64, v);

    sep(w);
    put(w, b, (size_t)n);
}

void wcol_jw_uint(struct wcol_jw *w, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%" PRIu64, v);

    sep(w);
    put(w, b, (size_t)n);
}

void wcol_jw_bool(struct wcol_jw *w, bool v)
{
    sep(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void wcol_jw_null(struct wcol_jw *w)
{
    sep(w);
    put(w, "null", 4);
}

void wcol_jw_raw(struct wcol_jw *w, const char *json, size_t n)
{
    sep(w);
    put_text(w, json, n, true);
}

void wcol_jw_kstr(struct wcol_jw *w, const char *key, const char *s)
{
    wcol_jw_key(w, key);
    wcol_jw_str(w, s);
}

void wcol_jw_kint(struct wcol_jw *w, const char *key, int64_t v)
{
    wcol_jw_key(w, key);
    wcol_jw_int(w, v);
}

void wcol_jw_kuint(struct wcol_jw *w, const char *key, uint64_t v)
{
    wcol_jw_key(w, key);
    wcol_jw_uint(w, v);
}
