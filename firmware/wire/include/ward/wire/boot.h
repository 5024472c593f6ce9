/*
 * Boot ids on the wire: 16 random bytes written as 32 lower-case hex digits.
 */
#ifndef WARD_WIRE_BOOT_H_
#define WARD_WIRE_BOOT_H_

#include <stdint.h>

#include "ward/wire/protocol.h"

/** Lower-case hex of a boot id into out (WARD_WIRE_BOOT_HEX_LEN + 1 bytes). */
void ward_boot_id_hex(const uint8_t id[WARD_WIRE_BOOT_LEN], char out[WARD_WIRE_BOOT_HEX_LEN + 1]);

/** Parse 32 hex digits. @return 0 or -EINVAL. */
int ward_boot_id_parse(const char *hex, uint8_t id[WARD_WIRE_BOOT_LEN]);

#endif /* WARD_WIRE_BOOT_H_ */
