/*
 * Arm semihosting, used only to hand the result to the emulator (CONFIG_WARD_SEMIHOSTING).
 * On hardware without a debugger attached the BKPT instruction faults, so a board that
 * ships never calls this.
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_SEMIHOST_H_
#define WARD_BOARDS_COMMON_CORTEX_M_SEMIHOST_H_

/**
 * Stop the program with an exit status; QEMU exits with the same status.
 * Uses SYS_EXIT_EXTENDED so the host sees the code itself, not just success/failure.
 */
__attribute__((noreturn)) void cm_semihost_exit(int code);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_SEMIHOST_H_ */
