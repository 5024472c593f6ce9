/* Shared helpers of the SMART decoders; not part of the public interface. */
#ifndef WARD_HAL_SMART_SMART_INTERNAL_H_
#define WARD_HAL_SMART_SMART_INTERNAL_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/hal/smart.h"

static inline uint16_t smart_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t smart_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t smart_le64(const uint8_t *p)
{
    return (uint64_t)smart_le32(p) | ((uint64_t)smart_le32(p + 4) << 32);
}

/** NULL -> -EINVAL, length not 512 -> -EMSGSIZE, bad checksum -> -EBADMSG, else 0. */
int smart_check_page(const uint8_t *page, size_t len);

/** Fill a->decoded / has_decoded / temperature range from the 6 raw bytes (LE). */
void smart_ata_decode_raw(struct ward_ata_attr *a, const uint8_t raw[6]);

/**
 * Copy n bytes of a space-padded ASCII field into dst (size dstlen, NUL-terminated), with
 * leading and trailing spaces and NULs removed and non-printable bytes replaced by '?'.
 * swapped: ATA string, two characters per little-endian word, high byte first.
 */
void smart_copy_ascii(char *dst, size_t dstlen, const uint8_t *src, size_t n, bool swapped);

#endif /* WARD_HAL_SMART_SMART_INTERNAL_H_ */
