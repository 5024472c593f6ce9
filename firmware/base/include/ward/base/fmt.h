/*
 * Integer formatting that does not depend on the C library's printf: newlib-nano's
 * printf has no 64-bit conversions, and JSON numbers must be exact 64-bit integers on
 * every board.
 */
#ifndef WARD_BASE_FMT_H_
#define WARD_BASE_FMT_H_

#include <stddef.h>
#include <stdint.h>

/** Longest decimal int64/uint64 plus sign and NUL. */
#define WARD_FMT_INT64_MAX 22

/**
 * Decimal text of v into buf, NUL-terminated.
 * @return the length written, -EINVAL for a NULL buffer, -ENOSPC when it does not fit.
 */
int ward_fmt_u64(char *buf, size_t len, uint64_t v);

/** As ward_fmt_u64() for signed values (INT64_MIN included). */
int ward_fmt_i64(char *buf, size_t len, int64_t v);

#endif /* WARD_BASE_FMT_H_ */
