#include <errno.h>
#include <string.h>

#include "fake_net.h"

static uint64_t chaos(struct fake_net *f)
{
    uint64_t z = (f->chaos_seed += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* -EAGAIN injection and chunk size for one I/O call. */
static bool inject_eagain(struct fake_net *f)
{
    f->calls++;
    if (f->chaos_seed != 0) {
        return chaos(f) % 3u == 0;
    }
    return f->eagain_every != 0 && f->calls % f->eagain_every == 0;
}

static size_t chunk(struct fake_net *f, size_t want, size_t max)
{
    if (f->chaos_seed != 0) {
        max = 1u + (size_t)(chaos(f) % 64u);
    }
    return max != 0 && want > max ? max : want;
}

static int fn_connect(void *ctx, const char *host, uint16_t port)
{
    struct fake_net *f = ctx;

    f->connects++;
    strncpy(f->host, host, sizeof(f->host) - 1u);
    f->port = port;
    f->connected = f->connect_rc == 0;
    return f->connect_rc;
}

static int fn_connect_result(void *ctx)
{
    struct fake_net *f = ctx;

    if (f->connect_pending > 0) {
        f->connect_pending--;
        return -EINPROGRESS;
    }
    f->connected = f->connect_result_rc == 0;
    return f->connect_result_rc;
}

static int fn_send(void *ctx, const uint8_t *buf, size_t len)
{
    struct fake_net *f = ctx;
    size_t n;

    if (f->send_error != 0) {
        return f->send_error;
    }
    if (inject_eagain(f)) {
        return -EAGAIN;
    }
    n = chunk(f, len, f->send_max);
    if (n > sizeof(f->tx) - f->tx_len) {
        return -ENOBUFS;
    }
    memcpy(f->tx + f->tx_len, buf, n);
    f->tx_len += n;
    return (int)n;
}

static int fn_recv(void *ctx, uint8_t *buf, size_t len)
{
    struct fake_net *f = ctx;
    size_t n;

    if (inject_eagain(f)) {
        return -EAGAIN;
    }
    if (f->rx_pos == f->rx_len) {
        if (f->recv_error != 0) {
            return f->recv_error;
        }
        return f->peer_closed ? 0 : -EAGAIN;
    }
    n = chunk(f, len, f->recv_max);
    if (n > f->rx_len - f->rx_pos) {
        n = f->rx_len - f->rx_pos;
    }
    memcpy(buf, f->rx + f->rx_pos, n);
    f->rx_pos += n;
    return (int)n;
}

static void fn_close(void *ctx)
{
    struct fake_net *f = ctx;

    f->closes++;
    f->connected = false;
    /* A new connection starts with an empty stream from the server. */
    f->rx_len = 0;
    f->rx_pos = 0;
    f->peer_closed = false;
    f->recv_error = 0;
}

static const struct ward_net_ops s_ops = {
    .connect = fn_connect,
    .connect_result = fn_connect_result,
    .send = fn_send,
    .recv = fn_recv,
    .close = fn_close,
};

void fake_net_init(struct fake_net *f)
{
    memset(f, 0, sizeof(*f));
    f->connect_rc = -EINPROGRESS;
}

struct ward_net fake_net_as_net(struct fake_net *f)
{
    struct ward_net n = { .ops = &s_ops, .ctx = f };

    return n;
}

void fake_net_push(struct fake_net *f, const void *data, size_t len)
{
    if (f->rx_pos == f->rx_len) {
        f->rx_pos = 0;
        f->rx_len = 0;
    }
    if (len <= sizeof(f->rx) - f->rx_len) {
        memcpy(f->rx + f->rx_len, data, len);
        f->rx_len += len;
    }
}

void fake_net_push_str(struct fake_net *f, const char *s)
{
    fake_net_push(f, s, strlen(s));
}

void fake_net_take_tx(struct fake_net *f)
{
    f->tx_len = 0;
}
