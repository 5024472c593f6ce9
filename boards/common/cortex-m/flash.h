/*
 * The board's data flash (cm_board.h: CM_FLASH_BASE, CM_FLASH_SIZE): a region that keeps its
 * contents over a warm reset, with NOR's rules kept in software: erase sets bytes to 0xFF, a
 * write can only clear bits. Neither QEMU machine models a flash controller: the AN385 uses
 * the top 512 KiB of SSRAM1, the LM3S6965 the top of its SRAM. QEMU reloads only the image on
 * a warm reset (SYSRESETREQ, QEMU's system_reset), so the journal and the entropy seed survive
 * it as they would in flash; a new QEMU process starts with it zeroed, which the stores read as
 * blank.
 *
 *   +0                         journal, two CM_FLASH_JOURNAL_SIZE regions (ward_store_flash)
 *   +2 * CM_FLASH_JOURNAL_SIZE entropy seed log, two CM_FLASH_SEED_SIZE regions
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_FLASH_H_
#define WARD_BOARDS_COMMON_CORTEX_M_FLASH_H_

#include "ward/transport/store_flash.h"
#include "cm_board.h"

#define CM_FLASH_JOURNAL_OFF 0u
#define CM_FLASH_SEED_OFF    (2u * CM_FLASH_JOURNAL_SIZE)

#if CM_FLASH_SEED_OFF + 2u * CM_FLASH_SEED_SIZE > CM_FLASH_SIZE
#error "the journal and the seed log do not fit the board's data flash"
#endif

/** The flash device, offsets from CM_FLASH_BASE. */
extern const struct ward_flash_ops cm_flash_ops;

#endif /* WARD_BOARDS_COMMON_CORTEX_M_FLASH_H_ */
