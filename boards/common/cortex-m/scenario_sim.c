/*
 * The e2e test image's devices: boards/sim/scenarios/failing-fan.json played in real time
 * from boot (FAN3 below its minimum near 24 s, its tachometer fault at 40 s), through the
 * sim backend, beside the LAN9118. Not in the product image: the sim's pools do not fit it.
 */
#include <stdint.h>

#include "ward/hal/sim.h"
#include "ward/hal/sim_impl.h"
#include "ward_scenario_failing_fan.h"
#include "board.h"
#include "scenario.h"

static struct ward_sim s_sim;
static int64_t s_t0 = -1;

int cm_scenario_start(struct ward_hal *hal)
{
    char err[96];
    int rc = ward_sim_init(&s_sim, hal, ward_scenario_failing_fan, ward_scenario_failing_fan_len,
                           err, sizeof(err));

    if (rc != 0) {
        cm_printf("sim: cannot load the scenario: %s (%d)\n", err, rc);
        return rc;
    }
    cm_printf("sim: playing %s (%lu ms) in real time\n", ward_sim_name(&s_sim),
              (unsigned long)ward_sim_duration_ms(&s_sim));
    return 0;
}

void cm_scenario_step(int64_t now_ms)
{
    if (s_t0 < 0) {
        s_t0 = now_ms;
    }
    ward_sim_set_time(&s_sim, (uint64_t)(now_ms - s_t0));
}
