/* The transport's network port on this board: one TCP connection over lwIP's raw API. */
#ifndef WARD_BOARDS_MPS2_AN385_NET_LWIP_H_
#define WARD_BOARDS_MPS2_AN385_NET_LWIP_H_

#include <stdbool.h>

#include "ward/transport/net.h"

struct tcp_pcb;
struct pbuf;

/* Fields private; written by lwIP's callbacks, read by the ops. */
struct an385_net {
    struct tcp_pcb *pcb;
    struct pbuf *rx; /* received, not yet read */
    int error;       /* negative errno once the connection failed */
    bool connected;
    bool peer_closed;
};

/** A ward_net whose ops drive n (zeroed here). Call from the thread that runs lwIP. */
struct ward_net an385_net_lwip(struct an385_net *n);

#endif /* WARD_BOARDS_MPS2_AN385_NET_LWIP_H_ */
