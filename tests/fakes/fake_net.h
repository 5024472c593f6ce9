/*
 * A scriptable ward_net for the transport's tests: no sockets. The test sets how connect
 * behaves, how many bytes each send/recv may move, where -EAGAIN is injected, and queues
 * the bytes the "server" sends. Everything the transport writes is recorded.
 */
#ifndef WARD_TESTS_FAKES_FAKE_NET_H_
#define WARD_TESTS_FAKES_FAKE_NET_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/transport/net.h"

#define FAKE_NET_BUF 16384

struct fake_net {
    /* connect: connect() returns connect_rc; then connect_result() returns -EINPROGRESS
     * connect_pending times before returning connect_result_rc. */
    int connect_rc;
    unsigned connect_pending;
    int connect_result_rc;
    /* I/O shaping */
    size_t send_max;       /* bytes per send (0 = unlimited) */
    size_t recv_max;       /* bytes per recv (0 = unlimited) */
    unsigned eagain_every; /* every Nth send/recv call returns -EAGAIN (0 = never) */
    uint64_t chaos_seed;   /* nonzero: random -EAGAIN (1 in 3) and random chunk sizes */
    int send_error;        /* nonzero: every send fails with it */
    int recv_error;        /* nonzero: recv fails with it once the queue is empty */
    bool peer_closed;      /* recv returns 0 once the queue is empty */
    /* state */
    bool connected;
    unsigned calls;
    uint8_t tx[FAKE_NET_BUF]; /* what the client sent, since the last fake_net_take_tx() */
    size_t tx_len;
    uint8_t rx[FAKE_NET_BUF]; /* what the server will send */
    size_t rx_len;
    size_t rx_pos;
    unsigned connects;
    unsigned closes;
    char host[64];
    uint16_t port;
};

void fake_net_init(struct fake_net *f);
struct ward_net fake_net_as_net(struct fake_net *f);
/** Queue bytes from the server. */
void fake_net_push(struct fake_net *f, const void *data, size_t len);
void fake_net_push_str(struct fake_net *f, const char *s);
/** Forget what the client has sent so far. */
void fake_net_take_tx(struct fake_net *f);

#endif /* WARD_TESTS_FAKES_FAKE_NET_H_ */
