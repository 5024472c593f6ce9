#include "cm_board.h"
#include "clock.h"

#define TICK_HZ 1000u

/* Written only by the SysTick handler; a 32-bit load is atomic on the M3. */
static volatile uint32_t s_ms;

void cm_clock_init(void)
{
    SYST_CSR = 0;
    SYST_RVR = CM_SYSCLK_HZ / TICK_HZ - 1u;
    SYST_CVR = 0; /* any write clears the counter, so the first tick is a full period */
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
}

uint32_t cm_clock_ms(void)
{
    return s_ms;
}

void cm_systick_isr(void)
{
    s_ms++;
}
