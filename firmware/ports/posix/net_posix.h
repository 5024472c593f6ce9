/*
 * The transport's network interface on Linux: one non-blocking TCP socket.
 *
 * Numeric addresses (IPv4, IPv6) are used without any allocation; a host name is resolved
 * with getaddrinfo() at each connect (the collector may move), which blocks for at most the
 * resolver's own timeout and is the one libc-heap use of the reporting path.
 */
#ifndef WARD_PORTS_POSIX_NET_POSIX_H_
#define WARD_PORTS_POSIX_NET_POSIX_H_

#include "ward/transport/net.h"

struct ward_net_posix {
    int fd; /* -1 when closed */
};

void ward_net_posix_init(struct ward_net_posix *p);

/** The ward_net view (ops + context) of this socket. */
struct ward_net ward_net_posix(struct ward_net_posix *p);

/** The socket to poll(), or -1. */
int ward_net_posix_fd(const struct ward_net_posix *p);

#endif /* WARD_PORTS_POSIX_NET_POSIX_H_ */
