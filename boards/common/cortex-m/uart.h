/*
 * The console: the board's UART0, transmit only, polled. Each board's uart.c implements
 * cm_uart_init() and cm_uart_putc(); cm_uart_write() is shared (board.c).
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_UART_H_
#define WARD_BOARDS_COMMON_CORTEX_M_UART_H_

#include <stddef.h>
#include <stdint.h>

/**
 * Enable the transmitter at the given baud rate.
 * @return 0, -EINVAL when the rate cannot be reached from the board's UART clock.
 */
int cm_uart_init(uint32_t baud);

/** Send one byte; blocks while the transmit buffer is full. Safe in fault handlers. */
void cm_uart_putc(char c);

/**
 * Write bytes, turning each "\n" into "\r\n" for terminals. Blocks while the transmit
 * buffer is full; safe to call from fault handlers.
 */
void cm_uart_write(const char *buf, size_t len);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_UART_H_ */
