/*
 * Little-endian integers in byte buffers, independent of the CPU's byte order and
 * alignment: the framing of journal and outbox records on flash and on disk.
 */
#ifndef WARD_BASE_BYTEORDER_H_
#define WARD_BASE_BYTEORDER_H_

#include <stdint.h>

static inline void ward_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void ward_put_le32(uint8_t *p, uint32_t v)
{
    ward_put_le16(p, (uint16_t)v);
    ward_put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void ward_put_le64(uint8_t *p, uint64_t v)
{
    ward_put_le32(p, (uint32_t)v);
    ward_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t ward_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t ward_get_le32(const uint8_t *p)
{
    return (uint32_t)ward_get_le16(p) | ((uint32_t)ward_get_le16(p + 2) << 16);
}

static inline uint64_t ward_get_le64(const uint8_t *p)
{
    return (uint64_t)ward_get_le32(p) | ((uint64_t)ward_get_le32(p + 4) << 32);
}

#endif /* WARD_BASE_BYTEORDER_H_ */
