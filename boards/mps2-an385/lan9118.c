/*
 * SMSC LAN9118 driver (register map and FIFO formats from the LAN9118 datasheet, sections
 * 3.12, 3.13 and 5): 32-bit PIO through the TX and RX data FIFOs, one frame per TX command
 * pair, the status FIFOs read to learn each received frame's length. No DMA, no interrupts.
 * The AN385's Ethernet controller, at 0x40200000 (QEMU's mps2-an385 models it), as the board's
 * lwIP netif (cm_port.h): polled from the NO_SYS main loop, nothing runs in interrupt context.
 */
#include <errno.h>
#include <string.h>

#include <lwip/pbuf.h>
#include <lwip/snmp.h>
#include <lwip/stats.h>

#include "cm_port.h"
#include "eth_netif.h"

#define LAN_BASE     0x40200000u
#define LAN(off)     CM_REG(LAN_BASE + (off))
#define RX_DATA      LAN(0x00)
#define TX_DATA      LAN(0x20)
#define RX_STATUS    LAN(0x40)
#define TX_STATUS    LAN(0x48)
#define ID_REV       LAN(0x50)
#define INT_EN       LAN(0x5c)
#define BYTE_TEST    LAN(0x64)
#define RX_CFG       LAN(0x6c)
#define TX_CFG       LAN(0x70)
#define HW_CFG       LAN(0x74)
#define RX_FIFO_INF  LAN(0x7c)
#define TX_FIFO_INF  LAN(0x80)
#define FREE_RUN     LAN(0x9c)
#define MAC_CSR_CMD  LAN(0xa4)
#define MAC_CSR_DATA LAN(0xa8)

#define BYTE_TEST_MAGIC    0x87654321u
#define HW_CFG_SRST        (1u << 0)
#define TX_CFG_TX_ON       (1u << 1)
#define CSR_BUSY           (1u << 31)
#define CSR_READ           (1u << 30)
#define MAC_CR             1u
#define MAC_ADDRH          2u
#define MAC_ADDRL          3u
#define MAC_CR_FDPX        (1u << 20)
#define MAC_CR_TXEN        (1u << 3)
#define MAC_CR_RXEN        (1u << 2)
#define TXA_FIRST          (1u << 13)
#define TXA_LAST           (1u << 12)
#define RXS_LEN(s)         (((s) >> 16) & 0x3fffu)
#define RXS_ERROR          (1u << 15)
#define RX_FRAMES_PER_POLL 8
#define SPIN_LIMIT         100000u

static int mac_wait(void)
{
    for (uint32_t i = 0; i < SPIN_LIMIT; i++) {
        if ((MAC_CSR_CMD & CSR_BUSY) == 0) {
            return 0;
        }
    }
    return -EIO;
}

static int mac_read(uint32_t reg, uint32_t *val)
{
    MAC_CSR_CMD = CSR_BUSY | CSR_READ | reg;
    if (mac_wait() != 0) {
        return -EIO;
    }
    *val = MAC_CSR_DATA;
    return 0;
}

static int mac_write(uint32_t reg, uint32_t val)
{
    MAC_CSR_DATA = val;
    MAC_CSR_CMD = CSR_BUSY | reg;
    return mac_wait();
}

/* The frame, packed into FIFO words straight from the pbuf chain (little-endian: the first
 * byte in bits 0-7), so no frame-sized buffer is needed. */
static err_t lan_output(struct netif *nif, struct pbuf *p)
{
    uint32_t word = 0;
    unsigned fill = 0;

    if (p->tot_len > 1514u || (TX_FIFO_INF & 0xffffu) < (uint32_t)p->tot_len + 8u) {
        LINK_STATS_INC(link.drop);
        return ERR_MEM; /* TCP retransmits; the FIFO drains at wire speed */
    }
    TX_DATA = TXA_FIRST | TXA_LAST | p->tot_len;
    TX_DATA = ((uint32_t)p->tot_len << 16) | p->tot_len; /* tag = length */
    for (const struct pbuf *q = p; q != NULL; q = q->next) {
        const uint8_t *b = q->payload;

        for (u16_t i = 0; i < q->len; i++) {
            word |= (uint32_t)b[i] << (8u * fill);
            if (++fill == 4u) {
                TX_DATA = word;
                word = 0;
                fill = 0;
            }
        }
    }
    if (fill != 0) {
        TX_DATA = word;
    }
    while (((TX_FIFO_INF >> 16) & 0xffu) != 0) {
        (void)TX_STATUS; /* nobody reads the status: keep its FIFO from filling */
    }
    MIB2_STATS_NETIF_ADD(nif, ifoutoctets, p->tot_len);
    LINK_STATS_INC(link.xmit);
    return ERR_OK;
}

static void rx_one(struct netif *nif, uint32_t status)
{
    uint32_t len = RXS_LEN(status); /* includes the 4-byte FCS */
    uint32_t words = (len + 3u) / 4u;
    struct pbuf *p = NULL;

    if ((status & RXS_ERROR) == 0 && len >= 18u && len <= 1518u) {
        len -= 4u;
        p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
    }
    if (p == NULL) {
        /* Drop it by reading its words: fast-forward (RX_DP_CTRL) would do, but QEMU's model
         * of it loses its place in the FIFO, and every later frame is read misaligned. */
        for (uint32_t i = 0; i < words; i++) {
            (void)RX_DATA;
        }
        LINK_STATS_INC(link.drop);
        return;
    }
    for (uint32_t i = 0; i < words; i++) {
        uint32_t w = RX_DATA;
        uint32_t off = 4u * i;

        if (off < len) {
            pbuf_take_at(p, &w, (u16_t)(len - off < 4u ? len - off : 4u), (u16_t)off);
        }
    }
    MIB2_STATS_NETIF_ADD(nif, ifinoctets, len);
    LINK_STATS_INC(link.recv);
    if (nif->input(p, nif) != ERR_OK) {
        pbuf_free(p);
    }
}

void cm_eth_poll(struct netif *nif)
{
    for (int n = 0; n < RX_FRAMES_PER_POLL && ((RX_FIFO_INF >> 16) & 0xffu) != 0; n++) {
        rx_one(nif, RX_STATUS);
    }
}

uint32_t cm_jitter(void)
{
    return FREE_RUN;
}

static err_t lan_netif_init(struct netif *nif)
{
    uint32_t lo;
    uint32_t hi;

    if (mac_read(MAC_ADDRL, &lo) != 0 || mac_read(MAC_ADDRH, &hi) != 0) {
        return ERR_IF;
    }
    for (int i = 0; i < 4; i++) {
        nif->hwaddr[i] = (u8_t)(lo >> (8 * i));
    }
    nif->hwaddr[4] = (u8_t)hi;
    nif->hwaddr[5] = (u8_t)(hi >> 8);
    cm_eth_netif_fill(nif, lan_output, 100000000);
    return ERR_OK;
}

static int chip_reset(void)
{
    if (BYTE_TEST != BYTE_TEST_MAGIC || (ID_REV >> 16) != 0x0118u) {
        return -ENODEV;
    }
    HW_CFG = HW_CFG_SRST;
    for (uint32_t i = 0; (HW_CFG & HW_CFG_SRST) != 0; i++) {
        if (i == SPIN_LIMIT) {
            return -ENODEV;
        }
    }
    INT_EN = 0;
    RX_CFG = 0; /* no offset, no end padding: frames start at the first word */
    TX_CFG = TX_CFG_TX_ON;
    return mac_write(MAC_CR, MAC_CR_FDPX | MAC_CR_TXEN | MAC_CR_RXEN) == 0 ? 0 : -ENODEV;
}

int cm_eth_init(struct netif *nif, uint32_t ip, uint32_t netmask, uint32_t gw)
{
    int rc = chip_reset();

    return rc != 0 ? rc : cm_eth_netif_add(nif, ip, netmask, gw, lan_netif_init);
}
