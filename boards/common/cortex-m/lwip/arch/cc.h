/*
 * lwIP's compiler and platform port for the Cortex-M boards (GCC, newlib-nano, Cortex-M3).
 * lwIP's own sources include this through lwip/arch.h, so it must stand alone: the board
 * functions it names are declared here and defined in boards/common/cortex-m/lwip_port.c.
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_LWIP_ARCH_CC_H_
#define WARD_BOARDS_COMMON_CORTEX_M_LWIP_ARCH_CC_H_

#include <stdint.h>

/* Byte order: the M3 is little-endian; REV/REV16 do the network conversions. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Cortex-M port assumes a little-endian core"
#endif
#ifndef BYTE_ORDER
#define BYTE_ORDER LITTLE_ENDIAN
#endif
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

/* GCC: lwIP's packed protocol headers. */
#define PACK_STRUCT_BEGIN
#define PACK_STRUCT_STRUCT __attribute__((packed))
#define PACK_STRUCT_END
#define PACK_STRUCT_FIELD(x) x

/** printf-style diagnostics on the console (lwIP's LWIP_DEBUGF output). */
__attribute__((format(printf, 1, 2))) void ward_lwip_port_diag(const char *fmt, ...);

/** A failed lwIP assertion: printed on the console, then the board stops as crashed. */
__attribute__((noreturn)) void ward_lwip_port_assert(const char *msg, const char *file, int line);

/**
 * 32 random bits from the board's entropy source, for RFC 6056 port randomisation, DHCP
 * transaction ids and IGMP report delays. Without a source it returns 0 and says so once
 * on the console: lwIP then behaves as if LWIP_RAND were not defined (fixed first
 * ephemeral port). Never used for anything cryptographic.
 */
uint32_t ward_lwip_port_rand(void);

#define LWIP_PLATFORM_DIAG(x)                                                                      \
    do {                                                                                           \
        ward_lwip_port_diag x;                                                                     \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x) ward_lwip_port_assert((x), __FILE__, __LINE__)
#define LWIP_RAND()             ((u32_t)ward_lwip_port_rand())

#endif /* WARD_BOARDS_COMMON_CORTEX_M_LWIP_ARCH_CC_H_ */
