/*
 * Inventory, configuration changes, change windows and outdated agents (docs/operations.md,
 * "Inventory and change management").
 *
 * What each device is (agent version, board, arch, config and rules digests, boot id, and the
 * items of an optional `inventory` object of its heartbeat) is kept in STATE/inventory.db,
 * or in the PostgreSQL database of the store (shared by every collector), with every change
 * and its time. An after-commit subscriber (commit/bus.h) copies each full
 * heartbeat (one that carries the sticky fields) to a queue; a thread of its own compares it
 * with the stored inventory and records what changed, linked to the change window (opened by
 * an operator: wardctl change open) that covers the device at that time, or flagged
 * unplanned. Devices whose agent is older than min-agent-version are listed as outdated.
 */
#ifndef WCOL_INVENTORY_INVENTORY_H_
#define WCOL_INVENTORY_INVENTORY_H_

#include <stdbool.h>
#include <stddef.h>

struct wcol_inventory;
struct wcol_bus;
struct wcol_conn;
struct wcol_prom;
struct wcol_incidents;

/**
 * Open (creating) inventory.db beside the store's database, or with pg_conninfo (not NULL) the
 * store's PostgreSQL database that every collector shares (inventory/invdb.h), and start the
 * thread. min_version: the minimum agent version ("0.2.0"), NULL for no policy.
 * @return 0, -EIO (logged), -ENOMEM, -EINVAL (min_version not a dotted version).
 */
int wcol_inventory_open(struct wcol_inventory **out, const char *db_path, const char *pg_conninfo,
                        const char *min_version);

/** Feed the queue from every stored report with a full heartbeat. */
int wcol_inventory_subscribe(struct wcol_inventory *inv, struct wcol_bus *bus);

/** Stop the thread (the queue is drained first) and close. NULL is fine. */
void wcol_inventory_close(struct wcol_inventory *inv);

/** Operator requests: /v1/devices/{id}/inventory, /v1/changes, /v1/change-windows...,
 *  /v1/outdated. who is the token's name. @return true when handled (answered). */
bool wcol_inventory_request(struct wcol_inventory *inv, struct wcol_conn *conn, const char *who,
                            const char *body, size_t len);

/** The inventory families of GET /metrics (inv may be NULL: nothing). */
void wcol_inventory_metrics(struct wcol_inventory *inv, struct wcol_prom *w);

/** Compare dotted versions ("0.10.1" > "0.9"): <0, 0, >0; a non-numeric part compares as
 *  text after the numbers. */
int wcol_version_cmp(const char *a, const char *b);

/**
 * Raise a low incident for every outdated device through inc (NULL: none, as with PostgreSQL)
 * and clear it when the device is updated or removed. Called once after both are open; the
 * first pass over the stored devices runs on the inventory thread.
 */
void wcol_inventory_set_incidents(struct wcol_inventory *inv, struct wcol_incidents *inc);

/** The device was removed (decommissioned): its outdated incident is cleared and it leaves
 *  the outdated list until it reports again. inv NULL: nothing. */
void wcol_inventory_device_removed(struct wcol_inventory *inv, const char *device);

/** Wait until the queue is empty (tests and the clean stop). */
void wcol_inventory_flush(struct wcol_inventory *inv);

#endif /* WCOL_INVENTORY_INVENTORY_H_ */
