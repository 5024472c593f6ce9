#include "cm_board.h"
#include "clock.h"

#define TICK_HZ 1000u

/* Written only by the SysTick handler; a 32-bit load is atomic on the M3. */
static volatile uint32_t s_ms;

#ifdef CM_FREE_COUNTER
/*
 * The board has a free-running 32-bit down-counter at CM_SYSCLK_HZ (cm_board.h): the handler
 * adds the cycles it counted since the last tick instead of one tick. Counting SysTick
 * exceptions loses time whenever ticks are not taken one by one: QEMU, when its thread was
 * not scheduled for a while (a loaded host), fires the missed SysTick periods back to back
 * and the core takes them as one exception, so the clock fell behind the wall clock (the
 * mps2 end-to-end test waited > 90 s for a scenario's 40 s). The counter is read, not
 * counted, so no cycle is lost; it wraps after 2^32 cycles (172 s at 25 MHz), far longer
 * than any gap between two SysTick exceptions.
 */
#define CYCLES_PER_MS (CM_SYSCLK_HZ / TICK_HZ)
static uint32_t s_last_count;
static uint32_t s_rest; /* cycles counted but not yet a whole millisecond */
#endif

void cm_clock_init(void)
{
#ifdef CM_FREE_COUNTER
    CM_FREE_COUNTER_START();
    s_last_count = CM_FREE_COUNTER;
    s_rest = 0;
#endif
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
#ifdef CM_FREE_COUNTER
    uint32_t now = CM_FREE_COUNTER;
    uint32_t cycles = s_last_count - now; /* a down-counter: modulo 2^32 across the wrap */

    s_last_count = now;
    s_ms += cycles / CYCLES_PER_MS;
    s_rest += cycles % CYCLES_PER_MS;
    if (s_rest >= CYCLES_PER_MS) {
        s_rest -= CYCLES_PER_MS;
        s_ms++;
    }
#else
    s_ms++;
#endif
}
