/* The console: UART0 of the AN385, an Arm CMSDK APB UART (transmit only, polled). */
#ifndef WARD_BOARDS_MPS2_AN385_UART_H_
#define WARD_BOARDS_MPS2_AN385_UART_H_

#include <stddef.h>
#include <stdint.h>

/**
 * Enable the transmitter at the given baud rate.
 * @return 0, -EINVAL when the rate cannot be reached from the 25 MHz APB clock.
 */
int an385_uart_init(uint32_t baud);

/**
 * Write bytes, turning each "\n" into "\r\n" for terminals. Blocks while the transmit
 * buffer is full; safe to call from fault handlers.
 */
void an385_uart_write(const char *buf, size_t len);

#endif /* WARD_BOARDS_MPS2_AN385_UART_H_ */
