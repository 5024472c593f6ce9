#include <errno.h>
#include <string.h>

#include "fake_chan.h"

static int fc_start(void *ctx)
{
    struct fake_chan *c = ctx;

    c->starts++;
    c->left = c->handshake_eagain;
    return 0;
}

static int fc_handshake(void *ctx)
{
    struct fake_chan *c = ctx;

    if (c->left > 0) {
        c->left--;
        c->wants = WARD_CHAN_WANT_READ;
        return -EAGAIN;
    }
    return c->handshake_rc;
}

static int fc_write(void *ctx, const uint8_t *buf, size_t len)
{
    struct fake_chan *c = ctx;
    int rc = ward_net_send(c->net, buf, len);

    c->wants = rc == -EAGAIN ? WARD_CHAN_WANT_WRITE : 0;
    return rc;
}

static int fc_read(void *ctx, uint8_t *buf, size_t len)
{
    struct fake_chan *c = ctx;
    int rc = ward_net_recv(c->net, buf, len);

    c->wants = rc == -EAGAIN ? WARD_CHAN_WANT_READ : 0;
    return rc;
}

static void fc_finish(void *ctx, bool graceful)
{
    struct fake_chan *c = ctx;

    c->finishes++;
    c->graceful_finishes += graceful ? 1u : 0u;
}

static unsigned fc_wants(void *ctx)
{
    return ((struct fake_chan *)ctx)->wants;
}

static bool fc_pending(void *ctx)
{
    (void)ctx;
    return false;
}

static bool fc_resumed(void *ctx)
{
    return ((struct fake_chan *)ctx)->resume;
}

static const struct ward_chan_ops s_ops = {
    .start = fc_start,
    .handshake = fc_handshake,
    .write = fc_write,
    .read = fc_read,
    .finish = fc_finish,
    .wants = fc_wants,
    .pending = fc_pending,
    .resumed = fc_resumed,
};

void fake_chan_init(struct fake_chan *c, struct ward_net *net)
{
    memset(c, 0, sizeof(*c));
    c->net = net;
}

struct ward_chan fake_chan_as_chan(struct fake_chan *c)
{
    struct ward_chan ch = { .ops = &s_ops, .ctx = c };

    return ch;
}
