/*
 * ChaCha20 and Poly1305 as the collector runs them (tools/tls/chacha20_fast.c, poly1305_fast.c)
 * against mbedTLS's portable code (tools/tls/ref), in nanoseconds per call, at the lengths a
 * heartbeat's records have (docs/benchmarks.md, "ChaCha20-Poly1305 of our own").
 *
 *   chacha_bench [--quick]
 *
 * Every implementation this CPU can run; each figure is the best of 5 runs of N calls. The
 * outputs of all implementations are compared (a mismatch exits 1): a benchmark of a wrong
 * result is worth nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/chacha20.h>
#include <mbedtls/poly1305.h>

#include "ref_mbedtls.h"

#define MAX_LEN 16384

static double now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static uint8_t s_in[MAX_LEN];
static uint8_t s_out[MAX_LEN];
static uint8_t s_want[MAX_LEN];

/* One TLS record's worth: a fresh nonce (counter 1), then len bytes. */
static double run_ours(size_t len, long n)
{
    static const uint8_t key[32] = { 1, 2, 3 };
    uint8_t nonce[12] = { 7 };
    mbedtls_chacha20_context c;
    double best = 1e30;

    mbedtls_chacha20_init(&c);
    mbedtls_chacha20_setkey(&c, key);
    for (int r = 0; r < 5; r++) {
        double t0 = now_ns();

        for (long i = 0; i < n; i++) {
            nonce[0] = (uint8_t)i;
            mbedtls_chacha20_starts(&c, nonce, 1);
            mbedtls_chacha20_update(&c, len, s_in, s_out);
        }
        double t = (now_ns() - t0) / (double)n;
        best = t < best ? t : best;
    }
    mbedtls_chacha20_free(&c);
    return best;
}

static double run_ref(size_t len, long n)
{
    static const uint8_t key[32] = { 1, 2, 3 };
    uint8_t nonce[12] = { 7 };
    struct ref_chacha *c = ref_chacha_new(key, nonce, 1);
    double best = 1e30;

    for (int r = 0; r < 5; r++) {
        double t0 = now_ns();

        for (long i = 0; i < n; i++) {
            nonce[0] = (uint8_t)i;
            ref_chacha_restart(c, nonce, 1);
            ref_chacha_update(c, len, s_in, s_want);
        }
        double t = (now_ns() - t0) / (double)n;
        best = t < best ? t : best;
    }
    ref_chacha_delete(c);
    return best;
}

static double run_poly(size_t len, long n, int ours, uint8_t mac[16])
{
    static const uint8_t key[32] = { 9, 8, 7 };
    double best = 1e30;

    for (int r = 0; r < 5; r++) {
        double t0 = now_ns();

        for (long i = 0; i < n; i++) {
            if (ours) {
                mbedtls_poly1305_mac(key, s_in, len, mac);
            } else {
                ref_poly_mac(key, s_in, len, mac);
            }
        }
        double t = (now_ns() - t0) / (double)n;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    static const char *const impls[] = { "avx512vl", "avx2", "generic" };
    static const size_t lens[] = { 64, 130, 262, 1024, MAX_LEN };
    const int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const char *chosen = ward_chacha20_impl();
    int bad = 0;

    for (size_t i = 0; i < sizeof(s_in); i++) {
        s_in[i] = (uint8_t)(i * 131u + 7u);
    }
    printf("# ns per call, best of 5; the collector uses %s\n", chosen);
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
        const size_t len = lens[l];
        const long n = quick ? 50 : (long)(40000000u / (len + 64u));

        printf("chacha20 %5zu B: mbedtls %8.1f", len, run_ref(len, n));
        for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
            if (ward_chacha20_force(impls[i]) != 0) {
                continue;
            }
            printf("  %s %8.1f", impls[i], run_ours(len, n));
            if (memcmp(s_out, s_want, len) != 0) {
                printf(" (WRONG OUTPUT)");
                bad = 1;
            }
        }
        uint8_t m1[16];
        uint8_t m2[16];
        double tr = run_poly(len, n, 0, m2);
        double to = run_poly(len, n, 1, m1);

        printf("\npoly1305 %5zu B: mbedtls %8.1f  ward %8.1f%s\n", len, tr, to,
               memcmp(m1, m2, 16) != 0 ? " (WRONG OUTPUT)" : "");
        bad |= memcmp(m1, m2, 16) != 0;
    }
    ward_chacha20_force(chosen);
    printf("%s\n", bad ? "outputs differ" : "outputs agree");
    return bad;
}
