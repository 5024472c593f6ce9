/* lwIP's compiler/platform port for the host test build of hal/lwip. */
#ifndef WARD_TESTS_UNIT_LWIP_NIC_ARCH_CC_H_
#define WARD_TESTS_UNIT_LWIP_NIC_ARCH_CC_H_

#include <stdio.h>
#include <stdlib.h>

#define LWIP_PLATFORM_DIAG(x)                                                                      \
    do {                                                                                           \
        printf x;                                                                                  \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x)                                                                    \
    do {                                                                                           \
        fprintf(stderr, "lwIP assertion failed: %s\n", (x));                                       \
        abort();                                                                                   \
    } while (0)
#define LWIP_RAND() ((u32_t)rand())

#endif /* WARD_TESTS_UNIT_LWIP_NIC_ARCH_CC_H_ */
