/*
 * What a Cortex-M board gives the shared code in boards/common/cortex-m: each board folder has
 * a cm_board.h (found on the include path) that defines
 *   CM_SYSCLK_HZ           the core clock SysTick counts, Hz
 *   CM_NUM_IRQS            external interrupts in the vector table
 *   CM_FLASH_BASE, _SIZE   the data flash (flash.h), a region that survives a warm reset
 *   CM_FLASH_JOURNAL_SIZE  one of the journal's two erase regions, bytes
 *   CM_FLASH_SEED_SIZE     one of the entropy seed log's two erase regions, bytes
 *   CM_NIC_NAME            the Ethernet controller and its address, for messages
 * and implements the functions below (its console UART and Ethernet driver). Nothing else in
 * the shared code knows which board it runs on.
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_CM_PORT_H_
#define WARD_BOARDS_COMMON_CORTEX_M_CM_PORT_H_

#include <stddef.h>
#include <stdint.h>

#include "cm_board.h"

struct netif;

/**
 * Reset the Ethernet controller, check it answers, enable it and add it to lwIP as the default
 * interface with a static address (network byte order), link up.
 * @return 0, -ENODEV when no controller answers, -EIO when lwIP refuses the interface.
 */
int cm_eth_init(struct netif *nif, uint32_t ip, uint32_t netmask, uint32_t gw);

/** Hand the frames waiting in the controller's receive FIFO to lwIP (bounded per call). */
void cm_eth_poll(struct netif *nif);

/**
 * A free-running counter of the board, read around busy loops as weak timing jitter for the
 * entropy collector (credited with nothing; entropy.c). 0 on a board without one.
 */
uint32_t cm_jitter(void);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_CM_PORT_H_ */
