/*
 * ChaCha20 (RFC 8439) behind mbedTLS's chacha20.h, for the collector and wardctl (see
 * chacha20_alt.h). The portable chacha20.c computes one 64-byte block at a time in scalar
 * registers: about 940 instructions a block, and 10 blocks a heartbeat (a request and its
 * answer, each with its Poly1305 key block), 22 % of the collector's instructions per heartbeat
 * (docs/benchmarks.md). Here two blocks are computed side by side, one row of the 4 x 4 state
 * per 256-bit vector (the two blocks' rows in its two 128-bit halves): a column round works on
 * all four columns at once and the diagonal round is the same after rotating rows b, c and d.
 *
 * The rounds of a pair are one long dependency chain, so each pass runs two pairs (four blocks)
 * side by side when there are more than two blocks left.
 *
 * One body, written with the compiler's vector extensions, is built twice: for AVX2 (rotations
 * by 16 and 8 as byte shuffles) and for AVX-512VL (every rotation one instruction). A CPU with
 * neither uses plain scalar code ("generic"). The CPU picks once; ward_chacha20_force() lets
 * the tests run each. tools/bench/chacha_bench.c measures them against mbedTLS's.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <mbedtls/chacha20.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tools/tls/chacha20_fast.c stores vector lanes as keystream bytes: little-endian hosts only"
#endif

#define BLOCK 64U

typedef uint32_t u32x8 __attribute__((vector_size(32)));
typedef uint8_t u8x32 __attribute__((vector_size(32)));

enum rot_kind {
    ROT_SHIFT, /* (x << n) | (x >> (32 - n)): one vprold with AVX-512VL */
    ROT_BYTES, /* by 16 and 8: a byte shuffle (vpshufb), cheaper than two shifts and an or */
};

#define ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n)))) /* vectors and scalars alike */

/* x = x <<< 16 and x = x <<< 8, in the way k names. */
#define ROT16(x, k)                                                                                \
    do {                                                                                           \
        if ((k) == ROT_SHIFT) {                                                                    \
            (x) = ROTL((x), 16);                                                                   \
        } else {                                                                                   \
            (x) = (u32x8)__builtin_shufflevector((u8x32)(x), (u8x32)(x), 2, 3, 0, 1, 6, 7, 4, 5,   \
                                                 10, 11, 8, 9, 14, 15, 12, 13, 18, 19, 16, 17, 22, \
                                                 23, 20, 21, 26, 27, 24, 25, 30, 31, 28, 29);      \
        }                                                                                          \
    } while (0)
#define ROT8(x, k)                                                                                 \
    do {                                                                                           \
        if ((k) == ROT_SHIFT) {                                                                    \
            (x) = ROTL((x), 8);                                                                    \
        } else {                                                                                   \
            (x) = (u32x8)__builtin_shufflevector((u8x32)(x), (u8x32)(x), 3, 0, 1, 2, 7, 4, 5, 6,   \
                                                 11, 8, 9, 10, 15, 12, 13, 14, 19, 16, 17, 18, 23, \
                                                 20, 21, 22, 27, 24, 25, 26, 31, 28, 29, 30);      \
        }                                                                                          \
    } while (0)

/* One quarter round on four columns of two blocks. */
#define QUARTER(a, b, c, d, k)                                                                     \
    do {                                                                                           \
        (a) += (b);                                                                                \
        (d) ^= (a);                                                                                \
        ROT16(d, k);                                                                               \
        (c) += (d);                                                                                \
        (b) = ROTL((b) ^ (c), 12);                                                                 \
        (a) += (b);                                                                                \
        (d) ^= (a);                                                                                \
        ROT8(d, k);                                                                                \
        (c) += (d);                                                                                \
        (b) = ROTL((b) ^ (c), 7);                                                                  \
    } while (0)

/* Rotates each 128-bit half's four words left by 1, 2 or 3 (diagonals into columns). */
#define ROW_LEFT1(x) __builtin_shufflevector((x), (x), 1, 2, 3, 0, 5, 6, 7, 4)
#define ROW_LEFT2(x) __builtin_shufflevector((x), (x), 2, 3, 0, 1, 6, 7, 4, 5)
#define ROW_LEFT3(x) __builtin_shufflevector((x), (x), 3, 0, 1, 2, 7, 4, 5, 6)

static inline __attribute__((always_inline)) void xor_out(uint8_t *out, const uint8_t *in,
                                                          const uint8_t *ks, size_t n)
{
    size_t i = 0;

    for (; i + 32 <= n; i += 32) {
        u32x8 x;
        u32x8 y;

        memcpy(&x, in + i, 32);
        memcpy(&y, ks + i, 32);
        x ^= y;
        memcpy(out + i, &x, 32);
    }
    for (; i < n; i++) {
        out[i] = in[i] ^ ks[i];
    }
}

/* Twenty rounds on one pair of blocks (rows a, b, c, d), then the input added back. */
#define TWENTY_ROUNDS(a, b, c, d, k)                                                               \
    do {                                                                                           \
        for (int i_ = 0; i_ < 10; i_++) {                                                          \
            QUARTER(a, b, c, d, k);                                                                \
            (b) = ROW_LEFT1(b);                                                                    \
            (c) = ROW_LEFT2(c);                                                                    \
            (d) = ROW_LEFT3(d);                                                                    \
            QUARTER(a, b, c, d, k);                                                                \
            (b) = ROW_LEFT3(b);                                                                    \
            (c) = ROW_LEFT2(c);                                                                    \
            (d) = ROW_LEFT1(d);                                                                    \
        }                                                                                          \
    } while (0)

/* The same on two pairs in one loop, so that their chains interleave. */
#define TWENTY_ROUNDS_X2(a, b, c, d, a2, b2, c2, d2, k)                                            \
    do {                                                                                           \
        for (int i_ = 0; i_ < 10; i_++) {                                                          \
            QUARTER(a, b, c, d, k);                                                                \
            QUARTER(a2, b2, c2, d2, k);                                                            \
            (b) = ROW_LEFT1(b);                                                                    \
            (c) = ROW_LEFT2(c);                                                                    \
            (d) = ROW_LEFT3(d);                                                                    \
            (b2) = ROW_LEFT1(b2);                                                                  \
            (c2) = ROW_LEFT2(c2);                                                                  \
            (d2) = ROW_LEFT3(d2);                                                                  \
            QUARTER(a, b, c, d, k);                                                                \
            QUARTER(a2, b2, c2, d2, k);                                                            \
            (b) = ROW_LEFT3(b);                                                                    \
            (c) = ROW_LEFT2(c);                                                                    \
            (d) = ROW_LEFT1(d);                                                                    \
            (b2) = ROW_LEFT3(b2);                                                                  \
            (c2) = ROW_LEFT2(c2);                                                                  \
            (d2) = ROW_LEFT1(d2);                                                                  \
        }                                                                                          \
    } while (0)

/* The keystream of a pair of blocks: the first is the four low halves, the second the high. */
#define PAIR_OUT(ks, a, b, c, d)                                                                   \
    do {                                                                                           \
        const u32x8 k0_ = __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11);                 \
        const u32x8 k1_ = __builtin_shufflevector(c, d, 0, 1, 2, 3, 8, 9, 10, 11);                 \
        const u32x8 k2_ = __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15);               \
        const u32x8 k3_ = __builtin_shufflevector(c, d, 4, 5, 6, 7, 12, 13, 14, 15);               \
        memcpy((ks), &k0_, 32);                                                                    \
        memcpy((ks) + 32, &k1_, 32);                                                               \
        memcpy((ks) + 64, &k2_, 32);                                                               \
        memcpy((ks) + 96, &k3_, 32);                                                               \
    } while (0)

/*
 * XORs the keystream of blocks st[12], st[12] + 1, ... (mod 2^32) into len > 0 bytes; when len
 * ends inside a block, that block's keystream goes to tail (64 bytes).
 *
 * The rounds are one long dependency chain, so a pass computes two pairs (four blocks) whose
 * chains the CPU runs side by side in about the time of one; the last pass computes one pair
 * when two blocks or fewer are left.
 */
static inline __attribute__((always_inline)) void chacha_xor(const uint32_t st[16], size_t len,
                                                             const uint8_t *in, uint8_t *out,
                                                             uint8_t *tail, enum rot_kind k)
{
    const u32x8 a0 = { st[0], st[1], st[2], st[3], st[0], st[1], st[2], st[3] };
    const u32x8 b0 = { st[4], st[5], st[6], st[7], st[4], st[5], st[6], st[7] };
    const u32x8 c0 = { st[8], st[9], st[10], st[11], st[8], st[9], st[10], st[11] };
    u32x8 d0 = { st[12], st[13], st[14], st[15], st[12] + 1U, st[13], st[14], st[15] };
    const u32x8 two = { 2, 0, 0, 0, 2, 0, 0, 0 };
    uint8_t ks[4 * BLOCK] __attribute__((aligned(32)));
    size_t have;

    for (;;) {
        u32x8 a = a0;
        u32x8 b = b0;
        u32x8 c = c0;
        u32x8 d = d0;

        if (len > 2 * BLOCK) {
            const u32x8 e0 = d0 + two;
            u32x8 a2 = a0;
            u32x8 b2 = b0;
            u32x8 c2 = c0;
            u32x8 d2 = e0;

            TWENTY_ROUNDS_X2(a, b, c, d, a2, b2, c2, d2, k);
            PAIR_OUT(ks, a + a0, b + b0, c + c0, d + d0);
            PAIR_OUT(ks + 2 * BLOCK, a2 + a0, b2 + b0, c2 + c0, d2 + e0);
            have = 4 * BLOCK;
        } else {
            TWENTY_ROUNDS(a, b, c, d, k);
            PAIR_OUT(ks, a + a0, b + b0, c + c0, d + d0);
            have = 2 * BLOCK;
        }
        if (len <= have) {
            break;
        }
        xor_out(out, in, ks, have);
        in += have;
        out += have;
        len -= have;
        d0 += two + two;
    }
    xor_out(out, in, ks, len);
    if (len % BLOCK != 0) {
        memcpy(tail, ks + (len - len % BLOCK), BLOCK);
    }
    /* The keystream is key material: not left on the stack. */
    explicit_bzero(ks, sizeof(ks));
}

typedef void xor_fn(const uint32_t st[16], size_t len, const uint8_t *in, uint8_t *out,
                    uint8_t *tail);

/*
 * Without AVX2, 256-bit vectors become pairs of SSE2 registers and byte shuffles become long
 * sequences: slower than plain scalar code, which keeps four independent quarter rounds in
 * flight. One block at a time in 32-bit registers, as RFC 8439 writes it.
 */
#define QR(x, a, b, c, d)                                                                          \
    do {                                                                                           \
        (x)[a] += (x)[b];                                                                          \
        (x)[d] = ROTL((x)[d] ^ (x)[a], 16);                                                        \
        (x)[c] += (x)[d];                                                                          \
        (x)[b] = ROTL((x)[b] ^ (x)[c], 12);                                                        \
        (x)[a] += (x)[b];                                                                          \
        (x)[d] = ROTL((x)[d] ^ (x)[a], 8);                                                         \
        (x)[c] += (x)[d];                                                                          \
        (x)[b] = ROTL((x)[b] ^ (x)[c], 7);                                                         \
    } while (0)

static void block_scalar(const uint32_t st[16], uint32_t ctr, uint8_t ks[BLOCK])
{
    uint32_t x[16];

    memcpy(x, st, sizeof(x));
    x[12] = ctr;
    for (int i = 0; i < 10; i++) {
        QR(x, 0, 4, 8, 12);
        QR(x, 1, 5, 9, 13);
        QR(x, 2, 6, 10, 14);
        QR(x, 3, 7, 11, 15);
        QR(x, 0, 5, 10, 15);
        QR(x, 1, 6, 11, 12);
        QR(x, 2, 7, 8, 13);
        QR(x, 3, 4, 9, 14);
    }
    for (int i = 0; i < 16; i++) {
        x[i] += i == 12 ? ctr : st[i];
    }
    memcpy(ks, x, BLOCK);
    explicit_bzero(x, sizeof(x));
}

static void xor_generic(const uint32_t st[16], size_t len, const uint8_t *in, uint8_t *out,
                        uint8_t *tail)
{
    uint8_t ks[BLOCK];
    uint32_t ctr = st[12];

    for (;; ctr++) {
        block_scalar(st, ctr, ks);
        if (len <= BLOCK) {
            break;
        }
        for (unsigned i = 0; i < BLOCK; i++) {
            out[i] = in[i] ^ ks[i];
        }
        in += BLOCK;
        out += BLOCK;
        len -= BLOCK;
    }
    for (size_t i = 0; i < len; i++) {
        out[i] = in[i] ^ ks[i];
    }
    if (len < BLOCK) {
        memcpy(tail, ks, BLOCK);
    }
    explicit_bzero(ks, sizeof(ks));
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void xor_avx2(const uint32_t st[16], size_t len,
                                                     const uint8_t *in, uint8_t *out, uint8_t *tail)
{
    chacha_xor(st, len, in, out, tail, ROT_BYTES);
}

__attribute__((target("avx2,avx512f,avx512vl"))) static void
xor_avx512vl(const uint32_t st[16], size_t len, const uint8_t *in, uint8_t *out, uint8_t *tail)
{
    chacha_xor(st, len, in, out, tail, ROT_SHIFT);
}
#endif

struct impl {
    const char *name;
    xor_fn *fn;
};

static const struct impl s_impls[] = {
#if defined(__x86_64__)
    { "avx512vl", xor_avx512vl },
    { "avx2", xor_avx2 },
#endif
    { "generic", xor_generic },
};

static bool cpu_has(const char *name)
{
#if defined(__x86_64__)
    __builtin_cpu_init(); /* in case this runs before libgcc's own constructor */
    if (strcmp(name, "avx512vl") == 0) {
        return __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2");
    }
    if (strcmp(name, "avx2") == 0) {
        return __builtin_cpu_supports("avx2");
    }
#endif
    return strcmp(name, "generic") == 0;
}

/* The implementation in use, as an index into s_impls plus one (0: not chosen yet). */
static atomic_uint s_pick;

static const struct impl *impl(void)
{
    unsigned p = atomic_load_explicit(&s_pick, memory_order_relaxed);

    if (p == 0) {
        for (p = 1; p < sizeof(s_impls) / sizeof(s_impls[0]); p++) {
            if (cpu_has(s_impls[p - 1].name)) {
                break;
            }
        }
        atomic_store_explicit(&s_pick, p, memory_order_relaxed);
    }
    return &s_impls[p - 1];
}

const char *ward_chacha20_impl(void)
{
    return impl()->name;
}

int ward_chacha20_force(const char *name)
{
    for (unsigned i = 0; i < sizeof(s_impls) / sizeof(s_impls[0]); i++) {
        if (strcmp(s_impls[i].name, name) == 0 && cpu_has(name)) {
            atomic_store_explicit(&s_pick, i + 1, memory_order_relaxed);
            return 0;
        }
    }
    return -ENOTSUP;
}

void mbedtls_chacha20_init(mbedtls_chacha20_context *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->keystream_bytes_used = BLOCK;
}

void mbedtls_chacha20_free(mbedtls_chacha20_context *ctx)
{
    if (ctx != NULL) {
        explicit_bzero(ctx, sizeof(*ctx));
    }
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int mbedtls_chacha20_setkey(mbedtls_chacha20_context *ctx, const unsigned char key[32])
{
    /* "expand 32-byte k" */
    ctx->state[0] = 0x61707865U;
    ctx->state[1] = 0x3320646eU;
    ctx->state[2] = 0x79622d32U;
    ctx->state[3] = 0x6b206574U;
    for (unsigned i = 0; i < 8; i++) {
        ctx->state[4 + i] = le32(key + 4 * i);
    }
    return 0;
}

int mbedtls_chacha20_starts(mbedtls_chacha20_context *ctx, const unsigned char nonce[12],
                            uint32_t counter)
{
    ctx->state[12] = counter;
    ctx->state[13] = le32(nonce);
    ctx->state[14] = le32(nonce + 4);
    ctx->state[15] = le32(nonce + 8);
    explicit_bzero(ctx->keystream8, sizeof(ctx->keystream8));
    ctx->keystream_bytes_used = BLOCK;
    return 0;
}

int mbedtls_chacha20_update(mbedtls_chacha20_context *ctx, size_t size, const unsigned char *input,
                            unsigned char *output)
{
    size_t done = 0;

    /* What is left of the block the last update ended in comes first. */
    while (done < size && ctx->keystream_bytes_used < BLOCK) {
        output[done] = input[done] ^ ctx->keystream8[ctx->keystream_bytes_used++];
        done++;
    }
    if (done == size) {
        return 0;
    }
    size -= done;
    impl()->fn(ctx->state, size, input + done, output + done, ctx->keystream8);
    ctx->state[12] += (uint32_t)((size + BLOCK - 1) / BLOCK);
    if (size % BLOCK != 0) {
        ctx->keystream_bytes_used = size % BLOCK;
    }
    return 0;
}

int mbedtls_chacha20_crypt(const unsigned char key[32], const unsigned char nonce[12],
                           uint32_t counter, size_t data_len, const unsigned char *input,
                           unsigned char *output)
{
    mbedtls_chacha20_context ctx;

    mbedtls_chacha20_init(&ctx);
    mbedtls_chacha20_setkey(&ctx, key);
    mbedtls_chacha20_starts(&ctx, nonce, counter);
    mbedtls_chacha20_update(&ctx, data_len, input, output);
    mbedtls_chacha20_free(&ctx);
    return 0;
}
