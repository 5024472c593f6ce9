/*
 * lwIP options for the Cortex-M boards: NO_SYS=1 (one main loop, no RTOS), raw API only, IPv4 over
 * Ethernet (the board's LAN9118 or Stellaris MAC) plus the loopback interface. Pools are small and
 * static: lwIP allocates from its own arrays (MEM_SIZE, the MEMP pools), never from the C heap.
 *
 * Only what differs from lwIP's opt.h defaults, or matters enough to state, is listed.
 * Reviewed for lwIP 2.2.1: every option here keeps its name and meaning; 2.2's ACD module
 * stays off (it follows LWIP_AUTOIP and the DHCP ARP check, both off), IPv6 scopes do not
 * apply, MEM_CUSTOM_ALLOCATOR is not used (lwIP's static heap).
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_LWIP_LWIPOPTS_H_
#define WARD_BOARDS_COMMON_CORTEX_M_LWIP_LWIPOPTS_H_

/* No OS: the main loop calls lwIP; the SysTick handler only counts milliseconds. */
#define NO_SYS               1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_TIMERS          1

/* Raw API only */
#define LWIP_SOCKET    0
#define LWIP_NETCONN   0
#define LWIP_NETIF_API 0

/* Memory: lwIP's static heap (PBUF_RAM) and pools; MEM_LIBC_MALLOC stays 0. */
#define MEM_LIBC_MALLOC         0
#define MEMP_MEM_MALLOC         0
#define MEM_ALIGNMENT           4
#define MEM_SIZE                (4 * 1024) /* tcp_write copies: TCP_SND_BUF + headers */
#define MEMP_NUM_PBUF           4
#define MEMP_NUM_UDP_PCB        2
#define MEMP_NUM_TCP_PCB        2 /* the collector connection, one closing */
#define MEMP_NUM_TCP_PCB_LISTEN 1
#define MEMP_NUM_TCP_SEG        8
#define MEMP_NUM_ARP_QUEUE      2
#define PBUF_POOL_SIZE          3 /* the receive window (2 segments) + 1 */
#define ARP_TABLE_SIZE          4

/* Protocols: IPv4, ARP, ICMP, UDP, TCP. No reassembly: the agent talks TCP with an MSS. */
#define LWIP_IPV4     1
#define LWIP_IPV6     0
#define LWIP_ARP      1
#define LWIP_ETHERNET 1
#define LWIP_ICMP     1
#define LWIP_RAW      0
#define LWIP_UDP      1
#define LWIP_TCP      1
#define LWIP_DHCP     0
#define LWIP_AUTOIP   0
#define LWIP_IGMP     0
#define LWIP_DNS      0
#define IP_REASSEMBLY 0
#define IP_FRAG       0

/*
 * TCP for one TLS connection with 4 KiB records (max_fragment_length 4096). mbedTLS copies
 * each record into its own input buffer (in the TLS pool) as bytes arrive and the port
 * opens the window for what it copied, so the window need not hold a whole record: two
 * full-size segments. The send buffer holds one request (CONFIG_WARD_TRANSPORT_TX_BUF_SIZE,
 * 2 KiB, plus the record overhead).
 */
#define TCP_MSS     1460
#define TCP_WND     (2 * TCP_MSS)
#define TCP_SND_BUF (2 * TCP_MSS)

/* Loopback interface (lo0, 127.0.0.1), polled from the main loop with netif_poll_all(). */
#define LWIP_NETIF_LOOPBACK     1
#define LWIP_HAVE_LOOPIF        1
#define LWIP_LOOPBACK_MAX_PBUFS 2

/* Checksums in software both ways: neither controller offloads checksums. */
#define CHECKSUM_GEN_IP              1
#define CHECKSUM_GEN_UDP             1
#define CHECKSUM_GEN_TCP             1
#define CHECKSUM_GEN_ICMP            1
#define CHECKSUM_CHECK_IP            1
#define CHECKSUM_CHECK_UDP           1
#define CHECKSUM_CHECK_TCP           1
#define CHECKSUM_CHECK_ICMP          1
#define LWIP_CHECKSUM_CTRL_PER_NETIF 0
#define LWIP_CHECKSUM_ON_COPY        0
#define LWIP_CHKSUM_ALGORITHM        3 /* 32-bit accumulation, suits the M3 */

/*
 * Statistics. The agent will report interface counters, so link, IP and TCP statistics
 * stay on, and MIB2_STATS adds per-netif octet and packet counters
 * (netif->mib2_counters). LWIP_STATS_LARGE makes every counter 32 bits (16 would wrap
 * between two reports on a busy link); the core computes deltas and handles the wrap.
 */
#define LWIP_STATS         1
#define LWIP_STATS_LARGE   1
#define LWIP_STATS_DISPLAY 0
#define LINK_STATS         1
#define ETHARP_STATS       1
#define IP_STATS           1
#define ICMP_STATS         1
#define UDP_STATS          1
#define TCP_STATS          1
#define MEM_STATS          1
#define MEMP_STATS         1
#define SYS_STATS          0
#define MIB2_STATS         1

#endif /* WARD_BOARDS_COMMON_CORTEX_M_LWIP_LWIPOPTS_H_ */
