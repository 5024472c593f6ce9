/*
 * The agent's inventory (docs/protocol.md, heartbeat member `inventory`): its build id and the
 * hardware the HAL reports (ward/hal/inventory.h): disks, NICs and sensor chips. Read on the
 * first report, again after each new connection and at a slow refresh, never per heartbeat,
 * and rendered then into a fixed text buffer in the agent's context (no heap), which a full
 * heartbeat carries as one raw JSON node: the arena never holds a tree of it, and the request
 * buffer only its bytes. It goes out with the other sticky fields only, and a change of it
 * makes the next heartbeat full. Every string is printable ASCII within the wire's bounds
 * (escaped), a MAC is lower-case "xx:xx:xx:xx:xx:xx" or left out; items that do not fit the
 * buffer are left out whole, so the text is always one valid JSON object.
 */
#ifndef WARD_INVENTORY_H_
#define WARD_INVENTORY_H_

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "ward/base/config.h"
#include "ward/hal/hal.h"

#define WARD_INVENTORY_TEXT_SIZE  CONFIG_WARD_INVENTORY_TEXT_SIZE
#define WARD_INVENTORY_LIST_MAX   64               /* the wire's bound on each list */
#define WARD_INVENTORY_REFRESH_MS (10 * 60 * 1000) /* hot-swapped disks */

struct ward_inventory {
    char text[WARD_INVENTORY_TEXT_SIZE]; /* {"build":...}: the member's value */
    int64_t read_ms;                     /* when last read */
    uint32_t hash;                       /* of text */
    uint16_t left_out;                   /* items that did not fit text */
    bool fresh;                          /* read at least once and not marked stale since */
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
 * Put the `inventory` member (inv's text, by reference: inv must outlive the printing) on a
 * full heartbeat. @return hb, or NULL when hb is NULL, inv was never read or the arena is full
 * (the document is then dropped).
 */
cJSON *ward_inventory_json(cJSON *hb, const struct ward_inventory *inv);

#endif /* WARD_INVENTORY_H_ */
