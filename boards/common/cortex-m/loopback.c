/* A UDP round trip through lo0 (see loopback.h). */
#include <string.h>

#include <lwip/ip_addr.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/udp.h>

#include "loopback.h"

#define LOOP_PORT 7

struct loop_rx {
    unsigned count;
    u16_t len;
    char data[32];
};

static void loop_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                      u16_t port)
{
    struct loop_rx *rx = arg;

    (void)pcb;
    (void)addr;
    (void)port;
    rx->count++;
    rx->len = pbuf_copy_partial(p, rx->data, sizeof(rx->data), 0);
    pbuf_free(p);
}

static const char *roundtrip(struct udp_pcb *server, struct udp_pcb *client, struct loop_rx *rx,
                             const char *msg, u16_t len)
{
    ip_addr_t lo_addr;
    struct pbuf *p;
    err_t err;

    IP_ADDR4(&lo_addr, 127, 0, 0, 1);
    if (udp_bind(server, &lo_addr, LOOP_PORT) != ERR_OK) {
        return "cannot bind 127.0.0.1:7";
    }
    udp_recv(server, loop_recv, rx);
    p = pbuf_alloc(PBUF_TRANSPORT, len, PBUF_RAM);
    if (p == NULL) {
        return "no pbuf";
    }
    pbuf_take(p, msg, len);
    err = udp_sendto(client, p, &lo_addr, LOOP_PORT);
    pbuf_free(p);
    if (err != ERR_OK) {
        return "udp_sendto failed";
    }
    netif_poll_all(); /* NO_SYS: looped packets are delivered from the main loop */
    if (rx->count != 1 || rx->len != len || memcmp(rx->data, msg, len) != 0) {
        return "datagram not received back";
    }
    return NULL;
}

const char *cm_udp_loopback(const char *msg, uint16_t len)
{
    struct loop_rx rx = { 0 };
    struct udp_pcb *server;
    struct udp_pcb *client;
    const char *why;

    if (len > sizeof(rx.data)) {
        return "datagram longer than 32 bytes";
    }
    server = udp_new();
    client = udp_new();
    why =
        server == NULL || client == NULL ? "no UDP PCB" : roundtrip(server, client, &rx, msg, len);
    if (client != NULL) {
        udp_remove(client);
    }
    if (server != NULL) {
        udp_remove(server);
    }
    return why;
}
