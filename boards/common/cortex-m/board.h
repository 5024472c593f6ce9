/*
 * Board services shared by the Cortex-M board files: the console and how the program ends.
 * Everything prints on UART0; nothing here allocates.
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_BOARD_H_
#define WARD_BOARDS_COMMON_CORTEX_M_BOARD_H_

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses the emulator reports (through semihosting) and ctest checks. */
#define CM_EXIT_PASS  0 /* every self-test and board check passed */
#define CM_EXIT_FAIL  1 /* a self-test or board check failed */
#define CM_EXIT_CRASH 2 /* fault, assertion or panic */

/** Print one line on the console (the newline is added). */
void cm_puts(const char *line);

/** printf to the console through a 160-byte line buffer; longer output is cut. */
__attribute__((format(printf, 1, 2))) void cm_printf(const char *fmt, ...);

/** As cm_printf() with a va_list. */
__attribute__((format(printf, 1, 0))) void cm_vprintf(const char *fmt, va_list ap);

/**
 * End the program. With CONFIG_WARD_SEMIHOSTING the emulator exits with this status;
 * otherwise the core sleeps until a reset (a shipping board's watchdog).
 */
__attribute__((noreturn)) void cm_exit(int status);

/** Print "panic: <message>" and end with CM_EXIT_CRASH. */
__attribute__((noreturn, format(printf, 1, 2))) void cm_panic(const char *fmt, ...);

/** Bytes of the main stack (CONFIG_WARD_STACK_SIZE, as linked). */
size_t cm_stack_size(void);

/** Most bytes of the main stack ever in use since reset (found from the paint pattern). */
size_t cm_stack_used(void);

/** Bytes the C library's heap has taken through _sbrk (at most CONFIG_WARD_HEAP_AT_START_SIZE). */
size_t cm_heap_used(void);

/** How many times _sbrk refused to grow the heap: each is a malloc that failed. */
uint32_t cm_heap_refusals(void);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_BOARD_H_ */
