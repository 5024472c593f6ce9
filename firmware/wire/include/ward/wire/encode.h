/*
 * The agent's side of the wire: every document as a cJSON tree, from plain values (no agent
 * state). The caller owns the allocation (cJSON hooked to a fixed arena, ward/base/json_arena.h)
 * and the printing (cJSON_PrintPreallocated into its buffer), so nothing here touches the
 * heap. Numbers are exact integers (cJSON raw values printed by ward/base/fmt.h): no board needs
 * float printf. Strings are referenced, not copied: they must outlive the printing.
 *
 * Each builder returns NULL when the arena is exhausted (a member that did not fit makes
 * its whole document NULL); ward_wire_put() passes NULL on, so a document is built with
 * `ok = ok && ward_wire_put(...)` and checked once.
 */
#ifndef WARD_WIRE_ENCODE_H_
#define WARD_WIRE_ENCODE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "ward/wire/protocol.h"

/* Device and boot of a document; a heartbeat or snapshot inside a batch has the batch's. */
struct ward_wire_ident {
    const char *device;
    const char *boot; /* WARD_WIRE_BOOT_HEX_LEN lower-case hex digits */
};

/* The heartbeat's "events" counters (32-bit on the agent), in wire order; 0 is left out. */
enum ward_wire_hb_events {
    WARD_WIRE_EV_PENDING,
    WARD_WIRE_EV_LAST_SEQ,
    WARD_WIRE_EV_DROPPED,
    WARD_WIRE_EV_DROPPED_LOW,
    WARD_WIRE_EV_DROPPED_MEDIUM,
    WARD_WIRE_EV_DROPPED_HIGH,
    WARD_WIRE_EV_FOLDED,
    WARD_WIRE_EV_ACKED,
    WARD_WIRE_EV_COUNT,
};

/* The full heartbeat's "memory" members, in wire order. */
enum ward_wire_hb_memory {
    WARD_WIRE_MEM_CONTEXT_BYTES,
    WARD_WIRE_MEM_SENSORS_USED,
    WARD_WIRE_MEM_SENSORS_MAX,
    WARD_WIRE_MEM_RATES_HIGH_WATER,
    WARD_WIRE_MEM_RATES_MAX,
    WARD_WIRE_MEM_EVENTS_HIGH_WATER,
    WARD_WIRE_MEM_EVENTS_MAX,
    WARD_WIRE_MEM_JSON_HIGH_WATER,
    WARD_WIRE_MEM_JSON_BYTES,
    WARD_WIRE_MEM_JSON_FAILURES,
    WARD_WIRE_MEM_READINGS_REFUSED,
    WARD_WIRE_MEM_HAL_ERRORS,
    WARD_WIRE_MEM_COUNT,
};

/*
 * A heartbeat. A full one carries every sticky member (uptime_ms .. rules_sha256, the loop's
 * lag_max_ms, memory); a compact one only what changes every time (docs/protocol.md).
 */
struct ward_wire_heartbeat {
    int64_t t_ms;
    int64_t wall_ms; /* written when has_wall */
    int64_t uptime_ms;
    int64_t lag_ms; /* 0: left out */
    int64_t lag_max_ms;
    uint64_t skipped;
    const char *config; /* digest prefixes (WARD_WIRE_DIGEST_SHORT hex digits) */
    const char *rules;  /* "": no rules loaded, left out */
    const char *firmware;
    const char *board;
    const char *arch;
    const char *config_sha256;
    const char *rules_sha256; /* "": left out */
    /*
     * Read when "json_arena_high_water" is written (the higher of it and the memory value),
     * so the figure includes the tree of the document being built. NULL: the memory value.
     */
    const size_t *arena_high_water;
    uint32_t seq;
    uint32_t interval_ms; /* 0: left out */
    uint32_t sensors;     /* health summary: sensors, those not ok, state and severity */
    uint32_t not_ok;
    uint32_t events[WARD_WIRE_EV_COUNT];
    uint32_t memory[WARD_WIRE_MEM_COUNT];
    uint8_t state;    /* enum ward_state */
    uint8_t severity; /* enum ward_severity; WARD_SEV_NONE: left out */
    bool has_wall;    /* wall_ms is known: written in full heartbeats */
    bool full;
    /* Compact only: nothing pending and the events counters are the last full heartbeat's
     * (docs/protocol.md): "events" is left out. */
    bool events_unchanged;
    /* Compact only: the health summary is the one the collector acknowledged last on this
     * connection (docs/protocol.md): "health" is left out. */
    bool health_unchanged;
};

/* One event: the evlog's record, with its boot and sensor as text. */
struct ward_wire_event {
    int64_t t_ms;
    int64_t first_t_ms; /* written when count > 1 */
    int64_t wall_ms;    /* written when has_wall */
    int64_t value;      /* written when has_value, null otherwise */
    uint32_t seq;       /* 1..2^32-1 */
    uint32_t count;     /* occurrences folded into this event, >= 1 */
    const char *boot;
    const char *sensor;
    const char *reason; /* NULL: none */
    uint8_t from;       /* enum ward_state */
    uint8_t to;
    uint8_t severity; /* enum ward_severity */
    bool has_wall;
    bool has_value;
};

/* One sensor of a health snapshot. */
/* Threshold levels a full snapshot page may carry: lower/upper caution, critical, fatal, in
 * that order (the HAL's enum ward_threshold_kind): even indices are lower, odd upper. */
#define WARD_WIRE_THR_COUNT 6

struct ward_wire_sensor {
    int64_t value;                    /* written when has_value, null otherwise */
    int64_t thr[WARD_WIRE_THR_COUNT]; /* where thr_present has bit (1 << index) */
    int64_t since_ms;                 /* WARD_WIRE_TIME_NONE: null */
    int64_t last_ms;
    const char *id;
    const char *kind;    /* the rule kind: "threshold", "rate", "smart", ... */
    const char *reason;  /* NULL: none */
    uint8_t state;       /* enum ward_state */
    uint8_t severity;    /* enum ward_severity */
    uint8_t thr_present; /* 0 (delta pages, rules without thresholds): no "thr" members */
    bool has_value;
    bool standby;
};

/* The head of a health snapshot page: sensors [first, first + n) of total. */
struct ward_wire_health {
    int64_t t_ms;
    uint8_t state; /* overall state and severity */
    uint8_t severity;
    uint64_t total;
    uint64_t first;
};

/** Attach item under member; false when either is NULL or the arena is full. */
bool ward_wire_put(cJSON *parent, const char *member, cJSON *item);

/** Attach obj unless it has no member (the protocol sends no empty objects or arrays). */
bool ward_wire_put_unless_empty(cJSON *parent, const char *member, cJSON *obj);

/** A heartbeat; id NULL: the heartbeat of a batch (no type, device and boot). */
cJSON *ward_wire_heartbeat_json(const struct ward_wire_heartbeat *h,
                                const struct ward_wire_ident *id);

/** An event object (standalone or in a batch's "events"). */
cJSON *ward_wire_event_json(const struct ward_wire_event *e);

/** A `ward-agent replay` line: t_ms, seq, sensor, from, to, severity, value, reason. */
cJSON *ward_wire_replay_json(const struct ward_wire_event *e);

/**
 * A health snapshot page without sensors; add them with ward_wire_health_add() on *sensors.
 */
cJSON *ward_wire_health_json(const struct ward_wire_health *h, const struct ward_wire_ident *id,
                             cJSON **sensors);

/** The same for a delta page: "delta": true, its sensors only those that changed since
 * they last went out (docs/protocol.md, "Delta pages"). */
cJSON *ward_wire_health_delta_json(const struct ward_wire_health *h,
                                   const struct ward_wire_ident *id, cJSON **sensors);

/** Append one sensor to a snapshot's "sensors". */
bool ward_wire_health_add(cJSON *sensors, const struct ward_wire_sensor *s);

/** A batch with its header; put its "heartbeat", "health" and "events" with ward_wire_put(). */
cJSON *ward_wire_batch_json(const struct ward_wire_ident *id);

/**
 * Print one event into a batch already printed in buf (*len bytes, NUL-terminated, without
 * "events" before the first call): the event becomes the last element of "events" and the
 * document stays complete after every call. So a batch holds as many events as the buffer
 * does while the arena holds one event's tree at a time.
 * @param first  the batch has no "events" yet
 * @return false (buf unchanged) when event is NULL or does not fit cap.
 */
bool ward_wire_batch_append(char *buf, size_t cap, size_t *len, bool first, const cJSON *event);

#endif /* WARD_WIRE_ENCODE_H_ */
