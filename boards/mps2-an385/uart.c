#include <errno.h>

#include "an385.h"
#include "uart.h"

/* CMSDK APB UART registers (Arm Cortex-M System Design Kit TRM, 4.3) */
#define UART_DATA    AN385_REG(AN385_UART0_BASE + 0x00u)
#define UART_STATE   AN385_REG(AN385_UART0_BASE + 0x04u)
#define UART_CTRL    AN385_REG(AN385_UART0_BASE + 0x08u)
#define UART_BAUDDIV AN385_REG(AN385_UART0_BASE + 0x10u)

#define UART_STATE_TX_FULL (1u << 0)
#define UART_CTRL_TX_EN    (1u << 0)

/* The TRM's lower bound for the divider: the UART samples 16 times per bit. */
#define UART_BAUDDIV_MIN 16u

int an385_uart_init(uint32_t baud)
{
    if (baud == 0 || AN385_SYSCLK_HZ / baud < UART_BAUDDIV_MIN) {
        return -EINVAL;
    }
    UART_CTRL = 0;
    UART_BAUDDIV = AN385_SYSCLK_HZ / baud;
    UART_CTRL = UART_CTRL_TX_EN;
    return 0;
}

static void uart_putc(char c)
{
    while (UART_STATE & UART_STATE_TX_FULL) {
    }
    UART_DATA = (uint8_t)c;
}

void an385_uart_write(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            uart_putc('\r');
        }
        uart_putc(buf[i]);
    }
}
