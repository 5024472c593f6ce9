/*
 * Checks of this board's port, run at boot after the core's self-tests: entropy fails
 * closed, mbedTLS's bignum assembly is right on the M3, lwIP moves a packet, and the C
 * heap stayed within its bound (none at all on this board).
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_CHECKS_H_
#define WARD_BOARDS_COMMON_CORTEX_M_CHECKS_H_

#include "ward/selftest.h"

/**
 * Run every board check, printing "PASS name" / "FAIL name: reason" and a final
 * "N passed, M failed" line, like ward_selftest_run(). Needs lwip_init() and the TLS arena.
 * @return 0 when all passed, -EFAULT when any failed.
 */
int cm_checks_run(ward_line_fn out, void *ctx, struct ward_selftest_summary *summary);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_CHECKS_H_ */
