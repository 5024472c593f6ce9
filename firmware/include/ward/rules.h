/*
 * Health rules: how a sensor's readings become states. One rule shape serves every kind;
 * docs/config.md documents the file format and every key.
 *
 *   threshold  lower/upper caution, critical, fatal (Redfish/IPMI), hysteresis, dwell
 *   rate       the same thresholds on a counter's per-minute increase over a window,
 *              counter wrap and reset handled
 *   sustained  "above (or below) X for N ms": a one-level threshold with a dwell
 *   smart      a SMART verdict (enum ward_smart_verdict) mapped to a state
 *   nvme_critical_warning  NVMe Critical Warning bits mapped to a state
 *
 * A rule names a sensor id or a glob ('*' any run of characters, '?' one character).
 */
#ifndef WARD_RULES_H_
#define WARD_RULES_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/base/config.h"
#include "ward/hal/reading.h"
#include "ward/wire/state.h"

enum ward_rule_kind {
    WARD_RULE_THRESHOLD = 0,
    WARD_RULE_RATE,
    WARD_RULE_SUSTAINED,
    WARD_RULE_SMART,
    WARD_RULE_NVME,
    WARD_RULE_KIND_COUNT,
};

/* Bits of ward_rule.param_set: which scalar parameters the rule sets itself. */
#define WARD_RULE_SET_HYSTERESIS  (1u << 0)
#define WARD_RULE_SET_DWELL       (1u << 1)
#define WARD_RULE_SET_CLEAR_DWELL (1u << 2)

#define WARD_RULE_WINDOW_MIN_MS     1000u
#define WARD_RULE_WINDOW_MAX_MS     (7u * 86400000u)
#define WARD_RULE_WINDOW_DEFAULT_MS 600000u
/* Dwell times are bounded so that time arithmetic never overflows (a week). */
#define WARD_RULE_DWELL_MAX_MS (7u * 86400000u)

struct ward_rule {
    char sensor[WARD_HEALTH_ID_MAX]; /* exact id or glob */
    int64_t thr[WARD_THR_COUNT];     /* valid where thr_set has bit (1 << kind) */
    int64_t hysteresis;              /* >= 0, in the reading's unit (per minute for rate) */
    uint32_t dwell_ms;               /* a condition must hold this long to be raised */
    uint32_t clear_dwell_ms;         /* ... and be gone this long to clear (HysteresisDuration) */
    uint32_t window_ms;              /* rate: the window the increase is measured over */
    uint8_t kind;                    /* enum ward_rule_kind */
    uint8_t thr_set;                 /* bit per enum ward_threshold_kind */
    uint8_t param_set;               /* WARD_RULE_SET_* */
    uint8_t counter_bits;            /* rate: counter width, 1..64 */
    uint8_t nvme_mask;               /* nvme: Critical Warning bits that count */
    uint8_t mapped_state;            /* nvme: state when a bit is set; smart: "failed_past" */
    uint8_t severity[WARD_STATE_COUNT]; /* per state: enum ward_severity, or 0xff = default */
    bool glob;                          /* sensor contains '*' or '?' */
};

#define WARD_RULE_SEV_DEFAULT 0xffu

struct ward_rules_error {
    unsigned line; /* 1-based line of the rules text where the problem is */
    int rule;      /* 0-based index in "rules", -1 outside any rule */
    char msg[128]; /* one line: "line 4: rule 2 (temp:*): ..." */
};

/**
 * Parse a rules file (docs/config.md). Reads `{"rules": [...], "intervals_ms": {...}}`.
 *
 * @param out        where the rules go; NULL validates only (nothing is written)
 * @param max        capacity of out (WARD_HEALTH_MAX_RULES in the engine)
 * @param intervals  per-class sampling intervals set by the file (0 = not set); may be NULL
 * @param err        filled on failure; may be NULL
 * @return the number of rules, or -EPROTO (malformed JSON), -EINVAL (a bad rule),
 *         -ERANGE (a value out of range), -ENOSPC (more rules than max),
 *         -ENAMETOOLONG (a string too long).
 */
int ward_rules_parse(const char *text, size_t len, struct ward_rule *out, size_t max,
                     uint32_t intervals[WARD_CLASS_COUNT], struct ward_rules_error *err);

/** Set a rule to the defaults of its kind (no thresholds, default severities). */
void ward_rule_init(struct ward_rule *rule, enum ward_rule_kind kind, const char *sensor);

/** Glob match: '*' matches any run (also empty), '?' exactly one character. */
bool ward_glob_match(const char *pattern, const char *text);

/** Wire name of a rule kind ("threshold", "rate", ...). */
const char *ward_rule_kind_name(enum ward_rule_kind kind);

/**
 * A sensor id is 1..WARD_HEALTH_ID_MAX-1 printable ASCII characters (0x20..0x7e).
 * @return true when id is one.
 */
bool ward_sensor_id_valid(const char *id);

#endif /* WARD_RULES_H_ */
