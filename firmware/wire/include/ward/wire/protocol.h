/*
 * The protocol's constants, one copy for both ends (docs/protocol.md): the shape versions,
 * the limits the agent writes within and the collector enforces, and the member names. The
 * agent's encoder (ward/wire/encode.h), the collector's decoder (ward/wire/decode.h) and the
 * acknowledgement (ward/wire/ack.h) all spell the format with these.
 */
#ifndef WARD_WIRE_PROTOCOL_H_
#define WARD_WIRE_PROTOCOL_H_

#include <stdint.h>

/*
 * Shape versions ("v"); docs/protocol.md says what changes them. The heartbeat and the
 * batch are at 2 (sticky fields, protocol 2.0); the health snapshot, the event and the
 * acknowledgement are unchanged at 1. A decoder takes 1 and 2 in every document.
 */
#define WARD_WIRE_V1    1
#define WARD_WIRE_V2    2
#define WARD_WIRE_V_MAX 2

/* Limits. Lengths are characters, without the NUL a buffer adds. */
#define WARD_WIRE_BOOT_LEN        16 /* bytes of a boot id */
#define WARD_WIRE_BOOT_HEX_LEN    32 /* its lower-case hex */
#define WARD_WIRE_DEVICE_MAX      63 /* a device id */
#define WARD_WIRE_SENSOR_MAX      63 /* a sensor id: printable ASCII */
#define WARD_WIRE_NAME_MAX        16 /* a state, severity, kind or reason name */
#define WARD_WIRE_TEXT_MAX        63 /* heartbeat firmware, board, arch: printable ASCII */
#define WARD_WIRE_KEY_MAX         63 /* a member name a decoder reads (longer ones are refused) */
#define WARD_WIRE_DIGEST_SHORT    16 /* hex digits of the "config" and "rules" digest prefixes */
#define WARD_WIRE_SEQ_MAX         4294967295LL     /* sequences and counts are 1..2^32-1 */
#define WARD_WIRE_INTERVAL_MAX_MS (86400000LL * 7) /* an announced heartbeat interval */

/* A time the agent never had (a sensor known only from a restored event): null. */
#define WARD_WIRE_TIME_NONE INT64_MIN

/* A drill's sensor ids start with this (docs/incidents.md, "Drills"). */
#define WARD_WIRE_DRILL_PREFIX "drill:"

/* Document types ("type"). */
#define WARD_WIRE_TYPE_BATCH     "batch"
#define WARD_WIRE_TYPE_HEARTBEAT "heartbeat"
#define WARD_WIRE_TYPE_HEALTH    "health"

/* Members. */
#define WARD_WIRE_M_V          "v"
#define WARD_WIRE_M_TYPE       "type"
#define WARD_WIRE_M_DEVICE     "device"
#define WARD_WIRE_M_BOOT       "boot"
#define WARD_WIRE_M_SEQ        "seq"
#define WARD_WIRE_M_T_MS       "t_ms"
#define WARD_WIRE_M_WALL_MS    "wall_ms"
#define WARD_WIRE_M_HEARTBEAT  "heartbeat"
#define WARD_WIRE_M_HEALTH     "health"
#define WARD_WIRE_M_EVENTS     "events"
#define WARD_WIRE_M_SENSORS    "sensors"
#define WARD_WIRE_M_STATE      "state"
#define WARD_WIRE_M_SEVERITY   "severity"
#define WARD_WIRE_M_INTERVAL   "interval_ms"
#define WARD_WIRE_M_SENSOR     "sensor"
#define WARD_WIRE_M_FROM       "from"
#define WARD_WIRE_M_TO         "to"
#define WARD_WIRE_M_VALUE      "value"
#define WARD_WIRE_M_REASON     "reason"
#define WARD_WIRE_M_COUNT      "count"
#define WARD_WIRE_M_FIRST_T_MS "first_t_ms"
#define WARD_WIRE_M_ID         "id"
#define WARD_WIRE_M_KIND       "kind"
#define WARD_WIRE_M_SINCE_MS   "since_ms"
#define WARD_WIRE_M_LAST_MS    "last_ms"
#define WARD_WIRE_M_STANDBY    "standby"
#define WARD_WIRE_M_TOTAL      "sensors_total"
#define WARD_WIRE_M_FIRST      "first"
#define WARD_WIRE_M_DELTA      "delta"
#define WARD_WIRE_M_ACKS       "acks"
#define WARD_WIRE_M_FIRMWARE   "firmware"
#define WARD_WIRE_M_BOARD      "board"
#define WARD_WIRE_M_ARCH       "arch"
#define WARD_WIRE_M_DRILL      "drill" /* ack: a drill request; heartbeat: its state; event: true */

#endif /* WARD_WIRE_PROTOCOL_H_ */
