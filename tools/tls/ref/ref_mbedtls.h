/* mbedTLS's portable ChaCha20 and Poly1305 (ref_mbedtls.c), the reference for tests and benchmarks.
 */
#ifndef WARD_TOOLS_TLS_REF_MBEDTLS_H_
#define WARD_TOOLS_TLS_REF_MBEDTLS_H_

#include <stddef.h>
#include <stdint.h>

struct ref_chacha;
struct ref_poly;

/* A ChaCha20 stream: key, nonce, first block counter; updates of any length in turn. */
struct ref_chacha *ref_chacha_new(const uint8_t key[32], const uint8_t nonce[12], uint32_t ctr);
void ref_chacha_update(struct ref_chacha *c, size_t n, const uint8_t *in, uint8_t *out);
void ref_chacha_restart(struct ref_chacha *c, const uint8_t nonce[12], uint32_t ctr);
void ref_chacha_delete(struct ref_chacha *c);

struct ref_poly *ref_poly_new(const uint8_t key[32]);
void ref_poly_update(struct ref_poly *p, const uint8_t *in, size_t n);
void ref_poly_finish(struct ref_poly *p, uint8_t mac[16]); /* and deletes p */
/* One MAC without allocating (for benchmarks). */
void ref_poly_mac(const uint8_t key[32], const uint8_t *in, size_t n, uint8_t mac[16]);

#endif
