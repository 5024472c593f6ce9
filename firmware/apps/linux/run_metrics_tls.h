/*
 * ward-agent run --metrics-tls: mutual TLS on the metrics listener. The agent's own
 * certificate and key (--cert, --key) identify it; a client must present a certificate the
 * fleet CA (--ca) signed, or the handshake fails. mbedTLS allocates from the agent's static
 * TLS pool (CONFIG_WARD_TLS_POOL_SIZE); a connection the pool cannot hold fails its
 * handshake and is closed. Sockets are non-blocking: every call may say "again".
 */
#ifndef WARD_APPS_LINUX_RUN_METRICS_TLS_H_
#define WARD_APPS_LINUX_RUN_METRICS_TLS_H_

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <mbedtls/ssl.h>

#include "ward/transport/tls.h"

#define METRICS_TLS_AGAIN_READ  (-1000) /* call again when the socket is readable */
#define METRICS_TLS_AGAIN_WRITE (-1001) /* ... writable */

struct metrics_tls {
    mbedtls_ssl_config conf;
    bool on;
};

struct metrics_tls_conn {
    mbedtls_ssl_context ssl;
    int fd;
    bool open;
    bool handshaken;
};

/** Server configuration over the device's parsed credentials (dev stays owned by the caller). */
int metrics_tls_setup(struct metrics_tls *t, struct ward_tls *dev);

/** Start a connection on a non-blocking fd. @return 0 or -ENOMEM. */
int metrics_tls_open(struct metrics_tls *t, struct metrics_tls_conn *c, int fd);

/** Advance the handshake. @return 0 done, METRICS_TLS_AGAIN_*, or -EPROTO (refused). */
int metrics_tls_handshake(struct metrics_tls_conn *c);

/** @return bytes (> 0), 0 at the peer's close, METRICS_TLS_AGAIN_*, or -EPROTO. */
ssize_t metrics_tls_recv(struct metrics_tls_conn *c, void *buf, size_t len);

/** @return bytes (> 0), METRICS_TLS_AGAIN_*, or -EPROTO. */
ssize_t metrics_tls_send(struct metrics_tls_conn *c, const void *buf, size_t len);

/** close_notify (best effort) and free; the fd is the caller's. */
void metrics_tls_close(struct metrics_tls_conn *c);

#endif /* WARD_APPS_LINUX_RUN_METRICS_TLS_H_ */
