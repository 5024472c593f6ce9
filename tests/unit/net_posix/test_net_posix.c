/*
 * The POSIX socket port on loopback: non-blocking connect completes, a closed port is
 * refused, bytes flow and are counted, -EAGAIN when nothing is there, 0 at the peer's close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "net_posix.h"

static int listener(uint16_t *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Poll connect_result until it settles (bounded: 2 s). */
static int settle(struct ward_net *n, struct ward_net_posix *p)
{
    int rc = -EINPROGRESS;

    for (int i = 0; i < 200 && rc == -EINPROGRESS; i++) {
        struct pollfd pfd = { .fd = ward_net_posix_fd(p), .events = POLLOUT };

        (void)poll(&pfd, 1, 10);
        rc = ward_net_connect_result(n);
    }
    return rc;
}

static void test_connect_send_recv_close(void **state)
{
    struct ward_net_posix p;
    struct ward_net n;
    uint16_t port;
    int lfd = listener(&port);
    int sfd;
    int rc;
    uint8_t buf[16];

    (void)state;
    ward_net_posix_init(&p);
    n = ward_net_posix(&p);
    rc = ward_net_connect(&n, "127.0.0.1", port);
    assert_true(rc == 0 || rc == -EINPROGRESS);
    assert_int_equal(settle(&n, &p), 0);
    sfd = accept(lfd, NULL, NULL);
    assert_true(sfd >= 0);
    assert_int_equal(ward_net_recv(&n, buf, sizeof(buf)), -EAGAIN);
    assert_int_equal(ward_net_send(&n, (const uint8_t *)"hello", 5), 5);
    assert_int_equal(read(sfd, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(write(sfd, "abc", 3), 3);
    {
        struct pollfd pfd = { .fd = ward_net_posix_fd(&p), .events = POLLIN };
        assert_int_equal(poll(&pfd, 1, 2000), 1);
    }
    assert_int_equal(ward_net_recv(&n, buf, sizeof(buf)), 3);
    close(sfd);
    {
        struct pollfd pfd = { .fd = ward_net_posix_fd(&p), .events = POLLIN };
        assert_int_equal(poll(&pfd, 1, 2000), 1);
    }
    assert_int_equal(ward_net_recv(&n, buf, sizeof(buf)), 0);
    assert_int_equal(n.stats.tx_bytes, 5);
    assert_int_equal(n.stats.rx_bytes, 3);
    assert_int_equal(n.stats.connects, 1);
    ward_net_close(&n);
    assert_int_equal(ward_net_posix_fd(&p), -1);
    ward_net_close(&n); /* idempotent */
    close(lfd);
}

static void test_refused_and_bad_names(void **state)
{
    struct ward_net_posix p;
    struct ward_net n;
    uint16_t port;
    int lfd = listener(&port);
    int rc;

    (void)state;
    close(lfd); /* nobody listens there any more */
    ward_net_posix_init(&p);
    n = ward_net_posix(&p);
    rc = ward_net_connect(&n, "127.0.0.1", port);
    if (rc == -EINPROGRESS) {
        rc = settle(&n, &p);
    }
    assert_int_equal(rc, -ECONNREFUSED);
    ward_net_close(&n);
    assert_int_equal(ward_net_connect(&n, "no-such-host.invalid", 443), -EHOSTUNREACH);
    rc = ward_net_connect(&n, "::1", port);
    if (rc == -EINPROGRESS) {
        rc = settle(&n, &p);
    }
    assert_true(rc == -ECONNREFUSED || rc == -EADDRNOTAVAIL || rc == -ENETUNREACH ||
                rc == -EAFNOSUPPORT);
    ward_net_close(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_send_recv_close),
        cmocka_unit_test(test_refused_and_bad_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
