/*
 * The collector's storage interface. SQLite (store_sqlite.c) is the embedded default; a
 * server database is another ops table behind the same calls (one file per backend).
 *
 * Write model: the collector's group commit (commit/group.c) hands the backend a whole batch
 * (every request that completed in one pass of the event loop, plus the fleet's state
 * changes) in one call, commit_batch(), and answers none of the requests until it returned 0.
 * Inside, each request is all-or-nothing: one request that fails to store does not spoil the
 * others in the batch (its result says so). A backend does the batch in as few round trips
 * as it can: a server database never makes the event loop wait once per row.
 * Reads (queries from the operator API) see committed data only.
 *
 * Deduplication: an event is identified by (device, boot id, sequence); storing an identity
 * already stored changes nothing and says so (inserted = false).
 */
#ifndef WCOL_STORE_STORE_H_
#define WCOL_STORE_STORE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/hbmerge.h"

/* One event: from a device (seq >= 0) or raised by the collector itself (seq < 0). */
struct wcol_store_event {
    int64_t id; /* collector-assigned, increasing: the cursor of GET /v1/events */
    const char *device;
    const char *boot_id; /* "" for collector events */
    int64_t seq;
    int64_t received_ms; /* collector's wall clock */
    int64_t time_ms;     /* device's wall clock when it knew it, else 0 */
    const char *sensor;
    const char *from_state;
    const char *to_state;
    const char *severity;
    int severity_rank; /* enum ward_severity: none 0, low 1, medium 2, high 3 */
    const char *doc;   /* the event as JSON */
    size_t doc_len;
    bool inserted; /* commit_batch(): false when its identity was already stored */
};

/* What one request tells about its device (the row of GET /v1/devices/{id}). */
struct wcol_store_report {
    const char *device;
    int64_t received_ms;
    const char *peer;
    bool has_heartbeat;
    const char *boot_id;
    const char *health;    /* overall state */
    int64_t interval_ms;   /* heartbeat interval, 0 unknown */
    const char *heartbeat; /* JSON, NULL when the request carried none */
    size_t heartbeat_len;
    const char *snapshot; /* JSON of the health snapshot, NULL when absent */
    size_t snapshot_len;
};

/* A device row as loaded at start-up and listed by the API. */
struct wcol_store_device {
    const char *id;
    const char *state; /* "up" or "silent" */
    int64_t first_seen_ms;
    int64_t last_seen_ms;
    int64_t last_heartbeat_ms; /* 0 never */
    int64_t interval_ms;
    const char *boot_id;
    const char *health;
    const char *heartbeat; /* JSON or NULL */
    size_t heartbeat_len;
    const char *snapshot; /* JSON or NULL */
    size_t snapshot_len;
};

struct wcol_store_event_query {
    const char *device; /* NULL: every device */
    int64_t after_id;   /* events with id > after_id */
    int min_rank;       /* severity rank at least this */
    unsigned limit;
    bool newest_first; /* false: oldest first (cursor order) */
};

struct wcol_store_stats {
    int64_t events;
    int64_t devices;
    int64_t db_bytes;
    /* The work of the last report that carried a snapshot page, in the backend's own unit
     * (SQLite: virtual machine steps): what tests compare, never a time. */
    int64_t snapshot_work_last;
    int64_t snapshots_refused; /* pages refused: the device would exceed max_sensors */
    /* The heartbeat merge's sticky state per device (store/hbmerge.h; SQLite only: on
     * PostgreSQL the merge is the server's and this stays zero). */
    struct wcol_hbmerge_stats hb_sticky;
};

/* One boot a request names: the backend fills in the highest stored sequence (-1 none). */
struct wcol_store_ack {
    const char *boot_id;
    int64_t seq;
};

/* One request's writes, and what became of them. */
struct wcol_store_put {
    const char *device;
    struct wcol_store_event *events; /* in; each event's `inserted` is set */
    unsigned n_events;
    const struct wcol_store_report *report; /* in, NULL when none */
    struct wcol_store_ack *acks;            /* in: boots; out: their highest stored seq */
    unsigned n_acks;
    int status; /* out: 0 stored; else a negative errno and nothing of it is stored */
    uint32_t stored, duplicates;
};

/* A device state change the collector itself decided (silence, back up) and its event. */
struct wcol_store_state_change {
    const char *device;
    const char *state;
    int64_t at_ms;
    struct wcol_store_event event;
};

/* Everything one group commit writes, in one transaction. */
struct wcol_store_batch {
    struct wcol_store_put *puts;
    unsigned n_puts;
    const struct wcol_store_state_change *changes;
    unsigned n_changes;
};

/*
 * Where an incremental read of the devices stands (sync_devices; docs/storage.md, "The fleet
 * sync"). Zeroed by the caller once; the backend owns the fields. One read may take several
 * calls (one page each) and ends with done.
 */
struct wcol_store_sync {
    uint64_t horizon;      /* every change older than this was read; 0: nothing read yet */
    uint64_t next_horizon; /* what horizon becomes when the read in progress ends */
    uint64_t at_xid;       /* the read in progress: the last row taken */
    int64_t at_seq;
    uint64_t conn; /* the backend connection the positions belong to */
    bool active;   /* a read in progress */
    bool full;     /* out: the read in progress started from nothing (every device) */
    bool done;     /* out: this call ended the read */
    unsigned rows; /* out: rows this call read */
};

/* What one retention slice did (expire()). */
struct wcol_store_expired {
    uint64_t events; /* events deleted, a dropped day partition's included */
    unsigned rows;   /* rows deleted one by one (events, their identities): the slice's work */
};

typedef int (*wcol_store_event_cb)(void *ctx, const struct wcol_store_event *ev);
typedef int (*wcol_store_device_cb)(void *ctx, const struct wcol_store_device *dev);

struct wcol_store_ops {
    const char *name;
    /**
     * Store a batch in one transaction and commit it. A request that fails on its own is
     * undone alone (its put's status); the changes are all-or-nothing with the transaction.
     * @return 0 committed (durable); else a negative errno (-EBUSY locked, -EIO) and nothing
     * of the batch is stored.
     */
    int (*commit_batch)(void *impl, struct wcol_store_batch *batch);
    /** Delete up to `max` of the oldest events received before cutoff_ms (and as many of
     *  their identities, where they are apart), in a transaction of its own; PostgreSQL with
     *  whole_days drops the day partitions wholly before it instead. out: what it did (zeroed
     *  on failure). */
    int (*expire)(void *impl, int64_t cutoff_ms, unsigned max, struct wcol_store_expired *out);
    /* Reads: committed data only. A callback returning non-zero stops the walk. */
    int (*load_devices)(void *impl, wcol_store_device_cb cb, void *ctx);
    /**
     * The devices written since the last complete read (every device on the first read, after
     * a reconnection or a failover), one page of at most max_rows per call. NULL in a backend
     * that has no other writers (SQLite). @return 0 (s->done when the read ended), -EIO.
     */
    int (*sync_devices)(void *impl, struct wcol_store_sync *s, unsigned max_rows,
                        wcol_store_device_cb cb, void *ctx);
    int (*get_device)(void *impl, const char *id, wcol_store_device_cb cb, void *ctx);
    int (*query_events)(void *impl, const struct wcol_store_event_query *q, wcol_store_event_cb cb,
                        void *ctx);
    int (*stats)(void *impl, struct wcol_store_stats *out);
    void (*close)(void *impl);
};

struct wcol_store {
    const struct wcol_store_ops *ops;
    void *impl;
};

#define WCOL_STORE_MAX_SENSORS 4096u /* per device, unless the options say otherwise */

struct wcol_store_sqlite_opts {
    const char *path;
    unsigned busy_timeout_ms; /* how long a write waits for another process's lock */
    unsigned max_sensors;     /* per device in the merged snapshot; 0: the default, 4096 */
};

/**
 * Open (creating when absent) a SQLite database in WAL mode with full fsync on commit.
 * @return 0, -EIO with one log line saying what failed on which file.
 */
int wcol_store_sqlite_open(struct wcol_store *st, const struct wcol_store_sqlite_opts *opts);

/* The width of PostgreSQL's event partitions: one per UTC day of received_ms. */
#define WCOL_STORE_PG_DAY_MS 86400000ll

struct wcol_store_pg_opts {
    const char *conninfo; /* libpq connection string (docs/storage.md) */
    unsigned max_sensors; /* per device in the merged snapshot; 0: the default, 4096 */
    /* expire() drops whole day partitions only (and prunes events_default row by row): for a
     * retention of a day or more. false: every expired event one by one, as SQLite. */
    bool whole_days;
};

/**
 * Connect to PostgreSQL (14 or later), apply the schema migrations under an advisory lock.
 * @return 0, -EIO with one log line (unreachable, refused, schema newer than this binary).
 */
int wcol_store_pg_open(struct wcol_store *st, const struct wcol_store_pg_opts *opts);

/** Severity rank of a wire name (the agent's severity table, ward/state.h): none 0, low 1,
 *  medium 2, high 3; -1 for anything else. */
int wcol_store_severity_rank(const char *name);

/** Store a batch (ops->commit_batch). @return as commit_batch. */
static inline int wcol_store_commit_batch(struct wcol_store *st, struct wcol_store_batch *b)
{
    return st->ops->commit_batch(st->impl, b);
}

#endif /* WCOL_STORE_STORE_H_ */
