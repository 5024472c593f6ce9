/*
 * Reset and exceptions for the Cortex-M3: the vector table, the reset handler that
 * prepares memory for C, and fault handlers that say what went wrong and end the run
 * (under QEMU: exit with CM_EXIT_CRASH through semihosting, so a crash fails ctest
 * at once instead of hanging until the timeout).
 */
#include <stdint.h>
#include <stdlib.h>

#include "board.h"
#include "cm_board.h"
#include "clock.h"
#include "uart.h"

typedef void (*vector_fn)(void);

/* From the board's linker script. */
extern uint32_t __ward_stack_bottom[];
extern uint32_t __ward_stack_top[];
extern uint32_t __ward_data_start[];
extern uint32_t __ward_data_end[];
extern const uint32_t __ward_data_load[];
extern uint32_t __ward_bss_start[];
extern uint32_t __ward_bss_end[];
extern const vector_fn __ward_init_array_start[];
extern const vector_fn __ward_init_array_end[];

int main(void);
__attribute__((noreturn)) void cm_reset_handler(void);

static void fault_entry(void);
static void unexpected_irq(void);

/* Stacked by the core on exception entry (ARMv7-M ARM, B1.5.6). */
struct exception_frame {
    uint32_t r0, r1, r2, r3, r12, lr, pc, xpsr;
};

__attribute__((section(".vectors"), used)) static const vector_fn s_vectors[16 + CM_NUM_IRQS] = {
    [0] = (vector_fn)(uintptr_t)__ward_stack_top,
    [1] = cm_reset_handler,
    [2] = fault_entry,  /* NMI */
    [3] = fault_entry,  /* HardFault */
    [4] = fault_entry,  /* MemManage */
    [5] = fault_entry,  /* BusFault */
    [6] = fault_entry,  /* UsageFault */
    [11] = fault_entry, /* SVCall: nothing issues SVC */
    [12] = fault_entry, /* DebugMonitor */
    [14] = fault_entry, /* PendSV */
    [15] = cm_systick_isr,
    [16 ... 16 + CM_NUM_IRQS - 1] = unexpected_irq,
};

/* Written over the unused stack at reset, so cm_stack_used() can find the high-water mark. */
#define STACK_PAINT 0xdeadbeefu

void cm_reset_handler(void)
{
    /* .data from its load image in SSRAM1; .bss to zero. Nothing may use either before. */
    const uint32_t *src = __ward_data_load;
    uint32_t *sp;

    /* Paint the stack below this frame, with a margin for the calls below. */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __ward_stack_bottom; p < sp - 16;) {
        *p++ = STACK_PAINT;
    }

    for (uint32_t *dst = __ward_data_start; dst < __ward_data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __ward_bss_start; dst < __ward_bss_end;) {
        *dst++ = 0;
    }

    SCB_VTOR = (uint32_t)(uintptr_t)s_vectors;
    /* Report MemManage, BusFault and UsageFault as themselves instead of HardFault, and
     * trap integer division by zero, which the M3 otherwise answers with 0. */
    SCB_SHCSR |= SCB_SHCSR_MEMFAULTENA | SCB_SHCSR_BUSFAULTENA | SCB_SHCSR_USGFAULTENA;
    SCB_CCR |= SCB_CCR_DIV_0_TRP;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    for (const vector_fn *f = __ward_init_array_start; f < __ward_init_array_end; f++) {
        (*f)();
    }
    exit(main());
}

size_t cm_stack_size(void)
{
    return (size_t)((const char *)__ward_stack_top - (const char *)__ward_stack_bottom);
}

size_t cm_stack_used(void)
{
    const uint32_t *p = __ward_stack_bottom;

    while (p < __ward_stack_top && *p == STACK_PAINT) {
        p++;
    }
    return (size_t)((const char *)__ward_stack_top - (const char *)p);
}

static const char *exception_name(uint32_t n)
{
    static const char *const names[] = {
        [2] = "NMI",        [3] = "HardFault", [4] = "MemManage",     [5] = "BusFault",
        [6] = "UsageFault", [11] = "SVCall",   [12] = "DebugMonitor", [14] = "PendSV",
    };

    if (n < sizeof(names) / sizeof(names[0]) && names[n] != NULL) {
        return names[n];
    }
    return "exception";
}

/* Called from fault_entry with the frame the core stacked; never returns. */
__attribute__((used, noreturn)) static void fault_report(const struct exception_frame *frame,
                                                         uint32_t ipsr)
{
    uint32_t n = ipsr & 0x1ffu;

    cm_printf("\nfault: %s (exception %lu) pc=0x%08lx lr=0x%08lx xpsr=0x%08lx\n", exception_name(n),
              (unsigned long)n, (unsigned long)frame->pc, (unsigned long)frame->lr,
              (unsigned long)frame->xpsr);
    cm_printf("fault: cfsr=0x%08lx hfsr=0x%08lx mmfar=0x%08lx bfar=0x%08lx\n",
              (unsigned long)SCB_CFSR, (unsigned long)SCB_HFSR, (unsigned long)SCB_MMFAR,
              (unsigned long)SCB_BFAR);
    cm_exit(CM_EXIT_CRASH);
}

/*
 * Naked so that no prologue moves the stack pointer before it is read: r0 = the stacked
 * frame (MSP or PSP, from EXC_RETURN bit 2), r1 = IPSR.
 */
__attribute__((naked)) static void fault_entry(void)
{
    __asm__ volatile("tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "mrs r1, ipsr\n\t"
                     "b fault_report\n\t");
}

static void unexpected_irq(void)
{
    uint32_t ipsr;

    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    cm_panic("unexpected interrupt IRQ%lu with no handler", (unsigned long)((ipsr & 0x1ffu) - 16u));
}
