#include <errno.h>
#include <string.h>

#include "ward/wire/boot.h"

void ward_boot_id_hex(const uint8_t id[WARD_WIRE_BOOT_LEN], char out[WARD_WIRE_BOOT_HEX_LEN + 1])
{
    static const char hexdigits[] = "0123456789abcdef";

    for (unsigned i = 0; i < WARD_WIRE_BOOT_LEN; i++) {
        out[2 * i] = hexdigits[id[i] >> 4];
        out[2 * i + 1] = hexdigits[id[i] & 0x0f];
    }
    out[WARD_WIRE_BOOT_HEX_LEN] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int ward_boot_id_parse(const char *hex, uint8_t id[WARD_WIRE_BOOT_LEN])
{
    if (hex == NULL || id == NULL || strlen(hex) != WARD_WIRE_BOOT_HEX_LEN) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < WARD_WIRE_BOOT_LEN; i++) {
        int hi = hexval(hex[2 * i]);
        int lo = hexval(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return -EINVAL;
        }
        id[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
