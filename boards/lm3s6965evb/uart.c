/*
 * The console on UART0 of the LM3S6965 (0x4000C000): an Arm PrimeCell UART (PL011), as the
 * LM3S6965 datasheet, "Universal Asynchronous Receivers/Transmitters", describes it. Transmit
 * only, polled, 8N1 with the FIFOs on.
 */
#include <errno.h>

#include "cm_board.h"
#include "uart.h"

#define UART_DR   CM_REG(LM3S_UART0_BASE + 0x000u)
#define UART_FR   CM_REG(LM3S_UART0_BASE + 0x018u)
#define UART_IBRD CM_REG(LM3S_UART0_BASE + 0x024u)
#define UART_FBRD CM_REG(LM3S_UART0_BASE + 0x028u)
#define UART_LCRH CM_REG(LM3S_UART0_BASE + 0x02Cu)
#define UART_CTL  CM_REG(LM3S_UART0_BASE + 0x030u)

#define GPIO_AFSEL CM_REG(LM3S_GPIOA_BASE + 0x420u)
#define GPIO_DEN   CM_REG(LM3S_GPIOA_BASE + 0x51Cu)

#define UART_FR_TXFF     (1u << 5)
#define UART_LCRH_FEN    (1u << 4)
#define UART_LCRH_WLEN_8 (3u << 5)
#define UART_CTL_UARTEN  (1u << 0)
#define UART_CTL_TXE     (1u << 8)
#define UART_PINS        0x3u /* PA0 (U0Rx) and PA1 (U0Tx) */

int cm_uart_init(uint32_t baud)
{
    /* The divisor is CM_SYSCLK_HZ / (16 * baud) in 16.6 fixed point (IBRD.FBRD). */
    uint32_t div64;

    if (baud == 0) {
        return -EINVAL;
    }
    div64 = (uint32_t)(((uint64_t)CM_SYSCLK_HZ * 4u + baud / 2u) / baud);
    if (div64 < 64u || div64 >= (65536u << 6)) {
        return -EINVAL;
    }
    LM3S_RCGC1 |= LM3S_RCGC1_UART0;
    LM3S_RCGC2 |= LM3S_RCGC2_GPIOA;
    GPIO_AFSEL |= UART_PINS;
    GPIO_DEN |= UART_PINS;
    UART_CTL = 0;
    UART_IBRD = div64 >> 6;
    UART_FBRD = div64 & 0x3fu;
    UART_LCRH = UART_LCRH_WLEN_8 | UART_LCRH_FEN; /* written last: it latches the divisor */
    UART_CTL = UART_CTL_UARTEN | UART_CTL_TXE;
    return 0;
}

void cm_uart_putc(char c)
{
    while (UART_FR & UART_FR_TXFF) {
    }
    UART_DR = (uint8_t)c;
}
