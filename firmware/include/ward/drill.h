/*
 * Drills (docs/incidents.md, "Drills"): the collector asks the agent, in the acknowledgement
 * of a report, to play a scenario for a bounded time. The board's app plays it on a second
 * HAL (struct ward_agent.drill_hal); the core samples that HAL beside the real one with
 * every sensor id prefixed WARD_DRILL_PREFIX, evaluates it with the same rules, marks each
 * of its events "drill" and names the drill's state in every heartbeat ("drill" member),
 * so the collector sees it started, was refused, or ended.
 */
#ifndef WARD_DRILL_H_
#define WARD_DRILL_H_

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define WARD_DRILL_PREFIX     "drill:"
#define WARD_DRILL_PREFIX_LEN 6
#define WARD_DRILL_NAME_MAX   31 /* a scenario name */
#define WARD_DRILL_REASON_MAX 79 /* why a drill was refused or ended early */

enum ward_drill_state {
    WARD_DRILL_NONE = 0, /* no drill asked for since start: nothing in the heartbeat */
    WARD_DRILL_RUNNING,
    WARD_DRILL_REFUSED,
    WARD_DRILL_DONE,    /* its time ran out */
    WARD_DRILL_STOPPED, /* the collector stopped it */
};

/* What the heartbeat says about the latest drill. */
struct ward_drill_status {
    uint32_t id;   /* the collector's drill id */
    uint8_t state; /* enum ward_drill_state */
    char scenario[WARD_DRILL_NAME_MAX + 1];
    char reason[WARD_DRILL_REASON_MAX + 1];
};

/** The state's wire name ("running", "refused", "done", "stopped"; "none"). */
static inline const char *ward_drill_state_name(uint8_t state)
{
    static const char *const names[] = { "none", "running", "refused", "done", "stopped" };

    return state < sizeof(names) / sizeof(names[0]) ? names[state] : "none";
}

/** True for a sensor id of a drill ("drill:fan:..."). */
static inline bool ward_drill_sensor(const char *id)
{
    return id != NULL && strncmp(id, WARD_DRILL_PREFIX, WARD_DRILL_PREFIX_LEN) == 0;
}

#endif /* WARD_DRILL_H_ */
