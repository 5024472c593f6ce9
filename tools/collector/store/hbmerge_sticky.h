/*
 * Per-device slots for the heartbeat merge's sticky state (store/hbmerge.c): a table of at most
 * `cap` devices, keyed by device id, each slot holding one payload of a fixed size allocated
 * the first time the slot is used and kept until the table is freed. When every slot is taken
 * a new device evicts one by the clock (second chance) rule, so a device that keeps reporting
 * keeps its slot and one seen once goes first.
 *
 * The table only places payloads; what they hold, and whether it is still right, is the
 * caller's (hbmerge.c compares the stored document byte for byte before trusting a payload).
 */
#ifndef WARD_TOOLS_COLLECTOR_STORE_HBMERGE_STICKY_H
#define WARD_TOOLS_COLLECTOR_STORE_HBMERGE_STICKY_H

#include <stddef.h>
#include <stdint.h>

#define WCOL_STICKY_ID_MAX 64 /* bytes of a device id; a longer one is not kept */

struct wcol_sticky_table;

/** @return a table of at most cap devices (cap >= 1) with payloads of `payload` bytes. */
struct wcol_sticky_table *wcol_sticky_new(unsigned cap, size_t payload);
void wcol_sticky_free(struct wcol_sticky_table *t);

/** @return the device's payload (and mark it used), or NULL when it has none. */
void *wcol_sticky_find(struct wcol_sticky_table *t, const char *id, size_t len);

/**
 * Make p (a payload-sized buffer of the caller's) the device's payload, taking a slot (and
 * evicting another device) if it has none.
 * @return the buffer the caller now owns instead: the device's previous payload, the evicted
 *         device's, or a new one; p itself when p was not placed (id too long, no memory).
 */
void *wcol_sticky_put(struct wcol_sticky_table *t, const char *id, size_t len, void *p);

/** Devices holding a slot, and the evictions so far. */
unsigned wcol_sticky_devices(const struct wcol_sticky_table *t);
uint64_t wcol_sticky_evictions(const struct wcol_sticky_table *t);

#endif
