#include <errno.h>

#include <lwip/etharp.h>
#include <lwip/snmp.h>
#include <netif/ethernet.h>

#include "eth_netif.h"

void cm_eth_netif_fill(struct netif *nif, netif_linkoutput_fn linkoutput, uint32_t bps)
{
    nif->hwaddr_len = ETH_HWADDR_LEN;
    nif->name[0] = 'e';
    nif->name[1] = 'n';
    nif->mtu = 1500;
    nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    nif->output = etharp_output;
    nif->linkoutput = linkoutput;
    MIB2_INIT_NETIF(nif, snmp_ifType_ethernet_csmacd, bps);
}

int cm_eth_netif_add(struct netif *nif, uint32_t ip, uint32_t netmask, uint32_t gw,
                     netif_init_fn init)
{
    ip4_addr_t a;
    ip4_addr_t m;
    ip4_addr_t g;

    ip4_addr_set_u32(&a, ip);
    ip4_addr_set_u32(&m, netmask);
    ip4_addr_set_u32(&g, gw);
    if (netif_add(nif, &a, &m, &g, NULL, init, ethernet_input) == NULL) {
        return -EIO;
    }
    netif_set_default(nif);
    netif_set_up(nif);
    netif_set_link_up(nif);
    return 0;
}
