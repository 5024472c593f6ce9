/*
 * lwIP built for the host, only to test hal/lwip against lwIP's real netif code: NO_SYS,
 * IPv4 + UDP, the loopback interface, MIB2 per-netif counters as the bare-metal board has
 * them. WARD_TEST_EXT_CALLBACK selects exact carrier-change counting (1) or counting at
 * each read (0, what boards without LWIP_NETIF_EXT_STATUS_CALLBACK get).
 */
#ifndef WARD_TESTS_UNIT_LWIP_NIC_LWIPOPTS_H_
#define WARD_TESTS_UNIT_LWIP_NIC_LWIPOPTS_H_

#define NO_SYS                         1
#define SYS_LIGHTWEIGHT_PROT           0
#define LWIP_TIMERS                    1
#define LWIP_SOCKET                    0
#define LWIP_NETCONN                   0
#define LWIP_NETIF_API                 0
#define MEM_LIBC_MALLOC                0
#define MEM_ALIGNMENT                  8
#define MEM_SIZE                       (16 * 1024)
#define LWIP_IPV4                      1
#define LWIP_IPV6                      0
#define LWIP_UDP                       1
#define LWIP_TCP                       0
#define LWIP_DHCP                      0
#define LWIP_NETIF_LOOPBACK            1
#define LWIP_HAVE_LOOPIF               1
#define LWIP_STATS                     1
#define LWIP_STATS_LARGE               1
#define LWIP_STATS_DISPLAY             0
#define MIB2_STATS                     1
#define LWIP_NETIF_EXT_STATUS_CALLBACK WARD_TEST_EXT_CALLBACK

#endif /* WARD_TESTS_UNIT_LWIP_NIC_LWIPOPTS_H_ */
