/*
 * A fixed-size heap over caller storage, for mbedTLS.
 *
 * mbedTLS allocates its record buffers, certificates and big numbers with calloc. On a
 * board with no heap after start-up (and to bound what TLS may take anywhere), those calls
 * are routed here with ward_mempool_install_mbedtls(). Blocks carry boundary tags, so free
 * is O(1) and coalesces both neighbours; allocation is first-fit over the pool, which stays
 * short (tens of live blocks during a handshake). The pool reports its high-water mark, the
 * figure a board sizes CONFIG_WARD_TLS_POOL_SIZE from.
 */
#ifndef WARD_TRANSPORT_MEMPOOL_H_
#define WARD_TRANSPORT_MEMPOOL_H_

#include <stddef.h>
#include <stdint.h>

struct ward_mempool_stats {
    size_t size;        /* usable bytes of the pool */
    size_t used;        /* bytes in live blocks, headers included */
    size_t peak;        /* most bytes ever in use */
    uint32_t live;      /* blocks allocated and not freed */
    uint32_t failures;  /* requests refused: pool exhausted or size overflow */
    uint32_t bad_frees; /* frees of pointers the pool never handed out */
    uint64_t allocs;    /* successful allocations */
};

struct ward_mempool {
    uint8_t *base; /* 8-byte aligned start of the first block */
    uint8_t *end;
    struct ward_mempool_stats stats;
};

/**
 * Prepare a pool over caller storage (any alignment; the pool aligns itself).
 * @return 0, -EINVAL for a NULL pointer or fewer than 64 bytes.
 */
int ward_mempool_init(struct ward_mempool *pool, void *storage, size_t size);

/** Zeroed memory for n * size bytes, or NULL (counted in stats.failures). */
void *ward_mempool_calloc(struct ward_mempool *pool, size_t n, size_t size);

/** Return a block; NULL is ignored; a pointer the pool never gave out is counted, not used. */
void ward_mempool_free(struct ward_mempool *pool, void *ptr);

/** Largest single allocation that would succeed now. */
size_t ward_mempool_largest_free(const struct ward_mempool *pool);

/** Forget the high-water mark (the next peak is measured from what is in use now). */
void ward_mempool_reset_peak(struct ward_mempool *pool);

/**
 * Route mbedtls_calloc/mbedtls_free to this pool (process-wide: mbedTLS's hooks are
 * global). Call before the first mbedTLS allocation.
 * @return 0, -ENOTSUP when mbedTLS was built without MBEDTLS_PLATFORM_MEMORY.
 */
int ward_mempool_install_mbedtls(struct ward_mempool *pool);

#endif /* WARD_TRANSPORT_MEMPOOL_H_ */
