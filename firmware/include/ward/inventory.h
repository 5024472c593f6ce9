/*
 * The agent's inventory (docs/protocol.md, heartbeat member `inventory`): its build id and the
 * hardware the HAL reports (ward/hal/inventory.h): disks, NICs and sensor chips. Read on the
 * first report, again after each new connection and at a slow refresh, never per heartbeat;
 * it goes out with the other sticky fields only, and a change of it makes the next heartbeat
 * full. Stored in the agent's context (fixed tables, no heap); every string is printable ASCII
 * within the wire's bounds, a MAC is lower-case "xx:xx:xx:xx:xx:xx" or left out.
 */
#ifndef WARD_INVENTORY_H_
#define WARD_INVENTORY_H_

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "ward/base/config.h"
#include "ward/hal/hal.h"

#define WARD_INVENTORY_MAX CONFIG_WARD_INVENTORY_MAX_ITEMS /* per list */
/* Disk and NIC slots: none without CONFIG_WARD_INVENTORY_DISKS_NICS (one unused, as C
 * has no empty arrays). */
#define WARD_INVENTORY_MAX_HW                                                                      \
    (IS_ENABLED(CONFIG_WARD_INVENTORY_DISKS_NICS) ? WARD_INVENTORY_MAX : 1)
#define WARD_INVENTORY_REFRESH_MS (10 * 60 * 1000) /* hot-swapped disks */

struct ward_inventory {
    struct ward_inv_disk disk[WARD_INVENTORY_MAX_HW];
    struct ward_inv_nic nic[WARD_INVENTORY_MAX_HW];
    struct ward_inv_chip chip[WARD_INVENTORY_MAX];
    int64_t read_ms; /* when last read */
    uint32_t hash;   /* of everything above that goes on the wire */
    uint8_t n_disk;
    uint8_t n_nic;
    uint8_t n_chip;
    bool fresh; /* read at least once and not marked stale since */
};

/**
 * Read the inventory again when it was never read, was marked stale, or is older than
 * WARD_INVENTORY_REFRESH_MS. hal NULL: no hardware (the build id only). Without an inventory
 * device the chips are the HAL's temperature and fan devices with their channel counts.
 */
void ward_inventory_refresh(struct ward_inventory *inv, const struct ward_hal *hal, int64_t now_ms);

/** Read again at the next refresh (a new connection: cheap, and catches a swap). */
void ward_inventory_stale(struct ward_inventory *inv);

/** Fold the inventory's hash into a sticky-values hash (FNV-1a). */
uint32_t ward_inventory_mix(const struct ward_inventory *inv, uint32_t h);

/** The agent's build id: "VERSION+gREVISION" (or "VERSION" when built outside git). */
const char *ward_inventory_build(void);

/**
 * Put the `inventory` member on a full heartbeat: build, then disks, nics and chips when there
 * are any. Strings are referenced: inv must outlive the printing.
 * @return hb, or NULL when hb is NULL or the arena is full (the document is then dropped).
 */
cJSON *ward_inventory_json(cJSON *hb, const struct ward_inventory *inv);

#endif /* WARD_INVENTORY_H_ */
