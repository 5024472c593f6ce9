/*
 * A ward_store in caller-provided RAM: for tests and for boards whose flash backend does not
 * exist yet (the Cortex-M board). Contents do not survive a reset, which is the only
 * difference the journal sees. Rewrites compact in place (records only move towards the
 * start).
 */
#ifndef WARD_TRANSPORT_STORE_RAM_H_
#define WARD_TRANSPORT_STORE_RAM_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/transport/store.h"

struct ward_store_ram {
    uint8_t *buf;
    size_t cap;
    size_t len;
    size_t synced; /* bytes covered by the last sync (what a "crash" would keep) */
    uint32_t syncs;
};

/** @return 0, -EINVAL for NULL storage. */
int ward_store_ram_init(struct ward_store_ram *ram, void *storage, size_t cap);

/** The store view of the RAM backend. */
struct ward_store ward_store_ram(struct ward_store_ram *ram);

#endif /* WARD_TRANSPORT_STORE_RAM_H_ */
