/* One UDP datagram through lwIP's loopback interface lo0, for the board checks and the sim image.
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_LOOPBACK_H_
#define WARD_BOARDS_COMMON_CORTEX_M_LOOPBACK_H_

#include <stdint.h>

/**
 * Send msg[0..len) (at most 32 bytes) from a fresh UDP PCB to 127.0.0.1:7, deliver it
 * (netif_poll_all) and check the same bytes arrived on a PCB bound there. Both PCBs are
 * freed on return. Needs lwip_init(); call from the thread that runs lwIP.
 * @return NULL on success, or a static reason.
 */
const char *cm_udp_loopback(const char *msg, uint16_t len);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_LOOPBACK_H_ */
