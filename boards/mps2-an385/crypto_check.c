/*
 * On-target measurement of the handshake's public-key work on the TLS pool: what a full
 * TLS 1.2 ECDHE-ECDSA handshake does with P-256 on the client (make an ephemeral key,
 * derive the shared secret, sign CertificateVerify, verify the server's signature), run on
 * the transport's pool so its high-water mark is this board's own figure.
 *
 * The board has no entropy source (entropy.c fails closed), so the keys here come from a
 * fixed, PUBLIC test stream (test_stream below). That is acceptable only because nothing
 * here protects anything: the check measures memory and proves the arithmetic agrees.
 * The product's TLS never sees this function.
 */
#include <string.h>

#include <mbedtls/ecdh.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/sha256.h>

#include "app.h"
#include "board.h"
#include "crypto_check.h"

/* splitmix64 over a fixed seed: reproducible test keys, never a source of secrets. */
static int test_stream(void *ctx, unsigned char *out, size_t len)
{
    uint64_t *s = ctx;

    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0) {
            *s += 0x9e3779b97f4a7c15ull;
        }
        uint64_t z = *s;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        out[i] = (unsigned char)((z ^ (z >> 31)) >> (8 * (i % 8)));
    }
    return 0;
}

static const char *ecdh_agree(uint64_t *seed)
{
    mbedtls_ecdh_context cli, srv;
    unsigned char a[32], b[32];
    size_t alen = 0, blen = 0;
    const char *why = NULL;

    mbedtls_ecdh_init(&cli);
    mbedtls_ecdh_init(&srv);
    if (mbedtls_ecdh_setup(&cli, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
        mbedtls_ecdh_setup(&srv, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
        mbedtls_ecdh_gen_public(&cli.ctx.mbed_ecdh.grp, &cli.ctx.mbed_ecdh.d, &cli.ctx.mbed_ecdh.Q,
                                test_stream, seed) != 0 ||
        mbedtls_ecdh_gen_public(&srv.ctx.mbed_ecdh.grp, &srv.ctx.mbed_ecdh.d, &srv.ctx.mbed_ecdh.Q,
                                test_stream, seed) != 0 ||
        mbedtls_ecp_copy(&cli.ctx.mbed_ecdh.Qp, &srv.ctx.mbed_ecdh.Q) != 0 ||
        mbedtls_ecp_copy(&srv.ctx.mbed_ecdh.Qp, &cli.ctx.mbed_ecdh.Q) != 0 ||
        mbedtls_ecdh_calc_secret(&cli, &alen, a, sizeof(a), test_stream, seed) != 0 ||
        mbedtls_ecdh_calc_secret(&srv, &blen, b, sizeof(b), test_stream, seed) != 0) {
        why = "ECDH P-256 failed (TLS pool exhausted?)";
    } else if (alen != 32 || blen != 32 || memcmp(a, b, 32) != 0) {
        why = "ECDH P-256: the two sides derived different secrets";
    }
    mbedtls_ecdh_free(&srv);
    mbedtls_ecdh_free(&cli);
    return why;
}

static const char *ecdsa_sign_verify(uint64_t *seed)
{
    static const char msg[] = "ward CertificateVerify stand-in";
    mbedtls_ecdsa_context key;
    unsigned char hash[32];
    unsigned char sig[MBEDTLS_ECDSA_MAX_LEN];
    size_t sig_len = 0;
    const char *why = NULL;

    mbedtls_ecdsa_init(&key);
    if (mbedtls_sha256_ret((const unsigned char *)msg, sizeof(msg) - 1, hash, 0) != 0 ||
        mbedtls_ecdsa_genkey(&key, MBEDTLS_ECP_DP_SECP256R1, test_stream, seed) != 0 ||
        mbedtls_ecdsa_write_signature(&key, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig, &sig_len,
                                      test_stream, seed) != 0) {
        why = "ECDSA P-256 signing failed (TLS pool exhausted?)";
    } else if (mbedtls_ecdsa_read_signature(&key, hash, sizeof(hash), sig, sig_len) != 0) {
        why = "ECDSA P-256: a good signature does not verify";
    } else {
        hash[0] ^= 1u;
        if (mbedtls_ecdsa_read_signature(&key, hash, sizeof(hash), sig, sig_len) == 0) {
            why = "ECDSA P-256: a signature verifies over the wrong hash";
        }
    }
    mbedtls_ecdsa_free(&key);
    return why;
}

const char *an385_check_handshake_crypto(void)
{
    const struct ward_mempool_stats *st = an385_tls_pool_stats();
    uint64_t seed = 0x7761726474657374ull; /* "wardtest" */
    size_t before = st->used;
    const char *why;

    an385_tls_pool_reset_peak();
    why = ecdh_agree(&seed);
    if (why == NULL) {
        why = ecdsa_sign_verify(&seed);
    }
    an385_printf("board: TLS pool: P-256 ECDH + ECDSA sign/verify peak %lu of %lu bytes, "
                 "%lu refused\n",
                 (unsigned long)(st->peak - before), (unsigned long)st->size,
                 (unsigned long)st->failures);
    if (why == NULL && st->used != before) {
        why = "the TLS pool leaked";
    }
    return why;
}
