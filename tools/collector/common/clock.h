/*
 * The collector's clocks, in one place below every file that reads them: monotonic time for
 * deadlines and silence, wall time for what is stored and shown.
 */
#ifndef WCOL_COMMON_CLOCK_H_
#define WCOL_COMMON_CLOCK_H_

#include <stdint.h>

/** Monotonic milliseconds (deadlines, silence windows). */
uint64_t wcol_now_mono(void);
/** Monotonic microseconds (commit timing). */
uint64_t wcol_now_us(void);
/** Wall-clock milliseconds since the Unix epoch (stored times). */
int64_t wcol_now_wall_ms(void);

#endif /* WCOL_COMMON_CLOCK_H_ */
