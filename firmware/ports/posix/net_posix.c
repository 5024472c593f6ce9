#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_posix.h"

/* Dead peers on an idle keep-alive connection are noticed within about 2 minutes. */
#define KEEPIDLE_S  60
#define KEEPINTVL_S 20
#define KEEPCNT     3

static void tune(int fd)
{
    int one = 1;
    int idle = KEEPIDLE_S;
    int intvl = KEEPINTVL_S;
    int cnt = KEEPCNT;

    /* A request is one TLS record: send it now, not after a delayed ACK. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* A numeric address needs no resolver and no heap. */
static int numeric(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof(*v6);
        return 0;
    }
    return -EINVAL;
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    char service[8];
    int rc;

    if (numeric(host, port, ss, len) == 0) {
        return 0;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || res == NULL || res->ai_addrlen > sizeof(*ss)) {
        if (res != NULL) {
            freeaddrinfo(res);
        }
        return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void np_close(void *ctx)
{
    struct ward_net_posix *p = ctx;

    if (p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
}

static int np_connect(void *ctx, const char *host, uint16_t port)
{
    struct ward_net_posix *p = ctx;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int rc;

    np_close(p);
    rc = resolve(host, port, &ss, &len);
    if (rc != 0) {
        return rc;
    }
    p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        return -errno;
    }
    tune(p->fd);
    if (connect(p->fd, (struct sockaddr *)&ss, len) == 0) {
        return 0;
    }
    if (errno == EINPROGRESS) {
        return -EINPROGRESS;
    }
    rc = -errno;
    np_close(p);
    return rc;
}

static int np_connect_result(void *ctx)
{
    struct ward_net_posix *p = ctx;
    struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
    int err = 0;
    socklen_t len = sizeof(err);

    if (p->fd < 0) {
        return -ENOTCONN;
    }
    if (poll(&pfd, 1, 0) == 0) {
        return -EINPROGRESS;
    }
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        return -errno;
    }
    return -err;
}

static int np_send(void *ctx, const uint8_t *buf, size_t len)
{
    struct ward_net_posix *p = ctx;
    ssize_t n;

    if (len > INT32_MAX) {
        len = INT32_MAX;
    }
    do {
        n = send(p->fd, buf, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        return (int)n;
    }
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static int np_recv(void *ctx, uint8_t *buf, size_t len)
{
    struct ward_net_posix *p = ctx;
    ssize_t n;

    if (len > INT32_MAX) {
        len = INT32_MAX;
    }
    do {
        n = recv(p->fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        return (int)n;
    }
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static const struct ward_net_ops s_posix_ops = {
    .connect = np_connect,
    .connect_result = np_connect_result,
    .send = np_send,
    .recv = np_recv,
    .close = np_close,
};

void ward_net_posix_init(struct ward_net_posix *p)
{
    p->fd = -1;
}

struct ward_net ward_net_posix(struct ward_net_posix *p)
{
    struct ward_net n = { .ops = &s_posix_ops, .ctx = p };

    return n;
}

int ward_net_posix_fd(const struct ward_net_posix *p)
{
    return p->fd;
}
