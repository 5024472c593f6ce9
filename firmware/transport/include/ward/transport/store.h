/*
 * Byte storage under the store-and-forward journal: an append-only log with random reads.
 *
 * Backends: a file on Linux (firmware/ports/posix/journal_posix.c: append + fdatasync,
 * compaction into a new file renamed over the old one), RAM (ward/transport/store_ram.h:
 * tests and boards without persistent storage), flash (ward/transport/store_flash.h: two erase
 * regions used alternately, so a rewrite never erases the only copy).
 *
 * Durability contract: bytes are durable once sync() has returned 0. A crash may lose or
 * tear anything appended after the last sync; the journal's record framing finds the tear.
 * rewrite() is atomic: after a crash the store holds either the old or the new contents.
 */
#ifndef WARD_TRANSPORT_STORE_H_
#define WARD_TRANSPORT_STORE_H_

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/**
 * The iterator a rewrite pulls records from, in order.
 * @return 1 with *rec and *len set (valid until the next call), 0 when done, or -errno.
 */
typedef int (*ward_store_next_fn)(void *arg, const void **rec, size_t *len);

struct ward_store_ops {
    /** Bytes stored. @return 0 or -errno. */
    int (*size)(void *ctx, uint64_t *size);
    /** @return bytes read (fewer than len only at the end), or -EIO. */
    int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
    /** Append all of buf or nothing. @return 0, -ENOSPC, -EIO. */
    int (*append)(void *ctx, const void *buf, size_t len);
    /** Cut the store to len bytes (recovery drops a torn tail). @return 0 or -errno. */
    int (*truncate)(void *ctx, uint64_t len);
    /** Make everything appended so far durable. @return 0 or -EIO. */
    int (*sync)(void *ctx);
    /** Replace the contents, atomically and durably, with what next() yields. */
    int (*rewrite)(void *ctx, ward_store_next_fn next, void *arg);
};

struct ward_store {
    const struct ward_store_ops *ops;
    void *ctx;
};

static inline int ward_store_size(const struct ward_store *s, uint64_t *size)
{
    return s->ops->size != NULL ? s->ops->size(s->ctx, size) : -ENOSYS;
}

static inline int ward_store_read(const struct ward_store *s, uint64_t off, void *buf, size_t len)
{
    return s->ops->read != NULL ? s->ops->read(s->ctx, off, buf, len) : -ENOSYS;
}

static inline int ward_store_append(const struct ward_store *s, const void *buf, size_t len)
{
    return s->ops->append != NULL ? s->ops->append(s->ctx, buf, len) : -ENOSYS;
}

static inline int ward_store_truncate(const struct ward_store *s, uint64_t len)
{
    return s->ops->truncate != NULL ? s->ops->truncate(s->ctx, len) : -ENOSYS;
}

static inline int ward_store_sync(const struct ward_store *s)
{
    return s->ops->sync != NULL ? s->ops->sync(s->ctx) : -ENOSYS;
}

static inline int ward_store_rewrite(const struct ward_store *s, ward_store_next_fn next, void *arg)
{
    return s->ops->rewrite != NULL ? s->ops->rewrite(s->ctx, next, arg) : -ENOSYS;
}

#endif /* WARD_TRANSPORT_STORE_H_ */
