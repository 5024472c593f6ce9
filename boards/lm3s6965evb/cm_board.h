/*
 * The LM3S6965 evaluation board (Cortex-M3, 256 KiB flash, 64 KiB SRAM, Stellaris Ethernet
 * MAC and PHY) for the shared Cortex-M code (cm_port.h), as QEMU's lm3s6965evb machine models
 * it. Addresses from the LM3S6965 datasheet (Texas Instruments, DS-LM3S6965), "Memory Map".
 */
#ifndef WARD_BOARDS_LM3S6965EVB_CM_BOARD_H_
#define WARD_BOARDS_LM3S6965EVB_CM_BOARD_H_

#include "cortex_m.h"

/*
 * The clock after reset: QEMU derives it from RCC's SYSDIV field as 200 MHz / (SYSDIV + 1),
 * 12.5 MHz for the reset value (SYSDIV 15). The silicon runs from its 12 MHz internal
 * oscillator at reset; a board that ships would set up the PLL first and say so here.
 */
#define CM_SYSCLK_HZ 12500000u

/* Interrupts 0-42 of the LM3S6965's NVIC (the Ethernet controller is 42). */
#define CM_NUM_IRQS 43

/* System control: clock gating of the UART, GPIO port A and the Ethernet MAC and PHY. */
#define LM3S_SYSCTL_BASE 0x400FE000u
#define LM3S_RCGC1       CM_REG(LM3S_SYSCTL_BASE + 0x104u)
#define LM3S_RCGC2       CM_REG(LM3S_SYSCTL_BASE + 0x108u)
#define LM3S_USER0       CM_REG(LM3S_SYSCTL_BASE + 0x1E0u) /* MAC address, bytes 0-2 */
#define LM3S_USER1       CM_REG(LM3S_SYSCTL_BASE + 0x1E4u) /* MAC address, bytes 3-5 */
#define LM3S_RCGC1_UART0 (1u << 0)
#define LM3S_RCGC2_GPIOA (1u << 0)
#define LM3S_RCGC2_EMAC0 (1u << 28)
#define LM3S_RCGC2_EPHY0 (1u << 30)
#define LM3S_GPIOA_BASE  0x40004000u
#define LM3S_UART0_BASE  0x4000C000u
#define LM3S_ETH_BASE    0x40048000u

/*
 * The data flash: QEMU models the 256 KiB flash as ROM (writes are dropped) and no flash
 * controller, so the top 7 KiB of SRAM stand in for it (lm3s6965.ld reserves them, outside
 * the stack, .data and .bss). Smaller than the AN385's: 2 x 3 KiB hold the journal
 * (CONFIG_WARD_JOURNAL_MAX_BYTES=2048 plus 8 bytes a record and the region header),
 * 2 x 512 B the seed log (12 seeds a region before a rewrite).
 */
#define CM_FLASH_BASE         0x2000E400u
#define CM_FLASH_SIZE         0x1C00u
#define CM_FLASH_JOURNAL_SIZE 3072u
#define CM_FLASH_SEED_SIZE    512u

#define CM_NIC_NAME "Stellaris Ethernet MAC at 0x40048000"

#endif /* WARD_BOARDS_LM3S6965EVB_CM_BOARD_H_ */
