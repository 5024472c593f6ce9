#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ward/transport/config.h"
#include "ward/transport/transport.h"

#define STEP_LIMIT 8u  /* phase changes handled per poll: bounds the work of one call */
#define READ_LIMIT 16u /* channel reads per poll while receiving */

static enum ward_link link_of(enum ward_transport_phase p)
{
    switch (p) {
    case WARD_TP_BACKOFF:
        return WARD_LINK_BACKOFF;
    case WARD_TP_CONNECTING:
        return WARD_LINK_CONNECTING;
    case WARD_TP_HANDSHAKING:
        return WARD_LINK_HANDSHAKING;
    case WARD_TP_READY:
    case WARD_TP_SENDING:
    case WARD_TP_RECEIVING:
        return WARD_LINK_UP;
    case WARD_TP_IDLE:
    default:
        return WARD_LINK_DOWN;
    }
}

const char *ward_link_name(enum ward_link link)
{
    static const char *const names[] = { "down", "connecting", "handshaking", "up", "backoff" };

    return (unsigned)link < sizeof(names) / sizeof(names[0]) ? names[link] : "?";
}

static void set_phase(struct ward_transport *t, enum ward_transport_phase p, int err)
{
    enum ward_link from = t->link;

    t->phase = p;
    t->link = link_of(p);
    if (t->link != from && t->on_link != NULL) {
        t->on_link(t->user, from, t->link, err);
    }
}

void ward_transport_config_defaults(struct ward_transport_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->path = "/v1/ingest";
    cfg->port = 443;
    cfg->connect_timeout_ms = WARD_TRANSPORT_CONNECT_TIMEOUT_MS;
    cfg->handshake_timeout_ms = WARD_TRANSPORT_HANDSHAKE_TIMEOUT_MS;
    cfg->io_timeout_ms = WARD_TRANSPORT_IO_TIMEOUT_MS;
    cfg->idle_close_ms = WARD_TRANSPORT_IDLE_CLOSE_MS;
    cfg->backoff_min_ms = WARD_TRANSPORT_BACKOFF_MIN_MS;
    cfg->backoff_max_ms = WARD_TRANSPORT_BACKOFF_MAX_MS;
}

int ward_transport_init(struct ward_transport *t, const struct ward_transport_config *cfg,
                        struct ward_net *net, struct ward_chan chan, uint8_t *tx, size_t tx_cap,
                        uint8_t *rx, size_t rx_cap)
{
    size_t reserve;
    char probe[8];

    if (t == NULL || cfg == NULL || net == NULL || net->ops == NULL || chan.ops == NULL ||
        tx == NULL || rx == NULL || rx_cap == 0 || cfg->host == NULL || cfg->path == NULL ||
        cfg->connect_timeout_ms == 0 || cfg->handshake_timeout_ms == 0 || cfg->io_timeout_ms == 0) {
        return -EINVAL;
    }
    /* Validates host and path once; the head is rewritten per request. */
    if (ward_http_format_post(probe, sizeof(probe), cfg->host, cfg->port, cfg->path, 0) ==
        -EINVAL) {
        return -EINVAL;
    }
    reserve = WARD_HTTP_POST_HEAD_FIXED + strlen(cfg->host) + strlen(cfg->path);
    if (tx_cap <= reserve) {
        return -EINVAL;
    }
    memset(t, 0, sizeof(*t));
    if (ward_backoff_init(&t->backoff, cfg->backoff_min_ms, cfg->backoff_max_ms, cfg->seed) != 0) {
        return -EINVAL;
    }
    t->cfg = *cfg;
    t->net = net;
    t->chan = chan;
    t->tx = tx;
    t->tx_cap = tx_cap;
    t->head_reserve = reserve;
    t->deadline = WARD_TRANSPORT_NO_DEADLINE;
    ward_http_resp_init(&t->resp, rx, rx_cap);
    t->phase = WARD_TP_IDLE;
    t->link = WARD_LINK_DOWN;
    return 0;
}

uint8_t *ward_transport_body(struct ward_transport *t, size_t *cap)
{
    if (cap != NULL) {
        *cap = t->tx_cap - t->head_reserve;
    }
    return t->tx + t->head_reserve;
}

int ward_transport_submit(struct ward_transport *t, size_t body_len, uint64_t now)
{
    int hlen;

    (void)now;
    if (t->req_pending) {
        return -EBUSY;
    }
    if (body_len > t->tx_cap - t->head_reserve) {
        return -EMSGSIZE;
    }
    hlen = ward_http_format_post((char *)t->tx, t->head_reserve, t->cfg.host, t->cfg.port,
                                 t->cfg.path, body_len);
    if (hlen < 0) {
        return hlen;
    }
    /* Slide the head against the body: head and body leave as one contiguous write. */
    t->req_off = t->head_reserve - (size_t)hlen;
    memmove(t->tx + t->req_off, t->tx, (size_t)hlen);
    t->req_len = (size_t)hlen + body_len;
    t->req_sent = 0;
    t->req_pending = true;
    t->req_got_bytes = false;
    t->replays = 0;
    t->stats.requests++;
    return 0;
}

/* ---- connection lifetime ---- */

static void conn_drop(struct ward_transport *t, bool graceful)
{
    if (t->phase == WARD_TP_HANDSHAKING || t->phase == WARD_TP_READY ||
        t->phase == WARD_TP_SENDING || t->phase == WARD_TP_RECEIVING) {
        t->chan.ops->finish(t->chan.ctx, graceful);
    }
    if (t->phase != WARD_TP_IDLE && t->phase != WARD_TP_BACKOFF) {
        ward_net_close(t->net);
    }
    t->conn_used = false;
}

static void enter_backoff(struct ward_transport *t, uint64_t now, int err)
{
    conn_drop(t, false);
    t->last_error = err;
    t->deadline = now + ward_backoff_next(&t->backoff);
    set_phase(t, WARD_TP_BACKOFF, err);
}

static enum ward_transport_event request_failed(struct ward_transport *t, uint64_t now, int err)
{
    t->req_pending = false;
    t->stats.failures++;
    if (err == -ETIMEDOUT) {
        t->stats.timeouts++;
    }
    enter_backoff(t, now, err);
    return WARD_TRANSPORT_FAILED;
}

/* A failure while connecting: the request (if any) fails with it. */
static enum ward_transport_event setup_failed(struct ward_transport *t, uint64_t now, int err)
{
    if (t->req_pending) {
        return request_failed(t, now, err);
    }
    if (err == -ETIMEDOUT) {
        t->stats.timeouts++;
    }
    enter_backoff(t, now, err);
    return WARD_TRANSPORT_NONE;
}

static enum ward_transport_event start_handshake(struct ward_transport *t, uint64_t now)
{
    int rc = t->chan.ops->start(t->chan.ctx);

    set_phase(t, WARD_TP_HANDSHAKING, 0);
    if (rc != 0) {
        t->stats.handshake_failures++;
        return setup_failed(t, now, rc);
    }
    t->deadline = now + t->cfg.handshake_timeout_ms;
    return WARD_TRANSPORT_NONE;
}

static enum ward_transport_event begin_connect(struct ward_transport *t, uint64_t now)
{
    int rc;

    t->stats.connects++;
    rc = ward_net_connect(t->net, t->cfg.host, t->cfg.port);
    if (rc == 0) {
        set_phase(t, WARD_TP_CONNECTING, 0);
        return start_handshake(t, now);
    }
    if (rc == -EINPROGRESS) {
        t->deadline = now + t->cfg.connect_timeout_ms;
        set_phase(t, WARD_TP_CONNECTING, 0);
        return WARD_TRANSPORT_NONE;
    }
    t->stats.connect_failures++;
    set_phase(t, WARD_TP_CONNECTING, rc); /* the socket may exist: conn_drop closes it */
    return setup_failed(t, now, rc);
}

static void begin_send(struct ward_transport *t, uint64_t now)
{
    t->req_on_reused = t->conn_used;
    t->req_sent = 0;
    t->req_got_bytes = false;
    t->deadline = now + t->cfg.io_timeout_ms;
    set_phase(t, WARD_TP_SENDING, 0);
}

/* The request met a dead connection: resend once on a fresh one if the old connection had
 * served earlier requests and nothing of this response arrived (the collector closed an
 * idle keep-alive connection as the request was leaving). */
static enum ward_transport_event send_failed(struct ward_transport *t, uint64_t now, int err)
{
    if (t->req_on_reused && !t->req_got_bytes && t->replays == 0) {
        t->replays++;
        t->stats.replays++;
        conn_drop(t, false);
        set_phase(t, WARD_TP_IDLE, err);
        return begin_connect(t, now);
    }
    return request_failed(t, now, err);
}

/* ---- phases ---- */

static enum ward_transport_event do_connecting(struct ward_transport *t, uint64_t now)
{
    int rc = ward_net_connect_result(t->net);

    if (rc == 0) {
        return start_handshake(t, now);
    }
    if (rc == -EINPROGRESS && now < t->deadline) {
        return WARD_TRANSPORT_NONE;
    }
    t->stats.connect_failures++;
    return setup_failed(t, now, rc == -EINPROGRESS ? -ETIMEDOUT : rc);
}

static enum ward_transport_event do_handshaking(struct ward_transport *t, uint64_t now)
{
    int rc = t->chan.ops->handshake(t->chan.ctx);

    if (rc == 0) {
        if (t->chan.ops->resumed != NULL && t->chan.ops->resumed(t->chan.ctx)) {
            t->stats.resumed_handshakes++;
        } else {
            t->stats.full_handshakes++;
        }
        t->last_activity = now;
        t->conn_used = false;
        t->deadline = WARD_TRANSPORT_NO_DEADLINE;
        set_phase(t, WARD_TP_READY, 0);
        if (t->req_pending) {
            begin_send(t, now);
        }
        return WARD_TRANSPORT_NONE;
    }
    if (rc == -EAGAIN && now < t->deadline) {
        return WARD_TRANSPORT_NONE;
    }
    t->stats.handshake_failures++;
    return setup_failed(t, now, rc == -EAGAIN ? -ETIMEDOUT : rc);
}

/* An idle keep-alive connection: notice the collector closing it, or close it ourselves. */
static bool idle_connection_alive(struct ward_transport *t, uint64_t now)
{
    uint8_t probe[16];
    int rc = t->chan.ops->read(t->chan.ctx, probe, sizeof(probe));

    if (rc == -EAGAIN) {
        if (t->cfg.idle_close_ms != 0 && now - t->last_activity >= t->cfg.idle_close_ms) {
            conn_drop(t, true);
            set_phase(t, WARD_TP_IDLE, 0);
            return false;
        }
        return true;
    }
    if (rc > 0) {
        t->stats.protocol_errors++; /* bytes nobody asked for: the stream is out of step */
    } else {
        t->stats.peer_closes++;
    }
    conn_drop(t, false);
    set_phase(t, WARD_TP_IDLE, rc > 0 ? -EPROTO : rc);
    return false;
}

static enum ward_transport_event do_ready(struct ward_transport *t, uint64_t now)
{
    if (!idle_connection_alive(t, now)) {
        return t->req_pending ? begin_connect(t, now) : WARD_TRANSPORT_NONE;
    }
    if (t->req_pending) {
        begin_send(t, now);
    }
    return WARD_TRANSPORT_NONE;
}

static enum ward_transport_event do_sending(struct ward_transport *t, uint64_t now)
{
    while (t->req_sent < t->req_len) {
        int rc = t->chan.ops->write(t->chan.ctx, t->tx + t->req_off + t->req_sent,
                                    t->req_len - t->req_sent);

        if (rc == -EAGAIN) {
            return now < t->deadline ? WARD_TRANSPORT_NONE : request_failed(t, now, -ETIMEDOUT);
        }
        if (rc <= 0) {
            return send_failed(t, now, rc < 0 ? rc : -EIO);
        }
        t->req_sent += (size_t)rc;
        t->last_activity = now;
        t->deadline = now + t->cfg.io_timeout_ms;
    }
    ward_http_resp_init(&t->resp, t->resp.body, t->resp.body_cap);
    set_phase(t, WARD_TP_RECEIVING, 0);
    return WARD_TRANSPORT_NONE;
}

static enum ward_transport_event response_done(struct ward_transport *t, uint64_t now,
                                               bool leftover)
{
    bool ok = t->resp.status >= 200 && t->resp.status < 300;

    t->stats.responses++;
    t->req_pending = false;
    t->conn_used = true;
    t->deadline = WARD_TRANSPORT_NO_DEADLINE;
    if (!ok) {
        /* The collector refused or failed: slow down, and start clean next time. */
        t->stats.http_errors++;
        enter_backoff(t, now, -EPROTO);
        return WARD_TRANSPORT_RESPONSE;
    }
    ward_backoff_reset(&t->backoff);
    t->last_error = 0;
    if (leftover) {
        t->stats.protocol_errors++;
    }
    if (t->resp.conn_close || leftover) {
        conn_drop(t, !leftover);
        set_phase(t, WARD_TP_IDLE, 0);
    } else {
        set_phase(t, WARD_TP_READY, 0);
    }
    return WARD_TRANSPORT_RESPONSE;
}

static enum ward_transport_event do_receiving(struct ward_transport *t, uint64_t now)
{
    uint8_t buf[256];

    for (unsigned i = 0; i < READ_LIMIT; i++) {
        size_t used = 0;
        int got = t->chan.ops->read(t->chan.ctx, buf, sizeof(buf));
        int rc;

        if (got == -EAGAIN) {
            return now < t->deadline ? WARD_TRANSPORT_NONE : request_failed(t, now, -ETIMEDOUT);
        }
        if (got <= 0) {
            return send_failed(t, now, got < 0 ? got : -ECONNRESET);
        }
        t->req_got_bytes = true;
        t->last_activity = now;
        t->deadline = now + t->cfg.io_timeout_ms;
        rc = ward_http_resp_feed(&t->resp, buf, (size_t)got, &used);
        if (rc < 0) {
            t->stats.protocol_errors++;
            return request_failed(t, now, rc);
        }
        if (rc == 1) {
            return response_done(t, now, used < (size_t)got);
        }
    }
    return WARD_TRANSPORT_NONE;
}

enum ward_transport_event ward_transport_poll(struct ward_transport *t, uint64_t now)
{
    enum ward_transport_event ev = WARD_TRANSPORT_NONE;

    for (unsigned i = 0; i < STEP_LIMIT && ev == WARD_TRANSPORT_NONE; i++) {
        enum ward_transport_phase before = t->phase;

        switch (t->phase) {
        case WARD_TP_IDLE:
            if (t->req_pending) {
                ev = begin_connect(t, now);
            }
            break;
        case WARD_TP_BACKOFF:
            if (now >= t->deadline) {
                t->deadline = WARD_TRANSPORT_NO_DEADLINE;
                set_phase(t, WARD_TP_IDLE, 0);
            }
            break;
        case WARD_TP_CONNECTING:
            ev = do_connecting(t, now);
            break;
        case WARD_TP_HANDSHAKING:
            ev = do_handshaking(t, now);
            break;
        case WARD_TP_READY:
            ev = do_ready(t, now);
            break;
        case WARD_TP_SENDING:
            ev = do_sending(t, now);
            break;
        case WARD_TP_RECEIVING:
            ev = do_receiving(t, now);
            break;
        }
        if (t->phase == before) {
            break;
        }
    }
    return ev;
}

uint16_t ward_transport_response(const struct ward_transport *t, const uint8_t **body, size_t *len)
{
    if (body != NULL) {
        *body = t->resp.body;
    }
    if (len != NULL) {
        *len = t->resp.body_len;
    }
    return t->resp.status;
}

unsigned ward_transport_wants(const struct ward_transport *t)
{
    unsigned w;

    switch (t->phase) {
    case WARD_TP_CONNECTING:
        return WARD_CHAN_WANT_WRITE;
    case WARD_TP_READY:
        return WARD_CHAN_WANT_READ;
    case WARD_TP_HANDSHAKING:
    case WARD_TP_SENDING:
    case WARD_TP_RECEIVING:
        w = t->chan.ops->wants != NULL ? t->chan.ops->wants(t->chan.ctx) : 0;
        if (w == 0) {
            w = t->phase == WARD_TP_SENDING ? WARD_CHAN_WANT_WRITE : WARD_CHAN_WANT_READ;
        }
        return w;
    default:
        return 0;
    }
}

uint64_t ward_transport_deadline(const struct ward_transport *t, uint64_t now)
{
    bool connected = t->phase == WARD_TP_HANDSHAKING || t->phase == WARD_TP_READY ||
                     t->phase == WARD_TP_SENDING || t->phase == WARD_TP_RECEIVING;

    if (connected && t->chan.ops->pending != NULL && t->chan.ops->pending(t->chan.ctx)) {
        return now;
    }
    if (t->req_pending && (t->phase == WARD_TP_IDLE || t->phase == WARD_TP_READY)) {
        return now;
    }
    if (t->phase == WARD_TP_READY) {
        return t->cfg.idle_close_ms != 0 ? t->last_activity + t->cfg.idle_close_ms
                                         : WARD_TRANSPORT_NO_DEADLINE;
    }
    return t->deadline;
}

bool ward_transport_busy(const struct ward_transport *t)
{
    return t->req_pending;
}

bool ward_transport_can_send(const struct ward_transport *t, uint64_t now)
{
    return !t->req_pending && (t->phase != WARD_TP_BACKOFF || now >= t->deadline);
}

void ward_transport_shutdown(struct ward_transport *t)
{
    if (t->req_pending) {
        t->req_pending = false;
        t->stats.failures++;
    }
    conn_drop(t, true);
    t->deadline = WARD_TRANSPORT_NO_DEADLINE;
    set_phase(t, WARD_TP_IDLE, 0);
}
