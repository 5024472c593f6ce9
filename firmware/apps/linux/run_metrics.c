/*
 * ward-agent run --metrics (run_metrics.h): start-up checks, the listening socket and the
 * connection slots, driven by the run loop's ppoll(). Read bottom up: address and token,
 * answers, one connection's steps, the service pass.
 */
#define _GNU_SOURCE /* accept4() */
#include "ward/base/config.h"

#if IS_ENABLED(CONFIG_WARD_TRANSPORT) && IS_ENABLED(CONFIG_WARD_NMS_PROM)

#include "run_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "run.h"
#include "ward/base/http_status.h"
#include "ward/digest.h"
#include "ward/nms/http_req.h"

#define ACCEPT_PER_PASS 16
#define DRAIN_MS        1000 /* after the answer: how long a client may take to close */

void run_metrics_init(struct run_metrics *m)
{
    m->lfd = -1;
    m->token_required = false;
    m->token_len = 0;
    m->acks_seen = 0;
    memset(&m->st, 0, sizeof(m->st));
    ward_nms_cache_init(&m->cache);
    for (unsigned i = 0; i < WARD_NMS_PROM_MAX_CONNS; i++) {
        m->conn[i].fd = -1;
        m->conn[i].phase = METRICS_FREE;
    }
    for (unsigned i = 0; i < RUN_METRICS_REFUSING; i++) {
        m->refusing_fd[i] = -1;
    }
    m->tls.on = false;
    memset(m->tconn, 0, sizeof(m->tconn));
}

/* ---- start-up: address, token, socket ---- */

/* ADDR:PORT, [V6]:PORT or localhost:PORT into a socket address. */
static int parse_addr(const char *arg, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *colon = strrchr(arg, ':');
    char host[64];
    size_t hlen;
    char *end;
    long port;

    if (colon == NULL || (hlen = (size_t)(colon - arg)) == 0 || hlen >= sizeof(host)) {
        return -EINVAL;
    }
    memcpy(host, arg, hlen);
    host[hlen] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        return -EINVAL;
    }
    memset(ss, 0, sizeof(*ss));
    if (hlen > 2 && host[0] == '[' && host[hlen - 1] == ']') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

        host[hlen - 1] = '\0';
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*s6);
        return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -EINVAL;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    *len = sizeof(*s4);
    if (strcmp(host, "localhost") == 0) {
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return 0;
    }
    return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -EINVAL;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    }
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* The token file: mode 0600 (nobody else may read it), one line, 1..127 bytes. */
static int load_token(struct run_metrics *m, const char *path)
{
    char buf[160];
    ssize_t n;
    int fd;
    int rc = run_check_key_mode(path);

    if (rc == -EPERM) {
        return rc;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (rc != 0 || fd < 0) {
        fprintf(stderr, "ward-agent: cannot read --metrics-token %s: %s\n", path,
                strerror(rc != 0 ? -rc : errno));
        if (fd >= 0) {
            close(fd);
        }
        return -EIO;
    }
    n = read(fd, buf, sizeof(buf));
    close(fd);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    if (n <= 0 || (size_t)n >= sizeof(m->token) || memchr(buf, '\n', (size_t)n) != NULL) {
        fprintf(stderr, "ward-agent: --metrics-token %s must hold one line of 1 to %u bytes\n",
                path, (unsigned)sizeof(m->token) - 1);
        return -EINVAL;
    }
    memcpy(m->token, buf, (size_t)n);
    m->token_len = (uint8_t)n;
    m->token_required = true;
    return 0;
}

static int listen_on(struct run_metrics *m, const char *arg, const struct sockaddr_storage *ss,
                     socklen_t len)
{
    int one = 1;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, 64) != 0) {
        fprintf(stderr, "ward-agent: cannot listen on --metrics %s: %s\n", arg, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -EADDRNOTAVAIL;
    }
    m->lfd = fd;
    return 0;
}

int run_metrics_start(struct run_metrics *m, const struct opts *o)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    uint8_t digest[WARD_DIGEST_LEN];
    int rc;

    if (o->metrics == NULL) {
        if (o->metrics_token != NULL) {
            fprintf(stderr, "ward-agent: --metrics-token needs --metrics ADDR:PORT\n");
            return -EINVAL;
        }
        return 0;
    }
    if (parse_addr(o->metrics, &ss, &len) != 0) {
        fprintf(stderr,
                "ward-agent: --metrics wants ADDRESS:PORT, [IPV6]:PORT or localhost:PORT, not "
                "'%s'\n",
                o->metrics);
        return -EINVAL;
    }
    if (o->metrics_token != NULL && (rc = load_token(m, o->metrics_token)) != 0) {
        return rc;
    }
    if (o->metrics_tls && (o->ca == NULL || o->cert == NULL || o->key == NULL)) {
        fprintf(stderr, "ward-agent: --metrics-tls needs --cert and --key (this device's) and "
                        "--ca (the fleet CA its clients' certificates come from)\n");
        return -EINVAL;
    }
    if (!is_loopback(&ss) && !m->token_required && !o->metrics_tls) {
        fprintf(stderr,
                "ward-agent: --metrics %s is not a loopback address; give --metrics-tls (mutual "
                "TLS) or --metrics-token FILE (a bearer token, mode 0600), or bind to 127.0.0.1\n",
                o->metrics);
        return -EPERM;
    }
    if (ward_config_digest(digest) == 0) {
        (void)ward_digest_hex(digest, sizeof(digest), m->digest_hex, sizeof(m->digest_hex));
    }
    m->st.config_digest = m->digest_hex;
    return listen_on(m, o->metrics, &ss, len);
}

/* ---- answers ---- */

/* Head of the answer; body_len counts what a GET would carry (HEAD sends only the head). */
static void answer(struct run_metrics *m, struct metrics_conn *c, int status, const char *type,
                   bool head_only, int64_t now)
{
    const char *extra = status == 401   ? "WWW-Authenticate: Bearer realm=\"ward\"\r\n"
                        : status == 405 ? "Allow: GET, HEAD\r\n"
                                        : "";
    int n;

    if (status != 200) {
        n = snprintf(c->body, sizeof(c->body), "%d %s\n", status, ward_http_status_text(status));
        c->body_len = (uint32_t)n;
        type = "text/plain; charset=utf-8";
        m->st.refused++;
    } else {
        m->st.scrapes++;
    }
    n = snprintf(c->hdr, sizeof(c->hdr),
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %u\r\n%sCache-Control: "
                 "no-store\r\nConnection: close\r\n\r\n",
                 status, ward_http_status_text(status), type, (unsigned)c->body_len, extra);
    c->hdr_len = n > 0 && (size_t)n < sizeof(c->hdr) ? (uint32_t)n : 0;
    c->hdr_off = 0;
    c->body_off = 0;
    if (head_only) {
        c->body_len = 0;
    }
    c->phase = METRICS_WRITING;
    c->deadline_ms = now + WARD_NMS_PROM_DEADLINE_MS;
}

/* What the core cannot see: the reporting loop's counters (zero for a pull-only agent). */
static void refresh_stats(struct run_metrics *m, const struct run *r)
{
    m->st.reporting = !r->pull_only;
    if (r->pull_only) {
        return;
    }
    m->st.journal_records = ward_journal_count(&r->journal);
    m->st.journal_dropped = ward_journal_dropped(&r->journal);
    m->st.batches = r->up.stats.batches;
    m->st.acks = r->up.stats.acks;
    m->st.connects = r->tp.stats.connects;
    m->st.connect_failures = r->tp.stats.connect_failures;
}

static int render(struct run_metrics *m, struct metrics_conn *c, const struct run *r,
                  const struct ward_http_req *req, int64_t now, const char **type)
{
    enum ward_prom_format f = req->openmetrics ? WARD_PROM_OPENMETRICS : WARD_PROM_TEXT;
    struct ward_prom w;
    long n;

    refresh_stats(m, r);
    ward_prom_init(&w, f, c->body, sizeof(c->body), NULL, NULL);
    if (req->target == WARD_HTTP_HEALTH) {
        n = ward_nms_write_health(&w, &r->agent, &m->st, now);
        *type = "application/json";
    } else {
        n = ward_nms_write_metrics(&w, &r->agent, &m->cache, &m->st, now);
        *type = ward_prom_content_type(f);
    }
    if (n < 0) {
        fprintf(stderr,
                "ward-agent: metrics answer does not fit %u bytes "
                "(CONFIG_WARD_NMS_PROM_RESPONSE_MAX)\n",
                (unsigned)sizeof(c->body));
        return 500;
    }
    c->body_len = (uint32_t)n;
    return 200;
}

/* The request head is complete (or refused): decide and prepare the answer. */
static void respond(struct run_metrics *m, struct metrics_conn *c, const struct run *r, int rc,
                    const struct ward_http_req *req, int64_t now)
{
    const char *type = "text/plain; charset=utf-8";
    int status;

    if (rc < 0) {
        status = -rc;
    } else if (m->token_required &&
               (!req->has_bearer || req->token_too_long || req->token_len != m->token_len ||
                !ward_http_token_equal(req->token, m->token, m->token_len))) {
        status = 401;
    } else if (req->method == WARD_HTTP_OTHER) {
        status = 405;
    } else if (req->target == WARD_HTTP_NOT_FOUND) {
        status = 404;
    } else if (req->has_body) {
        status = 413;
    } else {
        status = render(m, c, r, req, now, &type);
    }
    answer(m, c, status, type, rc > 0 && req->method == WARD_HTTP_HEAD, now);
}

int run_metrics_tls_attach(struct run_metrics *m, struct ward_tls *dev)
{
    int rc = metrics_tls_setup(&m->tls, dev);

    if (rc != 0) {
        fprintf(stderr, "ward-agent: cannot set up TLS on the metrics listener: %s\n",
                strerror(-rc));
    }
    return rc;
}

/* ---- one connection: bytes through TLS or the plain socket ---- */

static struct metrics_tls_conn *tls_of(struct run_metrics *m, const struct metrics_conn *c)
{
    return m->tls.on ? &m->tconn[c - m->conn] : NULL;
}

/* @return bytes, 0 at the peer's close, -EAGAIN (want_write set for TLS), or -EIO. */
static ssize_t io(struct run_metrics *m, struct metrics_conn *c, void *buf, size_t len, bool out)
{
    struct metrics_tls_conn *t = tls_of(m, c);
    ssize_t n;

    if (t == NULL) {
        n = out ? send(c->fd, buf, len, MSG_NOSIGNAL) : recv(c->fd, buf, len, 0);
        return n >= 0 ? n : (errno == EAGAIN || errno == EINTR) ? -EAGAIN : -EIO;
    }
    n = out ? metrics_tls_send(t, buf, len) : metrics_tls_recv(t, buf, len);
    if (n == METRICS_TLS_AGAIN_READ || n == METRICS_TLS_AGAIN_WRITE) {
        c->want_write = n == METRICS_TLS_AGAIN_WRITE;
        return -EAGAIN;
    }
    c->want_write = false;
    return n >= 0 ? n : -EIO;
}

/* TLS: finish the handshake first. @return 1 when data may flow, 0 again later, -1 refused. */
static int handshake(struct run_metrics *m, struct metrics_conn *c)
{
    struct metrics_tls_conn *t = tls_of(m, c);
    int rc;

    if (t == NULL || t->handshaken) {
        return 1;
    }
    /* Only once the client speaks: a silent connection holds a slot, not TLS pool memory. */
    if (!t->open && metrics_tls_open(&m->tls, t, c->fd) != 0) {
        m->st.refused++; /* the TLS pool cannot hold another connection now */
        return -1;
    }
    rc = metrics_tls_handshake(t);
    c->want_write = rc == METRICS_TLS_AGAIN_WRITE;
    if (rc == METRICS_TLS_AGAIN_READ || rc == METRICS_TLS_AGAIN_WRITE) {
        return 0;
    }
    if (rc != 0) {
        m->st.refused++; /* no client certificate, one the fleet CA did not sign, or garbage */
        return -1;
    }
    return 1;
}

/* Read and drop what a closing client still sends. @return false once it closed or failed. */
static bool drain_fd(int fd)
{
    char sink[512];
    ssize_t got;

    while ((got = recv(fd, sink, sizeof(sink), 0)) > 0) {
    }
    return got < 0 && (errno == EAGAIN || errno == EINTR);
}

static void conn_close(struct run_metrics *m, struct metrics_conn *c)
{
    if (tls_of(m, c) != NULL) {
        metrics_tls_close(tls_of(m, c));
    }
    c->want_write = false;
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    c->phase = METRICS_FREE;
}

static void conn_read(struct run_metrics *m, struct metrics_conn *c, const struct run *r,
                      int64_t now)
{
    struct ward_http_req req;
    ssize_t got;
    int rc;

    rc = handshake(m, c);
    if (rc <= 0) {
        if (rc < 0) {
            conn_close(m, c);
        }
        return;
    }
    got = io(m, c, c->in + c->in_len, sizeof(c->in) - c->in_len, false);
    if (got == 0 || got == -EIO) {
        conn_close(m, c); /* the client left before asking */
        return;
    }
    if (got < 0) {
        return;
    }
    c->in_len += (uint32_t)got;
    rc = ward_http_req_parse(c->in, c->in_len, &req);
    if (rc == 0 && c->in_len == sizeof(c->in)) {
        rc = -431; /* the head does not fit the cap */
    }
    if (rc != 0) {
        respond(m, c, r, rc, &req, now);
    }
}

static void conn_write(struct run_metrics *m, struct metrics_conn *c, int64_t now)
{
    while (c->hdr_off < c->hdr_len || c->body_off < c->body_len) {
        bool hdr = c->hdr_off < c->hdr_len;
        char *p = hdr ? c->hdr + c->hdr_off : c->body + c->body_off;
        size_t n = hdr ? c->hdr_len - c->hdr_off : c->body_len - c->body_off;
        ssize_t put = io(m, c, p, n, true);

        if (put <= 0) {
            if (put != -EAGAIN) {
                conn_close(m, c);
            }
            return;
        }
        *(hdr ? &c->hdr_off : &c->body_off) += (uint32_t)put;
    }
    if (tls_of(m, c) != NULL) {
        metrics_tls_close(tls_of(m, c)); /* close_notify */
    }
    /* Close gently: a client still sending its (refused) request would otherwise get a reset
     * that may destroy the answer before it reads it. */
    shutdown(c->fd, SHUT_WR);
    c->phase = METRICS_DRAINING;
    c->deadline_ms = now + DRAIN_MS;
}

static void conn_drain(struct run_metrics *m, struct metrics_conn *c)
{
    if (!drain_fd(c->fd)) {
        conn_close(m, c);
    }
}

static void conn_step(struct run_metrics *m, struct metrics_conn *c, const struct run *r,
                      short revents, int64_t now)
{
    if (c->phase == METRICS_READING && (revents & (POLLIN | POLLOUT | POLLHUP | POLLERR))) {
        conn_read(m, c, r, now);
    }
    if (c->phase == METRICS_WRITING) {
        conn_write(m, c, now); /* at once: the socket usually takes a whole answer */
    }
    if (c->phase == METRICS_DRAINING && (revents & (POLLIN | POLLHUP | POLLERR))) {
        conn_drain(m, c);
    }
    if (c->phase != METRICS_FREE && now >= c->deadline_ms) {
        struct metrics_tls_conn *t = tls_of(m, c);

        if (c->phase == METRICS_READING && (t == NULL || t->handshaken)) {
            answer(m, c, 408, NULL, false, now); /* too slow: say so, then close */
            conn_write(m, c, now);
        } else {
            if (c->phase != METRICS_DRAINING) {
                m->st.refused++; /* a handshake or an answer that never finished */
            }
            conn_close(m, c);
        }
    }
}

/* ---- the service pass ---- */

/*
 * Every slot is taken: answer 503 and shut the write side. The socket is kept (without a
 * buffer) until the client closes or DRAIN_MS pass, so that its request arriving after our
 * close does not reset the connection before it reads the 503.
 */
static void refuse_busy(struct run_metrics *m, int fd, int64_t now)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Retry-After: 1\r\nConnection: close\r\n\r\n";

    (void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    m->st.refused++;
    for (unsigned i = 0; i < RUN_METRICS_REFUSING; i++) {
        if (m->refusing_fd[i] < 0) {
            m->refusing_fd[i] = fd;
            m->refusing_deadline_ms[i] = now + DRAIN_MS;
            return;
        }
    }
    close(fd); /* a flood: no room even to linger */
}

static void accept_new(struct run_metrics *m, int64_t now)
{
    for (unsigned k = 0; k < ACCEPT_PER_PASS; k++) {
        int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct metrics_conn *c = NULL;

        if (fd < 0) {
            return;
        }
        for (unsigned i = 0; i < WARD_NMS_PROM_MAX_CONNS && c == NULL; i++) {
            c = m->conn[i].phase == METRICS_FREE ? &m->conn[i] : NULL;
        }
        if (c == NULL) {
            refuse_busy(m, fd, now);
            continue;
        }
        c->fd = fd;
        c->phase = METRICS_READING;
        c->want_write = false;
        c->in_len = 0;
        c->deadline_ms = now + WARD_NMS_PROM_DEADLINE_MS;
    }
}

static short revents_of(const struct pollfd *pfd, unsigned n, int fd);

static void refusing_step(struct run_metrics *m, const struct pollfd *pfd, unsigned n, int64_t now)
{
    for (unsigned i = 0; i < RUN_METRICS_REFUSING; i++) {
        int fd = m->refusing_fd[i];

        if (fd >= 0 &&
            (now >= m->refusing_deadline_ms[i] ||
             ((revents_of(pfd, n, fd) & (POLLIN | POLLHUP | POLLERR)) && !drain_fd(fd)))) {
            close(fd);
            m->refusing_fd[i] = -1;
        }
    }
}

unsigned run_metrics_pollfds(const struct run_metrics *m, struct pollfd *pfd, unsigned cap)
{
    unsigned n = 0;

    if (m->lfd < 0 || cap == 0) {
        return 0;
    }
    pfd[n++] = (struct pollfd){ .fd = m->lfd, .events = POLLIN };
    for (unsigned i = 0; i < WARD_NMS_PROM_MAX_CONNS && n < cap; i++) {
        const struct metrics_conn *c = &m->conn[i];

        if (c->phase != METRICS_FREE) {
            bool out = c->phase == METRICS_WRITING || c->want_write;

            pfd[n++] = (struct pollfd){ .fd = c->fd, .events = out ? POLLOUT : POLLIN };
        }
    }
    for (unsigned i = 0; i < RUN_METRICS_REFUSING && n < cap; i++) {
        if (m->refusing_fd[i] >= 0) {
            pfd[n++] = (struct pollfd){ .fd = m->refusing_fd[i], .events = POLLIN };
        }
    }
    return n;
}

int64_t run_metrics_next_wake(const struct run_metrics *m)
{
    int64_t next = INT64_MAX;

    for (unsigned i = 0; i < WARD_NMS_PROM_MAX_CONNS; i++) {
        if (m->conn[i].phase != METRICS_FREE && m->conn[i].deadline_ms < next) {
            next = m->conn[i].deadline_ms;
        }
    }
    for (unsigned i = 0; i < RUN_METRICS_REFUSING; i++) {
        if (m->refusing_fd[i] >= 0 && m->refusing_deadline_ms[i] < next) {
            next = m->refusing_deadline_ms[i];
        }
    }
    return next;
}

static short revents_of(const struct pollfd *pfd, unsigned n, int fd)
{
    for (unsigned i = 0; i < n; i++) {
        if (pfd[i].fd == fd) {
            return pfd[i].revents;
        }
    }
    return 0;
}

void run_metrics_service(struct run_metrics *m, struct run *r, const struct pollfd *pfd, unsigned n,
                         int64_t now_ms)
{
    if (m->lfd < 0) {
        return;
    }
    if (!r->pull_only && r->up.stats.acks != m->acks_seen) {
        m->acks_seen = r->up.stats.acks;
        m->st.last_ack_wall_ms = app_wall_ms();
    }
    for (unsigned i = 0; i < WARD_NMS_PROM_MAX_CONNS; i++) {
        if (m->conn[i].phase != METRICS_FREE) {
            conn_step(m, &m->conn[i], r, revents_of(pfd, n, m->conn[i].fd), now_ms);
        }
    }
    refusing_step(m, pfd, n, now_ms);
    if (revents_of(pfd, n, m->lfd) & POLLIN) {
        accept_new(m, now_ms);
        for (unsigned i = 0; i < WARD_NMS_PROM_MAX_CONNS; i++) {
            if (m->conn[i].phase == METRICS_READING) {
                conn_step(m, &m->conn[i], r, POLLIN, now_ms); /* the request may be there */
            }
        }
    }
}

void run_metrics_stop(struct run_metrics *m)
{
    for (unsigned i = 0; i < WARD_NMS_PROM_MAX_CONNS; i++) {
        conn_close(m, &m->conn[i]);
    }
    for (unsigned i = 0; i < RUN_METRICS_REFUSING; i++) {
        if (m->refusing_fd[i] >= 0) {
            close(m->refusing_fd[i]);
            m->refusing_fd[i] = -1;
        }
    }
    if (m->lfd >= 0) {
        close(m->lfd);
        m->lfd = -1;
    }
}

#endif
