#include <errno.h>
#include <string.h>

#include "flash.h"

static uint8_t *at(uint32_t off)
{
    return (uint8_t *)(uintptr_t)(CM_FLASH_BASE + off);
}

static int in_range(uint32_t off, size_t len)
{
    return off <= CM_FLASH_SIZE && len <= CM_FLASH_SIZE - off;
}

static int fl_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx;
    if (!in_range(off, len)) {
        return -EIO;
    }
    memcpy(buf, at(off), len);
    return 0;
}

static int fl_write(void *ctx, uint32_t off, const void *buf, size_t len)
{
    const uint8_t *b = buf;
    volatile uint8_t *p = at(off);

    (void)ctx;
    if (!in_range(off, len)) {
        return -EIO;
    }
    for (size_t i = 0; i < len; i++) {
        p[i] &= b[i]; /* NOR programming clears bits, never sets them */
    }
    return 0;
}

static int fl_erase(void *ctx, uint32_t off, size_t len)
{
    (void)ctx;
    if (!in_range(off, len)) {
        return -EIO;
    }
    memset(at(off), 0xff, len);
    return 0;
}

const struct ward_flash_ops cm_flash_ops = { fl_read, fl_write, fl_erase };
