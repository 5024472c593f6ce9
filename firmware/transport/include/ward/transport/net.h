/*
 * The transport's network interface: one TCP connection, non-blocking, polled.
 *
 * Every op returns at once. Work that cannot finish now returns -EAGAIN (send/recv) or
 * -EINPROGRESS (connect); the caller polls again later, when the port says the socket is
 * ready or when a deadline passes. That shape fits both ports:
 *
 * - POSIX (firmware/ports/posix/net_posix.c): a non-blocking socket; connect() returns
 *   EINPROGRESS and connect_result() reads SO_ERROR once poll() reports it writable.
 * - lwIP raw API, NO_SYS=1 (bare metal, later): connect() calls tcp_connect() and returns
 *   -EINPROGRESS; the connected/err callbacks only record the outcome in the port's state,
 *   which connect_result() reports. tcp_recv() queues pbufs that recv() copies out (then
 *   tcp_recved()); a NULL pbuf records the peer's FIN so recv() returns 0. send() is
 *   tcp_write(TCP_WRITE_FLAG_COPY) bounded by tcp_sndbuf() plus tcp_output(), -EAGAIN when
 *   the send buffer is full. DNS (dns_gethostbyname) is one more -EINPROGRESS.
 *
 * No op may call back into the transport; that keeps lwIP's callbacks (which run inside
 * sys_check_timeouts()/netif input) free of re-entrancy.
 */
#ifndef WARD_TRANSPORT_NET_H_
#define WARD_TRANSPORT_NET_H_

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

struct ward_net_ops {
    /**
     * Start connecting to host:port (a name or a numeric address).
     * @return 0 connected, -EINPROGRESS pending (see connect_result), -EINVAL bad address,
     *         -EHOSTUNREACH name not resolved, another negative errno from the stack.
     */
    int (*connect)(void *ctx, const char *host, uint16_t port);
    /** @return 0 connected, -EINPROGRESS still pending, a negative errno when it failed. */
    int (*connect_result)(void *ctx);
    /** @return bytes accepted (> 0), -EAGAIN when none can be now, a negative errno. */
    int (*send)(void *ctx, const uint8_t *buf, size_t len);
    /** @return bytes read (> 0), 0 when the peer closed, -EAGAIN when none yet, -errno. */
    int (*recv)(void *ctx, uint8_t *buf, size_t len);
    /** Drop the connection (idempotent). */
    void (*close)(void *ctx);
};

/** Bytes that crossed this connection's port (TLS records, i.e. the TCP payload). */
struct ward_net_stats {
    uint64_t tx_bytes;
    uint64_t rx_bytes;
    uint32_t connects; /* connect attempts */
};

struct ward_net {
    const struct ward_net_ops *ops;
    void *ctx;
    struct ward_net_stats stats;
};

static inline int ward_net_connect(struct ward_net *n, const char *host, uint16_t port)
{
    if (n->ops->connect == NULL) {
        return -ENOSYS;
    }
    n->stats.connects++;
    return n->ops->connect(n->ctx, host, port);
}

static inline int ward_net_connect_result(struct ward_net *n)
{
    return n->ops->connect_result != NULL ? n->ops->connect_result(n->ctx) : -ENOSYS;
}

static inline int ward_net_send(struct ward_net *n, const uint8_t *buf, size_t len)
{
    int rc = n->ops->send != NULL ? n->ops->send(n->ctx, buf, len) : -ENOSYS;

    if (rc > 0) {
        n->stats.tx_bytes += (uint64_t)rc;
    }
    return rc;
}

static inline int ward_net_recv(struct ward_net *n, uint8_t *buf, size_t len)
{
    int rc = n->ops->recv != NULL ? n->ops->recv(n->ctx, buf, len) : -ENOSYS;

    if (rc > 0) {
        n->stats.rx_bytes += (uint64_t)rc;
    }
    return rc;
}

static inline void ward_net_close(struct ward_net *n)
{
    if (n->ops->close != NULL) {
        n->ops->close(n->ctx);
    }
}

#endif /* WARD_TRANSPORT_NET_H_ */
