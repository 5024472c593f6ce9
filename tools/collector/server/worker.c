/*
 * The device-port loop threads and their two queues to and from the owner (server/worker.h).
 *
 * A loop is a collector context of its own (struct wcol_collector, c->loop set) that holds
 * only what a loop needs: its epoll, its listener, its connections, timers and budgets, its
 * counters and the decoder's buffers; server/conn.c runs unchanged on it. Its cfg is the
 * owner's with the budgets divided. It never touches the owner's context except through the
 * functions here.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "auth/access.h"
#include "common/clock.h"
#include "ingest/ingest.h"
#include "server/collector.h"
#include "server/conn_impl.h"
#include "server/worker.h"
#include "tls/tls.h"

#define LOOP_EPOLL_BATCH 256
#define LOOP_TICK_MS     250u
#define STOP_BOUND_MS    10000u
#define SHED_REQ_MAX     8u /* sources asked of a loop at once (more wait for the next ask) */

enum xreq_type {
    XREQ_INGEST = 1, /* a decoded batch for the commit group */
    XREQ_REQUEST,    /* any other device request, handled whole by the owner */
    XREQ_AUDIT,      /* a refused device handshake to audit (no connection waits) */
};

/* A request handed to the owner and its answer back; one per connection in flight. */
struct wcol_xreq {
    struct wcol_xreq *next;
    uint8_t type;
    bool close_after;
    struct wcol_loop *loop;
    struct wcol_conn *conn; /* the loop's connection: the owner never dereferences it */
    struct wcol_ingest_pending *pending;
    const char *body; /* XREQ_REQUEST: in the held connection's buffer */
    size_t body_len;
    struct wcol_http_request req;
    struct wcol_ident ident;
    char addr[64];
    char reason[256]; /* XREQ_AUDIT */
    char *resp;       /* the answer's bytes (swapped with the connection's buffer) */
    uint32_t resp_len, resp_cap;
};

enum {
    G_CONNS,
    G_UNAUTH,
    G_PARKED,
    G_TICKETS_ISSUED,
    G_TICKETS_RESUMED,
    G_TICKETS_REFUSED,
    G_COUNT
};

/* What a loop counts, as the owner sees it (uint64_t only: folded field by field). */
struct loop_pub {
    struct wcol_collector_stats stats;
    uint64_t g[G_COUNT]; /* gauges and the ticket context's counters */
};

struct wcol_loop {
    struct wcol_collector c; /* the loop's own context; c.loop == this */
    struct wcol_collector *owner;
    unsigned index;
    pthread_t thread;
    bool started;
    int evfd;
    struct wcol_ep ep_ev;
    mbedtls_ssl_config conf; /* the owner's device conf, with this loop's ticket context */
    struct wcol_ticket_ctx tickets;
    struct wcol_xreq *pool; /* loop-only: free messages */
    unsigned inflight;      /* loop-only: requests at the owner */
    /* Loop-only: requests for the owner, handed over at the end of the pass (one lock and at
     * most one wake-up per pass, not per request); newest first. */
    struct wcol_xreq *outbox, *outbox_last;
    /* Owner-only: answers for this loop, handed over at the end of the owner's pass. */
    struct wcol_xreq *outgoing, *outgoing_last;
    unsigned refused_seen; /* loop-only */
    /* Under mu: */
    pthread_mutex_t mu;
    struct wcol_xreq *replies; /* from the owner, newest first */
    bool stop;
    bool done;
    unsigned refused_gen;
    struct {
        struct wcol_src src;
        unsigned from; /* the asking loop's index */
    } shed_req[SHED_REQ_MAX];
    unsigned n_shed_req;
    struct loop_pub pub;
    struct loop_pub folded; /* owner-only: what the owner already added */
};

struct wcol_loops {
    unsigned n;
    struct wcol_loop *v;
    int evfd; /* the owner's wake-up */
    struct wcol_ep ep;
    struct wcol_conn *proxies; /* owner-only: free proxy connections */
    pthread_mutex_t mu;
    struct wcol_xreq *inbox; /* to the owner, newest first */
    pthread_mutex_t src_mu;
    struct wcol_srcmap srcs; /* unauthenticated device connections per source, every loop */
};

unsigned wcol_loops_resolve(unsigned configured)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = configured != 0 ? configured : (cores > 0 ? (unsigned)cores : 1u);

    return n > WCOL_LOOPS_MAX ? WCOL_LOOPS_MAX : n;
}

static void wake(int fd)
{
    uint64_t one = 1;

    (void)!write(fd, &one, sizeof(one));
}

static void unwake(int fd)
{
    uint64_t v;

    (void)!read(fd, &v, sizeof(v));
}

static unsigned share(unsigned total, unsigned n)
{
    return (total + n - 1) / n;
}

/* ---- opening ---- */

static int open_loop(struct wcol_collector *owner, struct wcol_loop *l, unsigned index,
                     const char *spec)
{
    struct wcol_collector *c = &l->c;
    unsigned n = owner->cfg.loops;
    struct epoll_event ev = { .events = EPOLLIN };

    l->owner = owner;
    l->index = index;
    l->evfd = -1;
    pthread_mutex_init(&l->mu, NULL);
    c->cfg = owner->cfg;
    c->cfg.max_conns = share(owner->cfg.max_conns, n);
    c->cfg.max_unauth_conns = share(owner->cfg.max_unauth_conns, n);
    c->loop = l;
    c->tls = owner->tls;
    c->epfd = c->sigfd = c->device_fd = c->api_fd = c->lock_fd = -1;
    c->waiting[0].fd = c->waiting[1].fd = -1;
    c->ready_tail = &c->ready;
    c->ep_device.type = WCOL_EP_LISTEN_DEVICE;
    memcpy(c->timeout_ms, owner->timeout_ms, sizeof(c->timeout_ms));
    c->on_request[WCOL_CONN_DEVICE] = wcol_loops_device_request;
    c->start_mono = owner->start_mono;
    l->conf = owner->tls->device_conf;
    l->tickets = owner->tls->device_tickets;
    l->tickets.current = NULL;
    l->tickets.issued = l->tickets.resumed = l->tickets.refused = 0;
    mbedtls_ssl_conf_session_tickets_cb(&l->conf, wcol_ticket_write, wcol_ticket_parse,
                                        &l->tickets);
    c->unauth[WCOL_CONN_DEVICE].max =
        c->cfg.max_unauth_conns < c->cfg.max_conns ? c->cfg.max_unauth_conns : c->cfg.max_conns;
    int rc = wcol_server_alloc_loop(c);

    if (rc != 0) {
        return rc;
    }
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->epfd < 0 || l->evfd < 0) {
        return -errno;
    }
    l->ep_ev.type = WCOL_EP_LOOPS;
    ev.data.ptr = &l->ep_ev;
    if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, l->evfd, &ev) != 0) {
        return -errno;
    }
    c->device_fd = wcol_server_listen(spec, c->device_addr, sizeof(c->device_addr), true);
    if (c->device_fd < 0) {
        return c->device_fd;
    }
    ev.events = EPOLLIN | EPOLLET;
    ev.data.ptr = &c->ep_device;
    return epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->device_fd, &ev) == 0 ? 0 : -errno;
}

int wcol_loops_open(struct wcol_collector *c)
{
    struct wcol_loops *ls = calloc(1, sizeof(*ls));
    struct epoll_event ev = { .events = EPOLLIN };

    if (ls == NULL) {
        return -ENOMEM;
    }
    c->loops = ls;
    ls->evfd = -1;
    pthread_mutex_init(&ls->mu, NULL);
    pthread_mutex_init(&ls->src_mu, NULL);
    /* Each loop may take one more of a source than the setting (conn.c make_room()). */
    if (wcol_srcmap_init(&ls->srcs, c->cfg.max_unauth_conns + c->cfg.loops + 1,
                         (uint64_t)wcol_now_mono()) != 0) {
        return -ENOMEM;
    }
    ls->v = calloc(c->cfg.loops, sizeof(*ls->v));
    if (ls->v == NULL) {
        return -ENOMEM;
    }
    ls->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ls->ep.type = WCOL_EP_LOOPS;
    ev.data.ptr = &ls->ep;
    if (ls->evfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, ls->evfd, &ev) != 0) {
        return -errno;
    }
    for (unsigned i = 0; i < c->cfg.loops; i++) {
        /* Port 0 means any free port: the first loop picks it, the others join it. */
        int rc = open_loop(c, &ls->v[i], i, i == 0 ? c->cfg.listen : ls->v[0].c.device_addr);

        ls->n = i + 1;
        if (rc != 0) {
            wcol_log_error("cannot open device loop %u of %u: %s", i + 1, c->cfg.loops,
                           strerror(-rc));
            return rc;
        }
    }
    snprintf(c->device_addr, sizeof(c->device_addr), "%s", ls->v[0].c.device_addr);
    return 0;
}

/* ---- the loop thread ---- */

static struct wcol_xreq *xreq_get(struct wcol_loop *l)
{
    struct wcol_xreq *x = l->pool;

    if (x != NULL) {
        l->pool = x->next;
        return x;
    }
    x = calloc(1, sizeof(*x));
    if (x != NULL) {
        x->loop = l;
    }
    return x;
}

static void post_to_owner(struct wcol_loop *l, struct wcol_xreq *x)
{
    x->next = l->outbox;
    if (l->outbox == NULL) {
        l->outbox_last = x;
    }
    l->outbox = x;
}

/* Hand a list (newest first) to a queue under its lock; wake its reader if it was empty. */
static void splice(pthread_mutex_t *mu, struct wcol_xreq **queue, struct wcol_xreq *first,
                   struct wcol_xreq *last, int evfd)
{
    bool was_empty;

    pthread_mutex_lock(mu);
    was_empty = *queue == NULL;
    last->next = *queue;
    *queue = first;
    pthread_mutex_unlock(mu);
    if (was_empty) {
        wake(evfd);
    }
}

static void flush_outbox(struct wcol_loop *l)
{
    struct wcol_loops *ls = l->owner->loops;

    if (l->outbox != NULL) {
        splice(&ls->mu, &ls->inbox, l->outbox, l->outbox_last, ls->evfd);
        l->outbox = NULL;
    }
}

/* Hand the held connection's request to the owner. */
static void forward(struct wcol_conn *conn, uint8_t type, struct wcol_ingest_pending *p,
                    const char *body, size_t len)
{
    struct wcol_loop *l = conn->c->loop;
    struct wcol_xreq *x = xreq_get(l);

    if (x == NULL) {
        free(p);
        wcol_conn_error(conn, 503, "out of memory");
        return;
    }
    x->type = type;
    x->conn = conn;
    x->pending = p;
    x->body = body;
    x->body_len = len;
    x->req = conn->req;
    x->ident = conn->peer.ident;
    memcpy(x->addr, conn->addr, sizeof(x->addr));
    wcol_conn_hold(conn);
    l->inflight++;
    post_to_owner(l, x);
}

void wcol_loops_device_request(struct wcol_conn *conn, const char *body, size_t len)
{
    if (wcol_ingest_is_batch(&conn->req)) {
        wcol_device_request(conn, body, len); /* decoded here; wcol_conn_submit() forwards */
        return;
    }
    forward(conn, XREQ_REQUEST, NULL, body, len);
}

void wcol_conn_submit(struct wcol_conn *conn, struct wcol_ingest_pending *p)
{
    if (conn->c->loop == NULL) {
        wcol_ingest_enqueue(conn, p);
        return;
    }
    forward(conn, XREQ_INGEST, p, NULL, 0);
}

void wcol_loops_device_refused(struct wcol_collector *c, const char *source, const char *cn,
                               const char *reason)
{
    if (c->loop == NULL) {
        wcol_access_device_refused(c, source, cn, reason);
        return;
    }
    struct wcol_xreq *x = calloc(1, sizeof(*x)); /* rare, and rate-limited by the audit */

    if (x == NULL) {
        return;
    }
    x->type = XREQ_AUDIT;
    snprintf(x->addr, sizeof(x->addr), "%s", source);
    snprintf(x->ident.cn, sizeof(x->ident.cn), "%s", cn);
    snprintf(x->reason, sizeof(x->reason), "%s", reason);
    post_to_owner(c->loop, x);
}

/* Other loops' newcomers wait for a source's connection to be shed: shed ours, wake them. */
static void take_shed_requests(struct wcol_loop *l)
{
    struct wcol_src src[SHED_REQ_MAX];
    unsigned from[SHED_REQ_MAX], n;

    pthread_mutex_lock(&l->mu);
    n = l->n_shed_req;
    for (unsigned i = 0; i < n; i++) {
        src[i] = l->shed_req[i].src;
        from[i] = l->shed_req[i].from;
    }
    l->n_shed_req = 0;
    pthread_mutex_unlock(&l->mu);
    for (unsigned i = 0; i < n; i++) {
        if (wcol_conn_shed_for_source(&l->c, &src[i])) {
            wake(l->owner->loops->v[from[i]].evfd);
        }
    }
}

/* The owner's answers: each connection sends its bytes (its buffer swapped with the message's,
 * so neither side allocates per request). */
static void take_replies(struct wcol_loop *l)
{
    struct wcol_xreq *list;
    bool stop;

    unwake(l->evfd);
    pthread_mutex_lock(&l->mu);
    list = l->replies;
    l->replies = NULL;
    stop = l->stop;
    pthread_mutex_unlock(&l->mu);
    take_shed_requests(l);
    while (list != NULL) {
        struct wcol_xreq *x = list;
        struct wcol_conn *conn = x->conn;
        char *buf = conn->wbuf;
        uint32_t cap = conn->wcap;

        list = x->next;
        conn->wbuf = x->resp;
        conn->wcap = x->resp_cap;
        x->resp = buf;
        x->resp_cap = cap;
        l->inflight--;
        wcol_conn_send_prepared(conn, x->resp_len, x->close_after);
        x->next = l->pool;
        l->pool = x;
    }
    if (stop && !l->c.stopping) {
        l->c.stopping = true;
        epoll_ctl(l->c.epfd, EPOLL_CTL_DEL, l->c.device_fd, NULL);
        close(l->c.device_fd);
        l->c.device_fd = -1;
        wcol_conn_drop_waiting(&l->c);
    }
}

static void publish(struct wcol_loop *l)
{
    struct wcol_collector *c = &l->c;
    struct loop_pub p = {
        .stats = c->stats,
        .g = { c->n_device_conns, c->unauth[WCOL_CONN_DEVICE].count, c->parked, l->tickets.issued,
               l->tickets.resumed, l->tickets.refused },
    };
    unsigned gen;

    pthread_mutex_lock(&l->mu);
    l->pub = p;
    gen = l->refused_gen;
    pthread_mutex_unlock(&l->mu);
    if (gen != l->refused_seen) {
        l->refused_seen = gen;
        (void)wcol_collector_drop_refused(c);
    }
}

static void loop_dispatch(struct wcol_loop *l, struct epoll_event *e)
{
    struct wcol_ep *ep = e->data.ptr;

    switch (ep->type) {
    case WCOL_EP_LISTEN_DEVICE:
        if (!l->c.stopping) {
            wcol_conn_accept(&l->c, l->c.device_fd, WCOL_CONN_DEVICE);
        }
        break;
    case WCOL_EP_LOOPS:
        take_replies(l);
        break;
    case WCOL_EP_CONN:
        wcol_conn_event((struct wcol_conn *)ep, e->events);
        break;
    default:
        break;
    }
}

static void loop_pass(struct wcol_loop *l, struct epoll_event *evs)
{
    struct wcol_collector *c = &l->c;
    uint64_t now = wcol_now_mono();
    /* Stopping, a loop waits for the owner's answers to its requests in flight. */
    int timeout = c->stopping ? (c->ready != NULL ? 0 : 10) : wcol_server_wait_timeout(c, now);
    int n = epoll_wait(c->epfd, evs, LOOP_EPOLL_BATCH, timeout);

    for (int i = 0; i < n; i++) {
        loop_dispatch(l, &evs[i]);
    }
    wcol_server_run_ready(c);
    now = wcol_now_mono();
    if (now >= c->next_check) {
        c->next_check = now + LOOP_TICK_MS;
        wcol_conn_warn_flush(c, now);
        wcol_conn_park_idle(c, now);
    }
    wcol_conn_expire(c, now);
    if (!c->stopping) {
        wcol_conn_admit_waiting(c);
    }
    wcol_server_free_dead(c);
    flush_outbox(l);
    publish(l);
}

static void *loop_main(void *arg)
{
    struct wcol_loop *l = arg;
    struct epoll_event evs[LOOP_EPOLL_BATCH];
    char name[16];

    snprintf(name, sizeof(name), "ward-loop%u", l->index + 1); /* ps -L, /proc/PID/task */
    pthread_setname_np(pthread_self(), name);

    l->c.next_check = wcol_now_mono() + LOOP_TICK_MS;
    while (!l->c.stopping || l->inflight > 0) {
        loop_pass(l, evs);
    }
    wcol_server_close_all(&l->c);
    flush_outbox(l);
    publish(l);
    pthread_mutex_lock(&l->mu);
    l->done = true;
    pthread_mutex_unlock(&l->mu);
    wake(l->owner->loops->evfd);
    return NULL;
}

int wcol_loops_start(struct wcol_collector *c)
{
    struct wcol_loops *ls = c->loops;

    c->on_request[WCOL_CONN_API] = wcol_loops_api_request;
    for (unsigned i = 0; i < ls->n; i++) {
        int rc = pthread_create(&ls->v[i].thread, NULL, loop_main, &ls->v[i]);

        if (rc != 0) {
            wcol_log_error("cannot start device loop %u: %s", i + 1, strerror(rc));
            return -rc;
        }
        ls->v[i].started = true;
    }
    wcol_log_info("%u device loops on %s (SO_REUSEPORT)", ls->n, c->device_addr);
    return 0;
}

/* ---- the owner's side ---- */

static struct wcol_conn *proxy_get(struct wcol_collector *c, struct wcol_xreq *x)
{
    struct wcol_conn *p = c->loops->proxies;

    if (p != NULL) {
        c->loops->proxies = p->knext;
    } else if ((p = malloc(sizeof(*p))) == NULL) {
        return NULL;
    }
    /* Not an epoll endpoint (ep.type 0): close and kick leave it alone. */
    memset(p, 0, sizeof(*p));
    p->c = c;
    p->kind = WCOL_CONN_DEVICE;
    p->state = WCOL_CS_READ;
    p->tclass = WCOL_TC_NONE;
    p->fd = -1;
    p->authed = true;
    p->proxy = true;
    p->x = x;
    p->req = x->req;
    p->peer.tls = c->tls;
    p->peer.ident = x->ident;
    memcpy(p->addr, x->addr, sizeof(p->addr));
    return p;
}

/* The answer's bytes into the message, and the message back to its loop. */
static void reply(struct wcol_xreq *x, const char *head, size_t head_len, const char *body,
                  size_t body_len, bool close_after)
{
    struct wcol_loop *l = x->loop;
    size_t need = head_len + body_len;

    if (need > x->resp_cap) {
        char *nb = realloc(x->resp, need);

        if (nb == NULL) { /* the loop closes the connection */
            need = head_len = body_len = 0;
            close_after = true;
        } else {
            x->resp = nb;
            x->resp_cap = (uint32_t)need;
        }
    }
    if (need > 0) {
        memcpy(x->resp, head, head_len);
        memcpy(x->resp + head_len, body, body_len);
    }
    x->resp_len = (uint32_t)need;
    x->close_after = close_after;
    x->next = l->outgoing; /* wcol_loops_flush() hands them over */
    if (l->outgoing == NULL) {
        l->outgoing_last = x;
    }
    l->outgoing = x;
}

void wcol_loops_flush(struct wcol_collector *c)
{
    if (c->loops == NULL) {
        return;
    }
    for (unsigned i = 0; i < c->loops->n; i++) {
        struct wcol_loop *l = &c->loops->v[i];

        if (l->outgoing != NULL) {
            splice(&l->mu, &l->replies, l->outgoing, l->outgoing_last, l->evfd);
            l->outgoing = NULL;
        }
    }
}

void wcol_loops_answer(struct wcol_conn *proxy, const char *head, size_t head_len, const char *body,
                       size_t body_len, bool close_after)
{
    struct wcol_xreq *x = proxy->x;

    proxy->x = NULL;
    proxy->knext = proxy->c->loops->proxies;
    proxy->c->loops->proxies = proxy;
    reply(x, head, head_len, body, body_len, close_after);
}

static void take_request(struct wcol_collector *c, struct wcol_xreq *x)
{
    if (x->type == XREQ_AUDIT) {
        wcol_access_device_refused(c, x->addr, x->ident.cn, x->reason);
        free(x);
        return;
    }
    struct wcol_conn *proxy = proxy_get(c, x);

    if (proxy == NULL) { /* no answer: the loop closes the connection */
        free(x->pending);
        x->pending = NULL;
        reply(x, "", 0, "", 0, true);
        return;
    }
    if (x->type == XREQ_INGEST) {
        struct wcol_ingest_pending *p = x->pending;

        x->pending = NULL;
        wcol_ingest_enqueue(proxy, p);
    } else {
        wcol_device_request(proxy, x->body, x->body_len);
    }
    if (wcol_group_full(&c->group)) {
        wcol_collector_commit(c);
    }
}

void wcol_loops_drain(struct wcol_collector *c)
{
    struct wcol_loops *ls = c->loops;
    struct wcol_xreq *list, *fifo = NULL;

    unwake(ls->evfd);
    pthread_mutex_lock(&ls->mu);
    list = ls->inbox;
    ls->inbox = NULL;
    pthread_mutex_unlock(&ls->mu);
    while (list != NULL) { /* newest first: reverse into arrival order */
        struct wcol_xreq *x = list;

        list = x->next;
        x->next = fifo;
        fifo = x;
    }
    while (fifo != NULL) {
        struct wcol_xreq *x = fifo;

        fifo = x->next;
        take_request(c, x);
    }
}

static void add_u64s(uint64_t *dst, const uint64_t *now, uint64_t *seen, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] += now[i] - seen[i];
        seen[i] = now[i];
    }
}

void wcol_loops_fold(struct wcol_collector *c)
{
    struct wcol_loops *ls = c->loops;

    if (ls == NULL) {
        return;
    }
    for (unsigned i = 0; i < ls->n; i++) {
        struct wcol_loop *l = &ls->v[i];
        struct loop_pub p;
        uint64_t g[G_COUNT];

        pthread_mutex_lock(&l->mu);
        p = l->pub;
        pthread_mutex_unlock(&l->mu);
        add_u64s((uint64_t *)(void *)&c->stats, (const uint64_t *)(const void *)&p.stats,
                 (uint64_t *)(void *)&l->folded.stats, sizeof(p.stats) / sizeof(uint64_t));
        g[G_CONNS] = c->n_device_conns;
        g[G_UNAUTH] = c->unauth[WCOL_CONN_DEVICE].count;
        g[G_PARKED] = c->parked;
        g[G_TICKETS_ISSUED] = c->tls->device_tickets.issued;
        g[G_TICKETS_RESUMED] = c->tls->device_tickets.resumed;
        g[G_TICKETS_REFUSED] = c->tls->device_tickets.refused;
        add_u64s(g, p.g, l->folded.g, G_COUNT);
        c->n_device_conns = (unsigned)g[G_CONNS];
        c->unauth[WCOL_CONN_DEVICE].count = (unsigned)g[G_UNAUTH];
        c->parked = (unsigned)g[G_PARKED];
        c->tls->device_tickets.issued = g[G_TICKETS_ISSUED];
        c->tls->device_tickets.resumed = g[G_TICKETS_RESUMED];
        c->tls->device_tickets.refused = g[G_TICKETS_REFUSED];
    }
}

void wcol_loops_api_request(struct wcol_conn *conn, const char *body, size_t len)
{
    wcol_loops_fold(conn->c); /* the operator sees the loops' counters as of now */
    wcol_api_request(conn, body, len);
}

void wcol_loops_recheck_refused(struct wcol_collector *c)
{
    if (c->loops == NULL) {
        return;
    }
    for (unsigned i = 0; i < c->loops->n; i++) {
        struct wcol_loop *l = &c->loops->v[i];

        pthread_mutex_lock(&l->mu);
        l->refused_gen++;
        pthread_mutex_unlock(&l->mu);
        wake(l->evfd);
    }
}

static bool all_done(struct wcol_loops *ls)
{
    bool done = true;

    for (unsigned i = 0; i < ls->n && done; i++) {
        pthread_mutex_lock(&ls->v[i].mu);
        done = !ls->v[i].started || ls->v[i].done;
        pthread_mutex_unlock(&ls->v[i].mu);
    }
    return done;
}

void wcol_loops_stop(struct wcol_collector *c)
{
    struct wcol_loops *ls = c->loops;
    uint64_t bound;

    if (ls == NULL) {
        return;
    }
    for (unsigned i = 0; i < ls->n; i++) {
        pthread_mutex_lock(&ls->v[i].mu);
        ls->v[i].stop = true;
        pthread_mutex_unlock(&ls->v[i].mu);
        wake(ls->v[i].evfd);
    }
    /* Their requests in flight are committed and answered before they close. */
    bound = wcol_now_mono() + STOP_BOUND_MS;
    while (!all_done(ls) && wcol_now_mono() < bound) {
        struct timespec ts = { 0, 2000000 };

        wcol_loops_drain(c);
        if (wcol_group_pending(&c->group)) {
            wcol_group_commit(&c->group);
        }
        wcol_loops_flush(c);
        nanosleep(&ts, NULL);
    }
    for (unsigned i = 0; i < ls->n; i++) {
        if (ls->v[i].started) {
            pthread_join(ls->v[i].thread, NULL);
            ls->v[i].started = false;
        }
    }
    wcol_loops_drain(c); /* audit entries posted last */
    wcol_loops_fold(c);
}

void wcol_loops_free(struct wcol_collector *c)
{
    struct wcol_loops *ls = c->loops;

    if (ls == NULL) {
        return;
    }
    for (unsigned i = 0; i < ls->n; i++) {
        struct wcol_loop *l = &ls->v[i];

        while (l->pool != NULL) {
            struct wcol_xreq *x = l->pool;

            l->pool = x->next;
            free(x->resp);
            free(x);
        }
        if (l->c.device_fd >= 0) {
            close(l->c.device_fd);
        }
        if (l->c.epfd >= 0) {
            close(l->c.epfd);
        }
        if (l->evfd >= 0) {
            close(l->evfd);
        }
        wcol_server_free_loop(&l->c);
        pthread_mutex_destroy(&l->mu);
    }
    while (ls->proxies != NULL) {
        struct wcol_conn *p = ls->proxies;

        ls->proxies = p->knext;
        free(p);
    }
    if (ls->evfd >= 0) {
        close(ls->evfd);
    }
    pthread_mutex_destroy(&ls->mu);
    pthread_mutex_destroy(&ls->src_mu);
    wcol_srcmap_free(&ls->srcs);
    free(ls->v);
    free(ls);
    c->loops = NULL;
}

const mbedtls_ssl_config *wcol_loops_conf(struct wcol_collector *c, int kind)
{
    if (c->loop != NULL) {
        return &c->loop->conf;
    }
    return kind == WCOL_CONN_DEVICE ? &c->tls->device_conf : &c->tls->api_conf;
}

struct wcol_ticket_ctx *wcol_loops_tickets(struct wcol_collector *c, int kind)
{
    if (c->loop != NULL) {
        return &c->loop->tickets;
    }
    return kind == WCOL_CONN_DEVICE ? &c->tls->device_tickets : &c->tls->api_tickets;
}

static struct wcol_loops *shared_srcs(struct wcol_collector *c, int kind)
{
    return c->loop != NULL && kind == WCOL_CONN_DEVICE ? c->loop->owner->loops : NULL;
}

void wcol_loops_src_add(struct wcol_collector *c, int kind, const struct wcol_src *src)
{
    struct wcol_loops *ls = shared_srcs(c, kind);

    if (ls != NULL) {
        pthread_mutex_lock(&ls->src_mu);
        (void)wcol_srcmap_add(&ls->srcs, src);
        pthread_mutex_unlock(&ls->src_mu);
    }
}

void wcol_loops_src_remove(struct wcol_collector *c, int kind, const struct wcol_src *src)
{
    struct wcol_loops *ls = shared_srcs(c, kind);

    if (ls != NULL) {
        pthread_mutex_lock(&ls->src_mu);
        wcol_srcmap_remove(&ls->srcs, src);
        pthread_mutex_unlock(&ls->src_mu);
    }
}

unsigned wcol_loops_src_count(struct wcol_collector *c, int kind, const struct wcol_src *src)
{
    struct wcol_loops *ls = shared_srcs(c, kind);

    if (ls == NULL) {
        return wcol_srcmap_count(&c->unauth[kind].srcs, src);
    }
    pthread_mutex_lock(&ls->src_mu);
    unsigned n = wcol_srcmap_count(&ls->srcs, src);

    pthread_mutex_unlock(&ls->src_mu);
    return n;
}

void wcol_loops_ask_shed(struct wcol_collector *c, const struct wcol_src *src)
{
    struct wcol_loops *ls = c->loop->owner->loops;

    for (unsigned i = 0; i < ls->n; i++) {
        struct wcol_loop *l = &ls->v[i];
        bool asked = false;

        if (l == c->loop) {
            continue;
        }
        pthread_mutex_lock(&l->mu);
        for (unsigned k = 0; k < l->n_shed_req && !asked; k++) {
            asked = memcmp(&l->shed_req[k].src, src, sizeof(*src)) == 0;
        }
        if (!asked && l->n_shed_req < SHED_REQ_MAX) {
            l->shed_req[l->n_shed_req].src = *src;
            l->shed_req[l->n_shed_req].from = c->loop->index;
            l->n_shed_req++;
            asked = true;
        }
        pthread_mutex_unlock(&l->mu);
        if (asked) {
            wake(l->evfd);
        }
    }
}
