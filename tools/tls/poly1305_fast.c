/*
 * Poly1305 (RFC 8439) behind mbedTLS's poly1305.h, for the collector and wardctl (see
 * poly1305_alt.h). The accumulator and r are three limbs of 44, 44 and 42 bits, so a block is
 * nine 64 x 64 -> 128-bit products and a short carry chain; mbedTLS's portable poly1305.c
 * works in 32-bit limbs (16 products and longer carries). The field is p = 2^130 - 5: a
 * product's part at 2^130 and above folds back times 5, so the limbs of r that meet h above
 * 2^132 are kept pre-multiplied by 20 (2^132 = 4 * 2^130 = 20 mod p).
 */
#include <stdint.h>
#include <string.h>

#include <mbedtls/poly1305.h>

#define BLOCK 16U
#define M44   0xfffffffffffULL
#define M42   0x3ffffffffffULL

typedef unsigned __int128 u128;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tools/tls/poly1305_fast.c loads little-endian words as they lie: little-endian hosts only"
#endif

static uint64_t le64(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

/* h = (h + m + hibit * 2^128) * r mod p, partly reduced, for n blocks of 16 bytes. */
static void blocks(mbedtls_poly1305_context *ctx, const unsigned char *m, size_t n, uint64_t hibit)
{
    const uint64_t r0 = ctx->r[0];
    const uint64_t r1 = ctx->r[1];
    const uint64_t r2 = ctx->r[2];
    const uint64_t s1 = r1 * 20;
    const uint64_t s2 = r2 * 20;
    uint64_t h0 = ctx->h[0];
    uint64_t h1 = ctx->h[1];
    uint64_t h2 = ctx->h[2];

    for (; n > 0; n--, m += BLOCK) {
        const uint64_t t0 = le64(m);
        const uint64_t t1 = le64(m + 8);

        h0 += t0 & M44;
        h1 += (t0 >> 44 | t1 << 20) & M44;
        h2 += (t1 >> 24 & M42) | hibit << 40;

        const u128 d0 = (u128)h0 * r0 + (u128)h1 * s2 + (u128)h2 * s1;
        u128 d1 = (u128)h0 * r1 + (u128)h1 * r0 + (u128)h2 * s2;
        u128 d2 = (u128)h0 * r2 + (u128)h1 * r1 + (u128)h2 * r0;

        h0 = (uint64_t)d0 & M44;
        d1 += (uint64_t)(d0 >> 44);
        h1 = (uint64_t)d1 & M44;
        d2 += (uint64_t)(d1 >> 44);
        h2 = (uint64_t)d2 & M42;
        h0 += (uint64_t)(d2 >> 42) * 5;
        h1 += h0 >> 44;
        h0 &= M44;
    }
    ctx->h[0] = h0;
    ctx->h[1] = h1;
    ctx->h[2] = h2;
}

void mbedtls_poly1305_init(mbedtls_poly1305_context *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
}

void mbedtls_poly1305_free(mbedtls_poly1305_context *ctx)
{
    if (ctx != NULL) {
        explicit_bzero(ctx, sizeof(*ctx));
    }
}

int mbedtls_poly1305_starts(mbedtls_poly1305_context *ctx, const unsigned char key[32])
{
    /* r &= 0x0ffffffc0ffffffc0ffffffc0fffffff */
    const uint64_t t0 = le64(key) & 0x0ffffffc0fffffffULL;
    const uint64_t t1 = le64(key + 8) & 0x0ffffffc0ffffffcULL;

    ctx->r[0] = t0 & M44;
    ctx->r[1] = (t0 >> 44 | t1 << 20) & M44;
    ctx->r[2] = t1 >> 24 & M42;
    ctx->s[0] = le64(key + 16);
    ctx->s[1] = le64(key + 24);
    memset(ctx->h, 0, sizeof(ctx->h));
    explicit_bzero(ctx->queue, sizeof(ctx->queue));
    ctx->queue_len = 0;
    return 0;
}

int mbedtls_poly1305_update(mbedtls_poly1305_context *ctx, const unsigned char *input, size_t ilen)
{
    if (ctx->queue_len > 0 && ilen > 0) {
        size_t take = BLOCK - ctx->queue_len;

        if (take > ilen) {
            take = ilen;
        }
        memcpy(ctx->queue + ctx->queue_len, input, take);
        ctx->queue_len += take;
        input += take;
        ilen -= take;
        if (ctx->queue_len < BLOCK) {
            return 0;
        }
        blocks(ctx, ctx->queue, 1, 1);
        ctx->queue_len = 0;
    }
    if (ilen >= BLOCK) {
        blocks(ctx, input, ilen / BLOCK, 1);
        input += ilen - ilen % BLOCK;
        ilen %= BLOCK;
    }
    if (ilen > 0) {
        memcpy(ctx->queue, input, ilen);
        ctx->queue_len = ilen;
    }
    return 0;
}

int mbedtls_poly1305_finish(mbedtls_poly1305_context *ctx, unsigned char mac[16])
{
    if (ctx->queue_len > 0) {
        /* The last partial block: a 1 byte after the data, zeros, and no 2^128 bit. */
        ctx->queue[ctx->queue_len] = 1;
        memset(ctx->queue + ctx->queue_len + 1, 0, BLOCK - ctx->queue_len - 1);
        blocks(ctx, ctx->queue, 1, 0);
        ctx->queue_len = 0;
    }

    uint64_t h0 = ctx->h[0];
    uint64_t h1 = ctx->h[1];
    uint64_t h2 = ctx->h[2];
    uint64_t c;

    /* Full carry: h < 2^130 + small, then below 2^130. */
    for (int i = 0; i < 2; i++) {
        c = h1 >> 44;
        h1 &= M44;
        h2 += c;
        c = h2 >> 42;
        h2 &= M42;
        h0 += c * 5;
        c = h0 >> 44;
        h0 &= M44;
        h1 += c;
    }
    c = h1 >> 44;
    h1 &= M44;
    h2 += c;

    /* g = h + 5 - 2^130; h >= p exactly when g does not borrow: then h mod p is g. */
    uint64_t g0 = h0 + 5;
    c = g0 >> 44;
    g0 &= M44;
    uint64_t g1 = h1 + c;
    c = g1 >> 44;
    g1 &= M44;
    const uint64_t g2 = h2 + c - (1ULL << 42);
    const uint64_t keep_g = (g2 >> 63) - 1; /* all ones when g2 did not borrow */

    h0 = (h0 & ~keep_g) | (g0 & keep_g);
    h1 = (h1 & ~keep_g) | (g1 & keep_g);
    h2 = (h2 & ~keep_g) | (g2 & keep_g);

    /* tag = (h + s) mod 2^128 */
    const uint64_t lo = h0 | h1 << 44;
    const uint64_t hi = h1 >> 20 | h2 << 24;
    const u128 sum = ((u128)hi << 64 | lo) + ((u128)ctx->s[1] << 64 | ctx->s[0]);

    put_le64(mac, (uint64_t)sum);
    put_le64(mac + 8, (uint64_t)(sum >> 64));
    return 0;
}

int mbedtls_poly1305_mac(const unsigned char key[32], const unsigned char *input, size_t ilen,
                         unsigned char mac[16])
{
    mbedtls_poly1305_context ctx;

    mbedtls_poly1305_init(&ctx);
    mbedtls_poly1305_starts(&ctx, key);
    mbedtls_poly1305_update(&ctx, input, ilen);
    mbedtls_poly1305_finish(&ctx, mac);
    mbedtls_poly1305_free(&ctx);
    return 0;
}
