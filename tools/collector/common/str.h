/*
 * Bounded string copies for the request path: snprintf(dst, cap, "%s", src) without the
 * formatter, which cost about 550 instructions a call and ran several times per heartbeat.
 */
#ifndef WCOL_COMMON_STR_H_
#define WCOL_COMMON_STR_H_

#include <stddef.h>
#include <string.h>

/** src into dst (cap >= 1 bytes), cut to cap - 1 bytes, always terminated. */
static inline void wcol_copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

#endif /* WCOL_COMMON_STR_H_ */
