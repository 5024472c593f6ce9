/*
 * Poly1305 for the off-device tools (MBEDTLS_POLY1305_ALT in tools/tls/mbedtls_config.h): the
 * context mbedTLS's poly1305.h takes from here, implemented in tools/tls/poly1305_fast.c with
 * three 44-bit limbs and 64 x 64 -> 128-bit products, where mbedTLS's portable poly1305.c uses
 * 32-bit limbs. Same API and results; tests/unit/tools_chachapoly checks both.
 */
#ifndef WARD_TOOLS_TLS_POLY1305_ALT_H_
#define WARD_TOOLS_TLS_POLY1305_ALT_H_

#include <stddef.h>
#include <stdint.h>

typedef struct mbedtls_poly1305_context {
    uint64_t r[3];     /* clamped r, 44 + 44 + 42 bits */
    uint64_t h[3];     /* accumulator, same limbs, partly reduced */
    uint64_t s[2];     /* the key's second half, added at the end */
    uint8_t queue[16]; /* a partial block waiting for more input */
    size_t queue_len;
} mbedtls_poly1305_context;

#endif /* WARD_TOOLS_TLS_POLY1305_ALT_H_ */
