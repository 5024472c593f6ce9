/*
 * The C library calls cJSON makes for numbers, replaced by heap-free, float-printf-free
 * versions that behave the same on every board.
 *
 * Why: cJSON prints every number with sprintf("%1.15g") and checks it with sscanf("%lg"),
 * and parses with strtod. newlib-nano's versions of those allocate from the heap (dtoa's
 * Balloc) and assert when it is empty, so a long number arriving from the network would
 * crash a bare-metal agent; without its float support they print nothing at all.
 * tools/cmake/deps.cmake compiles cJSON with -Dstrtod=ward_cjson_strtod,
 * -Dsprintf=ward_cjson_sprintf and -Dsscanf=ward_cjson_sscanf on every board.
 *
 * ward's documents carry integers (64-bit ones as raw numbers from ward/base/fmt.h). Integral
 * doubles print exactly; a non-integral value prints with at most 6 decimals. Parsing is
 * correctly rounded for up to 19 significant digits and decimal exponents within +-22
 * (every integer up to 2^53 and the usual decimals), and within a few ulp otherwise.
 */
#ifndef WARD_BASE_CJSON_LIBC_H_
#define WARD_BASE_CJSON_LIBC_H_

/** strtod() for JSON number syntax; never allocates. */
double ward_cjson_strtod(const char *s, char **end);

/**
 * sprintf() for exactly the formats cJSON uses: "%1.15g", "%1.17g", "%d", "null", "u%04x",
 * "%i.%i.%i". @return the length written, or -1 for any other format.
 */
int ward_cjson_sprintf(char *buf, const char *fmt, ...);

/** sscanf(buf, "%lg", &d) as cJSON uses it. @return 1 when a number was read, else 0. */
int ward_cjson_sscanf(const char *buf, const char *fmt, ...);

#endif /* WARD_BASE_CJSON_LIBC_H_ */
