/*
 * The MPS2 AN385 for the shared Cortex-M code (cm_port.h): clocks and addresses from Arm's
 * application note AN385, "ARM Cortex-M3 SMM on V2M-MPS2", and QEMU's mps2-an385 machine.
 */
#ifndef WARD_BOARDS_MPS2_AN385_CM_BOARD_H_
#define WARD_BOARDS_MPS2_AN385_CM_BOARD_H_

#include "cortex_m.h"

/* The FPGA image clocks the core and the APB peripherals at 25 MHz. */
#define CM_SYSCLK_HZ 25000000u

/* External interrupts wired to the NVIC by the AN385 image. */
#define CM_NUM_IRQS 32

/* APB peripherals */
#define AN385_UART0_BASE 0x40004000u

/*
 * The clock's free-running counter (clock.c): CMSDK APB timer 0, counting down from
 * 0xFFFFFFFF at the APB clock (25 MHz) and reloading, no interrupt. QEMU computes its VALUE
 * from the virtual clock, so the millisecond clock keeps to the wall clock on a loaded host.
 */
#define AN385_TIMER0_BASE 0x40000000u
#define CM_FREE_COUNTER   CM_REG(AN385_TIMER0_BASE + 0x04u) /* VALUE */
#define CM_FREE_COUNTER_START()                                                                    \
    do {                                                                                           \
        CM_REG(AN385_TIMER0_BASE + 0x00u) = 0u;          /* CTRL: stopped */                       \
        CM_REG(AN385_TIMER0_BASE + 0x08u) = 0xFFFFFFFFu; /* RELOAD */                              \
        CM_REG(AN385_TIMER0_BASE + 0x04u) = 0xFFFFFFFFu; /* VALUE */                               \
        CM_REG(AN385_TIMER0_BASE + 0x00u) = 1u;          /* CTRL: enable, no interrupt */          \
    } while (0)

/* The data flash: the top 512 KiB of SSRAM1 (flash.h; an385.ld keeps the image below it). */
#define CM_FLASH_BASE         0x00380000u
#define CM_FLASH_SIZE         0x00080000u
#define CM_FLASH_JOURNAL_SIZE 4096u
#define CM_FLASH_SEED_SIZE    1024u

#define CM_NIC_NAME "LAN9118 at 0x40200000"

#endif /* WARD_BOARDS_MPS2_AN385_CM_BOARD_H_ */
