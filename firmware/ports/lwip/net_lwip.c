/*
 * ward_net over lwIP's raw TCP API (NO_SYS=1), as docs/transport.md describes it: lwIP's
 * callbacks only record what happened (connected, error, a pbuf queued, FIN) and the
 * transport's polled ops read that state, so nothing calls back into the transport.
 *
 * Numeric IPv4 addresses only: the port does not use lwIP's DNS client (boards build it
 * without LWIP_DNS). Not board-specific: a board supplies lwipopts.h and arch/cc.h.
 */
#include <errno.h>
#include <string.h>

#include <lwip/ip_addr.h>
#include <lwip/pbuf.h>
#include <lwip/tcp.h>

#include "net_lwip.h"

static int err_to_errno(err_t err)
{
    switch (err) {
    case ERR_MEM:
    case ERR_BUF:
        return -ENOMEM;
    case ERR_RTE:
        return -EHOSTUNREACH;
    case ERR_RST:
        return -ECONNRESET;
    case ERR_ABRT:
        return -ECONNABORTED;
    case ERR_CLSD:
        return -ENOTCONN;
    case ERR_TIMEOUT:
        return -ETIMEDOUT;
    default:
        return -EIO;
    }
}

/* lwIP freed the pcb (RST, abort, timeout): only record it. */
static void on_err(void *arg, err_t err)
{
    struct ward_net_lwip *n = arg;

    n->pcb = NULL;
    n->error = err_to_errno(err);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct ward_net_lwip *n = arg;

    (void)pcb;
    n->connected = err == ERR_OK;
    if (err != ERR_OK) {
        n->error = err_to_errno(err);
    }
    return ERR_OK;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct ward_net_lwip *n = arg;

    (void)pcb;
    if (p == NULL) {
        n->peer_closed = true;
        return ERR_OK;
    }
    if (err != ERR_OK) {
        pbuf_free(p);
        return err;
    }
    if (n->rx == NULL) {
        n->rx = p;
    } else {
        pbuf_cat(n->rx, p);
    }
    return ERR_OK;
}

static void drop_pcb(struct ward_net_lwip *n)
{
    if (n->pcb != NULL) {
        tcp_arg(n->pcb, NULL);
        tcp_recv(n->pcb, NULL);
        tcp_err(n->pcb, NULL);
        if (tcp_close(n->pcb) != ERR_OK) {
            tcp_abort(n->pcb);
        }
        n->pcb = NULL;
    }
    if (n->rx != NULL) {
        pbuf_free(n->rx);
        n->rx = NULL;
    }
}

static int net_connect(void *ctx, const char *host, uint16_t port)
{
    struct ward_net_lwip *n = ctx;
    ip_addr_t addr;
    err_t err;

    drop_pcb(n);
    n->connected = false;
    n->peer_closed = false;
    n->error = 0;
    if (host == NULL || !ipaddr_aton(host, &addr)) {
        return -EINVAL;
    }
    n->pcb = tcp_new();
    if (n->pcb == NULL) {
        return -ENOMEM;
    }
    tcp_arg(n->pcb, n);
    tcp_err(n->pcb, on_err);
    tcp_recv(n->pcb, on_recv);
    tcp_nagle_disable(n->pcb); /* one request is one write; do not hold its tail */
    err = tcp_connect(n->pcb, &addr, port, on_connected);
    if (err != ERR_OK) {
        drop_pcb(n);
        return err_to_errno(err);
    }
    return -EINPROGRESS;
}

static int net_connect_result(void *ctx)
{
    struct ward_net_lwip *n = ctx;

    if (n->error != 0) {
        return n->error;
    }
    return n->connected ? 0 : -EINPROGRESS;
}

static int net_send(void *ctx, const uint8_t *buf, size_t len)
{
    struct ward_net_lwip *n = ctx;
    u16_t room;
    err_t err;

    if (n->error != 0) {
        return n->error;
    }
    if (n->pcb == NULL || !n->connected) {
        return -ENOTCONN;
    }
    room = tcp_sndbuf(n->pcb);
    if (room == 0) {
        return -EAGAIN;
    }
    if (len > room) {
        len = room;
    }
    err = tcp_write(n->pcb, buf, (u16_t)len, TCP_WRITE_FLAG_COPY);
    if (err == ERR_MEM) {
        return -EAGAIN; /* no segment or pbuf now; lwIP frees them as acks arrive */
    }
    if (err != ERR_OK) {
        return err_to_errno(err);
    }
    (void)tcp_output(n->pcb);
    return (int)len;
}

static int net_recv(void *ctx, uint8_t *buf, size_t len)
{
    struct ward_net_lwip *n = ctx;
    u16_t got;

    if (n->rx == NULL) {
        if (n->error != 0) {
            return n->error;
        }
        return n->peer_closed ? 0 : -EAGAIN;
    }
    if (len > n->rx->tot_len) {
        len = n->rx->tot_len;
    }
    got = pbuf_copy_partial(n->rx, buf, (u16_t)len, 0);
    n->rx = pbuf_free_header(n->rx, got);
    if (n->pcb != NULL) {
        tcp_recved(n->pcb, got); /* open the window only for what was taken */
    }
    return (int)got;
}

static void net_close(void *ctx)
{
    drop_pcb(ctx);
}

static const struct ward_net_ops s_ops = {
    .connect = net_connect,
    .connect_result = net_connect_result,
    .send = net_send,
    .recv = net_recv,
    .close = net_close,
};

struct ward_net ward_net_lwip(struct ward_net_lwip *n)
{
    struct ward_net net;

    memset(n, 0, sizeof(*n));
    memset(&net, 0, sizeof(net));
    net.ops = &s_ops;
    net.ctx = n;
    return net;
}
