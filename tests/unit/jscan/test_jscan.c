/*
 * The word-at-a-time fast paths of the JSON scanner and the batch decoder (ward/base/word.h),
 * against the byte-at-a-time code they replaced, kept here as the reference: strings with
 * escapes, UTF-8, DEL, C1 and control bytes at every offset (so across every 8-byte boundary),
 * every truncation and every buffer size. A fast path that misses a byte fails here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ward/base/jscan.h"
#include "ward/base/word.h"
#include "ward/wire/decode.h"

/* Pieces of string text, raw as written in JSON and as decoded (dec == NULL: refused). */
static const struct {
    const char *raw, *dec;
} s_pieces[] = {
    { "a", "a" },
    { "Z", "Z" },
    { " ", " " },
    { "~", "~" },
    { "\"", NULL }, /* ends the string */
    { "\\\"", "\"" },
    { "\\\\", "\\" },
    { "\\n", "\n" },
    { "\\/", "/" },
    { "\\u00e9", "\xc3\xa9" },
    { "\\u0001", "\x01" },
    { "\\u007f", "\x7f" },
    { "\\u0085", "\xc2\x85" },
    { "\\ud83d\\ude00", "\xf0\x9f\x98\x80" },
    { "\\x", NULL },
    { "\\u12g", NULL },
    { "\x01", NULL },
    { "\x1f", NULL },
    { "\t", NULL },
    { "\x7f", "\x7f" },
    { "\xc3\xa9", "\xc3\xa9" },
    { "\xc2\x85", "\xc2\x85" },
    { "\xc2\xa0", "\xc2\xa0" },
    { "\xe2\x82\xac", "\xe2\x82\xac" },
    { "\xff", "\xff" },
    { "\x80", "\x80" },
};
#define N_PIECES (sizeof(s_pieces) / sizeof(s_pieces[0]))

static uint32_t s_rng = 12345;

static uint32_t rnd(uint32_t n)
{
    s_rng = s_rng * 1103515245u + 12345u;
    return (s_rng >> 8) % n;
}

/* ---- the reference: the scanner's string loop as it was, one byte per step ---- */

struct ref {
    int rc;
    size_t used; /* bytes of the text consumed */
    char buf[256];
};

static void ref_string(const char *text, size_t len, size_t cap, struct ref *r)
{
    const char *p = text, *end = text + len;
    size_t n = 0;

    r->rc = 0;
    if (p >= end || *p != '"') {
        r->rc = -EPROTO;
        r->used = 0;
        return;
    }
    p++;
    for (;;) {
        if (p >= end) {
            r->rc = -EPROTO;
            break;
        }
        unsigned char c = (unsigned char)*p;

        if (c >= 0x20 && c != '"' && c != '\\') {
            if (n >= cap - 1) {
                /* the run goes on to its end before the length is checked */
                while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\') {
                    p++;
                }
                r->rc = -ENAMETOOLONG;
                break;
            }
            r->buf[n++] = (char)c;
            p++;
            continue;
        }
        p++;
        if (c == '"') {
            r->buf[n] = '\0';
            r->rc = (int)n;
            break;
        }
        if (c < 0x20) {
            r->rc = -EPROTO;
            break;
        }
        /* A backslash: escapes are not on the fast path (test_string_random_pieces). */
        r->used = (size_t)(p - text);
        r->rc = -1000 - (int)n;
        return;
    }
    r->used = (size_t)(p - text);
}

/* Compare the scanner with the reference on text[len] for one buffer size. */
static void check_string(const char *text, size_t len, size_t cap)
{
    struct ward_jscan s;
    char buf[256];
    struct ref r;
    int rc;

    ref_string(text, len, cap, &r);
    ward_jscan_init(&s, text, len);
    memset(buf, 0x55, sizeof(buf));
    rc = ward_jscan_string(&s, buf, cap);
    if (r.rc <= -1000) {
        /* Up to the first escape the scanner copied exactly the plain bytes. */
        size_t plain = (size_t)(-1000 - r.rc);

        if (rc >= 0) {
            assert_true((size_t)rc >= plain);
            assert_memory_equal(buf, r.buf, plain);
        }
        return;
    }
    if (rc != r.rc) {
        fprintf(stderr, "len %zu cap %zu: scanner %d, reference %d\n", len, cap, rc, r.rc);
    }
    assert_int_equal(rc, r.rc);
    assert_int_equal((size_t)(s.p - text), r.used);
    if (rc >= 0) {
        assert_memory_equal(buf, r.buf, (size_t)rc + 1);
    }
}

/* Plain runs of every length from every offset, ended by each stop byte, truncated
 * anywhere, into buffers of every size around the run. */
static void test_string_plain_runs(void **state)
{
    static const char stops[] = { '"', '\\', 0x00, 0x01, 0x0a, 0x1f };
    char text[64];

    (void)state;
    for (size_t lead = 0; lead < 9; lead++) {
        for (size_t run = 0; run < 40; run++) {
            for (size_t k = 0; k < sizeof(stops); k++) {
                size_t n = 0;

                memset(text, ' ', lead);
                n = lead;
                text[n++] = '"';
                for (size_t i = 0; i < run; i++) {
                    text[n++] = (char)("ab~ \x7f\xc3\xa9\xff"[(i + k) % 8]);
                }
                text[n++] = stops[k];
                text[n++] = '"';
                for (size_t len = lead; len <= n; len++) {
                    for (size_t cap = 1; cap < run + 4; cap++) {
                        check_string(text + lead, len - lead, cap);
                    }
                    check_string(text + lead, len - lead, sizeof(text));
                }
            }
        }
    }
}

/* Random strings of pieces: what the scanner returns equals the pieces decoded. */
static void test_string_random_pieces(void **state)
{
    char raw[256], dec[256], buf[256];

    (void)state;
    for (int t = 0; t < 20000; t++) {
        size_t n = 0, d = 0;
        bool ok = true;

        raw[n++] = '"';
        for (unsigned k = rnd(30); k > 0 && n < 200; k--) {
            unsigned i = rnd(N_PIECES);

            if (rnd(3) == 0) {
                i = 0; /* long plain runs too */
            }
            size_t rl = strlen(s_pieces[i].raw);

            memcpy(raw + n, s_pieces[i].raw, rl);
            n += rl;
            if (ok && s_pieces[i].dec != NULL) {
                size_t dl = strlen(s_pieces[i].dec);

                memcpy(dec + d, s_pieces[i].dec, dl);
                d += dl;
            } else {
                ok = false;
            }
        }
        raw[n++] = '"';
        struct ward_jscan s;
        size_t cap = rnd(2) ? sizeof(buf) : 1 + rnd(64);

        ward_jscan_init(&s, raw, n);
        int rc = ward_jscan_string(&s, buf, cap);

        if (ok && d < cap) {
            assert_int_equal(rc, (int)d);
            assert_memory_equal(buf, dec, d);
            assert_int_equal((size_t)(s.p - raw), n);
        } else if (ok) {
            assert_int_equal(rc, -ENAMETOOLONG);
        } else {
            assert_true(rc < 0 || (size_t)(s.p - raw) < n);
        }
        /* A string of valid pieces cut anywhere before its closing quote is refused. */
        for (size_t cut = 0; ok && cut < n; cut++) {
            ward_jscan_init(&s, raw, cut);
            assert_true(ward_jscan_string(&s, buf, sizeof(buf)) < 0);
        }
    }
}

/* ---- UTF-8 ---- */

/* The reference, written from another angle: the well-formed byte sequences of the Unicode
 * standard's table 3-7, as the first byte's range and the second byte's. */
static bool ref_utf8_valid(const unsigned char *p, size_t len)
{
    static const struct {
        unsigned char lo, hi, lo2, hi2, n;
    } forms[] = {
        { 0xc2, 0xdf, 0x80, 0xbf, 2 }, { 0xe0, 0xe0, 0xa0, 0xbf, 3 }, { 0xe1, 0xec, 0x80, 0xbf, 3 },
        { 0xed, 0xed, 0x80, 0x9f, 3 }, { 0xee, 0xef, 0x80, 0xbf, 3 }, { 0xf0, 0xf0, 0x90, 0xbf, 4 },
        { 0xf1, 0xf3, 0x80, 0xbf, 4 }, { 0xf4, 0xf4, 0x80, 0x8f, 4 },
    };
    size_t i = 0;

    while (i < len) {
        size_t f = 0;

        if (p[i] < 0x80) {
            i++;
            continue;
        }
        while (f < 8 && !(p[i] >= forms[f].lo && p[i] <= forms[f].hi)) {
            f++;
        }
        if (f == 8 || len - i < forms[f].n || p[i + 1] < forms[f].lo2 || p[i + 1] > forms[f].hi2) {
            return false;
        }
        for (size_t k = 2; k < forms[f].n; k++) {
            if (p[i + k] < 0x80 || p[i + k] > 0xbf) {
                return false;
            }
        }
        i += forms[f].n;
    }
    return true;
}

static void test_utf8_fast_path(void **state)
{
    static const char *const bits[] = {
        "abcdefgh",     "x",
        "\x7f",         "\xc3\xa9",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\xc0\xaf",     "\xe0\x80\xaf",
        "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xc3",         "\x80",
        "\xff",         "\x00",
    };
    unsigned char text[160];

    (void)state;
    for (int t = 0; t < 30000; t++) {
        size_t n = rnd(17); /* ASCII lead: every alignment of what follows */

        memset(text, 'a', n);
        for (unsigned k = rnd(8); k > 0; k--) {
            const char *b = bits[rnd(sizeof(bits) / sizeof(bits[0]))];
            size_t bl = b[0] == '\0' ? 1 : strlen(b);

            memcpy(text + n, b, bl);
            n += bl;
            size_t pad = rnd(12);

            memset(text + n, 'b', pad);
            n += pad;
        }
        for (size_t len = 0; len <= n; len += 1 + (n > 40 ? rnd(3) : 0)) {
            assert_int_equal(ward_utf8_valid((const char *)text, len), ref_utf8_valid(text, len));
        }
    }
}

/* ---- text_safe through the decoder: its refusal must be exactly the reference's ---- */

static bool ref_text_safe(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f || (p[i] == 0xc2 && i + 1 < n && p[i + 1] < 0xa0)) {
            return false;
        }
    }
    return true;
}

#define BOOT "0123456789abcdef0123456789abcdef"

static char s_body[1024];
static char s_scratch[1024];

static void test_text_safe_fast_path(void **state)
{
    static const unsigned safe_pieces[] = { 0,  1,  2,  3,  5,  6,  7,  8,  9,
                                            10, 11, 12, 13, 19, 20, 21, 22, 23 };
    char raw[200], dec[200];
    struct ward_ingest_batch b;
    const char *why = NULL;
    int refused = 0;

    (void)state;
    for (int t = 0; t < 20000; t++) {
        size_t n = 0, d = 0;

        for (unsigned k = rnd(24); k > 0; k--) {
            unsigned i = rnd(4) == 0 ? safe_pieces[rnd(sizeof(safe_pieces) / sizeof(unsigned))] : 0;

            memcpy(raw + n, s_pieces[i].raw, strlen(s_pieces[i].raw));
            n += strlen(s_pieces[i].raw);
            memcpy(dec + d, s_pieces[i].dec, strlen(s_pieces[i].dec));
            d += strlen(s_pieces[i].dec);
        }
        raw[n] = '\0';
        snprintf(s_body, sizeof(s_body),
                 "{\"v\":2,\"type\":\"batch\",\"device\":\"d\",\"boot\":"
                 "\"" BOOT "\",\"x\":\"%s\",\"heartbeat\":"
                 "{\"v\":2,\"seq\":1,\"t_ms\":1,\"health\":{\"state\":\"ok\"}}}",
                 raw);
        memset(&b, 0, sizeof(b));
        int rc = ward_ingest_decode(s_body, strlen(s_body), &b, s_scratch, sizeof(s_scratch), &why);

        if (ref_text_safe((const unsigned char *)dec, d)) {
            assert_int_equal(rc, 0);
        } else {
            refused++;
            assert_int_equal(rc, -EPROTO);
            assert_string_equal(why, "a string holds a control character");
        }
    }
    assert_true(refused > 1000);
}

/* ---- the one-pass batch decode against the two passes ---- */

static const char *const s_batches[] = {
    /* as agents write it: device and boot first */
    "{\"v\":2,\"type\":\"batch\",\"device\":\"d\",\"boot\":\"" BOOT "\",\"heartbeat\":{\"v\":2,"
    "\"type\":\"heartbeat\",\"device\":\"d\",\"boot\":\"" BOOT "\",\"seq\":1,\"t_ms\":5,"
    "\"interval_ms\":1000,\"firmware\":\"f\",\"health\":{\"state\":\"ok\"}},\"health\":{\"v\":2,"
    "\"type\":\"health\",\"device\":\"d\",\"boot\":\"" BOOT "\",\"delta\":false,\"sensors\":[{"
    "\"id\":\"temp:a\",\"state\":\"ok\",\"value\":3,\"since_ms\":null}]},\"events\":[{\"boot\":"
    "\"" BOOT "\",\"seq\":2,\"t_ms\":4,\"sensor\":\"temp:a\",\"from\":\"ok\",\"to\":\"warn\","
    "\"severity\":\"low\",\"value\":null,\"count\":1}],\"x\":[1,\"\\u00e9\"]}",
    /* documents before the batch's device and boot: decoded in two passes */
    "{\"heartbeat\":{\"v\":2,\"seq\":1,\"t_ms\":5,\"device\":\"d\"},\"v\":2,\"type\":\"batch\","
    "\"events\":[],\"device\":\"d\",\"boot\":\"" BOOT "\"}",
};

static const char s_mutations[] = "{}[]\",:0a \\1-nd";

static void check_same_decode(const char *body, size_t len)
{
    static struct ward_ingest_event e1[2], e2[2];
    static struct ward_ingest_sensor s1[2], s2[2];
    struct ward_ingest_batch b1 = {
        .events = e1, .max_events = 2, .sensors = s1, .max_sensors = 2
    };
    struct ward_ingest_batch b2 = {
        .events = e2, .max_events = 2, .sensors = s2, .max_sensors = 2
    };
    const char *why1 = NULL, *why2 = NULL;
    int rc1 = ward_ingest_decode(body, len, &b1, s_scratch, sizeof(s_scratch), &why1);
    int rc2 = ward_ingest_decode_two_pass(body, len, &b2, s_scratch, sizeof(s_scratch), &why2);

    if (rc1 != rc2 || (why1 != why2 && (why1 == NULL || why2 == NULL || strcmp(why1, why2) != 0))) {
        fprintf(stderr, "%.*s\none pass %d %s, two passes %d %s\n", (int)len, body, rc1,
                why1 ? why1 : "-", rc2, why2 ? why2 : "-");
    }
    assert_int_equal(rc1, rc2);
    assert_true(why1 == why2 || strcmp(why1, why2) == 0);
    b2.events = e1;
    b2.sensors = s1;
    assert_memory_equal(&b1, &b2, sizeof(b1));
    assert_memory_equal(e1, e2, b1.n_events * sizeof(e1[0]));
    assert_memory_equal(s1, s2, b1.n_sensors * sizeof(s1[0]));
}

/* Each batch as it is, then with one to three bytes changed to JSON's own characters, cut
 * short, or with a member name changed: the one pass must accept and refuse what the two
 * passes do, for the same reason, with the same batch. */
static void test_one_pass_as_two(void **state)
{
    char body[1024];
    int accepted = 0;

    (void)state;
    for (size_t k = 0; k < sizeof(s_batches) / sizeof(s_batches[0]); k++) {
        size_t len = strlen(s_batches[k]);

        check_same_decode(s_batches[k], len);
        for (size_t cut = 0; cut < len; cut++) {
            check_same_decode(s_batches[k], cut);
        }
        for (int t = 0; t < 20000; t++) {
            memcpy(body, s_batches[k], len);
            for (unsigned m = 1 + rnd(3); m > 0; m--) {
                body[rnd((unsigned)len)] = s_mutations[rnd(sizeof(s_mutations) - 1)];
            }
            check_same_decode(body, len);
            accepted +=
                ward_ingest_decode_two_pass(body, len, &(struct ward_ingest_batch){ 0 }, s_scratch,
                                            sizeof(s_scratch), &(const char *){ NULL }) == 0;
        }
    }
    assert_true(accepted > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_plain_runs), cmocka_unit_test(test_string_random_pieces),
        cmocka_unit_test(test_utf8_fast_path),    cmocka_unit_test(test_text_safe_fast_path),
        cmocka_unit_test(test_one_pass_as_two),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
