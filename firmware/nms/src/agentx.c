/*
 * The AgentX subagent session (ward/nms/agentx.h): Open, Register each subtree, then answer
 * requests and send notifications. Responses are written straight into the transmit buffer;
 * a PDU is only taken from the receive buffer when a whole Response fits behind what is
 * still unsent, so a master that stops reading slows ward's answers down but never makes
 * them overflow.
 */
#include "ward/nms/agentx.h"

#include <errno.h>
#include <string.h>

#include "ward/wire/state.h"

#define PRIORITY_DEFAULT 127
#define NOTIFY_ROOM      4096u /* tx space one Notify needs at most */

void ward_agentx_init(struct ward_agentx *ax, const struct ward_agent *agent, const char *version,
                      const char *config_hex)
{
    memset(ax, 0, sizeof(*ax));
    ward_mib_init(&ax->mib, agent, version, config_hex);
    ax->notified_seq = ward_evlog_last_seq(&agent->log);
}

static size_t tx_free(const struct ward_agentx *ax)
{
    return WARD_AGENTX_TX_SIZE - ax->tx_len;
}

static void writer_at_tail(struct ward_agentx *ax, struct ward_agentx_writer *w, size_t cap)
{
    size_t room = tx_free(ax);

    w->buf = ax->tx + ax->tx_len;
    w->cap = cap < room ? cap : room;
    w->len = 0;
    w->start = 0;
    w->err = 0;
}

/* Commit what w wrote at the tail. @return 0 or w's error (nothing committed). */
static int writer_commit(struct ward_agentx *ax, struct ward_agentx_writer *w)
{
    int rc = ward_agentx_end(w);

    if (rc < 0) {
        return rc;
    }
    ax->tx_len += w->len;
    return 0;
}

static uint32_t uptime_ticks(const struct ward_agentx *ax, int64_t now)
{
    int64_t d = now - ax->mib.agent->start_ms;

    return d > 0 ? (uint32_t)((uint64_t)d / 10u) : 0;
}

static void send_open(struct ward_agentx *ax, int64_t now)
{
    static const uint32_t k_id[] = { WARD_MIB_OID };
    struct ward_agentx_writer w;
    struct ward_oid id;
    char descr[96] = "ward agent ";

    strncat(descr, ax->mib.version, sizeof(descr) - strlen(descr) - 1);
    (void)ward_oid_set(&id, k_id, sizeof(k_id) / sizeof(k_id[0]));
    writer_at_tail(ax, &w, NOTIFY_ROOM);
    ward_agentx_begin(&w, WARD_AGENTX_OPEN, 0, 0, 0, ++ax->packet_id);
    ward_agentx_put_u8x4(&w, 0, 0, 0, 0); /* timeout: the master's default */
    ward_agentx_put_oid(&w, &id);
    ward_agentx_put_octets(&w, descr, strlen(descr));
    if (writer_commit(ax, &w) == 0) {
        ax->waiting_for = ax->packet_id;
        ax->waiting_since = now;
    }
}

static void send_register(struct ward_agentx *ax, int64_t now)
{
    struct ward_agentx_writer w;
    struct ward_oid subtree;

    (void)ward_mib_subtree(ax->reg_next, &subtree);
    writer_at_tail(ax, &w, NOTIFY_ROOM);
    ward_agentx_begin(&w, WARD_AGENTX_REGISTER, 0, ax->session_id, 0, ++ax->packet_id);
    ward_agentx_put_u8x4(&w, 0, PRIORITY_DEFAULT, 0, 0);
    ward_agentx_put_oid(&w, &subtree);
    if (writer_commit(ax, &w) == 0) {
        ax->waiting_for = ax->packet_id;
        ax->waiting_since = now;
    }
}

void ward_agentx_connected(struct ward_agentx *ax, int64_t now_ms)
{
    ax->rx_len = ax->tx_len = ax->tx_off = 0;
    ax->session_id = 0;
    ax->reg_next = 0;
    ax->state = WARD_AGENTX_OPENING;
    send_open(ax, now_ms);
}

void ward_agentx_disconnected(struct ward_agentx *ax)
{
    ax->state = WARD_AGENTX_DOWN;
    ax->waiting_for = 0;
    ax->rx_len = ax->tx_len = ax->tx_off = 0;
}

/* ---- the master's Responses ---- */

static int on_response(struct ward_agentx *ax, const uint8_t *pdu, size_t len, int64_t now)
{
    struct ward_agentx_response res;

    if (ward_agentx_response_decode(pdu, len, &res) != 0) {
        return -EPROTO;
    }
    /* Every Response of the master carries its sysUpTime (RFC 2741 6.2.16): the clock of the
     * TimeStamp columns, re-read at every Open, Register, Notify and Ping. */
    ward_mib_sync_uptime(&ax->mib, res.sys_uptime, now);
    if (ax->waiting_for == 0 || res.h.packet_id != ax->waiting_for) {
        return 0; /* the answer to a Notify */
    }
    ax->waiting_for = 0;
    if (res.error != WARD_AGENTX_E_NONE) {
        ax->stats.last_error = res.error;
        return -ECONNREFUSED;
    }
    if (ax->state == WARD_AGENTX_OPENING) {
        ax->session_id = res.h.session_id;
        ax->stats.opens++;
        ax->state = WARD_AGENTX_REGISTERING;
        send_register(ax, now);
    } else if (ax->state == WARD_AGENTX_REGISTERING) {
        if (++ax->reg_next < WARD_MIB_SUBTREES) {
            send_register(ax, now);
        } else {
            ax->state = WARD_AGENTX_READY;
            ax->pinged_ms = now;
        }
    }
    return 0;
}

/* ---- requests ---- */

static void begin_response(struct ward_agentx *ax, struct ward_agentx_writer *w,
                           const struct ward_agentx_header *h, uint16_t error, int64_t now)
{
    writer_at_tail(ax, w, WARD_AGENTX_RESPONSE_MAX);
    ward_agentx_begin(w, WARD_AGENTX_RESPONSE, 0, h->session_id, h->transaction_id, h->packet_id);
    ward_agentx_put_u32(w, uptime_ticks(ax, now));
    ward_agentx_put_u16(w, error);
    ward_agentx_put_u16(w, 0);
}

static void respond_error(struct ward_agentx *ax, const struct ward_agentx_header *h,
                          uint16_t error, int64_t now)
{
    struct ward_agentx_writer w;

    begin_response(ax, &w, h, error, now);
    (void)writer_commit(ax, &w);
}

/* Append one varbind; on overflow take it back. @return false when it did not fit. */
static bool put_vb(struct ward_agentx_writer *w, const struct ward_oid *name,
                   const struct ward_agentx_value *v)
{
    size_t mark = w->len;

    ward_agentx_put_varbind(w, name, v);
    if (w->err != 0) {
        w->len = mark;
        w->err = 0;
        return false;
    }
    return true;
}

/* GetBulk (RFC 2741 7.2.3.3): non-repeaters once, then up to max_repetitions rounds of the
 * repeaters, each continuing from its last answer; stops early when the Response is full or
 * every repeater reached the end of the view. */
static bool answer_bulk(struct ward_agentx *ax, struct ward_agentx_writer *w,
                        struct ward_agentx_request *q, int64_t now)
{
    struct ward_agentx_value v;
    struct ward_oid out;
    unsigned nr = q->non_repeaters < q->n ? q->non_repeaters : q->n;

    for (unsigned i = 0; i < nr; i++) {
        ward_mib_next(&ax->mib, &q->start[i], &q->end[i], now, &out, &v);
        if (!put_vb(w, &out, &v)) {
            return false;
        }
        ax->stats.varbinds++;
    }
    for (unsigned r = 0; r < q->max_repetitions && nr < q->n; r++) {
        bool any = false;

        for (unsigned i = nr; i < q->n; i++) {
            ward_mib_next(&ax->mib, &q->start[i], &q->end[i], now, &out, &v);
            if (!put_vb(w, &out, &v)) {
                return true; /* a shorter answer is allowed */
            }
            ax->stats.varbinds++;
            any |= v.type != WARD_AGENTX_V_ENDOFMIBVIEW;
            q->start[i] = out;
            q->start[i].include = 0;
        }
        if (!any) {
            break;
        }
    }
    return true;
}

static void on_request(struct ward_agentx *ax, const uint8_t *pdu, size_t len, int64_t now)
{
    struct ward_agentx_request *q = &ax->req;
    struct ward_agentx_writer w;
    struct ward_agentx_value v;
    struct ward_oid out;
    bool fits = true;

    if (ward_agentx_request_decode(pdu, len, q) != 0) {
        struct ward_agentx_header h;

        ax->stats.refused++;
        (void)ward_agentx_header_decode(pdu, len, &h);
        respond_error(ax, &h, WARD_AGENTX_E_PARSE, now);
        return;
    }
    if (q->too_many) {
        respond_error(ax, &q->h, WARD_AGENTX_E_TOOBIG, now);
        return;
    }
    ward_mib_refresh(&ax->mib);
    ax->stats.requests++;
    begin_response(ax, &w, &q->h, WARD_AGENTX_E_NONE, now);
    if (q->h.type == WARD_AGENTX_GETBULK) {
        fits = answer_bulk(ax, &w, q, now);
    }
    for (unsigned i = 0; q->h.type != WARD_AGENTX_GETBULK && i < q->n && fits; i++) {
        if (q->h.type == WARD_AGENTX_GET) {
            ward_mib_get(&ax->mib, &q->start[i], now, &v);
            out = q->start[i];
            out.include = 0;
        } else {
            ward_mib_next(&ax->mib, &q->start[i], &q->end[i], now, &out, &v);
        }
        fits = put_vb(&w, &out, &v);
        ax->stats.varbinds++;
    }
    if (!fits) {
        respond_error(ax, &q->h, WARD_AGENTX_E_TOOBIG, now);
        return;
    }
    (void)writer_commit(ax, &w);
}

/* One whole PDU. @return 0, or an error that ends the connection. */
static int on_pdu(struct ward_agentx *ax, const uint8_t *pdu, size_t len,
                  const struct ward_agentx_header *h, int64_t now)
{
    switch (h->type) {
    case WARD_AGENTX_RESPONSE:
        return on_response(ax, pdu, len, now);
    case WARD_AGENTX_GET:
    case WARD_AGENTX_GETNEXT:
    case WARD_AGENTX_GETBULK:
        if (ax->state == WARD_AGENTX_OPENING) {
            return -EPROTO; /* no session yet */
        }
        on_request(ax, pdu, len, now);
        return 0;
    case WARD_AGENTX_TESTSET:
        respond_error(ax, h, WARD_AGENTX_E_NOTWRITABLE, now); /* ward's objects are read-only */
        return 0;
    case WARD_AGENTX_COMMITSET:
    case WARD_AGENTX_UNDOSET:
        respond_error(ax, h, WARD_AGENTX_E_PROCESSING, now);
        return 0;
    case WARD_AGENTX_CLEANUPSET: /* no answer */
        return 0;
    case WARD_AGENTX_CLOSE:
        return -ECONNREFUSED;
    default: /* a PDU only a subagent sends */
        ax->stats.refused++;
        respond_error(ax, h, WARD_AGENTX_E_PARSE, now);
        return 0;
    }
}

static int process(struct ward_agentx *ax, int64_t now)
{
    while (ax->rx_len >= WARD_AGENTX_HEADER_LEN) {
        struct ward_agentx_header h;
        int total = ward_agentx_header_decode(ax->rx, ax->rx_len, &h);
        int rc;

        if (total < 0) {
            ax->stats.refused++;
            return -EPROTO;
        }
        if ((size_t)total > ax->rx_len || tx_free(ax) < WARD_AGENTX_RESPONSE_MAX) {
            break; /* the rest of the PDU, or room to answer it, comes later */
        }
        rc = on_pdu(ax, ax->rx, (size_t)total, &h, now);
        memmove(ax->rx, ax->rx + total, ax->rx_len - (size_t)total);
        ax->rx_len -= (size_t)total;
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

uint8_t *ward_agentx_rx_space(struct ward_agentx *ax, size_t *room)
{
    *room = WARD_AGENTX_RX_SIZE - ax->rx_len;
    return ax->rx + ax->rx_len;
}

int ward_agentx_input(struct ward_agentx *ax, size_t n, int64_t now_ms)
{
    if (ax->state == WARD_AGENTX_DOWN) {
        return -ENOTCONN;
    }
    ax->rx_len += n <= WARD_AGENTX_RX_SIZE - ax->rx_len ? n : 0;
    return process(ax, now_ms);
}

/* ---- notifications ---- */

static void send_notify(struct ward_agentx *ax, const struct ward_event *ev)
{
    struct ward_oid names[7];
    struct ward_agentx_value vals[7];
    struct ward_agentx_writer w;
    unsigned n = ward_mib_notification(&ax->mib, ev, names, vals);

    writer_at_tail(ax, &w, NOTIFY_ROOM);
    ward_agentx_begin(&w, WARD_AGENTX_NOTIFY, 0, ax->session_id, 0, ++ax->packet_id);
    for (unsigned i = 0; i < n; i++) {
        ward_agentx_put_varbind(&w, &names[i], &vals[i]);
    }
    if (writer_commit(ax, &w) == 0) {
        ax->stats.notifies++;
    }
}

static void notify_new_events(struct ward_agentx *ax)
{
    const struct ward_evlog *log = &ax->mib.agent->log;
    unsigned n = ward_evlog_pending(log);

    for (unsigned i = 0; i < n; i++) {
        const struct ward_event *ev = ward_evlog_at(log, i);

        if (ev == NULL || ev->boot != 0 || ev->seq <= ax->notified_seq) {
            continue;
        }
        if (tx_free(ax) < NOTIFY_ROOM) {
            return; /* the rest on a later tick */
        }
        if (ev->severity >= WARD_SEV_MEDIUM) {
            ward_mib_refresh(&ax->mib);
            send_notify(ax, ev);
        }
        ax->notified_seq = ev->seq;
    }
}

/* A Ping: its Response re-reads the master's sysUpTime, and a master that lost the session
 * (it answers notOpen) or does not answer in time is dropped and reconnected. */
static void send_ping(struct ward_agentx *ax, int64_t now)
{
    struct ward_agentx_writer w;

    writer_at_tail(ax, &w, NOTIFY_ROOM);
    ward_agentx_begin(&w, WARD_AGENTX_PING, 0, ax->session_id, 0, ++ax->packet_id);
    if (writer_commit(ax, &w) == 0) {
        ax->waiting_for = ax->packet_id;
        ax->waiting_since = now;
    }
    ax->pinged_ms = now;
}

int ward_agentx_tick(struct ward_agentx *ax, int64_t now_ms)
{
    if (ax->state == WARD_AGENTX_DOWN) {
        return 0;
    }
    if (ax->waiting_for != 0 && now_ms - ax->waiting_since > WARD_AGENTX_TIMEOUT_MS) {
        return -ETIMEDOUT;
    }
    if (ax->state == WARD_AGENTX_READY) {
        notify_new_events(ax);
        if (ax->waiting_for == 0 && now_ms - ax->pinged_ms >= WARD_AGENTX_PING_MS &&
            tx_free(ax) >= NOTIFY_ROOM) {
            send_ping(ax, now_ms);
        }
    }
    return process(ax, now_ms);
}

const uint8_t *ward_agentx_tx_data(const struct ward_agentx *ax, size_t *len)
{
    *len = ax->tx_len - ax->tx_off;
    return ax->tx + ax->tx_off;
}

void ward_agentx_tx_done(struct ward_agentx *ax, size_t n)
{
    ax->tx_off += n <= ax->tx_len - ax->tx_off ? n : 0;
    if (ax->tx_off == ax->tx_len) {
        ax->tx_off = ax->tx_len = 0;
    } else if (ax->tx_off > WARD_AGENTX_TX_SIZE / 2) {
        memmove(ax->tx, ax->tx + ax->tx_off, ax->tx_len - ax->tx_off);
        ax->tx_len -= ax->tx_off;
        ax->tx_off = 0;
    }
}
