/*
 * Semihosting for AArch32 and AArch64 (Arm, 2.0): on M-profile the call is BKPT 0xAB with
 * the operation in r0 and its argument in r1.
 */
#include <stdint.h>

#include "semihost.h"

#define SYS_EXIT          0x18u
#define SYS_EXIT_EXTENDED 0x20u

#define ADP_STOPPED_APPLICATION_EXIT    0x20026u
#define ADP_STOPPED_RUN_TIME_ERROR_UNKN 0x20023u

static uintptr_t semihost_call(uint32_t op, uintptr_t arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;

    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void cm_semihost_exit(int code)
{
    /* SYS_EXIT_EXTENDED: a block {reason, subcode}; QEMU exits with the subcode. */
    uint32_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code };

    semihost_call(SYS_EXIT_EXTENDED, (uintptr_t)block);

    /*
     * Still here: the host lacks the extension. On AArch32 plain SYS_EXIT takes the reason
     * itself, which still tells success from failure.
     */
    semihost_call(SYS_EXIT,
                  code == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUN_TIME_ERROR_UNKN);
    for (;;) {
        __asm__ volatile("wfi");
    }
}
