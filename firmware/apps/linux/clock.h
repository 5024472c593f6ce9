/* ward-agent's clocks on Linux, in milliseconds. */
#ifndef WARD_APPS_LINUX_CLOCK_H_
#define WARD_APPS_LINUX_CLOCK_H_

#include <stdint.h>

/** Monotonic milliseconds (CLOCK_MONOTONIC): the agent's and the loop's clock. */
int64_t app_mono_ms(void);

/** Wall-clock milliseconds since the epoch (CLOCK_REALTIME): only to stamp documents. */
int64_t app_wall_ms(void);

#endif /* WARD_APPS_LINUX_CLOCK_H_ */
