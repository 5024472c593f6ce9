/*
 * Decoder of the agent's ingest batch (docs/protocol.md): the collector's side of the
 * documents the agent writes with ward/wire/encode.h.
 *
 * It reads with the firmware's own pull scanner (ward/base/jscan.h, which the agent also uses for
 * the collector's acknowledgements), so one fuzzer exercises the scanner from both ends, and
 * 64-bit integers are read exactly. Nothing is allocated: strings are copied into the
 * caller's structures, and each document (heartbeat, health snapshot, event) is also kept as
 * the exact span of the body it came from, so the collector stores what the agent sent,
 * including fields this collector does not know yet (unknown members are skipped, not
 * refused).
 *
 * Refused (-EPROTO, with a one-line reason): invalid UTF-8, malformed JSON, a fraction or
 * exponent anywhere, a version other than 1, a missing or ill-typed required member, a
 * duplicate member, a boot id that is not 32 lower-case hex digits, an unknown state or
 * severity, a sequence outside 1..2^32-1, a heartbeat or snapshot naming another device or
 * boot than the batch; device-supplied text a terminal would act on (docs/protocol.md,
 * "Conventions"): a device id, event sensor id, heartbeat firmware, board or arch that is not
 * 1-63 printable ASCII, and a control character (C0, DEL, C1) in any other string or member
 * name. Too many events: -E2BIG.
 *
 * Readings come out typed (struct ward_wire_reading): an event's value, state and severity,
 * and, when the caller gives room for them, each sensor of the health snapshot with its
 * value, kind, state and severity. The snapshot's sensors are read leniently, as before
 * they were only skipped: a member of an unexpected type is skipped and left untyped, never
 * refused.
 */
#ifndef WARD_WIRE_DECODE_H_
#define WARD_WIRE_DECODE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/wire/ack.h"
#include "ward/wire/protocol.h"

/* state or severity not sent, or a name this decoder does not know (snapshot sensors only) */
#define WARD_WIRE_UNKNOWN 0xff

/* A reading as decoded: its value, the kind of sensor (which fixes the unit) and status. */
struct ward_wire_reading {
    bool has_value;   /* false: "value" was null, the reading had none */
    int64_t value;    /* in the unit of the kind: milli-degrees C, RPM, bytes, ... */
    uint8_t state;    /* enum ward_state, or WARD_WIRE_UNKNOWN */
    uint8_t severity; /* enum ward_severity, or WARD_WIRE_UNKNOWN */
    char kind[WARD_WIRE_NAME_MAX + 1]; /* rule kind ("threshold", "rate", ...); "" in events */
};

struct ward_ingest_event {
    char boot[WARD_WIRE_BOOT_HEX_LEN + 1];
    int64_t seq;
    int64_t t_ms;
    int64_t wall_ms; /* 0 when the agent did not know the wall clock */
    char sensor[WARD_WIRE_SENSOR_MAX + 1];
    char from[WARD_WIRE_NAME_MAX + 1];
    char to[WARD_WIRE_NAME_MAX + 1];
    char severity[WARD_WIRE_NAME_MAX + 1];
    uint8_t from_state;               /* enum ward_state of from */
    struct ward_wire_reading reading; /* value, state (to) and severity, typed */
    uint32_t count;                   /* occurrences folded into this event */
    const char *doc;                  /* the event object as received (a span of the body) */
    size_t doc_len;
};

/* One sensor of the health snapshot, typed. */
struct ward_ingest_sensor {
    char id[WARD_WIRE_SENSOR_MAX + 1]; /* "" when absent or not a fitting string */
    struct ward_wire_reading reading;
    int64_t since_ms; /* WARD_WIRE_TIME_NONE (INT64_MIN) when null or absent */
    int64_t last_ms;
    bool standby;
};

struct ward_ingest_batch {
    char device[WARD_WIRE_DEVICE_MAX + 1];
    char boot[WARD_WIRE_BOOT_HEX_LEN + 1];
    bool has_heartbeat;
    int64_t hb_seq;
    int64_t hb_t_ms;
    int64_t interval_ms;                 /* announced heartbeat interval, 0 when absent */
    char health[WARD_WIRE_NAME_MAX + 1]; /* heartbeat.health.state, "" when absent */
    const char *heartbeat;               /* spans of the body, NULL when absent */
    size_t heartbeat_len;
    const char *snapshot;
    size_t snapshot_len;
    bool snapshot_delta; /* a delta page ("delta": true): only changed sensors, merged by id */
    struct ward_ingest_event *events; /* caller's array */
    unsigned max_events;
    unsigned n_events;
    struct ward_ingest_sensor *sensors; /* caller's array, may be NULL (max_sensors 0) */
    unsigned max_sensors;
    unsigned n_sensors;    /* typed into sensors[] */
    unsigned sensors_seen; /* elements of the snapshot's "sensors" (more than max are skipped) */
};

/**
 * Decode one batch. `scratch` holds strings being skipped (unknown members); give it at least
 * as many bytes as the body.
 * @return 0; -EPROTO (*why says what is wrong); -E2BIG (more than max_events events);
 *         -EINVAL for NULL arguments.
 */
int ward_ingest_decode(const char *body, size_t len, struct ward_ingest_batch *b, char *scratch,
                       size_t scratch_len, const char **why);

/**
 * ward_ingest_decode() as it was before it read most batches in one pass: always a shallow
 * pass for the batch's device and boot, then the full one. The reference the one pass is
 * tested against (unit_jscan, fuzz_wire_decode): same result, same batch, same *why.
 */
int ward_ingest_decode_two_pass(const char *body, size_t len, struct ward_ingest_batch *b,
                                char *scratch, size_t scratch_len, const char **why);

/** Is text[0..len) valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF)? */
bool ward_utf8_valid(const char *text, size_t len);

#endif /* WARD_WIRE_DECODE_H_ */
