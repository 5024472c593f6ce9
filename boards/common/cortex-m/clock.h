/* A millisecond clock from the Cortex-M3 SysTick timer: lwIP's sys_now() and timeouts. */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_CLOCK_H_
#define WARD_BOARDS_COMMON_CORTEX_M_CLOCK_H_

#include <stdint.h>

/** Start SysTick at 1 kHz from the processor clock. */
void cm_clock_init(void);

/** Milliseconds since cm_clock_init(); wraps after about 49.7 days. */
uint32_t cm_clock_ms(void);

/** SysTick exception handler, listed in the vector table. */
void cm_systick_isr(void);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_CLOCK_H_ */
