#include <errno.h>
#include <string.h>

#include "ward/base/hex.h"
#include "ward/wire/boot.h"

void ward_boot_id_hex(const uint8_t id[WARD_WIRE_BOOT_LEN], char out[WARD_WIRE_BOOT_HEX_LEN + 1])
{
    ward_hex_encode(id, WARD_WIRE_BOOT_LEN, out);
}

int ward_boot_id_parse(const char *hex, uint8_t id[WARD_WIRE_BOOT_LEN])
{
    if (hex == NULL || id == NULL || strlen(hex) != WARD_WIRE_BOOT_HEX_LEN) {
        return -EINVAL;
    }
    return ward_hex_decode(hex, id, WARD_WIRE_BOOT_LEN);
}
