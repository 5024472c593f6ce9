#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <mbedtls/platform.h>

#include "ward/transport/mempool.h"

/*
 * Block layout: an 8-byte header, then the payload. The header holds the block's size
 * (header included, a multiple of 8, bit 0 set while in use) and the previous block's size,
 * so both neighbours are found in O(1). The last block ends exactly at pool->end.
 */
#define ALIGN     8u
#define HDR       8u
#define MIN_BLOCK 16u
#define USED      1u
#define SIZE_MASK (~(uint32_t)(ALIGN - 1u))
#define MAX_POOL  0x7ffffff8u

struct blk {
    uint32_t size_flags;
    uint32_t prev_size;
};

static struct blk *blk_at(uint8_t *p)
{
    return (struct blk *)(void *)p;
}

static uint32_t blk_size(const struct blk *b)
{
    return b->size_flags & SIZE_MASK;
}

static bool blk_used(const struct blk *b)
{
    return (b->size_flags & USED) != 0;
}

static struct blk *blk_next(const struct ward_mempool *pool, struct blk *b)
{
    uint8_t *n = (uint8_t *)b + blk_size(b);

    return n < pool->end ? blk_at(n) : NULL;
}

int ward_mempool_init(struct ward_mempool *pool, void *storage, size_t size)
{
    uintptr_t start;
    uintptr_t end;

    if (pool == NULL || storage == NULL || size < 64u) {
        return -EINVAL;
    }
    if (size > MAX_POOL) {
        size = MAX_POOL;
    }
    start = ((uintptr_t)storage + (ALIGN - 1u)) & ~(uintptr_t)(ALIGN - 1u);
    end = ((uintptr_t)storage + size) & ~(uintptr_t)(ALIGN - 1u);
    memset(pool, 0, sizeof(*pool));
    pool->base = (uint8_t *)start;
    pool->end = (uint8_t *)end;
    pool->stats.size = (size_t)(end - start);
    blk_at(pool->base)->size_flags = (uint32_t)(end - start);
    blk_at(pool->base)->prev_size = 0;
    return 0;
}

/* Split b so its first part is exactly need bytes, when the rest can stand as a block. */
static void blk_split(struct ward_mempool *pool, struct blk *b, uint32_t need)
{
    uint32_t size = blk_size(b);
    struct blk *rest;
    struct blk *after;

    if (size - need < MIN_BLOCK) {
        return;
    }
    rest = blk_at((uint8_t *)b + need);
    rest->size_flags = size - need;
    rest->prev_size = need;
    after = blk_next(pool, rest);
    if (after != NULL) {
        after->prev_size = size - need;
    }
    b->size_flags = need | (b->size_flags & USED);
}

void *ward_mempool_calloc(struct ward_mempool *pool, size_t n, size_t size)
{
    size_t bytes;
    uint32_t need;

    if (pool == NULL || (size != 0 && n > SIZE_MAX / size)) {
        if (pool != NULL) {
            pool->stats.failures++;
        }
        return NULL;
    }
    bytes = n * size;
    if (bytes > pool->stats.size) {
        pool->stats.failures++;
        return NULL;
    }
    need = (uint32_t)((bytes + HDR + (ALIGN - 1u)) & ~(size_t)(ALIGN - 1u));
    if (need < MIN_BLOCK) {
        need = MIN_BLOCK;
    }
    for (struct blk *b = blk_at(pool->base); b != NULL; b = blk_next(pool, b)) {
        if (blk_used(b) || blk_size(b) < need) {
            continue;
        }
        blk_split(pool, b, need);
        b->size_flags |= USED;
        pool->stats.used += blk_size(b);
        if (pool->stats.used > pool->stats.peak) {
            pool->stats.peak = pool->stats.used;
        }
        pool->stats.live++;
        pool->stats.allocs++;
        memset((uint8_t *)b + HDR, 0, blk_size(b) - HDR);
        return (uint8_t *)b + HDR;
    }
    pool->stats.failures++;
    return NULL;
}

/* Merge b with the free block after it, if any. */
static void blk_merge_next(struct ward_mempool *pool, struct blk *b)
{
    struct blk *n = blk_next(pool, b);
    struct blk *after;

    if (n == NULL || blk_used(n)) {
        return;
    }
    b->size_flags = (blk_size(b) + blk_size(n)) | (b->size_flags & USED);
    after = blk_next(pool, b);
    if (after != NULL) {
        after->prev_size = blk_size(b);
    }
}

static bool owns(const struct ward_mempool *pool, const uint8_t *p)
{
    return p >= pool->base + HDR && p < pool->end && ((uintptr_t)p & (ALIGN - 1u)) == 0;
}

void ward_mempool_free(struct ward_mempool *pool, void *ptr)
{
    struct blk *b;

    if (pool == NULL || ptr == NULL) {
        return;
    }
    if (!owns(pool, ptr) || !blk_used(b = blk_at((uint8_t *)ptr - HDR))) {
        pool->stats.bad_frees++;
        return;
    }
    pool->stats.used -= blk_size(b);
    pool->stats.live--;
    b->size_flags &= ~USED;
    blk_merge_next(pool, b);
    if (b->prev_size != 0) {
        struct blk *prev = blk_at((uint8_t *)b - b->prev_size);

        if (!blk_used(prev)) {
            blk_merge_next(pool, prev);
        }
    }
}

size_t ward_mempool_largest_free(const struct ward_mempool *pool)
{
    size_t best = 0;

    for (struct blk *b = blk_at(pool->base); b != NULL; b = blk_next(pool, b)) {
        if (!blk_used(b) && blk_size(b) - HDR > best) {
            best = blk_size(b) - HDR;
        }
    }
    return best;
}

void ward_mempool_reset_peak(struct ward_mempool *pool)
{
    pool->stats.peak = pool->stats.used;
}

#if defined(MBEDTLS_PLATFORM_MEMORY) && !defined(MBEDTLS_PLATFORM_CALLOC_MACRO)
/* mbedTLS's hooks take no context: the installed pool is process-wide by necessity. */
static struct ward_mempool *s_mbedtls_pool;

static void *mbedtls_pool_calloc(size_t n, size_t size)
{
    return ward_mempool_calloc(s_mbedtls_pool, n, size);
}

static void mbedtls_pool_free(void *ptr)
{
    ward_mempool_free(s_mbedtls_pool, ptr);
}

int ward_mempool_install_mbedtls(struct ward_mempool *pool)
{
    if (pool == NULL) {
        return -EINVAL;
    }
    s_mbedtls_pool = pool;
    return mbedtls_platform_set_calloc_free(mbedtls_pool_calloc, mbedtls_pool_free) == 0 ? 0 : -EIO;
}
#else
int ward_mempool_install_mbedtls(struct ward_mempool *pool)
{
    (void)pool;
    return -ENOTSUP;
}
#endif
