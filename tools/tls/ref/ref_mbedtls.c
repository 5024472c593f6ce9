/*
 * mbedTLS's portable chacha20.c and poly1305.c, compiled under ref_* names with a configuration
 * that does not replace them (ref_config.h), so that a test (unit_tools_chachapoly) and a
 * benchmark (tools/bench/chacha_bench.c) can hold the collector's replacements (tools/tls) to
 * the code they replace.
 */
#undef MBEDTLS_CONFIG_FILE
#define MBEDTLS_CONFIG_FILE "ref_config.h"

#define mbedtls_chacha20_context   ref_chacha20_context
#define mbedtls_chacha20_init      ref_chacha20_init
#define mbedtls_chacha20_free      ref_chacha20_free
#define mbedtls_chacha20_setkey    ref_chacha20_setkey
#define mbedtls_chacha20_starts    ref_chacha20_starts
#define mbedtls_chacha20_update    ref_chacha20_update
#define mbedtls_chacha20_crypt     ref_chacha20_crypt
#define mbedtls_chacha20_self_test ref_chacha20_self_test
#define mbedtls_poly1305_context   ref_poly1305_context
#define mbedtls_poly1305_init      ref_poly1305_init
#define mbedtls_poly1305_free      ref_poly1305_free
#define mbedtls_poly1305_starts    ref_poly1305_starts
#define mbedtls_poly1305_update    ref_poly1305_update
#define mbedtls_poly1305_finish    ref_poly1305_finish
#define mbedtls_poly1305_mac       ref_poly1305_mac
#define mbedtls_poly1305_self_test ref_poly1305_self_test

/* mbedTLS's files themselves, under the names above (not copies). */
#include "chacha20.c" // NOLINT(bugprone-suspicious-include)
#include "poly1305.c" // NOLINT(bugprone-suspicious-include)

#include <stdlib.h>

#include "ref_mbedtls.h"

struct ref_chacha {
    ref_chacha20_context c;
};

struct ref_poly {
    ref_poly1305_context p;
};

struct ref_chacha *ref_chacha_new(const uint8_t key[32], const uint8_t nonce[12], uint32_t ctr)
{
    struct ref_chacha *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        abort();
    }
    ref_chacha20_init(&c->c);
    ref_chacha20_setkey(&c->c, key);
    ref_chacha20_starts(&c->c, nonce, ctr);
    return c;
}

void ref_chacha_update(struct ref_chacha *c, size_t n, const uint8_t *in, uint8_t *out)
{
    ref_chacha20_update(&c->c, n, in, out);
}

void ref_chacha_delete(struct ref_chacha *c)
{
    ref_chacha20_free(&c->c);
    free(c);
}

struct ref_poly *ref_poly_new(const uint8_t key[32])
{
    struct ref_poly *p = calloc(1, sizeof(*p));

    if (p == NULL) {
        abort();
    }
    ref_poly1305_init(&p->p);
    ref_poly1305_starts(&p->p, key);
    return p;
}

void ref_poly_update(struct ref_poly *p, const uint8_t *in, size_t n)
{
    ref_poly1305_update(&p->p, in, n);
}

void ref_poly_finish(struct ref_poly *p, uint8_t mac[16])
{
    ref_poly1305_finish(&p->p, mac);
    ref_poly1305_free(&p->p);
    free(p);
}

void ref_chacha_restart(struct ref_chacha *c, const uint8_t nonce[12], uint32_t ctr)
{
    ref_chacha20_starts(&c->c, nonce, ctr);
}

void ref_poly_mac(const uint8_t key[32], const uint8_t *in, size_t n, uint8_t mac[16])
{
    ref_poly1305_mac(key, in, n, mac);
}
