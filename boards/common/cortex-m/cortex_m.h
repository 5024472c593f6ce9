/*
 * The Cortex-M3 system registers the shared board code uses (ARMv7-M Architecture Reference
 * Manual, B3.2 and B3.3): the same addresses on every ARMv7-M core.
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_CORTEX_M_H_
#define WARD_BOARDS_COMMON_CORTEX_M_CORTEX_M_H_

#include <stdint.h>

/** A 32-bit memory-mapped register. */
#define CM_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* System Control Block */
#define SCB_VTOR  CM_REG(0xE000ED08u)
#define SCB_CCR   CM_REG(0xE000ED14u)
#define SCB_SHCSR CM_REG(0xE000ED24u)
#define SCB_CFSR  CM_REG(0xE000ED28u)
#define SCB_HFSR  CM_REG(0xE000ED2Cu)
#define SCB_MMFAR CM_REG(0xE000ED34u)
#define SCB_BFAR  CM_REG(0xE000ED38u)

#define SCB_CCR_DIV_0_TRP     (1u << 4)
#define SCB_SHCSR_MEMFAULTENA (1u << 16)
#define SCB_SHCSR_BUSFAULTENA (1u << 17)
#define SCB_SHCSR_USGFAULTENA (1u << 18)

/* SysTick */
#define SYST_CSR CM_REG(0xE000E010u)
#define SYST_RVR CM_REG(0xE000E014u)
#define SYST_CVR CM_REG(0xE000E018u)

#define SYST_CSR_ENABLE    (1u << 0)
#define SYST_CSR_TICKINT   (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2) /* the processor clock, not the external reference */

#endif /* WARD_BOARDS_COMMON_CORTEX_M_CORTEX_M_H_ */
