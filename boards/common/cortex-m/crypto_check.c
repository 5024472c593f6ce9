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

/* Both ends of an ECDHE exchange with mbedTLS's public ECDH functions (mbedTLS 3 makes the
 * ecdh context's fields private; the group, keys and secrets here are plain ECP/MPI objects). */
static const char *ecdh_agree(uint64_t *seed)
{
    mbedtls_ecp_group grp;
    mbedtls_mpi da, db, za, zb;
    mbedtls_ecp_point qa, qb;
    const char *why = NULL;

    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&da);
    mbedtls_mpi_init(&db);
    mbedtls_mpi_init(&za);
    mbedtls_mpi_init(&zb);
    mbedtls_ecp_point_init(&qa);
    mbedtls_ecp_point_init(&qb);
    if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
        mbedtls_ecdh_gen_public(&grp, &da, &qa, test_stream, seed) != 0 ||
        mbedtls_ecdh_gen_public(&grp, &db, &qb, test_stream, seed) != 0 ||
        mbedtls_ecdh_compute_shared(&grp, &za, &qb, &da, test_stream, seed) != 0 ||
        mbedtls_ecdh_compute_shared(&grp, &zb, &qa, &db, test_stream, seed) != 0) {
        why = "ECDH P-256 failed (TLS pool exhausted?)";
    } else if (mbedtls_mpi_size(&za) > 32 || mbedtls_mpi_cmp_mpi(&za, &zb) != 0) {
        why = "ECDH P-256: the two sides derived different secrets";
    }
    mbedtls_ecp_point_free(&qb);
    mbedtls_ecp_point_free(&qa);
    mbedtls_mpi_free(&zb);
    mbedtls_mpi_free(&za);
    mbedtls_mpi_free(&db);
    mbedtls_mpi_free(&da);
    mbedtls_ecp_group_free(&grp);
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
    if (mbedtls_sha256((const unsigned char *)msg, sizeof(msg) - 1, hash, 0) != 0 ||
        mbedtls_ecdsa_genkey(&key, MBEDTLS_ECP_DP_SECP256R1, test_stream, seed) != 0 ||
        mbedtls_ecdsa_write_signature(&key, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig, sizeof(sig),
                                      &sig_len, test_stream, seed) != 0) {
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

const char *cm_check_handshake_crypto(void)
{
    const struct ward_mempool_stats *st = cm_tls_pool_stats();
    uint64_t seed = 0x7761726474657374ull; /* "wardtest" */
    size_t before = st->used;
    const char *why;

    cm_tls_pool_reset_peak();
    why = ecdh_agree(&seed);
    if (why == NULL) {
        why = ecdsa_sign_verify(&seed);
    }
    cm_printf("board: TLS pool: P-256 ECDH + ECDSA sign/verify peak %lu of %lu bytes, "
              "%lu refused\n",
              (unsigned long)(st->peak - before), (unsigned long)st->size,
              (unsigned long)st->failures);
    if (why == NULL && st->used != before) {
        why = "the TLS pool leaked";
    }
    return why;
}
