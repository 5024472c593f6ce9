/* mbedTLS's portable ChaCha20 and Poly1305 and nothing else, for ref_mbedtls.c. */
#ifndef WARD_TOOLS_TLS_REF_CONFIG_H_
#define WARD_TOOLS_TLS_REF_CONFIG_H_
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#endif
