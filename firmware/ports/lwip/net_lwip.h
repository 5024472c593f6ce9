/* The transport's network port for lwIP (NO_SYS=1): one TCP connection over the raw API. */
#ifndef WARD_PORTS_LWIP_NET_LWIP_H_
#define WARD_PORTS_LWIP_NET_LWIP_H_

#include <stdbool.h>

#include "ward/transport/net.h"

struct tcp_pcb;
struct pbuf;

/* Fields private; written by lwIP's callbacks, read by the ops. */
struct ward_net_lwip {
    struct tcp_pcb *pcb;
    struct pbuf *rx; /* received, not yet read */
    int error;       /* negative errno once the connection failed */
    bool connected;
    bool peer_closed;
};

/** A ward_net whose ops drive n (zeroed here). Call from the thread that runs lwIP. */
struct ward_net ward_net_lwip(struct ward_net_lwip *n);

#endif /* WARD_PORTS_LWIP_NET_LWIP_H_ */
