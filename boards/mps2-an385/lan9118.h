/*
 * The AN385's Ethernet controller, an SMSC LAN9118 at 0x40200000 (QEMU's mps2-an385 models
 * it), as an lwIP netif. Polled: the NO_SYS main loop calls an385_lan9118_poll(), which
 * moves every received frame into lwIP; nothing runs in interrupt context.
 */
#ifndef WARD_BOARDS_MPS2_AN385_LAN9118_H_
#define WARD_BOARDS_MPS2_AN385_LAN9118_H_

#include <stdint.h>

#include <lwip/netif.h>

/**
 * Reset the chip, check it answers (BYTE_TEST, ID_REV), enable the MAC and add it to lwIP
 * as the default interface with a static address (network byte order), link up.
 * @return 0, -ENODEV when no LAN9118 answers, -EIO when lwIP refuses the interface.
 */
int an385_lan9118_init(struct netif *nif, uint32_t ip, uint32_t netmask, uint32_t gw);

/** Hand every frame waiting in the receive FIFO to lwIP (bounded per call). */
void an385_lan9118_poll(struct netif *nif);

/** The chip's 25 MHz free-running counter: timing jitter for entropy mixing (weak). */
uint32_t an385_lan9118_free_run(void);

#endif /* WARD_BOARDS_MPS2_AN385_LAN9118_H_ */
