/*
 * The collector's ChaCha20 and Poly1305 (tools/tls/chacha20_fast.c, poly1305_fast.c), which
 * replace mbedTLS's portable ones behind the same API:
 *  - against mbedTLS's test vectors (its tests/suites/ *.data files, RFC 8439's vectors among
 * them), through the ChaCha20, Poly1305 and ChaCha20-Poly1305 APIs that TLS uses;
 *  - against mbedTLS's own portable code (ref_mbedtls.c), on random keys, nonces, counters
 *    (across the 32-bit wrap) and lengths, fed in random pieces, and on the inputs that carry
 *    most in Poly1305's arithmetic (all-ones messages, keys and r);
 * for every ChaCha20 block function this CPU can run (AVX-512VL, AVX2, baseline).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mbedtls/chacha20.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/poly1305.h>

#include "ref_mbedtls.h"

static const char *const s_impls[] = { "avx512vl", "avx2", "generic" };

/* ---- a small deterministic generator (xorshift64*) */

static uint64_t s_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return s_rng * 0x2545f4914f6cdd1dULL;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)rnd();
    }
}

/* ---- mbedTLS's .data files: `function:"hex":int:"hex"...` */

#define MAX_ARGS 8
#define MAX_HEX  1024

struct vec {
    char fn[40];
    int nargs;
    uint8_t bin[MAX_ARGS][MAX_HEX];
    size_t len[MAX_ARGS];
    long num[MAX_ARGS];
};

static int unhex(const char *s, size_t n, uint8_t *out)
{
    if (n % 2 != 0 || n / 2 > MAX_HEX) {
        return -1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;

        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t)v;
    }
    return (int)(n / 2);
}

/* Parses one line into v; 1 if it is a test line, 0 if not. Fails the test on a bad one. */
static int parse_line(const char *line, struct vec *v)
{
    const char *colon = strchr(line, ':');
    const char *space = strchr(line, ' ');

    if (colon == NULL || colon == line || (size_t)(colon - line) >= sizeof(v->fn) ||
        (space != NULL && space < colon)) {
        return 0; /* a title or blank line */
    }
    memset(v, 0, sizeof(*v));
    memcpy(v->fn, line, (size_t)(colon - line));
    const char *p = colon + 1;
    while (*p != '\0' && *p != '\n' && v->nargs < MAX_ARGS) {
        const char *end;

        if (*p == '"') {
            end = strchr(p + 1, '"');
            assert_non_null(end);
            int n = unhex(p + 1, (size_t)(end - p - 1), v->bin[v->nargs]);
            assert_true(n >= 0);
            v->len[v->nargs] = (size_t)n;
            end++;
        } else {
            end = p + strcspn(p, ":\n");
            v->num[v->nargs] = strncmp(p, "MBEDTLS_ERR_", 12) == 0 ? -1 : strtol(p, NULL, 0);
        }
        v->nargs++;
        p = *end == ':' ? end + 1 : end;
    }
    return 1;
}

/* Runs check on every line of suite whose function is fn; returns how many. */
static int each_vector(const char *suite, const char *fn, void (*check)(const struct vec *))
{
    char path[512];
    static char line[8192];
    static struct vec v;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s", WARD_MBEDTLS_SUITES, suite);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fail_msg("cannot open %s (mbedTLS's source from tools/bootstrap)", path);
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (parse_line(line, &v) && strcmp(v.fn, fn) == 0) {
            check(&v);
            n++;
        }
    }
    fclose(f);
    return n;
}

/* ---- vectors */

static void check_chacha_vector(const struct vec *v)
{
    static uint8_t out[MAX_HEX];
    mbedtls_chacha20_context c;

    assert_int_equal(v->nargs, 5);
    assert_int_equal(v->len[3], v->len[4]);
    memset(out, 0, sizeof(out));
    assert_int_equal(mbedtls_chacha20_crypt(v->bin[0], v->bin[1], (uint32_t)v->num[2], v->len[3],
                                            v->bin[3], out),
                     0);
    assert_memory_equal(out, v->bin[4], v->len[4]);

    /* The same stream in pieces of 1, 2, 3, ... bytes. */
    mbedtls_chacha20_init(&c);
    mbedtls_chacha20_setkey(&c, v->bin[0]);
    mbedtls_chacha20_starts(&c, v->bin[1], (uint32_t)v->num[2]);
    memset(out, 0, sizeof(out));
    for (size_t off = 0, step = 1; off < v->len[3]; off += step, step++) {
        size_t n = step < v->len[3] - off ? step : v->len[3] - off;
        assert_int_equal(mbedtls_chacha20_update(&c, n, v->bin[3] + off, out + off), 0);
    }
    mbedtls_chacha20_free(&c);
    assert_memory_equal(out, v->bin[4], v->len[4]);
}

static void check_poly_vector(const struct vec *v)
{
    uint8_t mac[16];
    mbedtls_poly1305_context p;

    assert_int_equal(v->nargs, 3);
    assert_int_equal(mbedtls_poly1305_mac(v->bin[0], v->bin[2], v->len[2], mac), 0);
    assert_memory_equal(mac, v->bin[1], 16);

    mbedtls_poly1305_init(&p);
    mbedtls_poly1305_starts(&p, v->bin[0]);
    for (size_t off = 0, step = 1; off < v->len[2]; off += step, step = step * 2 + 1) {
        size_t n = step < v->len[2] - off ? step : v->len[2] - off;
        mbedtls_poly1305_update(&p, v->bin[2] + off, n);
    }
    mbedtls_poly1305_finish(&p, mac);
    mbedtls_poly1305_free(&p);
    assert_memory_equal(mac, v->bin[1], 16);
}

static void check_aead_enc(const struct vec *v)
{
    static uint8_t out[MAX_HEX];
    uint8_t mac[16];
    mbedtls_chachapoly_context c;

    assert_int_equal(v->nargs, 6);
    mbedtls_chachapoly_init(&c);
    assert_int_equal(mbedtls_chachapoly_setkey(&c, v->bin[0]), 0);
    assert_int_equal(mbedtls_chachapoly_encrypt_and_tag(&c, v->len[3], v->bin[1], v->bin[2],
                                                        v->len[2], v->bin[3], out, mac),
                     0);
    mbedtls_chachapoly_free(&c);
    assert_memory_equal(out, v->bin[4], v->len[4]);
    assert_memory_equal(mac, v->bin[5], 16);
}

static void check_aead_dec(const struct vec *v)
{
    static uint8_t out[MAX_HEX];
    mbedtls_chachapoly_context c;

    assert_int_equal(v->nargs, 7);
    mbedtls_chachapoly_init(&c);
    assert_int_equal(mbedtls_chachapoly_setkey(&c, v->bin[0]), 0);
    int rc = mbedtls_chachapoly_auth_decrypt(&c, v->len[3], v->bin[1], v->bin[2], v->len[2],
                                             v->bin[5], v->bin[3], out);
    mbedtls_chachapoly_free(&c);
    if (v->num[6] == 0) {
        assert_int_equal(rc, 0);
        assert_memory_equal(out, v->bin[4], v->len[4]);
    } else {
        assert_int_equal(rc, MBEDTLS_ERR_CHACHAPOLY_AUTH_FAILED);
    }
}

static int use(const char *impl)
{
    if (ward_chacha20_force(impl) != 0) {
        print_message("  %s: not on this CPU, skipped\n", impl);
        return 0;
    }
    assert_string_equal(ward_chacha20_impl(), impl);
    return 1;
}

static void test_mbedtls_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s_impls) / sizeof(s_impls[0]); i++) {
        if (!use(s_impls[i])) {
            continue;
        }
        int n = each_vector("test_suite_chacha20.data", "chacha20_crypt", check_chacha_vector);
        int m = each_vector("test_suite_poly1305.data", "mbedtls_poly1305", check_poly_vector);
        int e = each_vector("test_suite_chachapoly.data", "mbedtls_chachapoly_enc", check_aead_enc);
        int d = each_vector("test_suite_chachapoly.data", "mbedtls_chachapoly_dec", check_aead_dec);
        print_message("  %s: %d ChaCha20, %d Poly1305, %d + %d AEAD vectors\n", s_impls[i], n, m, e,
                      d);
        /* mbedTLS 3.6's files: 8 + 12 + 2 + 4; fewer means they were not read. */
        assert_true(n >= 8 && m >= 12 && e >= 2 && d >= 4);
    }
}

/* ---- against mbedTLS's portable code */

#define STREAM_MAX 1100

static void one_stream(void)
{
    static uint8_t in[STREAM_MAX];
    static uint8_t got[STREAM_MAX];
    static uint8_t want[STREAM_MAX];
    uint8_t key[32];
    uint8_t nonce[12];
    /* Counters at 0, 1, or just below the 32-bit wrap, so that it falls inside a pass of
     * four blocks or between two; or anywhere. */
    static const uint32_t ctrs[] = { 0, 1, 0xfffffffeU, 0xffffffffU, 0xfffffff9U, 0xfffffffdU };
    uint32_t ctr = rnd() % 2 ? ctrs[rnd() % 6] : (uint32_t)rnd();
    /* mbedTLS's chachapoly.c (and TLS) encrypt and decrypt in place. */
    const int in_place = (int)(rnd() % 2);
    size_t len = (size_t)(rnd() % 4 == 0 ? rnd() % 40 : rnd() % STREAM_MAX);
    mbedtls_chacha20_context c;

    rnd_bytes(key, sizeof(key));
    rnd_bytes(nonce, sizeof(nonce));
    rnd_bytes(in, len);
    memset(got, 0xa5, sizeof(got));
    memset(want, 0x5a, sizeof(want));

    struct ref_chacha *r = ref_chacha_new(key, nonce, ctr);
    mbedtls_chacha20_init(&c);
    mbedtls_chacha20_setkey(&c, key);
    mbedtls_chacha20_starts(&c, nonce, ctr);
    if (in_place) {
        memcpy(got, in, len);
    }
    for (size_t off = 0; off < len;) {
        /* Pieces: whole blocks, ragged, the whole rest, or empty. */
        const unsigned kind = (unsigned)(rnd() % 4);
        size_t n = kind == 0 ? 64 * (size_t)(rnd() % 6) : kind == 1 ? len - off : rnd() % 300;
        n = n < len - off ? n : len - off;
        ref_chacha_update(r, n, in + off, want + off);
        assert_int_equal(mbedtls_chacha20_update(&c, n, in_place ? got + off : in + off, got + off),
                         0);
        off += n;
    }
    assert_memory_equal(got, want, len);
    assert_memory_equal(got + len, (uint8_t[1]){ 0xa5 }, len < STREAM_MAX ? 1 : 0);
    /* A new nonce and counter on the same key, as TLS does per record, whatever keystream the
     * last update left unused. */
    if (rnd() % 2) {
        size_t n = (size_t)(rnd() % STREAM_MAX);

        rnd_bytes(nonce, sizeof(nonce));
        ctr = ctrs[rnd() % 6];
        ref_chacha_restart(r, nonce, ctr);
        mbedtls_chacha20_starts(&c, nonce, ctr);
        ref_chacha_update(r, n, in, want);
        assert_int_equal(mbedtls_chacha20_update(&c, n, in, got), 0);
        assert_memory_equal(got, want, n);
    }
    ref_chacha_delete(r);
    mbedtls_chacha20_free(&c);
}

static void test_chacha20_matches_mbedtls(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s_impls) / sizeof(s_impls[0]); i++) {
        if (!use(s_impls[i])) {
            continue;
        }
        for (int k = 0; k < 3000; k++) {
            one_stream();
        }
    }
}

static void one_mac(int extreme)
{
    static uint8_t msg[STREAM_MAX];
    uint8_t key[32];
    uint8_t got[16];
    uint8_t want[16];
    size_t len = (size_t)(rnd() % 3 == 0 ? rnd() % 70 : rnd() % STREAM_MAX);
    mbedtls_poly1305_context p;

    rnd_bytes(key, sizeof(key));
    rnd_bytes(msg, len);
    if (extreme) {
        /* All ones where the arithmetic carries most: r at its clamped maximum, s, message. */
        memset(key, 0xff, sizeof(key));
        memset(msg, extreme == 1 ? 0xff : 0x00, len);
        if (extreme == 3) {
            memset(key + 16, 0, 16);
        }
    }
    struct ref_poly *r = ref_poly_new(key);
    mbedtls_poly1305_init(&p);
    mbedtls_poly1305_starts(&p, key);
    for (size_t off = 0; off < len;) {
        size_t n = (size_t)(rnd() % 3 == 0 ? 16 * (rnd() % 5) : rnd() % 200);
        n = n < len - off ? n : len - off;
        ref_poly_update(r, msg + off, n);
        assert_int_equal(mbedtls_poly1305_update(&p, msg + off, n), 0);
        off += n;
    }
    ref_poly_finish(r, want);
    assert_int_equal(mbedtls_poly1305_finish(&p, got), 0);
    mbedtls_poly1305_free(&p);
    assert_memory_equal(got, want, 16);
}

static void test_poly1305_matches_mbedtls(void **state)
{
    (void)state;
    for (int k = 0; k < 20000; k++) {
        one_mac(k % 10 == 0 ? 1 + (k / 10) % 3 : 0);
    }
}

/*
 * Edge values of h itself. With r = 1 and two full blocks, h is m1 + m2 + 2 * 2^128: with m1 =
 * 2^128 - 1 and m2 = 2^128 - 7 + k it is p - 3 + k for k = 0..6, around p = 2^130 - 5 where
 * the final reduction must choose right; s = 0 and s = 2^128 - 1 (the tag's carry out).
 */
static void test_poly1305_near_p(void **state)
{
    (void)state;
    for (int k = 0; k <= 6; k++) {
        for (int s = 0; s < 2; s++) {
            uint8_t key[32] = { 1 };
            uint8_t msg[32];
            uint8_t got[16];
            uint8_t want[16];

            memset(msg, 0xff, sizeof(msg));
            msg[16] = (uint8_t)(0xf9 + k);
            if (s) {
                memset(key + 16, 0xff, 16);
            }
            struct ref_poly *r = ref_poly_new(key);
            ref_poly_update(r, msg, sizeof(msg));
            ref_poly_finish(r, want);
            assert_int_equal(mbedtls_poly1305_mac(key, msg, sizeof(msg), got), 0);
            assert_memory_equal(got, want, 16);
        }
    }
}

static void test_impl_choice(void **state)
{
    (void)state;
    assert_int_equal(ward_chacha20_force("no-such-cpu"), -ENOTSUP);
    assert_int_equal(ward_chacha20_force("generic"), 0);
    assert_string_equal(ward_chacha20_impl(), "generic");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mbedtls_vectors),
        cmocka_unit_test(test_chacha20_matches_mbedtls),
        cmocka_unit_test(test_poly1305_matches_mbedtls),
        cmocka_unit_test(test_poly1305_near_p),
        cmocka_unit_test(test_impl_choice),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
