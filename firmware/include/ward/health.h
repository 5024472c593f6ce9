/*
 * The health engine: one evaluator for every reading ward takes (temperatures, fans, SMART,
 * NIC counters, host load, the agent's own health).
 *
 * Input is (sensor id, struct ward_reading, now in ms); output is at most one state
 * transition per reading. The engine knows nothing of HAL backends, the event log or time
 * sources: the caller (ward/agent.h, the replay tool, a test) feeds it and records what it
 * returns. All storage is in struct ward_health, sized by Kconfig; nothing is allocated.
 *
 * Semantics (docs/config.md has the user's view):
 *  - Every sensor starts ok; a first reading that is ok produces no transition.
 *  - Thresholds are strict: a reading is past an upper threshold when value > threshold,
 *    past a lower one when value < threshold. A raised level stays while the reading is
 *    within `hysteresis` of its threshold and clears once it is back past it by that much.
 *  - A level is raised only after "at least this level" has held for dwell_ms, tracked per
 *    level, so a reading wandering between caution and critical still raises caution on
 *    time. Going down needs the lower level to have held for clear_dwell_ms.
 *  - Rates: a counter's increase over the rule's window, per minute, rounded up (one error
 *    in a ten-minute window reads as 1, not 0). A counter going backwards wrapped when it
 *    was near the top of its width (counter_bits) and the wrapped increase is plausible;
 *    otherwise it was reset (reboot, driver reload) and the increase is the new value.
 *  - Status: WARD_STATUS_FAULT is the state failed, WARD_STATUS_UNAVAILABLE is unavailable,
 *    except WARD_REASON_STANDBY (a sleeping disk), which keeps the last state.
 *  - Threshold precedence, per threshold: runtime rule, board default rule (Kconfig),
 *    hardware-reported (ward_health_set_hw_thresholds()).
 *  - A transition's severity is the higher of the two states' severities by rule
 *    (defaults: caution low, critical and unavailable medium, fatal and failed high), so
 *    the clearing of a condition is as important as its raising.
 */
#ifndef WARD_HEALTH_H_
#define WARD_HEALTH_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/base/config.h"
#include "ward/hal/reading.h"
#include "ward/rules.h"
#include "ward/wire/state.h"

#define WARD_HEALTH_NONE      0xffffu /* no rule / no sensor */
#define WARD_HEALTH_RATE_NONE 0xffu
#define WARD_TIME_NONE        INT64_MIN

/* ward_sensor.flags */
#define WARD_SENSOR_HAS_VALUE (1u << 0) /* value holds a reading */
#define WARD_SENSOR_STANDBY   (1u << 1) /* last reading: the device sleeps (state kept) */
#define WARD_SENSOR_BOUND     (1u << 2) /* rules resolved for the current rule set */
#define WARD_SENSOR_HW_THR    (1u << 3) /* hw holds hardware-reported thresholds */

/* Per-counter state of a rate sensor: the increase so far and a few samples of it. */
struct ward_rate {
    uint64_t last;  /* last raw counter */
    uint64_t total; /* increase since the first reading, wraps and resets accounted */
    int64_t t_ms[WARD_HEALTH_RATE_SAMPLES];
    uint64_t at[WARD_HEALTH_RATE_SAMPLES]; /* total at t_ms */
    uint32_t wraps;
    uint32_t resets;
    uint16_t sensor; /* owner, WARD_HEALTH_NONE when free */
    uint8_t head;    /* index of the newest sample */
    uint8_t n;       /* samples held */
    bool primed;     /* last is valid */
};

/* One sensor's state. Fields are private to the engine; read them through the accessors. */
struct ward_sensor {
    char id[WARD_HEALTH_ID_MAX];
    struct ward_thresholds hw;       /* hardware-reported thresholds */
    int64_t value;                   /* last evaluated value (rate for rate rules) */
    int64_t since_ms;                /* when the current state was entered */
    int64_t last_ms;                 /* time of the last reading */
    int64_t hold_ms[WARD_LEVEL_MAX]; /* [L-1]: "at least level L" held since */
    int64_t clear_ms;                /* below the current level since */
    uint32_t hash;                   /* of id, to make lookups cheap */
    uint16_t rule;                   /* runtime rule, or WARD_HEALTH_NONE */
    uint16_t board_rule;             /* board default rule, or WARD_HEALTH_NONE */
    uint8_t state;                   /* enum ward_state */
    uint8_t level;                   /* condition level, 0..WARD_LEVEL_MAX */
    uint8_t reason;                  /* enum ward_reason of the last bad reading */
    uint8_t rate;                    /* slot in ward_health.rate, or RATE_NONE */
    uint8_t flags;                   /* WARD_SENSOR_* */
};

struct ward_health {
    struct ward_sensor sensor[WARD_HEALTH_MAX_SENSORS];
    struct ward_rule rule[WARD_HEALTH_MAX_RULES]; /* runtime rules */
    struct ward_rate rate[WARD_HEALTH_MAX_RATES];
    const struct ward_rule *board; /* board default rules (const, Kconfig) */
    uint16_t n_board;
    uint16_t n_sensors;
    uint16_t n_rules;
    uint16_t rates_used;
    uint16_t rates_high_water;
    uint32_t refused; /* readings refused: bad id, table full, no rate slot */
};

/* What one reading changed. */
struct ward_transition {
    uint16_t sensor; /* index, see ward_health_sensor_at() */
    uint8_t from;    /* enum ward_state */
    uint8_t to;
    uint8_t severity; /* enum ward_severity */
    uint8_t reason;   /* enum ward_reason when to is unavailable or failed by fault */
    bool has_value;
    int64_t value; /* the evaluated value (a rate for rate rules) */
};

/**
 * Start an engine with no sensors and no runtime rules.
 * @param board    board default rules (kept by reference; may be NULL)
 * @return 0, -EINVAL for a NULL engine.
 */
int ward_health_init(struct ward_health *h, const struct ward_rule *board, size_t n_board);

/**
 * Replace the runtime rules (copied; rules may be h->rule itself, as filled by
 * ward_rules_parse()). Sensors keep their state; their timers restart and
 * they are re-bound to the new rules at their next reading.
 * @return 0, -EINVAL, -ENOSPC when n exceeds WARD_HEALTH_MAX_RULES.
 */
int ward_health_set_rules(struct ward_health *h, const struct ward_rule *rules, size_t n);

/**
 * Index of a sensor, creating it (state ok) when new.
 * @return the index (>= 0), -EINVAL for an invalid id, -ENOSPC when the table is full.
 */
int ward_health_sensor(struct ward_health *h, const char *id);

/** Index of an existing sensor. @return the index or -ENOENT. */
int ward_health_find(const struct ward_health *h, const char *id);

/**
 * Thresholds the hardware reports for a sensor (lowest precedence).
 * @return 0, -EINVAL, -ENOSPC as ward_health_sensor().
 */
int ward_health_set_hw_thresholds(struct ward_health *h, const char *id,
                                  const struct ward_thresholds *thr);

/**
 * Evaluate one reading.
 * @param out  filled when the state changed
 * @return 1 when the state changed, 0 when not, -EINVAL (bad arguments or id), -ENOSPC
 *         (sensor table or rate slots full; the reading is counted in `refused`).
 */
int ward_health_feed(struct ward_health *h, const char *id, const struct ward_reading *r,
                     int64_t now_ms, struct ward_transition *out);

/** As ward_health_feed() for a sensor index from ward_health_sensor(). */
int ward_health_feed_index(struct ward_health *h, unsigned idx, const struct ward_reading *r,
                           int64_t now_ms, struct ward_transition *out);

/** true when some rule (runtime or board) names this id: samplers skip unruled counters. */
bool ward_health_has_rule(const struct ward_health *h, const char *id);

static inline unsigned ward_health_count(const struct ward_health *h)
{
    return h->n_sensors;
}

/** @return sensor i, or NULL when out of range. */
const struct ward_sensor *ward_health_sensor_at(const struct ward_health *h, unsigned i);

/** Severity of a sensor being in its current state, by its rule. */
enum ward_severity ward_health_sensor_severity(const struct ward_health *h, unsigned i);

/**
 * The worst current state: highest severity first, then fatal > failed > unavailable >
 * critical > caution > ok. Fills *sev with its severity and *not_ok with the number of
 * sensors not ok (either may be NULL).
 */
enum ward_state ward_health_overall(const struct ward_health *h, enum ward_severity *sev,
                                    unsigned *not_ok);

/** The rule kind a sensor is evaluated with (threshold when no rule names it). */
enum ward_rule_kind ward_health_sensor_kind(const struct ward_health *h, unsigned i);

/**
 * The thresholds a sensor is evaluated against, after precedence (runtime rule, board rule,
 * hardware), in the sensor's unit. Empty for rate and discrete rules (their thresholds are
 * per minute or codes, not values of the sensor).
 * @return 0, -EINVAL for a bad index.
 */
int ward_health_sensor_thresholds(const struct ward_health *h, unsigned i,
                                  struct ward_thresholds *out);

#endif /* WARD_HEALTH_H_ */
