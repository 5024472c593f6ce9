/* CRC-32 (IEEE 802.3, reflected, as zlib and Ethernet): frames journal records. */
#ifndef WARD_BASE_CRC32_H_
#define WARD_BASE_CRC32_H_

#include <stddef.h>
#include <stdint.h>

/** Continue a CRC: start with crc = 0; ward_crc32(0, "123456789", 9) == 0xcbf43926. */
uint32_t ward_crc32(uint32_t crc, const void *data, size_t len);

#endif /* WARD_BASE_CRC32_H_ */
