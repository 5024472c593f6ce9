/*
 * FNV-1a, the collector's hash for its in-memory tables (device ids, series keys): short keys,
 * no chosen-collision exposure beyond a longer chain (every key is a device the collector
 * authenticated or a series it stores). Chain calls to hash several fields in one value.
 */
#ifndef WCOL_COMMON_HASH_H_
#define WCOL_COMMON_HASH_H_

#include <stddef.h>
#include <stdint.h>

#define WCOL_FNV1A_BASIS 2166136261u

/** h (WCOL_FNV1A_BASIS to start) extended by len bytes at p. */
static inline uint32_t wcol_fnv1a(uint32_t h, const void *p, size_t len)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < len; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

#endif /* WCOL_COMMON_HASH_H_ */
