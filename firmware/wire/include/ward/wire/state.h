/*
 * The health vocabulary every part of ward shares: sensor states, severities, and the
 * sensor classes the scheduler samples. Names are the wire names (lower case) used in the
 * rules file, the replay output and the JSON documents (docs/protocol.md).
 */
#ifndef WARD_WIRE_STATE_H_
#define WARD_WIRE_STATE_H_

#include <stdbool.h>
#include <stdint.h>

/* Sensor states. The order of the first four is the order of the threshold levels. */
enum ward_state {
    WARD_STATE_OK = 0,
    WARD_STATE_CAUTION,     /* past a caution threshold (Redfish Warning) */
    WARD_STATE_CRITICAL,    /* past a critical threshold */
    WARD_STATE_FATAL,       /* past a fatal threshold */
    WARD_STATE_FAILED,      /* the device says it failed (SMART, NVMe warning, sensor fault) */
    WARD_STATE_UNAVAILABLE, /* no reading (missing, permission, I/O error, ...) */
    WARD_STATE_COUNT,
};

/*
 * Condition levels of the engine: a state reached through a reading's value. Level n is
 * state n for n <= WARD_LEVEL_MAX, so a level converts to a state by a cast.
 */
#define WARD_LEVEL_MAX WARD_STATE_FAILED

enum ward_severity {
    WARD_SEV_NONE = 0, /* only the ok state: nothing to report */
    WARD_SEV_LOW,
    WARD_SEV_MEDIUM,
    WARD_SEV_HIGH,
    WARD_SEV_COUNT,
};

/* What the scheduler samples, each class at its own interval. */
enum ward_class {
    WARD_CLASS_TEMP = 0,
    WARD_CLASS_FAN,
    WARD_CLASS_NIC,
    WARD_CLASS_DISK,
    WARD_CLASS_HOST,
    WARD_CLASS_AGENT,     /* the agent's own health: loop lag, event log pressure */
    WARD_CLASS_HEARTBEAT, /* not a sampling class: when the heartbeat is due */
    WARD_CLASS_COUNT,
};

/** Wire name of a state ("ok", "caution", ...); "unknown" when out of range. */
const char *ward_state_name(enum ward_state state);

/** Wire name of a severity ("none", "low", "medium", "high"). */
const char *ward_severity_name(enum ward_severity sev);

/** Parse a wire name. @return the value (>= 0) or -EINVAL. */
int ward_state_parse(const char *name);
int ward_severity_parse(const char *name);
int ward_class_parse(const char *name);

/**
 * Default severity of being in a state: caution low, critical medium, fatal and failed
 * high, unavailable medium (visibility lost, nothing confirmed broken), ok none.
 */
enum ward_severity ward_state_default_severity(enum ward_state state);

#endif /* WARD_WIRE_STATE_H_ */
