/*
 * ChaCha20 for the off-device tools (MBEDTLS_CHACHA20_ALT in tools/tls/mbedtls_config.h): the
 * context mbedTLS's chacha20.h takes from here, implemented in tools/tls/chacha20_fast.c.
 *
 * Same API and the same stream semantics as mbedTLS's portable chacha20.c (a 32-bit block
 * counter, leftover keystream used first by the next update); only the block function differs:
 * up to four blocks at a time in vector registers (AVX2 or AVX-512VL, chosen once at run time;
 * scalar code on CPUs with neither).
 * tests/unit/tools_chachapoly checks it against mbedTLS's own code and test vectors.
 */
#ifndef WARD_TOOLS_TLS_CHACHA20_ALT_H_
#define WARD_TOOLS_TLS_CHACHA20_ALT_H_

#include <stddef.h>
#include <stdint.h>

typedef struct mbedtls_chacha20_context {
    uint32_t state[16];          /* constants, key, block counter (12), nonce */
    uint8_t keystream8[64];      /* the keystream of the last block a partial update began */
    size_t keystream_bytes_used; /* 64: nothing left in keystream8 */
} mbedtls_chacha20_context;

/** The block function in use: "avx512vl", "avx2" or "generic". */
const char *ward_chacha20_impl(void);

/**
 * Use the block function named (see above) from now on, for tests and benchmarks.
 * Returns 0, or -ENOTSUP when this CPU or build does not have it.
 */
int ward_chacha20_force(const char *name);

#endif /* WARD_TOOLS_TLS_CHACHA20_ALT_H_ */
