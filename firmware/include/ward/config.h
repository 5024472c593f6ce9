/*
 * The one bridge from Kconfig to C.
 *
 * Code includes this header, never autoconf.h: it maps CONFIG_* to the WARD_* names the
 * code uses, gives every value a default so a module can be compiled (and unit-tested)
 * without a board, and provides IS_ENABLED() so disabled code is still compiled and
 * type-checked instead of hidden behind #ifdef.
 */
#ifndef WARD_CONFIG_H_
#define WARD_CONFIG_H_

#if defined(__has_include)
#if __has_include(<autoconf.h>)
#include <autoconf.h>
#endif
#endif

/*
 * IS_ENABLED(CONFIG_X) is 1 when CONFIG_X is defined to 1 and 0 when it is undefined,
 * usable in both #if and ordinary C expressions. The trick: pasting the value onto a
 * prefix turns "1" into a macro that expands to "0," and so shifts an argument list.
 */
#define WARD_IS_ENABLED_PROBE_1                0,
#define IS_ENABLED(option)                     WARD_IS_ENABLED_(option)
#define WARD_IS_ENABLED_(value)                WARD_IS_ENABLED__(WARD_IS_ENABLED_PROBE_##value)
#define WARD_IS_ENABLED__(maybe)               WARD_IS_ENABLED___(maybe 1, 0)
#define WARD_IS_ENABLED___(_ignored, val, ...) val

#ifdef CONFIG_WARD_BOARD_NAME
#define WARD_BOARD_NAME CONFIG_WARD_BOARD_NAME
#else
#define WARD_BOARD_NAME "unconfigured"
#endif

#ifdef CONFIG_WARD_ARCH
#define WARD_ARCH CONFIG_WARD_ARCH
#else
#define WARD_ARCH "unknown"
#endif

#ifdef CONFIG_WARD_DEVICE_ID
#define WARD_DEVICE_ID_DEFAULT CONFIG_WARD_DEVICE_ID
#else
#define WARD_DEVICE_ID_DEFAULT "ward-dev"
#endif

#ifdef CONFIG_WARD_JSON_ARENA_SIZE
#define WARD_JSON_ARENA_SIZE CONFIG_WARD_JSON_ARENA_SIZE
#else
#define WARD_JSON_ARENA_SIZE 8192
#endif

#ifdef CONFIG_WARD_JSON_NESTING_LIMIT
#define WARD_JSON_NESTING_LIMIT CONFIG_WARD_JSON_NESTING_LIMIT
#else
#define WARD_JSON_NESTING_LIMIT 16
#endif

#endif /* WARD_CONFIG_H_ */
