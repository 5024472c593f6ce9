/*
 * ATA IDENTIFY DEVICE (ACS-3 7.12.7, 256 little-endian words): the drive's identity and what
 * it supports. Strings hold two characters per word with the first in the high byte.
 */
#include <errno.h>
#include <string.h>

#include "smart_internal.h"

#define W(id, n) smart_le16((id) + 2 * (n))

/* Words 83/84 (and 86/87) are valid when bits 15:14 are 01b. */
static bool word_valid(uint16_t w)
{
    return (w & 0xc000) == 0x4000;
}

static uint32_t logical_sector_bytes(const uint8_t *id)
{
    uint16_t w106 = W(id, 106);
    uint32_t words;

    if (!word_valid(w106) || !(w106 & (1u << 12))) {
        return 512;
    }
    /* Words 117-118: logical sector size in 16-bit words. */
    words = (uint32_t)W(id, 117) | ((uint32_t)W(id, 118) << 16);
    return words >= 256 && words <= 0x7fffffffu / 2 ? words * 2 : 512;
}

static void identify_extra(const uint8_t *id, struct ward_ata_identify *x)
{
    uint16_t w82 = W(id, 82), w84 = W(id, 84), w85 = W(id, 85), w87 = W(id, 87);
    bool w82_ok = w82 != 0 && w82 != 0xffff;

    x->smart_supported = w82_ok && (w82 & 0x0001);
    x->smart_enabled = x->smart_supported && word_valid(w87) && (w85 & 0x0001);
    /* Self-test and error logging: word 84, or its "enabled" copy in word 87. */
    x->selftest_supported =
        (word_valid(w84) && (w84 & 0x0002)) || (word_valid(w87) && (w87 & 0x0002));
    x->errlog_supported =
        (word_valid(w84) && (w84 & 0x0001)) || (word_valid(w87) && (w87 & 0x0001));
    x->rotation_rate = W(id, 217);
    x->logical_sector_bytes = logical_sector_bytes(id);
}

static uint64_t user_sectors(const uint8_t *id, bool *lba48)
{
    uint16_t w83 = W(id, 83);
    uint64_t n = 0;

    *lba48 = word_valid(w83) && (w83 & (1u << 10));
    if (*lba48) {
        for (int i = 3; i >= 0; i--) {
            n = (n << 16) | W(id, 100 + i);
        }
    }
    if (n == 0) {
        *lba48 = false;
        n = (uint64_t)W(id, 60) | ((uint64_t)W(id, 61) << 16);
    }
    return n;
}

int ward_ata_identify_decode(const uint8_t *id, size_t len, struct ward_disk_info *info,
                             struct ward_ata_identify *extra)
{
    struct ward_ata_identify x;
    uint64_t sectors;

    if (id == NULL || info == NULL) {
        return -EINVAL;
    }
    if (len != WARD_SMART_PAGE_SIZE) {
        return -EMSGSIZE;
    }
    /* Word 255: checksum in the high byte when the low byte is the signature A5h. */
    if (id[510] == 0xa5 && !ward_smart_ata_checksum_ok(id)) {
        return -EBADMSG;
    }
    memset(&x, 0, sizeof(x));
    identify_extra(id, &x);
    smart_copy_ascii(info->serial, sizeof(info->serial), id + 2 * 10, 20, true);
    smart_copy_ascii(info->firmware, sizeof(info->firmware), id + 2 * 23, 8, true);
    smart_copy_ascii(info->model, sizeof(info->model), id + 2 * 27, 40, true);
    sectors = user_sectors(id, &x.lba48);
    info->capacity_bytes = sectors > UINT64_MAX / x.logical_sector_bytes
                               ? UINT64_MAX
                               : sectors * x.logical_sector_bytes;
    if (extra != NULL) {
        *extra = x;
    }
    smart_copy_ascii(info->sensor.label, sizeof(info->sensor.label), (const uint8_t *)info->model,
                     strlen(info->model), false);
    return ward_smart_disk_id(info->sensor.id, sizeof(info->sensor.id), info->model, info->serial);
}
