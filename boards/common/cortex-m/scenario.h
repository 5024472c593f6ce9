/*
 * What the agent measures besides its NIC: nothing in the product image (scenario_none.c);
 * the e2e test image (ward-net-sim.elf) plays a sim scenario in real time (scenario_sim.c),
 * so that the collector receives events the test can predict.
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_SCENARIO_H_
#define WARD_BOARDS_COMMON_CORTEX_M_SCENARIO_H_

#include <stdint.h>

struct ward_hal;

/** Add the scenario's devices to hal. @return 0 or a negative errno (printed). */
int cm_scenario_start(struct ward_hal *hal);

/** Move the scenario's clock to now_ms. */
void cm_scenario_step(int64_t now_ms);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_SCENARIO_H_ */
