/*
 * One connection, from accept to close:
 *
 *   PEEK -> HANDSHAKE -> READ <-> (WAIT_COMMIT) -> WRITE -> READ ... -> LINGER -> closed
 *
 * The epoll registration is edge-triggered for both directions and never changes, so every
 * handler runs until mbedTLS or the socket says "would block". Each state has a deadline
 * (timer class); a peer that is too slow in any of them is cut off. Requests are processed
 * one at a time: while an answer is pending the connection reads nothing more.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/net_sockets.h>

#include "common/clock.h"
#include "auth/access.h"
#include "devices/devices.h"
#include "server/conn_impl.h"
#include "server/worker.h"
#include "tls/park.h"
#include "ward/base/fmt.h"
#include "ward/base/http_status.h"

#define RBUF_INITIAL 1024u
#define LINGER_MAX   (256u * 1024u)
/*
 * An unauthenticated connection may be shed for a newcomer only once it has waited this long
 * on its peer (no handshake progress, nothing unread in its socket): 1 s for a socket that has
 * sent nothing the collector could use (a flood's idle connect), 5 s once its handshake has
 * advanced (a real TLS client, maybe a slow one: a small board's ECDHE and signature, or a
 * fleet reconnecting at once). Younger ones are handshakes the collector has not got to yet,
 * or peers still computing: shedding them turned a 10,000-agent restart with tickets into
 * minutes of backoff (docs/benchmarks.md).
 */
#define UNAUTH_GRACE_MS          1000u
#define UNAUTH_GRACE_PROGRESS_MS 5000u
/* Per search for a victim: connections looked at, and sockets asked for unread bytes. */
#define STALL_SCAN   256u
#define STALL_PROBES 32u
/* A keep-alive connection idle this long gives its TLS record buffers back (tls/park.h). */
#define PARK_AFTER_MS 1000u

static const char s_plain_reply[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 58\r\n"
    "Connection: close\r\n\r\n"
    "ward-collector: this port speaks HTTPS only (mutual TLS)\r\n";

static void do_read(struct wcol_conn *conn);
static void do_write(struct wcol_conn *conn);
static void send_response(struct wcol_conn *conn);
static void do_handshake(struct wcol_conn *conn);
static void begin_close(struct wcol_conn *conn, bool tls_notify);
static bool unpark(struct wcol_conn *conn);
static bool unauth_warn_allowed(struct wcol_collector *c);

/* ---- timers ---- */

static void timer_unlink(struct wcol_conn *conn)
{
    if (conn->tclass == WCOL_TC_NONE) {
        return;
    }
    struct wcol_timer_list *l = &conn->c->timers[conn->tclass];

    if (conn->tprev != NULL) {
        conn->tprev->tnext = conn->tnext;
    } else {
        l->head = conn->tnext;
    }
    if (conn->tnext != NULL) {
        conn->tnext->tprev = conn->tprev;
    } else {
        l->tail = conn->tprev;
    }
    conn->tprev = conn->tnext = NULL;
    conn->tclass = WCOL_TC_NONE;
}

void wcol_conn_timer(struct wcol_conn *conn, enum wcol_timer_class tc)
{
    timer_unlink(conn);
    if (tc == WCOL_TC_NONE) {
        return;
    }
    struct wcol_timer_list *l = &conn->c->timers[tc];

    conn->tclass = (uint8_t)tc;
    conn->deadline = wcol_now_mono() + conn->c->timeout_ms[tc];
    conn->tprev = l->tail;
    conn->tnext = NULL;
    if (l->tail != NULL) {
        l->tail->tnext = conn;
    } else {
        l->head = conn;
    }
    l->tail = conn;
}

void wcol_conn_expire(struct wcol_collector *c, uint64_t now)
{
    for (int tc = 0; tc < WCOL_TC_COUNT; tc++) {
        struct wcol_conn *conn;

        while ((conn = c->timers[tc].head) != NULL && conn->deadline <= now) {
            switch (tc) {
            case WCOL_TC_REQUEST:
                c->stats.timeouts++;
                c->stats.ingest_refused[WCOL_REFUSE_TIMEOUT] += conn->kind == WCOL_CONN_DEVICE;
                wcol_log_warn("%s: request not complete within %u ms; closing", conn->addr,
                              c->timeout_ms[tc]);
                wcol_conn_error(conn, 408, "request not complete in time");
                break;
            case WCOL_TC_HANDSHAKE:
                c->stats.timeouts++;
                c->stats.tls_rejected[WCOL_TLS_REJ_TIMEOUT]++;
                if (unauth_warn_allowed(c)) {
                    wcol_log_warn("%s: TLS handshake not complete within %u ms; closing",
                                  conn->addr, c->timeout_ms[tc]);
                }
                wcol_conn_close(conn);
                break;
            case WCOL_TC_WRITE:
                c->stats.timeouts++;
                wcol_log_warn("%s: response not taken within %u ms; closing", conn->addr,
                              c->timeout_ms[tc]);
                wcol_conn_close(conn);
                break;
            default: /* idle keep-alive, or the end of lingering */
                if (conn->state == WCOL_CS_READ) {
                    begin_close(conn, true);
                } else {
                    wcol_conn_close(conn);
                }
                break;
            }
        }
    }
}

/* ---- socket I/O for mbedTLS ---- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct wcol_conn *conn = ctx;
    ssize_t n = send(conn->fd, buf, len, MSG_NOSIGNAL);

    if (n >= 0) {
        conn->c->stats.bytes_out += (uint64_t)n;
        return (int)n;
    }
    if (errno == EAGAIN || errno == EINTR) {
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    }
    return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
                                                 : MBEDTLS_ERR_NET_SEND_FAILED;
}

/*
 * mbedTLS asks for a record's 5-byte header, then for the rest: two recv() calls per record,
 * and a third that finds the socket empty. Reading up to RA_CAP bytes at once takes a small
 * record (a heartbeat is a few hundred bytes) in one call, and a short read means the receive
 * queue is empty: the next read waits for the socket's next event (edge-triggered, so one comes
 * for every arrival after it) instead of asking the kernel again.
 */
#define RA_CAP 2048u

static int recv_errno(int err)
{
    if (err == EAGAIN || err == EINTR) {
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    return err == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct wcol_conn *conn = ctx;
    ssize_t n;

    if (conn->ra_len > 0) {
        size_t k = len < conn->ra_len ? len : conn->ra_len;

        memcpy(buf, conn->ra + conn->ra_off, k);
        conn->ra_off = (uint16_t)(conn->ra_off + k);
        conn->ra_len = (uint16_t)(conn->ra_len - k);
        return (int)k;
    }
    if (conn->rdry) {
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    if (len >= RA_CAP || (conn->ra == NULL && (conn->ra = malloc(RA_CAP)) == NULL)) {
        n = recv(conn->fd, buf, len, 0); /* a large record: straight into mbedTLS's buffer */
        if (n < 0) {
            return recv_errno(errno);
        }
        conn->rdry = n > 0 && (size_t)n < len;
        conn->c->stats.bytes_in += (uint64_t)n;
        return (int)n;
    }
    n = recv(conn->fd, conn->ra, RA_CAP, 0);
    if (n < 0) {
        return recv_errno(errno);
    }
    conn->rdry = n > 0 && (size_t)n < RA_CAP;
    conn->c->stats.bytes_in += (uint64_t)n;
    conn->ra_off = 0;
    conn->ra_len = (uint16_t)n;
    if (n == 0) {
        return 0;
    }
    return bio_recv(conn, buf, len);
}

/* The read-ahead buffer, when nothing is in it (a parked or closed connection). */
static void ra_free(struct wcol_conn *conn)
{
    free(conn->ra);
    conn->ra = NULL;
    conn->ra_off = conn->ra_len = 0;
}

/* ---- accept and close ---- */

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    /* accept4() filled the address */
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%u", host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
    } else {
        snprintf(out, cap, "?");
    }
}

static void source_of(const struct sockaddr_storage *ss, struct wcol_src *out)
{
    memset(out, 0, sizeof(*out));
    /* accept4() filled the address */
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
    if (ss->ss_family == AF_INET6) {
        memcpy(out->a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
    } else if (ss->ss_family == AF_INET) {
        out->a[10] = out->a[11] = 0xff; /* ::ffff:a.b.c.d, as a dual-stack socket sees it */
        memcpy(out->a + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    }
}

/* ---- the unauthenticated budget ---- */

static void unauth_add(struct wcol_conn *conn)
{
    struct wcol_unauth *u = &conn->c->unauth[conn->kind];

    conn->uprev = u->tail;
    conn->unext = NULL;
    if (u->tail != NULL) {
        u->tail->unext = conn;
    } else {
        u->head = conn;
    }
    u->tail = conn;
    u->count++;
    (void)wcol_srcmap_add(&u->srcs, &conn->src);
    wcol_loops_src_add(conn->c, conn->kind, &conn->src);
}

static void unauth_remove(struct wcol_conn *conn)
{
    struct wcol_unauth *u = &conn->c->unauth[conn->kind];

    if (conn->authed) {
        return;
    }
    conn->authed = true;
    if (conn->uprev != NULL) {
        conn->uprev->unext = conn->unext;
    } else {
        u->head = conn->unext;
    }
    if (conn->unext != NULL) {
        conn->unext->uprev = conn->uprev;
    } else {
        u->tail = conn->uprev;
    }
    conn->uprev = conn->unext = NULL;
    u->count--;
    wcol_srcmap_remove(&u->srcs, &conn->src);
    wcol_loops_src_remove(conn->c, conn->kind, &conn->src);
}

void wcol_conn_authenticated(struct wcol_conn *conn)
{
    unauth_remove(conn);
}

/*
 * The handshake of an unauthenticated connection advanced: it moves to the tail, so the list
 * runs from the connection that has made no progress for the longest (an idle or half-open
 * socket of a flood) to the most recently active one. Shedding from the head then never
 * throws away an agent's handshake in progress in favour of a socket that sends nothing,
 * which is what a fleet reconnecting from one address (behind NAT, or the load generator)
 * looks like: with accept order, such a ramp shed its own handshakes and hardly came up.
 */
static void unauth_touch(struct wcol_conn *conn)
{
    struct wcol_unauth *u = &conn->c->unauth[conn->kind];

    conn->progress_ms = wcol_now_mono();
    conn->progressed = true;
    if (conn->authed || u->tail == conn) {
        return;
    }
    if (conn->uprev != NULL) {
        conn->uprev->unext = conn->unext;
    } else {
        u->head = conn->unext;
    }
    conn->unext->uprev = conn->uprev; /* not the tail, so there is a next */
    conn->uprev = u->tail;
    conn->unext = NULL;
    u->tail->unext = conn;
    u->tail = conn;
}

/*
 * Has this unauthenticated connection been waiting on its peer for at least the grace? Bytes
 * unread in its socket mean it waits on us (its event is still queued in this busy pass).
 */
static bool stalled(const struct wcol_conn *x, uint64_t now)
{
    int unread = 0;

    return !x->held && x->ra_len == 0 &&
           now - x->progress_ms >= (x->progressed ? UNAUTH_GRACE_PROGRESS_MS : UNAUTH_GRACE_MS) &&
           ioctl(x->fd, FIONREAD, &unread) == 0 && unread == 0;
}

/*
 * The unauthenticated connection of a kind (from one source when src is given) that has waited
 * on its peer the longest, at least UNAUTH_GRACE_MS: from the head of the list
 * (unauth_touch()), which is in order of last progress, so the walk stops at the first
 * connection younger than the grace. NULL when there is none.
 */
static struct wcol_conn *oldest_unauth(struct wcol_collector *c, enum wcol_conn_kind kind,
                                       const struct wcol_src *src)
{
    uint64_t now = wcol_now_mono();
    unsigned probes = 0, seen = 0;

    for (struct wcol_conn *x = c->unauth[kind].head;
         x != NULL && probes < STALL_PROBES && seen++ < STALL_SCAN; x = x->unext) {
        if (now - x->progress_ms < UNAUTH_GRACE_MS) {
            return NULL;
        }
        if ((src != NULL && memcmp(&x->src, src, sizeof(*src)) != 0) ||
            (x->progressed && now - x->progress_ms < UNAUTH_GRACE_PROGRESS_MS)) {
            continue;
        }
        probes++;
        if (stalled(x, now)) {
            return x;
        }
    }
    return NULL;
}

/* The operator connection idle the longest (the idle timer list is in deadline order). */
static struct wcol_conn *oldest_idle_operator(struct wcol_collector *c)
{
    for (struct wcol_conn *x = c->timers[WCOL_TC_IDLE].head; x != NULL; x = x->tnext) {
        if (x->kind == WCOL_CONN_API && x->state == WCOL_CS_READ && x->rlen == 0 && !x->held) {
            return x;
        }
    }
    return NULL;
}

static const char *kind_name(enum wcol_conn_kind kind)
{
    return kind == WCOL_CONN_DEVICE ? "device" : "operator";
}

/*
 * Warnings caused by peers that have not authenticated (shed, handshake timeouts and
 * failures, not TLS): a flood makes thousands a second, so at most WARN_PER_S are logged
 * a second and the rest counted in the next line that is (the /v1/health counters have
 * every one).
 */
#define WARN_PER_S 10u

void wcol_conn_warn_flush(struct wcol_collector *c, uint64_t now)
{
    if (c->uwarn_window != 0 && now < c->uwarn_window + 1000) {
        return;
    }
    if (c->uwarn_dropped > 0) {
        wcol_log_warn("%llu further warnings about unauthenticated connections were not logged "
                      "(at most %u a second)",
                      (unsigned long long)c->uwarn_dropped, WARN_PER_S);
    }
    c->uwarn_window = now;
    c->uwarn_count = 0;
    c->uwarn_dropped = 0;
}

static bool unauth_warn_allowed(struct wcol_collector *c)
{
    wcol_conn_warn_flush(c, wcol_now_mono());
    if (c->uwarn_count < WARN_PER_S) {
        c->uwarn_count++;
        return true;
    }
    c->uwarn_dropped++;
    return false;
}

static void shed(struct wcol_conn *victim, uint64_t *counter, const char *why)
{
    (*counter)++;
    if (unauth_warn_allowed(victim->c)) {
        wcol_log_warn("%s: shedding an unauthenticated %s connection: %s", victim->addr,
                      kind_name(victim->kind), why);
    }
    wcol_conn_close(victim);
}

bool wcol_conn_shed_for_source(struct wcol_collector *c, const struct wcol_src *src)
{
    struct wcol_conn *victim = oldest_unauth(c, WCOL_CONN_DEVICE, src);

    if (victim == NULL) {
        return false;
    }
    shed(victim, &c->stats.shed_per_source, "its source is at --max-unauth-per-source");
    return true;
}

enum room {
    ROOM_YES,  /* the newcomer gets a slot (a victim may have been shed for it) */
    ROOM_WAIT, /* handshakes in progress fill the budget: it waits until one is stalled */
    ROOM_FULL, /* the pool is full of authenticated connections: refused */
};

/*
 * Make room for a new connection from src. Floods of idle or half-open sockets cost their own
 * oldest connections, never an agent's or an operator's: a connection that has waited on its
 * peer for UNAUTH_GRACE_MS is shed for a newcomer. When every unauthenticated connection is
 * younger than that, or still has bytes for the collector to read, the budget is held by
 * handshakes in progress (a fleet reconnecting at once): the newcomer waits (it and those
 * behind it stay in the listen queue) instead of costing one of them its handshake.
 */
static enum room make_room(struct wcol_collector *c, enum wcol_conn_kind kind,
                           const struct wcol_src *src)
{
    struct wcol_unauth *u = &c->unauth[kind];
    unsigned open = kind == WCOL_CONN_DEVICE ? c->n_device_conns : c->n_api_conns;
    unsigned max = kind == WCOL_CONN_DEVICE ? c->cfg.max_conns : c->cfg.max_api_conns;
    struct wcol_conn *victim;

    /* With device loops the count is the source's on every loop (server/worker.h). */
    if (wcol_loops_src_count(c, kind, src) >= c->cfg.max_unauth_per_source) {
        /* Waiting holds up the other sources too, for at most a grace: a source's handshakes
         * that progress are a fleet behind one address (NAT, a restart), not a flood. A loop
         * holding none of the source's connections has none to shed or wait for: the
         * newcomer is taken on the loop's own budget (the source then holds at most one
         * more per loop than the setting). */
        victim = oldest_unauth(c, kind, src);
        if (victim != NULL) {
            shed(victim, &c->stats.shed_per_source, "its source is at --max-unauth-per-source");
            return ROOM_YES;
        }
        if (c->loop == NULL) {
            return ROOM_WAIT;
        }
        /* The other loops may hold its stalled connections: they shed one and wake us. */
        wcol_loops_ask_shed(c, src);
        if (wcol_srcmap_count(&u->srcs, src) > 0) {
            return ROOM_WAIT;
        }
    }
    if (u->count >= u->max) {
        if ((victim = oldest_unauth(c, kind, NULL)) == NULL) {
            return ROOM_WAIT;
        }
        shed(victim, &c->stats.shed_unauthenticated, "the unauthenticated budget is full");
        return ROOM_YES;
    }
    if (open < max) {
        return ROOM_YES;
    }
    if ((victim = oldest_unauth(c, kind, NULL)) != NULL) {
        shed(victim, &c->stats.shed_capacity, "the connection pool is full");
        return ROOM_YES;
    }
    if (kind == WCOL_CONN_API && (victim = oldest_idle_operator(c)) != NULL) {
        c->stats.shed_idle_operator++;
        wcol_log_info("%s: closing the longest idle operator connection for a new one",
                      victim->addr);
        wcol_conn_close(victim);
        return ROOM_YES;
    }
    return u->count > 0 ? ROOM_WAIT : ROOM_FULL;
}

static void accept_one(struct wcol_collector *c, int fd, const struct sockaddr_storage *ss,
                       enum wcol_conn_kind kind)
{
    struct wcol_conn *conn = calloc(1, sizeof(*conn));
    int one = 1;

    if (conn == NULL) {
        close(fd);
        return;
    }
    conn->ep.type = WCOL_EP_CONN;
    conn->c = c;
    conn->fd = fd;
    conn->kind = (uint8_t)kind;
    conn->state = WCOL_CS_PEEK;
    conn->tclass = WCOL_TC_NONE;
    conn->peer.tls = c->tls;
    format_addr(ss, conn->addr, sizeof(conn->addr));
    source_of(ss, &conn->src);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                              .data.ptr = conn };

    if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        wcol_log_error("epoll_ctl: %s", strerror(errno));
        close(fd);
        free(conn);
        return;
    }
    if (kind == WCOL_CONN_DEVICE) {
        c->n_device_conns++;
    } else {
        c->n_api_conns++;
    }
    c->stats.accepted++;
    conn->anext = c->all;
    if (c->all != NULL) {
        c->all->aprev = conn;
    }
    c->all = conn;
    conn->progress_ms = wcol_now_mono();
    unauth_add(conn);
    wcol_conn_timer(conn, WCOL_TC_HANDSHAKE);
    wcol_log_debug("%s: connected (%s)", conn->addr, kind_name(kind));
}

/*
 * The newcomer of a kind: a slot, a wait (kept accepted but untouched in c->waiting, with
 * the listen queue behind it), or a refusal. @return false while it waits.
 */
static bool admit(struct wcol_collector *c, int fd, const struct sockaddr_storage *ss,
                  enum wcol_conn_kind kind)
{
    struct wcol_waiting *w = &c->waiting[kind];
    struct wcol_src src;

    source_of(ss, &src);
    enum room r = c->stopping ? ROOM_FULL : make_room(c, kind, &src);

    if (r == ROOM_WAIT) {
        if (w->fd < 0) {
            c->stats.deferred++;
        }
        w->fd = fd;
        w->ss = *ss;
        return false;
    }
    w->fd = -1;
    if (r == ROOM_YES) {
        accept_one(c, fd, ss, kind);
        return true;
    }
    c->stats.refused_capacity++;
    wcol_log_warn("refusing a connection: %u %s connections open (the limit), all authenticated",
                  kind == WCOL_CONN_DEVICE ? c->n_device_conns : c->n_api_conns, kind_name(kind));
    close(fd);
    return true;
}

void wcol_conn_accept(struct wcol_collector *c, int listen_fd, enum wcol_conn_kind kind)
{
    struct wcol_waiting *w = &c->waiting[kind];

    if (w->fd >= 0 && !admit(c, w->fd, &w->ss, kind)) {
        return; /* still no room: the listen queue keeps the rest */
    }
    /* Edge-triggered: take every pending connection now. Bounded by the backlog. */
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                wcol_log_error("accept: %s", strerror(errno));
            }
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return;
        }
        if (!admit(c, fd, &ss, kind)) {
            return;
        }
    }
}

uint64_t wcol_conn_admit_due(const struct wcol_collector *c)
{
    uint64_t due = UINT64_MAX;

    for (int k = 0; k < 2; k++) {
        const struct wcol_conn *head = c->unauth[k].head;

        if (c->waiting[k].fd >= 0) {
            /* A slot frees when the oldest handshake stalls (or ends: the loop runs then) */
            uint64_t t = head != NULL ? head->progress_ms + UNAUTH_GRACE_MS : 0;

            due = t < due ? t : due;
        }
    }
    return due;
}

void wcol_conn_admit_waiting(struct wcol_collector *c)
{
    if (c->waiting[WCOL_CONN_DEVICE].fd >= 0) {
        wcol_conn_accept(c, c->device_fd, WCOL_CONN_DEVICE);
    }
    if (c->waiting[WCOL_CONN_API].fd >= 0) {
        wcol_conn_accept(c, c->api_fd, WCOL_CONN_API);
    }
}

void wcol_conn_drop_waiting(struct wcol_collector *c)
{
    for (int k = 0; k < 2; k++) {
        if (c->waiting[k].fd >= 0) {
            close(c->waiting[k].fd);
            c->waiting[k].fd = -1;
        }
    }
}

void wcol_conn_close(struct wcol_conn *conn)
{
    struct wcol_collector *c = conn->c;

    if (conn->held || conn->ep.type != WCOL_EP_CONN) {
        return; /* answered by the commit first; or already closed */
    }
    if (conn->on_close != NULL) {
        wcol_conn_close_fn fn = conn->on_close;

        conn->on_close = NULL;
        fn(conn, conn->on_close_ctx);
    }
    timer_unlink(conn);
    unauth_remove(conn);
    if (conn->aprev != NULL) {
        conn->aprev->anext = conn->anext;
    } else {
        c->all = conn->anext;
    }
    if (conn->anext != NULL) {
        conn->anext->aprev = conn->aprev;
    }
    conn->aprev = conn->anext = NULL;
    close(conn->fd); /* also drops the epoll registration */
    if (wcol_tls_parked(&conn->park)) {
        c->parked--; /* mbedtls_ssl_free() takes parked buffers as they are */
        conn->park.in_len = conn->park.out_len = 0;
    }
    if (conn->ssl_setup) {
        mbedtls_ssl_free(&conn->ssl);
        conn->ssl_setup = false;
    }
    free(conn->rbuf);
    free(conn->wbuf);
    conn->rbuf = conn->wbuf = NULL;
    conn->rcap = conn->wcap = 0;
    ra_free(conn);
    if (conn->kind == WCOL_CONN_DEVICE) {
        c->n_device_conns--;
    } else {
        c->n_api_conns--;
    }
    wcol_log_debug("%s: closed after %llu requests", conn->addr,
                   (unsigned long long)conn->requests);
    /*
     * An event for this connection may still be queued in this loop pass, or it may sit on
     * the ready list: mark it dead and free it when the pass ends.
     */
    conn->ep.type = 0;
    conn->fd = -1;
    conn->dnext = c->dead;
    c->dead = conn;
}

void wcol_conn_kick(struct wcol_conn *conn)
{
    struct wcol_collector *c = conn->c;

    if (conn->kicked || conn->ep.type != WCOL_EP_CONN) {
        return;
    }
    conn->kicked = true;
    conn->knext = NULL;
    *c->ready_tail = conn;
    c->ready_tail = &conn->knext;
}

/*
 * The response is out; shut our side (after TLS close_notify) and read whatever the peer
 * still sends until it closes, so the kernel does not answer its data with a reset that
 * destroys our response before the peer read it.
 */
static void begin_close(struct wcol_conn *conn, bool tls_notify)
{
    if (tls_notify && conn->ssl_setup) {
        if (!unpark(conn)) {
            return;
        }
        (void)mbedtls_ssl_close_notify(&conn->ssl); /* best effort, never waits */
    }
    shutdown(conn->fd, SHUT_WR);
    conn->state = WCOL_CS_LINGER;
    wcol_conn_timer(conn, WCOL_TC_LINGER);
    wcol_conn_kick(conn);
}

static void drain(struct wcol_conn *conn)
{
    char buf[4096];

    for (;;) {
        ssize_t n = recv(conn->fd, buf, sizeof(buf), 0);

        if (n > 0) {
            conn->drained += (uint32_t)n;
            if (conn->drained < LINGER_MAX) {
                continue;
            }
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        wcol_conn_close(conn);
        return;
    }
}

/* ---- parked record buffers (tls/park.h) ---- */

/* Give a parked connection its record buffers back before mbedTLS reads or writes a record.
 * @return false when there is no memory for them: the connection is closed. */
static bool unpark(struct wcol_conn *conn)
{
    if (!wcol_tls_parked(&conn->park)) {
        return true;
    }
    if (wcol_tls_unpark(&conn->ssl, &conn->park) != 0) {
        wcol_log_error("%s: out of memory for the TLS record buffers; closing", conn->addr);
        wcol_conn_close(conn);
        return false;
    }
    conn->c->parked--;
    return true;
}

void wcol_conn_park_idle(struct wcol_collector *c, uint64_t now)
{
    uint64_t idle_ms = c->timeout_ms[WCOL_TC_IDLE];

    /* The idle list is in the order connections went idle (deadline = then + idle timeout). */
    for (struct wcol_conn *conn = c->timers[WCOL_TC_IDLE].head;
         conn != NULL && conn->deadline + PARK_AFTER_MS <= now + idle_ms; conn = conn->tnext) {
        if (conn->state == WCOL_CS_READ && conn->rlen == 0 && conn->ra_len == 0 &&
            conn->ssl_setup && wcol_tls_park(&conn->ssl, &conn->park) == 1) {
            c->parked++;
            /* An idle keep-alive connection holds no request or response buffer either: they
             * are kept only while it answers requests back to back. */
            free(conn->rbuf);
            free(conn->wbuf);
            conn->rbuf = conn->wbuf = NULL;
            conn->rcap = conn->wcap = 0;
            ra_free(conn);
        }
    }
}

/* ---- responses ---- */

/* Grow a connection's buffer to want bytes (kept as large as it got). */
static bool grow_buf(char **buf, uint32_t *cap, size_t want)
{
    if (want <= *cap) {
        return true;
    }
    char *nb = realloc(*buf, want);

    if (nb == NULL) {
        return false;
    }
    *buf = nb;
    *cap = (uint32_t)want;
    return true;
}

static bool ensure_wbuf(struct wcol_conn *conn, size_t want)
{
    return grow_buf(&conn->wbuf, &conn->wcap, want);
}

/* Append s (with its NUL) to the head being built; *at goes past cap when it does not fit. */
static void head_put(char *head, size_t cap, size_t *at, const char *s)
{
    size_t n = strlen(s);

    if (*at + n < cap) {
        memcpy(head + *at, s, n + 1);
    }
    *at += n;
}

/*
 * The response head, as snprintf() with "HTTP/1.1 %d %s ..." would write it, but by copying:
 * it is written once per request, and the formatting was a few percent of a heartbeat's CPU.
 * @return its length (NUL-terminated when less than cap; cap or more: it does not fit).
 */
static int format_head(char *head, size_t cap, int status, const char *content_type,
                       size_t body_len, const char *cache_control, const char *extra_headers,
                       bool close_after)
{
    char num[WARD_FMT_INT64_MAX];
    size_t at = 0;

    head_put(head, cap, &at, "HTTP/1.1 ");
    (void)ward_fmt_i64(num, sizeof(num), status);
    head_put(head, cap, &at, num);
    head_put(head, cap, &at, " ");
    head_put(head, cap, &at, ward_http_status_text(status));
    head_put(head, cap, &at, "\r\nContent-Type: ");
    head_put(head, cap, &at, content_type);
    head_put(head, cap, &at, "\r\nContent-Length: ");
    (void)ward_fmt_u64(num, sizeof(num), body_len);
    head_put(head, cap, &at, num);
    head_put(head, cap, &at, "\r\nCache-Control: ");
    head_put(head, cap, &at, cache_control);
    head_put(head, cap, &at, "\r\n");
    head_put(head, cap, &at, extra_headers != NULL ? extra_headers : "");
    head_put(head, cap, &at, close_after ? "Connection: close\r\n\r\n" : "\r\n");
    return at > INT32_MAX ? INT32_MAX : (int)at;
}

void wcol_conn_respond(struct wcol_conn *conn, int status, const char *body, size_t body_len,
                       const char *extra_headers, bool close_after)
{
    wcol_conn_respond_typed(conn, status, "application/json", body, body_len, extra_headers,
                            close_after);
}

void wcol_conn_respond_typed(struct wcol_conn *conn, int status, const char *content_type,
                             const char *body, size_t body_len, const char *extra_headers,
                             bool close_after)
{
    wcol_conn_respond_cached(conn, status, content_type, "no-store", body, body_len, extra_headers,
                             close_after);
}

void wcol_conn_respond_cached(struct wcol_conn *conn, int status, const char *content_type,
                              const char *cache_control, const char *body, size_t body_len,
                              const char *extra_headers, bool close_after)
{
    char head[2048];
    int n = format_head(head, sizeof(head), status, content_type, body_len, cache_control,
                        extra_headers, close_after);
    /* The callers' headers are bounded constants: a head that does not fit is a bug, and the
     * connection closes rather than send a cut one. */
    bool fits = n > 0 && (size_t)n < sizeof(head);

    if (conn->proxy) { /* the owner answers for a device loop (server/worker.h) */
        wcol_loops_answer(conn, head, fits ? (size_t)n : 0, body, fits ? body_len : 0,
                          close_after || !fits);
        return;
    }
    /* The response buffer is kept between requests (no allocation per request); it is given
     * back when the connection parks (wcol_conn_park_idle). */
    if (!fits || !ensure_wbuf(conn, (size_t)n + body_len)) {
        wcol_log_error("%s: out of memory for a response; closing", conn->addr);
        conn->close_after = true;
        conn->wlen = conn->woff = 0;
        return;
    }
    memcpy(conn->wbuf, head, (size_t)n);
    if (body_len > 0) {
        memcpy(conn->wbuf + n, body, body_len);
    }
    conn->wlen = (uint32_t)((size_t)n + body_len);
    conn->woff = 0;
    conn->close_after = close_after;
    if (conn->state != WCOL_CS_WAIT_COMMIT) {
        send_response(conn);
    }
}

void wcol_conn_error(struct wcol_conn *conn, int status, const char *reason)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", reason);

    wcol_conn_respond(conn, status, body, (size_t)n,
                      status == 401 ? "WWW-Authenticate: Bearer realm=\"ward\"\r\n" : NULL, true);
}

static void send_response(struct wcol_conn *conn)
{
    conn->state = WCOL_CS_WRITE;
    wcol_conn_timer(conn, WCOL_TC_WRITE);
    do_write(conn);
}

void wcol_conn_wrong_method(struct wcol_conn *conn, const char *allowed)
{
    char body[64], allow[64];
    int n = snprintf(body, sizeof(body), "{\"error\":\"use %s\"}", allowed);

    snprintf(allow, sizeof(allow), "Allow: %s\r\n", allowed);
    wcol_conn_respond(conn, 405, body, (size_t)n, allow, true);
}

void wcol_conn_send_prepared(struct wcol_conn *conn, uint32_t wlen, bool close_after)
{
    wcol_conn_resume(conn);
    conn->wlen = wlen;
    conn->woff = 0;
    conn->close_after = close_after;
    send_response(conn);
}

void wcol_conn_hold(struct wcol_conn *conn)
{
    conn->state = WCOL_CS_WAIT_COMMIT;
    wcol_conn_timer(conn, WCOL_TC_NONE);
    conn->held = true;
}

void wcol_conn_resume(struct wcol_conn *conn)
{
    conn->held = false;
    conn->state = WCOL_CS_READ; /* no longer held back: responses go out at once */
}

struct wcol_collector *wcol_conn_collector(struct wcol_conn *conn)
{
    return conn->c;
}

const struct wcol_http_request *wcol_conn_request(const struct wcol_conn *conn)
{
    return &conn->req;
}

const char *wcol_conn_addr(const struct wcol_conn *conn)
{
    return conn->addr;
}

const char *wcol_conn_peer_cn(const struct wcol_conn *conn)
{
    return conn->peer.ident.cn;
}

/* Forget the request just answered; keep bytes of a pipelined next one. */
static void request_done(struct wcol_conn *conn)
{
    size_t used = conn->have_head ? conn->req.head_len + conn->req.content_length : conn->rlen;

    if (used > conn->rlen) {
        used = conn->rlen;
    }
    memmove(conn->rbuf, conn->rbuf + used, conn->rlen - used);
    conn->rlen -= (uint32_t)used;
    conn->have_head = false;
}

static void do_write(struct wcol_conn *conn)
{
    if (!unpark(conn)) {
        return;
    }
    while (conn->woff < conn->wlen) {
        /* mbedTLS holds the record of a write that would block and must be called again with
         * the same length (a stream may have queued more bytes behind it meanwhile). */
        uint32_t chunk = conn->wpend != 0 ? conn->wpend : conn->wlen - conn->woff;
        int n =
            mbedtls_ssl_write(&conn->ssl, (const unsigned char *)conn->wbuf + conn->woff, chunk);

        if (n == MBEDTLS_ERR_SSL_WANT_WRITE || n == MBEDTLS_ERR_SSL_WANT_READ) {
            conn->wpend = chunk;
            return; /* EPOLLOUT (edge) resumes us */
        }
        conn->wpend = 0;
        if (n < 0) {
            wcol_log_debug("%s: write failed: %s", conn->addr, wcol_tls_strerror(n));
            wcol_conn_close(conn);
            return;
        }
        conn->woff += (uint32_t)n;
    }
    conn->wlen = conn->woff = 0;
    if (conn->state == WCOL_CS_STREAM) {
        wcol_conn_timer(conn, WCOL_TC_NONE); /* all taken: no write deadline until the next */
        return;
    }
    if (conn->close_after || conn->doomed || conn->c->stopping) {
        begin_close(conn, true);
        return;
    }
    request_done(conn);
    conn->state = WCOL_CS_READ;
    wcol_conn_timer(conn, conn->rlen > 0 ? WCOL_TC_REQUEST : WCOL_TC_IDLE);
    /* Bytes may have arrived while we were busy and their edge has passed: look again. */
    wcol_conn_kick(conn);
}

/* ---- requests ---- */

static void dispatch(struct wcol_conn *conn)
{
    struct wcol_collector *c = conn->c;

    conn->requests++;
    if (conn->kind == WCOL_CONN_API) {
        c->stats.api_requests++;
    } else {
        c->stats.requests++;
    }
    c->on_request[conn->kind](conn, conn->rbuf + conn->req.head_len, conn->req.content_length);
}

static bool ensure_rbuf(struct wcol_conn *conn, size_t want)
{
    return grow_buf(&conn->rbuf, &conn->rcap, want);
}

/* On the stack: the device loops parse heads on their own threads. */
static struct wcol_http_limits limits_of(const struct wcol_collector *c)
{
    return (struct wcol_http_limits){ .max_head = c->cfg.max_head,
                                      .max_target = 1024,
                                      .max_body = c->cfg.max_body,
                                      .max_headers = c->cfg.max_headers };
}

/*
 * Look at what has been read: parse the head once it is complete, size the buffer for the
 * body. @return 1 when a whole request is buffered, 0 when more is needed, -1 when the
 * connection got an error response.
 */
static int examine(struct wcol_conn *conn)
{
    struct wcol_collector *c = conn->c;
    struct wcol_http_limits lim = limits_of(c);

    if (conn->rlen == 0) {
        return 0;
    }
    if (!conn->have_head) {
        int rc = wcol_http_parse_head(conn->rbuf, conn->rlen, &lim, &conn->req);

        if (rc == -EAGAIN) {
            return 0;
        }
        if (rc != 0) {
            c->stats.rejected_http++;
            c->stats.ingest_refused[WCOL_REFUSE_HTTP] += conn->kind == WCOL_CONN_DEVICE;
            wcol_log_warn("%s%s%s: refused request: %d %s", conn->addr,
                          conn->peer.ident.valid ? " " : "", conn->peer.ident.cn, conn->req.status,
                          conn->req.reason);
            wcol_conn_error(conn, conn->req.status, conn->req.reason);
            return -1;
        }
        conn->have_head = true;
        const char *before = conn->rbuf;

        if (!ensure_rbuf(conn, conn->req.head_len + conn->req.content_length)) {
            wcol_conn_error(conn, 503, "out of memory");
            return -1;
        }
        if (conn->rbuf != before) {
            /* The request's strings point into the buffer: parse the (same) head again. */
            (void)wcol_http_parse_head(conn->rbuf, conn->rlen, &lim, &conn->req);
        }
    }
    return conn->rlen >= conn->req.head_len + conn->req.content_length ? 1 : 0;
}

static void do_read(struct wcol_conn *conn)
{
    struct wcol_collector *c = conn->c;

    if (!unpark(conn)) {
        return;
    }

    for (;;) {
        int rc = examine(conn);

        if (rc < 0) {
            return;
        }
        if (rc > 0) {
            dispatch(conn);
            return;
        }
        /* Grow the head buffer by doubling up to the head limit; a body gets its exact size. */
        size_t want = conn->req.head_len + conn->req.content_length;

        if (!conn->have_head) {
            want = conn->rcap < RBUF_INITIAL ? RBUF_INITIAL : conn->rcap;
            if (conn->rlen == conn->rcap && conn->rcap > 0) {
                want = conn->rcap * 2 > c->cfg.max_head ? c->cfg.max_head : conn->rcap * 2;
            }
        }
        if (!ensure_rbuf(conn, want)) {
            wcol_conn_error(conn, 503, "out of memory");
            return;
        }
        int n = mbedtls_ssl_read(&conn->ssl, (unsigned char *)conn->rbuf + conn->rlen,
                                 conn->rcap - conn->rlen);

        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) {
            return;
        }
        if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == MBEDTLS_ERR_NET_CONN_RESET) {
            if (conn->rlen > 0) {
                wcol_log_warn("%s: peer closed in the middle of a request", conn->addr);
            }
            wcol_conn_close(conn);
            return;
        }
        if (n < 0) {
            wcol_log_warn("%s: TLS read failed: %s", conn->addr, wcol_tls_strerror(n));
            wcol_conn_close(conn);
            return;
        }
        if (conn->rlen == 0) {
            wcol_conn_timer(conn, WCOL_TC_REQUEST); /* the request clock starts now */
        }
        conn->rlen += (uint32_t)n;
    }
}

/* ---- handshake ---- */

static enum wcol_tls_reject reject_reason(struct wcol_conn *conn, int rc)
{
    uint32_t flags;

    if (rc == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE) {
        return WCOL_TLS_REJ_CERTIFICATE;
    }
    if (rc != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        return WCOL_TLS_REJ_PROTOCOL;
    }
    flags = mbedtls_ssl_get_verify_result(&conn->ssl);
    if (flags & MBEDTLS_X509_BADCERT_REVOKED) {
        return WCOL_TLS_REJ_REVOKED;
    }
    if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) {
        return WCOL_TLS_REJ_EXPIRED;
    }
    return WCOL_TLS_REJ_CERTIFICATE;
}

static void log_handshake_failure(struct wcol_conn *conn, int rc)
{
    char info[256] = "";
    struct wcol_collector *c = conn->c;

    c->stats.rejected_tls++;
    c->stats.tls_rejected[reject_reason(conn, rc)]++;
    if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        uint32_t flags = mbedtls_ssl_get_verify_result(&conn->ssl);

        mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
        for (char *p = info; *p; p++) {
            if (*p == '\n') {
                *p = (p[1] != '\0') ? ';' : '\0';
            }
        }
    }
    if (conn->kind == WCOL_CONN_DEVICE) { /* audited, rate-limited (audit/audit.h) */
        wcol_loops_device_refused(c, conn->addr, conn->peer.ident.cn,
                                  info[0] ? info : wcol_tls_strerror(rc));
    }
    if (!unauth_warn_allowed(c)) {
        return;
    }
    if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        wcol_log_warn("%s: rejected client certificate%s%s: %s", conn->addr,
                      conn->peer.ident.cn[0] ? " CN=" : "", conn->peer.ident.cn, info);
        return;
    }
    wcol_log_warn("%s: TLS handshake failed: %s", conn->addr, wcol_tls_strerror(rc));
}

static void do_handshake(struct wcol_conn *conn)
{
    struct wcol_collector *c = conn->c;
    struct wcol_ticket_ctx *tc = wcol_loops_tickets(c, conn->kind);

    tc->current = &conn->peer.ident;
    int state = conn->ssl.MBEDTLS_PRIVATE(state);
    int rc = mbedtls_ssl_handshake(&conn->ssl);

    tc->current = NULL;
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        if (conn->ssl.MBEDTLS_PRIVATE(state) != state) {
            unauth_touch(conn); /* a whole handshake message, not a trickle of bytes */
        }
        return;
    }
    if (rc != 0) {
        log_handshake_failure(conn, rc);
        if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
            /* mbedTLS sent the alert (revoked, expired, unknown CA): linger, so that the
             * device's last handshake bytes do not draw a reset that destroys it unread. */
            begin_close(conn, false);
            return;
        }
        wcol_conn_close(conn);
        return;
    }
    if (conn->kind == WCOL_CONN_DEVICE && !conn->peer.ident.valid) {
        c->stats.rejected_tls++;
        c->stats.tls_rejected[WCOL_TLS_REJ_NO_IDENTITY]++;
        wcol_log_warn("%s: session without a device identity; closing", conn->addr);
        wcol_loops_device_refused(c, conn->addr, conn->peer.ident.cn,
                                  "certificate names no device");
        begin_close(conn, true);
        return;
    }
    if (conn->kind == WCOL_CONN_DEVICE) {
        unauth_remove(conn); /* the certificate named a device */
        /* which certificate: a renewal taken into use is audited (devices/devices.h) */
        wcol_devices_cert_seen(c->devices, &conn->peer.ident);
    }
    c->stats.handshakes++;
    c->stats.handshakes_resumed += conn->peer.ident.resumed;
    wcol_log_debug("%s: TLS up%s%s (%s, %s)", conn->addr, conn->peer.ident.valid ? " CN=" : "",
                   conn->peer.ident.cn, mbedtls_ssl_get_ciphersuite(&conn->ssl),
                   conn->peer.ident.resumed ? "resumed" : "full handshake");
    conn->state = WCOL_CS_READ;
    /* An operator proves itself only with its first request: it gets the request's time. */
    wcol_conn_timer(conn, conn->authed ? WCOL_TC_IDLE : WCOL_TC_REQUEST);
    do_read(conn);
}

static int setup_tls(struct wcol_conn *conn)
{
    struct wcol_collector *c = conn->c;
    const mbedtls_ssl_config *conf = wcol_loops_conf(c, conn->kind);

    mbedtls_ssl_init(&conn->ssl);
    conn->ssl_setup = true;
    int rc = mbedtls_ssl_setup(&conn->ssl, conf);

    if (rc != 0) {
        wcol_log_error("%s: TLS setup failed: %s", conn->addr, wcol_tls_strerror(rc));
        return rc;
    }
    mbedtls_ssl_set_bio(&conn->ssl, conn, bio_send, bio_recv, NULL);
    if (conn->kind == WCOL_CONN_DEVICE) {
        mbedtls_ssl_set_verify(&conn->ssl, wcol_tls_verify_device, &conn->peer);
    }
    return 0;
}

/* The first byte tells a TLS ClientHello (0x16) from someone speaking plain HTTP. */
static void do_peek(struct wcol_conn *conn)
{
    unsigned char b;
    ssize_t n = recv(conn->fd, &b, 1, MSG_PEEK);

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        wcol_conn_close(conn);
        return;
    }
    if (b == 0x16) {
        if (setup_tls(conn) != 0) {
            wcol_conn_close(conn);
            return;
        }
        conn->state = WCOL_CS_HANDSHAKE;
        do_handshake(conn);
        return;
    }
    conn->c->stats.rejected_plain++;
    conn->c->stats.tls_rejected[WCOL_TLS_REJ_NOT_TLS]++;
    bool say = unauth_warn_allowed(conn->c);

    if (b >= 'A' && b <= 'Z') {
        if (say) {
            wcol_log_warn("%s: plain HTTP on the TLS port; answered 400 and closed", conn->addr);
        }
        (void)!send(conn->fd, s_plain_reply, sizeof(s_plain_reply) - 1, MSG_NOSIGNAL);
        begin_close(conn, false);
        return;
    }
    if (say) {
        wcol_log_warn("%s: not TLS (first byte 0x%02x); closing", conn->addr, b);
    }
    begin_close(conn, false);
}

/* ---- streams ---- */

int wcol_conn_stream_begin(struct wcol_conn *conn, const char *head, size_t len,
                           wcol_conn_close_fn on_close, void *ctx)
{
    int small = 4096; /* a stream's bound is the collector's buffer, not the kernel's */

    request_done(conn);
    conn->state = WCOL_CS_STREAM;
    conn->on_close = on_close;
    conn->on_close_ctx = ctx;
    wcol_conn_timer(conn, WCOL_TC_NONE);
    setsockopt(conn->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    return wcol_conn_stream_send(conn, head, len, len);
}

int wcol_conn_stream_send(struct wcol_conn *conn, const char *data, size_t len, size_t cap)
{
    size_t pending = conn->wlen - conn->woff;

    if (conn->state != WCOL_CS_STREAM || conn->ep.type != WCOL_EP_CONN) {
        return -EPIPE;
    }
    if (pending + len > cap) {
        return -ENOBUFS;
    }
    if (conn->wpend == 0 && conn->woff > 0) { /* nothing of it is inside mbedTLS: compact */
        memmove(conn->wbuf, conn->wbuf + conn->woff, pending);
        conn->wlen = (uint32_t)pending;
        conn->woff = 0;
    }
    if (!ensure_wbuf(conn, (size_t)conn->wlen + len)) { /* wcap stays wbuf's size */
        wcol_conn_close(conn);
        return -ENOMEM;
    }
    memcpy(conn->wbuf + conn->wlen, data, len);
    conn->wlen += (uint32_t)len;
    if (pending == 0) {
        wcol_conn_timer(conn, WCOL_TC_WRITE); /* taken within --write-timeout, or closed */
    }
    wcol_conn_kick(conn);
    return 0;
}

void wcol_conn_stream_end(struct wcol_conn *conn)
{
    wcol_conn_close(conn);
}

/* A stream reads only to see its peer go, and writes. A client sends nothing on a stream:
 * bytes from it close the stream (so a sender cannot keep the loop reading). */
static void stream_event(struct wcol_conn *conn)
{
    unsigned char buf[64];
    int n = mbedtls_ssl_read(&conn->ssl, buf, sizeof(buf));

    if (n != MBEDTLS_ERR_SSL_WANT_READ && n != MBEDTLS_ERR_SSL_WANT_WRITE) {
        wcol_log_debug("%s: event stream closed by its peer (%d)", conn->addr, n);
        wcol_conn_close(conn);
        return;
    }
    if (conn->woff < conn->wlen) {
        do_write(conn);
    }
}

void wcol_conn_event(struct wcol_conn *conn, uint32_t events)
{
    if (conn->ep.type != WCOL_EP_CONN) {
        return; /* closed earlier in this loop pass */
    }
    if (events != 0) {
        conn->rdry = false; /* from epoll: bytes (or the peer's close) may have arrived */
    }
    switch (conn->state) {
    case WCOL_CS_PEEK:
        do_peek(conn);
        break;
    case WCOL_CS_HANDSHAKE:
        do_handshake(conn);
        break;
    case WCOL_CS_READ:
        do_read(conn);
        break;
    case WCOL_CS_WRITE:
        do_write(conn);
        break;
    case WCOL_CS_LINGER:
        drain(conn);
        break;
    case WCOL_CS_STREAM:
        stream_event(conn);
        break;
    default: /* WAIT_COMMIT: the commit resumes the connection */
        break;
    }
}
