/*
 * The sim backend: sensors of every class played from a scenario (JSON), deterministic for
 * a given seed, driven by virtual time so tests and replays are exact.
 */
#ifndef WARD_HAL_SIM_H_
#define WARD_HAL_SIM_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/hal/hal.h"

struct ward_sim; /* defined by hal/sim/ (its public header lives beside it) */

/**
 * Parse a scenario and add its devices to hal.
 * @param text   scenario JSON (need not be NUL-terminated)
 * @param len    bytes of text
 * @param err    on failure, a one-line message naming the problem; may be NULL
 * @return 0, -EINVAL for a malformed scenario, -ENOSPC when a fixed pool is exhausted.
 */
int ward_sim_init(struct ward_sim *sim, struct ward_hal *hal, const char *text, size_t len,
                  char *err, size_t err_len);

/** Move the scenario's clock; every later read reflects time now_ms since start. */
void ward_sim_set_time(struct ward_sim *sim, uint64_t now_ms);

/** The scenario's "name" ("" when it gives none). */
const char *ward_sim_name(const struct ward_sim *sim);

/** Virtual ms the scenario's story takes ("duration_ms"; 0 when not stated). */
uint64_t ward_sim_duration_ms(const struct ward_sim *sim);

#endif /* WARD_HAL_SIM_H_ */
