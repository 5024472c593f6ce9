/*
 * The LM3S6965's Ethernet controller (the datasheet's "Ethernet Controller" chapter: MAC
 * registers at 0x40048000, integrated PHY) as the board's lwIP netif (cm_port.h). 32-bit PIO
 * through the MAC's FIFOs, polled from the NO_SYS main loop: no interrupts (MACIM = 0), no
 * DMA, no frame buffer (frames are packed into FIFO words straight from/into pbufs).
 *
 * FIFO formats (little-endian words, the first byte in bits 0-7):
 *   transmit  a 16-bit payload length (the frame minus its 14-byte header), then the frame;
 *             MACTR's NEWTX starts it and clears when the frame has left. With PADEN and
 *             CRC the MAC pads to the minimum and appends the FCS.
 *   receive   MACNP counts whole frames waiting; each starts with a 16-bit length that
 *             counts itself, the frame and its 4-byte FCS, then the frame, then the FCS.
 *             A frame is gone from the FIFO once its last word is read.
 */
#include <errno.h>
#include <string.h>

#include <lwip/pbuf.h>
#include <lwip/snmp.h>
#include <lwip/stats.h>

#include "cm_port.h"
#include "eth_netif.h"

#define MAC(off) CM_REG(LM3S_ETH_BASE + (off))
#define MAC_RIS  MAC(0x000) /* read: raw interrupt status; write: MACIACK */
#define MAC_IM   MAC(0x004)
#define MAC_RCTL MAC(0x008)
#define MAC_TCTL MAC(0x00C)
#define MAC_DATA MAC(0x010)
#define MAC_IA0  MAC(0x014)
#define MAC_IA1  MAC(0x018)
#define MAC_THR  MAC(0x01C)
#define MAC_NP   MAC(0x034)
#define MAC_TR   MAC(0x038)

#define RIS_ALL      0x7fu
#define RCTL_RXEN    (1u << 0)
#define RCTL_BADCRC  (1u << 3) /* drop frames with a bad FCS */
#define RCTL_RSTFIFO (1u << 4)
#define TCTL_TXEN    (1u << 0)
#define TCTL_PADEN   (1u << 1)
#define TCTL_CRC     (1u << 2)
#define TCTL_DUPLEX  (1u << 3)
#define THR_OFF      0x3fu /* no early transmit: a frame goes when MACTR says so */
#define TR_NEWTX     (1u << 0)

#define ETH_HDR            14u
#define RX_OVERHEAD        6u /* the length field and the FCS */
#define RX_FRAMES_PER_POLL 8
#define SPIN_LIMIT         100000u

/* Bytes into FIFO words, in order, across calls. */
struct packer {
    uint32_t word;
    unsigned fill;
};

static void pack(struct packer *k, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        k->word |= (uint32_t)b[i] << (8u * k->fill);
        if (++k->fill == 4u) {
            MAC_DATA = k->word;
            k->word = 0;
            k->fill = 0;
        }
    }
}

static err_t enet_output(struct netif *nif, struct pbuf *p)
{
    struct packer k = { 0, 0 };
    uint8_t len[2];
    uint32_t i;

    if (p->tot_len < ETH_HDR || p->tot_len > 1514u) {
        LINK_STATS_INC(link.drop);
        return ERR_ARG;
    }
    for (i = 0; (MAC_TR & TR_NEWTX) != 0; i++) {
        if (i == SPIN_LIMIT) {
            LINK_STATS_INC(link.drop);
            return ERR_MEM; /* TCP retransmits */
        }
    }
    len[0] = (uint8_t)(p->tot_len - ETH_HDR);
    len[1] = (uint8_t)((p->tot_len - ETH_HDR) >> 8);
    pack(&k, len, sizeof(len));
    for (const struct pbuf *q = p; q != NULL; q = q->next) {
        pack(&k, q->payload, q->len);
    }
    if (k.fill != 0) {
        MAC_DATA = k.word;
    }
    MAC_TR = TR_NEWTX;
    MIB2_STATS_NETIF_ADD(nif, ifoutoctets, p->tot_len);
    LINK_STATS_INC(link.xmit);
    return ERR_OK;
}

/* The rest of a frame whose first word (length, first two bytes) was read. */
static void rx_one(struct netif *nif, uint32_t first)
{
    uint32_t field = first & 0xffffu;
    uint32_t words = (field + 3u) / 4u;
    uint32_t len = field - RX_OVERHEAD;
    struct pbuf *p = NULL;

    if (field < RX_OVERHEAD + ETH_HDR || field > RX_OVERHEAD + 1518u) {
        /* A length the MAC never writes: the FIFO is out of step; start it afresh. */
        MAC_RCTL = RCTL_RSTFIFO;
        MAC_RCTL = RCTL_RXEN | RCTL_BADCRC;
        LINK_STATS_INC(link.err);
        return;
    }
    p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
    if (p != NULL) {
        uint16_t two = (uint16_t)(first >> 16);

        pbuf_take_at(p, &two, 2, 0);
    }
    for (uint32_t i = 1; i < words; i++) {
        uint32_t w = MAC_DATA;
        uint32_t off = 4u * i - 2u; /* of w's first byte in the frame */

        if (p != NULL && off < len) {
            pbuf_take_at(p, &w, (u16_t)(len - off < 4u ? len - off : 4u), (u16_t)off);
        }
    }
    if (p == NULL) {
        LINK_STATS_INC(link.drop);
        return;
    }
    MIB2_STATS_NETIF_ADD(nif, ifinoctets, len);
    LINK_STATS_INC(link.recv);
    if (nif->input(p, nif) != ERR_OK) {
        pbuf_free(p);
    }
}

void cm_eth_poll(struct netif *nif)
{
    for (int n = 0; n < RX_FRAMES_PER_POLL && MAC_NP != 0; n++) {
        rx_one(nif, MAC_DATA);
    }
    MAC_RIS = RIS_ALL; /* MACIACK: nothing waits on these flags, keep them clear */
}

/* The MAC has no free-running counter to offer; SysTick's jitter is all entropy.c mixes in. */
uint32_t cm_jitter(void)
{
    return 0;
}

static err_t enet_netif_init(struct netif *nif)
{
    uint32_t u0 = LM3S_USER0;
    uint32_t u1 = LM3S_USER1;

    /* The MAC address sits in the flash's user registers (erased: 0xFFFFFFFF), three bytes
     * each, and goes into MACIA0/MACIA1 for the receive filter. */
    if (u0 == 0xffffffffu || u1 == 0xffffffffu || (u0 | u1) == 0) {
        return ERR_IF;
    }
    nif->hwaddr[0] = (u8_t)u0;
    nif->hwaddr[1] = (u8_t)(u0 >> 8);
    nif->hwaddr[2] = (u8_t)(u0 >> 16);
    nif->hwaddr[3] = (u8_t)u1;
    nif->hwaddr[4] = (u8_t)(u1 >> 8);
    nif->hwaddr[5] = (u8_t)(u1 >> 16);
    MAC_IA0 = (uint32_t)nif->hwaddr[0] | (uint32_t)nif->hwaddr[1] << 8 |
              (uint32_t)nif->hwaddr[2] << 16 | (uint32_t)nif->hwaddr[3] << 24;
    MAC_IA1 = (uint32_t)nif->hwaddr[4] | (uint32_t)nif->hwaddr[5] << 8;
    cm_eth_netif_fill(nif, enet_output, 10000000);
    return ERR_OK;
}

static int mac_reset(void)
{
    LM3S_RCGC2 |= LM3S_RCGC2_EMAC0 | LM3S_RCGC2_EPHY0;
    MAC_IM = 0;
    MAC_THR = THR_OFF;
    /* The MAC answers if its registers hold what was written. */
    if (MAC_IM != 0 || MAC_THR != THR_OFF) {
        return -ENODEV;
    }
    MAC_RIS = RIS_ALL;
    MAC_RCTL = RCTL_RSTFIFO;
    MAC_RCTL = RCTL_RXEN | RCTL_BADCRC;
    MAC_TCTL = TCTL_TXEN | TCTL_PADEN | TCTL_CRC | TCTL_DUPLEX;
    return 0;
}

int cm_eth_init(struct netif *nif, uint32_t ip, uint32_t netmask, uint32_t gw)
{
    int rc = mac_reset();

    return rc != 0 ? rc : cm_eth_netif_add(nif, ip, netmask, gw, enet_netif_init);
}
