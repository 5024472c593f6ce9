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
#ifndef WCOL_FLEET_FLEET_H_
#define WCOL_FLEET_FLEET_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/wire/state.h"

#include "common/ident.h"
#include "store/store.h"

#define WCOL_BOOT_ID_MAX 64
#define WCOL_HEALTH_MAX  16

/* Both transitions (up -> silent, silent -> up) are rated the higher of the two states'. */
#define WCOL_FLEET_TRANSITION_SEVERITY WARD_SEV_HIGH

enum wcol_fleet_state {
    WCOL_FLEET_UP = 0,
    WCOL_FLEET_SILENT = 1,
    WCOL_FLEET_REMOVED = 2, /* decommissioned (wardctl device remove): kept, no longer watched */
};

#define WCOL_FLEET_ALERT_MAX 24

struct wcol_fleet_device {
    char id[WCOL_DEVICE_ID_MAX + 1];
    char boot_id[WCOL_BOOT_ID_MAX + 1];
    char health[WCOL_HEALTH_MAX + 1];
    uint8_t state;          /* enum wcol_fleet_state */
    uint8_t stored_state;   /* as last written to storage */
    bool dirty;             /* state differs from storage; on the dirty list */
    bool heard;             /* at least one heartbeat since the collector knows it */
    bool hb_this_run;       /* a heartbeat since this process started: last_hb_mono is its time */
    int64_t first_seen_ms;  /* wall clock */
    int64_t last_seen_ms;   /* any request */
    int64_t last_hb_ms;     /* wall clock of the last heartbeat, 0 never */
    uint64_t last_hb_mono;  /* monotonic ms of the last heartbeat (or of start-up) */
    int64_t interval_ms;    /* heartbeat interval the device announced, 0 unknown */
    int64_t state_since_ms; /* wall clock of the last transition */
    uint64_t requests;
    uint64_t events_stored;
    /* A collector event about the device waiting for the next commit (wcol_fleet_raise). */
    char alert_sensor[WCOL_FLEET_ALERT_MAX];
    char alert_from[WCOL_FLEET_ALERT_MAX];
    char alert_to[WCOL_FLEET_ALERT_MAX];
    struct wcol_fleet_device *hnext;
    struct wcol_fleet_device *dnext;
};

/* What one committed request taught about its device. */
struct wcol_fleet_report {
    bool has_heartbeat;
    char boot_id[WCOL_BOOT_ID_MAX + 1];
    char health[WCOL_HEALTH_MAX + 1];
    int64_t interval_ms;
    uint32_t events_stored;
};

struct wcol_fleet {
    struct wcol_fleet_device **buckets;
    size_t nbuckets;
    size_t count;
    size_t reserved; /* devices staged but not yet committed */
    size_t max;
    unsigned silent_factor;
    int64_t default_interval_ms;
    struct wcol_fleet_device *dirty;
    struct wcol_fleet_device *inflight; /* state changes staged in the open transaction */
    size_t up, silent, removed;
    uint64_t transitions;
};

/** @return 0, -EINVAL (zero limits), -ENOMEM. */
int wcol_fleet_init(struct wcol_fleet *f, size_t max_devices, unsigned silent_factor,
                    int64_t default_interval_ms);
void wcol_fleet_free(struct wcol_fleet *f);

struct wcol_fleet_device *wcol_fleet_find(struct wcol_fleet *f, const char *id);

/** Hold room for a device a request is about to add. @return 0 or -ENOSPC (fleet full). */
int wcol_fleet_reserve(struct wcol_fleet *f, const char *id);
/** Give the room back (the request failed, or it was committed and applied). */
void wcol_fleet_unreserve(struct wcol_fleet *f);

/** Load devices from storage at start-up. @return 0 or the store's error. */
int wcol_fleet_load(struct wcol_fleet *f, struct wcol_store *st, uint64_t now_mono);

/**
 * Take a device row another collector may have written (the cluster's fleet sync): a newer
 * heartbeat moves the device's window forward (judged from the row's wall-clock time, never
 * before floor_mono: a fresh window from this collector's start), and the stored state
 * replaces the one in memory unless a change of this collector's own waits to be written.
 * A device not yet known is added. @return 0 or -ENOSPC (the fleet is full).
 */
int wcol_fleet_merge(struct wcol_fleet *f, const struct wcol_store_device *sd, int64_t now_ms,
                     uint64_t now_mono, uint64_t floor_mono);

/** Apply a committed request. @return the device, NULL only when the fleet is full. */
struct wcol_fleet_device *wcol_fleet_heard(struct wcol_fleet *f, const char *id,
                                           const struct wcol_fleet_report *r, int64_t now_ms,
                                           uint64_t now_mono);

/**
 * Mark devices silent whose heartbeat is overdue. The view may be up to lag_ms old (a device
 * reporting to another collector of a cluster is seen through the last fleet read back): a
 * device is silent only past the limit plus that lag, so that a late read never makes it
 * silent by mistake. @return how many changed.
 */
unsigned wcol_fleet_check(struct wcol_fleet *f, int64_t now_ms, uint64_t now_mono, uint64_t lag_ms);

/**
 * Decommission: the device goes to `removed` (a high event, as every transition); it is kept
 * with its history but never turns silent. A heartbeat brings it back up (a new certificate).
 * @return 0, -ENOENT (not in the fleet), -EALREADY.
 */
int wcol_fleet_remove(struct wcol_fleet *f, const char *id, int64_t now_ms);

/**
 * Raise a collector event about a device (sensor, from, to: up to 23 bytes each), severity
 * high, stored with the next commit like a transition. One waits per device: a later one
 * replaces it. @return 0, -ENOENT (not in the fleet).
 */
int wcol_fleet_raise(struct wcol_fleet *f, const char *id, const char *sensor, const char *from,
                     const char *to);

/** True when state changes wait to be written. */
bool wcol_fleet_dirty(const struct wcol_fleet *f);

/* Pending state changes as the store takes them (wcol_store_batch.changes). */
struct wcol_fleet_changes {
    struct wcol_store_state_change *v; /* heap, with each event's document */
    unsigned n;
};

/**
 * Describe the pending state changes for the next commit and hold them in flight until
 * wcol_fleet_committed(). @return 0, -ENOMEM (then commit nothing and call committed(false)).
 */
int wcol_fleet_stage(struct wcol_fleet *f, int64_t now_ms, struct wcol_fleet_changes *out);
void wcol_fleet_changes_free(struct wcol_fleet_changes *ch);

/** The transaction that carried wcol_fleet_stage()'s changes committed (ok) or not. */
void wcol_fleet_committed(struct wcol_fleet *f, bool ok);

/** Devices sorted by id into out (at most cap). @return how many. */
size_t wcol_fleet_sorted(struct wcol_fleet *f, struct wcol_fleet_device **out, size_t cap);

const char *wcol_fleet_state_name(uint8_t state);

#endif /* WCOL_FLEET_FLEET_H_ */
