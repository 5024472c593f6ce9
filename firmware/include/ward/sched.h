/*
 * A non-blocking scheduler driven by the caller's clock: one periodic task per class
 * (enum ward_class), each at its own interval with jitter, run by ward_sched_poll() from
 * whatever loop the board has (a bare-metal superloop, poll(2) on Linux, a test).
 *
 * - Intervals: Kconfig defaults (CONFIG_WARD_INTERVAL_*_MS), overridden at run time by
 *   ward_sched_set_interval() (the rules file's "intervals_ms").
 * - Jitter: each period is interval +/- interval * CONFIG_WARD_SCHED_JITTER_PCT / 200,
 *   from a PRNG seeded per agent, so a fleet started together does not sample in step.
 *   The first run of each class is spread over its first period the same way.
 * - Loop lag: how late a task ran (now - due). The board's loop reports it; the agent
 *   publishes the worst since the last heartbeat and the worst ever.
 * - Late by more than a whole period (a suspended VM, a long flash erase): the missed runs
 *   are skipped and counted, never run back to back.
 */
#ifndef WARD_SCHED_H_
#define WARD_SCHED_H_

#include <stdbool.h>
#include <stdint.h>

#include "ward/wire/state.h"

/* splitmix64: tiny, fast, and good enough to spread periods (not for keys). */
struct ward_prng {
    uint64_t state;
};

void ward_prng_seed(struct ward_prng *p, uint64_t seed);
uint64_t ward_prng_next(struct ward_prng *p);
/** Uniform in [0, n) (n > 0; 0 when n == 0). */
uint32_t ward_prng_below(struct ward_prng *p, uint32_t n);

struct ward_sched_task {
    int64_t due_ms;
    uint32_t interval_ms; /* 0: disabled */
    uint32_t runs;
    uint32_t skipped; /* periods missed because the loop was late by more than one */
};

struct ward_sched {
    struct ward_sched_task task[WARD_CLASS_COUNT];
    struct ward_prng prng;
    int64_t lag_ms;      /* lateness of the last task run */
    int64_t lag_max_ms;  /* worst since ward_sched_take_lag() */
    int64_t lag_ever_ms; /* worst ever */
};

/**
 * Start with the Kconfig intervals; every class's first run falls in its first period.
 * @return 0, -EINVAL.
 */
int ward_sched_init(struct ward_sched *s, int64_t now_ms, uint64_t seed);

/**
 * Change a class's interval (0 disables it). The next run moves to now + the new period.
 * @return 0, -EINVAL for a bad class.
 */
int ward_sched_set_interval(struct ward_sched *s, enum ward_class cls, uint32_t interval_ms,
                            int64_t now_ms);

/**
 * The next class due at now, marking it run and scheduling its next period.
 * Call until it returns -EAGAIN; run each class it returns.
 * @return the class (>= 0) or -EAGAIN when nothing is due.
 */
int ward_sched_poll(struct ward_sched *s, int64_t now_ms);

/** When the next task is due: the board may sleep until then. INT64_MAX when none. */
int64_t ward_sched_next_due(const struct ward_sched *s);

/** Worst lag since the previous call (and reset it). */
int64_t ward_sched_take_lag(struct ward_sched *s);

/** Kconfig default interval of a class. */
uint32_t ward_sched_default_interval(enum ward_class cls);

#endif /* WARD_SCHED_H_ */
