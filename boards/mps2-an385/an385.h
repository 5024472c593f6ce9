/*
 * Addresses and clocks of the MPS2 AN385 (Arm application note AN385, "ARM Cortex-M3 SMM
 * on V2M-MPS2") and the Cortex-M3 system registers the board code uses (ARMv7-M
 * Architecture Reference Manual, B3.2 and B3.3).
 */
#ifndef WARD_BOARDS_MPS2_AN385_AN385_H_
#define WARD_BOARDS_MPS2_AN385_AN385_H_

#include <stdint.h>

/** A 32-bit memory-mapped register. */
#define AN385_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* The FPGA image clocks the core and the APB peripherals at 25 MHz. */
#define AN385_SYSCLK_HZ 25000000u

/* APB peripherals */
#define AN385_UART0_BASE 0x40004000u

/* External interrupts wired to the NVIC by the AN385 image. */
#define AN385_NUM_IRQS 32

/* System Control Block */
#define SCB_VTOR  AN385_REG(0xE000ED08u)
#define SCB_CCR   AN385_REG(0xE000ED14u)
#define SCB_SHCSR AN385_REG(0xE000ED24u)
#define SCB_CFSR  AN385_REG(0xE000ED28u)
#define SCB_HFSR  AN385_REG(0xE000ED2Cu)
#define SCB_MMFAR AN385_REG(0xE000ED34u)
#define SCB_BFAR  AN385_REG(0xE000ED38u)

#define SCB_CCR_DIV_0_TRP     (1u << 4)
#define SCB_SHCSR_MEMFAULTENA (1u << 16)
#define SCB_SHCSR_BUSFAULTENA (1u << 17)
#define SCB_SHCSR_USGFAULTENA (1u << 18)

/* SysTick */
#define SYST_CSR AN385_REG(0xE000E010u)
#define SYST_RVR AN385_REG(0xE000E014u)
#define SYST_CVR AN385_REG(0xE000E018u)

#define SYST_CSR_ENABLE    (1u << 0)
#define SYST_CSR_TICKINT   (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2) /* the processor clock, not the external reference */

#endif /* WARD_BOARDS_MPS2_AN385_AN385_H_ */
