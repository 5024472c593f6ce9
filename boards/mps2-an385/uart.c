#include <errno.h>

#include "cm_board.h"
#include "uart.h"

/* CMSDK APB UART registers (Arm Cortex-M System Design Kit TRM, 4.3) */
#define UART_DATA    CM_REG(AN385_UART0_BASE + 0x00u)
#define UART_STATE   CM_REG(AN385_UART0_BASE + 0x04u)
#define UART_CTRL    CM_REG(AN385_UART0_BASE + 0x08u)
#define UART_BAUDDIV CM_REG(AN385_UART0_BASE + 0x10u)

#define UART_STATE_TX_FULL (1u << 0)
#define UART_CTRL_TX_EN    (1u << 0)

/* The TRM's lower bound for the divider: the UART samples 16 times per bit. */
#define UART_BAUDDIV_MIN 16u

int cm_uart_init(uint32_t baud)
{
    if (baud == 0 || CM_SYSCLK_HZ / baud < UART_BAUDDIV_MIN) {
        return -EINVAL;
    }
    UART_CTRL = 0;
    UART_BAUDDIV = CM_SYSCLK_HZ / baud;
    UART_CTRL = UART_CTRL_TX_EN;
    return 0;
}

void cm_uart_putc(char c)
{
    while (UART_STATE & UART_STATE_TX_FULL) {
    }
    UART_DATA = (uint8_t)c;
}
