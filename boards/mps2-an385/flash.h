/*
 * The AN385's data flash: QEMU's mps2-an385 has no flash controller, so the top 512 KiB of
 * SSRAM1 (the image never reaches it: an385.ld checks) stand in for a NOR flash, with NOR's
 * rules kept in software: erase sets bytes to 0xFF, a write can only clear bits. RAM keeps its
 * contents over a warm reset (SYSRESETREQ, QEMU's system_reset) and QEMU reloads only the
 * image, so the journal and the entropy seed survive a reset as they would in flash; a new
 * QEMU process starts with it zeroed, which the stores read as blank.
 *
 *   +0x0000  journal, two 4 KiB regions (ward_store_flash)
 *   +0x2000  entropy seed log, two 1 KiB regions (ward_store_flash)
 */
#ifndef WARD_BOARDS_MPS2_AN385_FLASH_H_
#define WARD_BOARDS_MPS2_AN385_FLASH_H_

#include "ward/transport/store_flash.h"

#define AN385_FLASH_BASE         0x00380000u
#define AN385_FLASH_SIZE         0x00080000u
#define AN385_FLASH_JOURNAL_OFF  0x0000u
#define AN385_FLASH_JOURNAL_SIZE 4096u /* one region */
#define AN385_FLASH_SEED_OFF     0x2000u
#define AN385_FLASH_SEED_SIZE    1024u

/** The flash device, offsets from AN385_FLASH_BASE. */
extern const struct ward_flash_ops an385_flash_ops;

#endif /* WARD_BOARDS_MPS2_AN385_FLASH_H_ */
