/*
 * A ward_store on NOR-style flash: two erase regions used alternately, so a rewrite never
 * erases the only copy.
 *
 * Flash semantics assumed (struct ward_flash_ops): erase sets a region to 0xFF, a write can
 * only clear bits, and either may be cut short by a power loss, leaving any prefix done.
 *
 * Region layout: a header {magic "WJFS", seq, ~seq} at offset 0, written LAST when a region
 * is filled by a rewrite, then chunks, one per append: {u16 len, u16 ~len, u32 crc32 of the
 * data}, the data, padding to 4 bytes. A chunk's header is written before its data, so an
 * erased chunk header (all 0xFF) is the end of the log and nothing after it is programmed.
 *
 * Recovery at init: the valid header with the higher seq names the current region (none:
 * format region 0, the state of blank or zero-filled flash). A torn chunk (bad ~len or crc:
 * a cut in the middle of an append) ends the log and the valid chunks before it are copied
 * to the other region, so the next append never lands on half-programmed bytes. An append
 * cut short is lost; every append that returned 0 is durable (sync() has nothing to do).
 * rewrite() and truncate() fill the other region and then write its header: a cut before
 * the header's last byte leaves the old region current, so the store holds the old or the
 * new contents, never a mix.
 */
#ifndef WARD_TRANSPORT_STORE_FLASH_H_
#define WARD_TRANSPORT_STORE_FLASH_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/transport/store.h"

/** Byte access to a flash device; offsets are from the device's start. */
struct ward_flash_ops {
    /** @return 0 or -EIO. */
    int (*read)(void *ctx, uint32_t off, void *buf, size_t len);
    /** Program (clear bits only). @return 0 or -EIO. */
    int (*write)(void *ctx, uint32_t off, const void *buf, size_t len);
    /** Set [off, off + len) to 0xFF; off and len are multiples of the erase size. */
    int (*erase)(void *ctx, uint32_t off, size_t len);
};

struct ward_store_flash_config {
    const struct ward_flash_ops *ops;
    void *ctx;
    uint32_t offset;      /* of region 0; region 1 follows it */
    uint32_t region_size; /* one erase unit (or several), a multiple of 4, at least 64 */
};

struct ward_store_flash {
    struct ward_store_flash_config cfg;
    uint32_t seq;  /* of the current region */
    uint32_t wpos; /* where the next chunk goes, in the current region */
    uint64_t size; /* logical bytes stored */
    uint8_t cur;   /* 0 or 1 */
    uint32_t rewrites;
};

/**
 * Open (recover or format) the store.
 * @return 0, -EINVAL for a bad configuration, -EIO when the flash fails.
 */
int ward_store_flash_init(struct ward_store_flash *f, const struct ward_store_flash_config *cfg);

/** The store view of the flash backend. */
struct ward_store ward_store_flash(struct ward_store_flash *f);

#endif /* WARD_TRANSPORT_STORE_FLASH_H_ */
