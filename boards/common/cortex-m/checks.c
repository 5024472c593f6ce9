/*
 * Board checks, run after the core's self-tests: what only this port can get wrong.
 * Each returns NULL on success or a static reason, like the core's self-tests.
 */
#include <errno.h>
#include <stdio.h>

#include <lwip/netif.h>
#include <lwip/stats.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "board.h"
#include "checks.h"
#include "clock.h"
#include "crypto_check.h"
#include "loopback.h"

typedef const char *(*check_fn)(void);

/*
 * SysTick runs: lwIP's timers depend on it. The spin is bounded so a dead timer fails the
 * check instead of hanging the run (QEMU needs well under a second for it).
 */
static const char *check_systick_clock(void)
{
    uint32_t start = cm_clock_ms();

    for (uint32_t spins = 0; spins < 200000000u; spins++) {
        if (cm_clock_ms() - start >= 2u) {
            return NULL;
        }
    }
    return "the millisecond clock does not advance";
}

/* The self-test image is never provisioned: its NV seed is blank, so entropy and everything
 * seeded from it must fail (see entropy.c). */
static const char *check_entropy_fails_closed(void)
{
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    unsigned char buf[32];
    int rc_entropy;
    int rc_seed;

    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    rc_entropy = mbedtls_entropy_func(&entropy, buf, sizeof(buf));
    rc_seed = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    if (rc_entropy != MBEDTLS_ERR_ENTROPY_SOURCE_FAILED) {
        return "entropy was produced without a source";
    }
    if (rc_seed != MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED) {
        return "the DRBG was seeded without entropy";
    }
    return NULL;
}

/*
 * mbedTLS bignums through the MBEDTLS_HAVE_ASM multiply-accumulate: a product checked
 * against a value computed elsewhere (Python), and Fermat's little theorem for the P-256
 * prime, which runs the Montgomery multiplication. Both allocate from the TLS arena.
 */
static const char *check_bignum(void)
{
    static const char p256_p[] = "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF";
    static const char p256_n[] = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
    static const char product[] =
        "FFFFFFFE00000002FFFFFFFE00000000BCE6FAAEEA30A3D6098926ECAFC0F911"
        "F756A572B94A1FFDA7179E84F3B9CAC33F7C2AA358E8617B0C46353D039CDAAF";
    mbedtls_mpi p, n, x, e, want;
    const char *why = NULL;

    mbedtls_mpi_init(&p);
    mbedtls_mpi_init(&n);
    mbedtls_mpi_init(&x);
    mbedtls_mpi_init(&e);
    mbedtls_mpi_init(&want);
    if (mbedtls_mpi_read_string(&p, 16, p256_p) != 0 ||
        mbedtls_mpi_read_string(&n, 16, p256_n) != 0 ||
        mbedtls_mpi_read_string(&want, 16, product) != 0) {
        why = "cannot load the operands (TLS arena exhausted?)";
        goto free_mpis;
    }
    if (mbedtls_mpi_mul_mpi(&x, &p, &n) != 0 || mbedtls_mpi_cmp_mpi(&x, &want) != 0) {
        why = "wrong 256x256-bit product";
        goto free_mpis;
    }
    /* 3^(p-1) mod p == 1 for the prime p. */
    if (mbedtls_mpi_lset(&x, 3) != 0 || mbedtls_mpi_sub_int(&e, &p, 1) != 0 ||
        mbedtls_mpi_exp_mod(&x, &x, &e, &p, NULL) != 0 || mbedtls_mpi_cmp_int(&x, 1) != 0) {
        why = "wrong modular exponentiation";
    }
free_mpis:
    mbedtls_mpi_free(&want);
    mbedtls_mpi_free(&e);
    mbedtls_mpi_free(&x);
    mbedtls_mpi_free(&n);
    mbedtls_mpi_free(&p);
    return why;
}

/* lwIP is linked and working: a UDP datagram round trip through lo0, counted. */
static const char *check_lwip_loopback(void)
{
    static const char msg[] = "ward loopback";
    struct netif *lo = netif_find("lo0");
    const char *why;

    if (lo == NULL) {
        why = "no loopback interface lo0";
    } else {
        u32_t out0 = lo->mib2_counters.ifoutucastpkts;
        u32_t in0 = lo->mib2_counters.ifinucastpkts;
        STAT_COUNTER xmit0 = lwip_stats.link.xmit;

        why = cm_udp_loopback(msg, (uint16_t)(sizeof(msg) - 1));
        if (why == NULL &&
            (lo->mib2_counters.ifoutucastpkts != out0 + 1 ||
             lo->mib2_counters.ifinucastpkts != in0 + 1 || lwip_stats.link.xmit != xmit0 + 1)) {
            why = "interface counters did not count the datagram";
        }
    }
    if (why == NULL && (lwip_stats.mem.used != 0 || lwip_stats.memp[MEMP_UDP_PCB]->used != 0)) {
        why = "lwIP memory still in use afterwards";
    }
    return why;
}

/*
 * Last: the heap bound held. _sbrk hands out at most CONFIG_WARD_HEAP_AT_START_SIZE bytes
 * (0 on this board) and counts every request it refuses, so with a zero heap any call
 * to malloc, from the core or from a library, fails this check.
 */
static const char *check_heap_bounded(void)
{
    return cm_heap_refusals() == 0 ? NULL
                                   : "a heap allocation was refused: something called malloc";
}

static const struct {
    const char *name;
    check_fn fn;
} s_checks[] = {
    { "systick_clock", check_systick_clock },
    { "entropy_fails_closed", check_entropy_fails_closed },
    { "bignum_known_answer", check_bignum },
    { "lwip_loopback_udp", check_lwip_loopback },
    { "handshake_crypto_p256", cm_check_handshake_crypto },
    { "heap_bounded", check_heap_bounded },
};

int cm_checks_run(ward_line_fn out, void *ctx, struct ward_selftest_summary *summary)
{
    struct ward_selftest_summary s = { 0, 0 };
    char line[128];

    for (size_t i = 0; i < sizeof(s_checks) / sizeof(s_checks[0]); i++) {
        const char *why = s_checks[i].fn();

        if (why == NULL) {
            s.passed++;
            snprintf(line, sizeof(line), "PASS %s", s_checks[i].name);
        } else {
            s.failed++;
            snprintf(line, sizeof(line), "FAIL %s: %s", s_checks[i].name, why);
        }
        out(ctx, line);
    }
    snprintf(line, sizeof(line), "%u passed, %u failed", s.passed, s.failed);
    out(ctx, line);
    if (summary != NULL) {
        *summary = s;
    }
    return s.failed == 0 ? 0 : -EFAULT;
}
