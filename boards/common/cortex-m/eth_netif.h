/*
 * What every board's Ethernet driver shares (cm_port.h: cm_eth_init()): the lwIP settings of
 * an Ethernet interface and adding it as the default interface with a static address.
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_ETH_NETIF_H_
#define WARD_BOARDS_COMMON_CORTEX_M_ETH_NETIF_H_

#include <stdint.h>

#include <lwip/netif.h>

/**
 * For a driver's netif init function, once nif->hwaddr holds the MAC address: name "en",
 * MTU 1500, ARP and broadcast, etharp_output over linkoutput, MIB-2 counters at bps.
 */
void cm_eth_netif_fill(struct netif *nif, netif_linkoutput_fn linkoutput, uint32_t bps);

/**
 * Add the interface (init: the driver's netif init function) with a static address (network
 * byte order) as lwIP's default, up, link up. @return 0, -EIO when lwIP or init refuses it.
 */
int cm_eth_netif_add(struct netif *nif, uint32_t ip, uint32_t netmask, uint32_t gw,
                     netif_init_fn init);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_ETH_NETIF_H_ */
