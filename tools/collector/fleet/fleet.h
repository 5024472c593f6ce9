/*
 * Fleet state: every device the collector has heard from, in memory, bounded.
 *
 * A device is `up` while its heartbeats arrive and `silent` once the last one is older than
 * `silent_factor` x its heartbeat interval. Both transitions are events of severity high
 * (the higher of the two states' severities, as the agent's engine rates transitions),
 * stored like device events with source "collector". In-memory state changes only after the
 * storage commit that carried the heartbeat; state changes are written in the next group
 * commit, and stay pending until one succeeds.
 *
 * On start-up the devices are loaded from storage. A device that was up gets a fresh
 * observation window starting at the collector's start: whether it reported while the
 * collector was down is unknown, and its queued reports are about to arrive.
 */
#ifndef WARD_TOOLS_COLLECTOR_FLEET_H_
#define WARD_TOOLS_COLLECTOR_FLEET_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ident.h"
#include "store.h"

#define WARD_BOOT_ID_MAX 64
#define WARD_HEALTH_MAX  16

enum ward_fleet_state {
    WARD_FLEET_UP = 0,
    WARD_FLEET_SILENT = 1,
};

struct ward_fleet_device {
    char id[WARD_DEVICE_ID_MAX + 1];
    char boot_id[WARD_BOOT_ID_MAX + 1];
    char health[WARD_HEALTH_MAX + 1];
    uint8_t state;          /* enum ward_fleet_state */
    uint8_t stored_state;   /* as last written to storage */
    bool dirty;             /* state differs from storage; on the dirty list */
    bool heard;             /* at least one heartbeat since the collector knows it */
    int64_t first_seen_ms;  /* wall clock */
    int64_t last_seen_ms;   /* any request */
    int64_t last_hb_ms;     /* wall clock of the last heartbeat, 0 never */
    uint64_t last_hb_mono;  /* monotonic ms of the last heartbeat (or of start-up) */
    int64_t interval_ms;    /* heartbeat interval the device announced, 0 unknown */
    int64_t state_since_ms; /* wall clock of the last transition */
    uint64_t requests;
    uint64_t events_stored;
    struct ward_fleet_device *hnext;
    struct ward_fleet_device *dnext;
};

/* What one committed request taught about its device. */
struct ward_fleet_report {
    bool has_heartbeat;
    char boot_id[WARD_BOOT_ID_MAX + 1];
    char health[WARD_HEALTH_MAX + 1];
    int64_t interval_ms;
    uint32_t events_stored;
};

struct ward_fleet {
    struct ward_fleet_device **buckets;
    size_t nbuckets;
    size_t count;
    size_t reserved; /* devices staged but not yet committed */
    size_t max;
    unsigned silent_factor;
    int64_t default_interval_ms;
    struct ward_fleet_device *dirty;
    struct ward_fleet_device *inflight; /* state changes staged in the open transaction */
    size_t up, silent;
    uint64_t transitions;
};

/** @return 0, -EINVAL (zero limits), -ENOMEM. */
int ward_fleet_init(struct ward_fleet *f, size_t max_devices, unsigned silent_factor,
                    int64_t default_interval_ms);
void ward_fleet_free(struct ward_fleet *f);

struct ward_fleet_device *ward_fleet_find(struct ward_fleet *f, const char *id);

/** Hold room for a device a request is about to add. @return 0 or -ENOSPC (fleet full). */
int ward_fleet_reserve(struct ward_fleet *f, const char *id);
/** Give the room back (the request failed, or it was committed and applied). */
void ward_fleet_unreserve(struct ward_fleet *f);

/** Load devices from storage at start-up. @return 0 or the store's error. */
int ward_fleet_load(struct ward_fleet *f, struct ward_store *st, uint64_t now_mono);

/** Apply a committed request. @return the device, NULL only when the fleet is full. */
struct ward_fleet_device *ward_fleet_heard(struct ward_fleet *f, const char *id,
                                           const struct ward_fleet_report *r, int64_t now_ms,
                                           uint64_t now_mono);

/** Mark devices silent whose heartbeat is overdue. @return how many changed. */
unsigned ward_fleet_check(struct ward_fleet *f, int64_t now_ms, uint64_t now_mono);

/** True when state changes wait to be written. */
bool ward_fleet_dirty(const struct ward_fleet *f);

/** Stage pending state changes and their events into the open transaction. */
int ward_fleet_stage(struct ward_fleet *f, struct ward_store *st, int64_t now_ms);

/** The transaction that carried ward_fleet_stage() committed (ok) or was rolled back. */
void ward_fleet_committed(struct ward_fleet *f, bool ok);

/** Devices sorted by id into out (at most cap). @return how many. */
size_t ward_fleet_sorted(struct ward_fleet *f, struct ward_fleet_device **out, size_t cap);

const char *ward_fleet_state_name(uint8_t state);

#endif /* WARD_TOOLS_COLLECTOR_FLEET_H_ */
