#include <errno.h>
#include <string.h>

#include "ward/base/hex.h"
#include "ward/base/jscan.h"
#include "ward/base/word.h"

/* Containers nest at most this deep: every grammar ward reads is shallower. */
#define JSCAN_MAX_DEPTH 8

void ward_jscan_init(struct ward_jscan *s, const char *text, size_t len)
{
    s->p = text;
    s->end = text + len;
    s->line = 1;
    s->err_line = 0;
    s->err = 0;
    s->why = NULL;
    s->depth = 0;
    s->need_comma = false;
}

int ward_jscan_fail(struct ward_jscan *s, int err, const char *why)
{
    if (s->err == 0) {
        s->err = err;
        s->why = why;
        s->err_line = s->line;
    }
    return s->err;
}

static void skip_ws(struct ward_jscan *s)
{
    while (s->p < s->end) {
        char c = *s->p;

        if (c == '\n') {
            s->line++;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        s->p++;
    }
}

char ward_jscan_peek(struct ward_jscan *s)
{
    if (s->err != 0) {
        return 0;
    }
    /* Most values follow their ':' or ',' directly: no call for the usual case. */
    if (s->p < s->end && (unsigned char)*s->p > ' ') {
        return *s->p;
    }
    skip_ws(s);
    return s->p < s->end ? *s->p : 0;
}

static int open_container(struct ward_jscan *s, char c, const char *why)
{
    if (s->err != 0) {
        return s->err;
    }
    if (ward_jscan_peek(s) != c) {
        return ward_jscan_fail(s, -EPROTO, why);
    }
    if (s->depth >= JSCAN_MAX_DEPTH) {
        return ward_jscan_fail(s, -EPROTO, "nested too deeply");
    }
    s->p++;
    s->depth++;
    s->need_comma = false;
    return 0;
}

int ward_jscan_object(struct ward_jscan *s)
{
    return open_container(s, '{', "expected an object");
}

int ward_jscan_array(struct ward_jscan *s)
{
    return open_container(s, '[', "expected an array");
}

/*
 * Shared by member() and element(): consume the ',' between items or the closing bracket.
 * @return 1 when an item follows, 0 when the container closed.
 */
static int next_item(struct ward_jscan *s, char close, const char *why)
{
    char c;

    if (s->err != 0) {
        return s->err;
    }
    if (s->depth == 0) {
        return ward_jscan_fail(s, -EPROTO, "not inside a container");
    }
    c = ward_jscan_peek(s);
    if (c == close) {
        s->p++;
        s->depth--;
        s->need_comma = true; /* the container is a value of its parent */
        return 0;
    }
    if (s->need_comma) {
        if (c != ',') {
            return ward_jscan_fail(s, -EPROTO, why);
        }
        s->p++;
        c = ward_jscan_peek(s);
        if (c == close || c == 0) {
            return ward_jscan_fail(s, -EPROTO, "trailing comma or missing value");
        }
    } else if (c == ',' || c == 0) {
        return ward_jscan_fail(s, -EPROTO, why);
    }
    return 1;
}

int ward_jscan_member(struct ward_jscan *s, char *key, size_t key_len)
{
    int rc = next_item(s, '}', "expected ',' or '}' in object");

    if (rc <= 0) {
        return rc;
    }
    if (ward_jscan_peek(s) != '"') {
        return ward_jscan_fail(s, -EPROTO, "expected a quoted key");
    }
    rc = ward_jscan_string(s, key, key_len);
    if (rc < 0) {
        return rc;
    }
    s->key_len = (size_t)rc;
    if (ward_jscan_peek(s) != ':') {
        return ward_jscan_fail(s, -EPROTO, "expected ':' after key");
    }
    s->p++;
    s->need_comma = false;
    return 1;
}

int ward_jscan_element(struct ward_jscan *s)
{
    return next_item(s, ']', "expected ',' or ']' in array");
}

static int hex4(struct ward_jscan *s, uint32_t *out)
{
    uint32_t v = 0;

    if (s->end - s->p < 4) {
        return ward_jscan_fail(s, -EPROTO, "truncated \\u escape");
    }
    for (int i = 0; i < 4; i++) {
        int d = ward_hex_digit(*s->p++);

        if (d < 0) {
            return ward_jscan_fail(s, -EPROTO, "bad hex digit in \\u escape");
        }
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* A \uXXXX escape (after the 'u'), with a following low surrogate when needed. */
static int unicode_escape(struct ward_jscan *s, uint32_t *cp)
{
    uint32_t hi;
    uint32_t lo = 0; /* hex4() sets it before use; gcc -O3 cannot see that */

    if (hex4(s, &hi) != 0) {
        return s->err;
    }
    /* hex4() sets hi whenever it returns 0; every failure returns non-zero */
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
    if (hi >= 0xdc00 && hi <= 0xdfff) {
        return ward_jscan_fail(s, -EPROTO, "lone low surrogate");
    }
    if (hi >= 0xd800 && hi <= 0xdbff) {
        if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u') {
            return ward_jscan_fail(s, -EPROTO, "high surrogate without its pair");
        }
        s->p += 2;
        if (hex4(s, &lo) != 0) {
            return s->err;
        }
        if (lo < 0xdc00 || lo > 0xdfff) {
            return ward_jscan_fail(s, -EPROTO, "high surrogate without its pair");
        }
        hi = 0x10000u + ((hi - 0xd800u) << 10) + (lo - 0xdc00u);
    }
    if (hi == 0) {
        return ward_jscan_fail(s, -EPROTO, "NUL in string");
    }
    *cp = hi;
    return 0;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One escape sequence (after the backslash) into out. @return bytes written or < 0. */
static int escape(struct ward_jscan *s, char out[4])
{
    static const char simple_in[] = "\"\\/bfnrt";
    static const char simple_out[] = "\"\\/\b\f\n\r\t";
    const char *hit;
    uint32_t cp = 0;
    char c;

    if (s->p >= s->end) {
        return ward_jscan_fail(s, -EPROTO, "unterminated string");
    }
    c = *s->p++;
    hit = c != '\0' ? strchr(simple_in, c) : NULL;
    if (hit != NULL) {
        out[0] = simple_out[hit - simple_in];
        return 1;
    }
    if (c != 'u') {
        return ward_jscan_fail(s, -EPROTO, "unknown escape in string");
    }
    if (unicode_escape(s, &cp) != 0) {
        return s->err;
    }
    return (int)utf8_encode(cp, out);
}

/* Whether a word holds a byte that ends a string's plain run: '"', '\\' or a control. */
static inline bool word_stops(uint64_t w)
{
    return (ward_word_has(w, '"') | ward_word_has(w, '\\') | ward_word_below(w, 0x20)) != 0;
}

/* The end of the run of plain characters from p: a word at a time while no word holds a byte
 * that stops it, then byte by byte to that byte. */
static const char *plain_run(const char *p, const char *end)
{
    while (end - p >= 8 && !word_stops(ward_word_load(p))) {
        p += 8;
    }
    while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\') {
        p++;
    }
    return p;
}

int ward_jscan_string(struct ward_jscan *s, char *buf, size_t len)
{
    size_t n = 0;

    if (s->err != 0) {
        return s->err;
    }
    if (buf == NULL || len == 0) {
        return ward_jscan_fail(s, -EINVAL, "no buffer for string");
    }
    if (ward_jscan_peek(s) != '"') {
        return ward_jscan_fail(s, -EPROTO, "expected a string");
    }
    s->p++;
    for (;;) {
        char tmp[4];
        int k;
        /* A run of plain characters is copied at once: the collector decodes every string of
         * every batch here, and a copy per character was its hottest loop (docs/benchmarks.md). */
        const char *run = s->p;

        s->p = plain_run(s->p, s->end);
        size_t r = (size_t)(s->p - run);

        if (r > len - 1 - n) {
            return ward_jscan_fail(s, -ENAMETOOLONG, "string too long");
        }
        memcpy(buf + n, run, r);
        n += r;
        if (s->p >= s->end) {
            return ward_jscan_fail(s, -EPROTO, "unterminated string");
        }
        unsigned char c = (unsigned char)*s->p++;

        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return ward_jscan_fail(s, -EPROTO, "control character in string");
        }
        k = escape(s, tmp); /* c is the backslash */
        if (k < 0) {
            return k;
        }
        if ((size_t)k > len - 1 - n) {
            return ward_jscan_fail(s, -ENAMETOOLONG, "string too long");
        }
        memcpy(buf + n, tmp, (size_t)k);
        n += (size_t)k;
    }
    buf[n] = '\0';
    s->need_comma = true;
    return (int)n;
}

/* Magnitude of an integer literal; rejects fractions, exponents and leading zeros. */
static int digits(struct ward_jscan *s, uint64_t *mag)
{
    uint64_t v = 0;
    const char *start = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        unsigned d = (unsigned)(*s->p - '0');

        if (v > (UINT64_MAX - d) / 10u) {
            return ward_jscan_fail(s, -ERANGE, "integer out of range");
        }
        v = v * 10u + d;
        s->p++;
    }
    if (s->p == start) {
        return ward_jscan_fail(s, -EPROTO, "expected an integer");
    }
    if (*start == '0' && s->p - start > 1) {
        return ward_jscan_fail(s, -EPROTO, "leading zero in number");
    }
    if (s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E')) {
        return ward_jscan_fail(s, -EPROTO, "number must be an integer");
    }
    *mag = v;
    return 0;
}

static int integer(struct ward_jscan *s, int64_t *out, uint64_t pos_max)
{
    uint64_t mag = 0;
    bool neg = false;

    if (s->err != 0) {
        return s->err;
    }
    if (ward_jscan_peek(s) == '-') {
        neg = true;
        s->p++;
    }
    if (digits(s, &mag) != 0) {
        return s->err;
    }
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1u) {
            return ward_jscan_fail(s, -ERANGE, "integer out of range");
        }
        *out = (int64_t)(0u - mag);
    } else {
        if (mag > pos_max) {
            return ward_jscan_fail(s, -ERANGE, "integer out of range");
        }
        *out = (int64_t)mag;
    }
    s->need_comma = true;
    return 0;
}

int ward_jscan_int64(struct ward_jscan *s, int64_t *out)
{
    return integer(s, out, (uint64_t)INT64_MAX);
}

int ward_jscan_counter(struct ward_jscan *s, int64_t *out)
{
    return integer(s, out, UINT64_MAX);
}

static bool literal(struct ward_jscan *s, const char *word)
{
    size_t n = strlen(word);

    if (ward_jscan_peek(s) == 0 || (size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) {
        return false;
    }
    s->p += n;
    s->need_comma = true;
    return true;
}

int ward_jscan_bool(struct ward_jscan *s, bool *out)
{
    if (literal(s, "true")) {
        *out = true;
        return 0;
    }
    if (literal(s, "false")) {
        *out = false;
        return 0;
    }
    return ward_jscan_fail(s, -EPROTO, "expected true or false");
}

bool ward_jscan_null(struct ward_jscan *s)
{
    return literal(s, "null");
}

int ward_jscan_end(struct ward_jscan *s)
{
    if (s->err != 0) {
        return s->err;
    }
    if (s->depth != 0) {
        return ward_jscan_fail(s, -EPROTO, "unterminated object or array");
    }
    skip_ws(s);
    if (s->p != s->end) {
        return ward_jscan_fail(s, -EPROTO, "unexpected text after the value");
    }
    return 0;
}
