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

static void put_escaped(struct wcol_jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        put(w, s + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };

            put(w, e, 2);
        } else {
            char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

            put(w, e, 6);
        }
    }
    put(w, s + run, n - run);
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
    put(w, json, n);
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

void wcol_jw_kbool(struct wcol_jw *w, const char *key, bool v)
{
    wcol_jw_key(w, key);
    wcol_jw_bool(w, v);
}
