/*
 * The AgentX subagent's socket (agentx_posix.h). State: DOWN (waiting for the next attempt),
 * CONNECTING (a TCP connect in progress), UP (the session runs; ward/nms/agentx.h).
 */
#include "agentx_posix.h"

#include "ward/base/config.h"

#if IS_ENABLED(CONFIG_WARD_AGENTX)

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ward/digest.h"
#include "ward/hal/smart.h"
#include "ward/nms/agentx.h"
#include "ward/version.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define CONNECT_MS     5000

enum link { L_DOWN, L_CONNECTING, L_UP };

struct agentx_posix {
    struct ward_agentx ax;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    const char *spec;
    struct log_repeat *log;
    enum link link;
    int fd;
    int64_t next_try_ms; /* DOWN: when to connect; CONNECTING: give up */
    int64_t backoff_ms;
    bool was_ready; /* to say "registered" once per session */
    bool started;   /* agentx_posix_start() ran: the loop may connect */
    char config_hex[WARD_DIGEST_HEX_LEN + 1];
};

static struct agentx_posix s_ax = { .fd = -1 };

static int parse_unix(const char *path)
{
    struct sockaddr_un *un = (struct sockaddr_un *)&s_ax.addr;

    if (path[0] == '\0' || strlen(path) >= sizeof(un->sun_path)) {
        return -EINVAL;
    }
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, strlen(path) + 1);
    s_ax.addr_len = (socklen_t)sizeof(*un);
    return 0;
}

/* tcp:HOST:PORT with HOST an IPv4 or [IPv6] literal or "localhost": no resolver (the agent is
 * a static binary, and the master is on this machine). */
static int parse_tcp(const char *hostport)
{
    const char *colon = strrchr(hostport, ':');
    struct sockaddr_in *in4 = (struct sockaddr_in *)&s_ax.addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s_ax.addr;
    char host[64], *end;
    size_t hl;
    long port;

    if (colon == NULL || colon == hostport || (hl = (size_t)(colon - hostport)) >= sizeof(host)) {
        return -EINVAL;
    }
    port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
        return -EINVAL;
    }
    memcpy(host, hostport, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0) {
        strcpy(host, "127.0.0.1");
    }
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        s_ax.addr_len = (socklen_t)sizeof(*in4);
        return 0;
    }
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons((uint16_t)port);
            s_ax.addr_len = (socklen_t)sizeof(*in6);
            return 0;
        }
    }
    return -EINVAL;
}

int agentx_posix_parse(const char *spec)
{
    int rc = -EINVAL;

    memset(&s_ax.addr, 0, sizeof(s_ax.addr));
    if (strncmp(spec, "unix:", 5) == 0) {
        rc = parse_unix(spec + 5);
    } else if (strncmp(spec, "tcp:", 4) == 0) {
        rc = parse_tcp(spec + 4);
    }
    if (rc != 0) {
        fprintf(stderr,
                "ward-agent: --agentx '%s': want unix:PATH or tcp:HOST:PORT with an IP address "
                "(snmpd's agentXSocket)\n",
                spec);
        return rc;
    }
    s_ax.spec = spec;
    return 0;
}

void agentx_posix_start(const struct ward_agent *agent, struct log_repeat *log,
                        const struct ward_nms_cache *cache)
{
    uint8_t digest[WARD_DIGEST_LEN];

    if (s_ax.spec == NULL) {
        return;
    }
    if (ward_config_digest(digest) != 0 ||
        ward_digest_hex(digest, WARD_DIGEST_LEN, s_ax.config_hex, sizeof(s_ax.config_hex)) < 0) {
        s_ax.config_hex[0] = '\0';
    }
    ward_agentx_init(&s_ax.ax, agent, ward_version(), s_ax.config_hex);
    s_ax.ax.mib.cache = cache;
    s_ax.ax.mib.attr_name = ward_smart_ata_attr_name;
    s_ax.log = log;
    s_ax.link = L_DOWN;
    s_ax.next_try_ms = 0;
    s_ax.backoff_ms = BACKOFF_MIN_MS;
    s_ax.started = true;
}

static void drop(int64_t now, const char *why)
{
    if (s_ax.fd >= 0) {
        close(s_ax.fd);
        s_ax.fd = -1;
    }
    if (s_ax.link == L_UP) {
        ward_agentx_disconnected(&s_ax.ax);
    }
    log_repeat_printf(s_ax.log, now, "ward-agent: agentx %s: %s; retrying with backoff", s_ax.spec,
                      why);
    s_ax.link = L_DOWN;
    s_ax.was_ready = false;
    s_ax.next_try_ms = now + s_ax.backoff_ms;
    s_ax.backoff_ms = s_ax.backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s_ax.backoff_ms * 2;
}

static void up(int64_t now)
{
    s_ax.link = L_UP;
    ward_agentx_connected(&s_ax.ax, now);
}

static void try_connect(int64_t now)
{
    int fd = socket(s_ax.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    char why[160];

    if (fd < 0) {
        snprintf(why, sizeof(why), "socket: %s", strerror(errno));
        drop(now, why);
        return;
    }
    s_ax.fd = fd;
    if (connect(fd, (const struct sockaddr *)&s_ax.addr, s_ax.addr_len) == 0) {
        up(now);
    } else if (errno == EINPROGRESS) {
        s_ax.link = L_CONNECTING;
        s_ax.next_try_ms = now + CONNECT_MS;
    } else {
        snprintf(why, sizeof(why), "cannot connect: %s", strerror(errno));
        drop(now, why);
    }
}

static void finish_connect(int64_t now)
{
    int err = 0;
    socklen_t len = sizeof(err);
    struct pollfd pfd = { .fd = s_ax.fd, .events = POLLOUT };

    if (poll(&pfd, 1, 0) <= 0) {
        if (now >= s_ax.next_try_ms) {
            drop(now, "connect timed out");
        }
        return;
    }
    if (getsockopt(s_ax.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        char why[160];

        snprintf(why, sizeof(why), "cannot connect: %s", strerror(err != 0 ? err : errno));
        drop(now, why);
        return;
    }
    up(now);
}

/* Read what is there. @return 0, or a negative errno that ends the connection. */
static int pump_in(int64_t now)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        size_t room;
        uint8_t *p = ward_agentx_rx_space(&s_ax.ax, &room);
        ssize_t n;
        int rc;

        if (room == 0) {
            return 0; /* the session answers what it holds first */
        }
        n = read(s_ax.fd, p, room);
        if (n == 0) {
            return -ECONNRESET;
        }
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
        }
        rc = ward_agentx_input(&s_ax.ax, (size_t)n, now);
        if (rc != 0 || (size_t)n < room) {
            return rc; /* a short read: the socket is empty, no need to ask it again */
        }
    }
    return 0;
}

static int pump_out(void)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        size_t len;
        const uint8_t *p = ward_agentx_tx_data(&s_ax.ax, &len);
        ssize_t n;

        if (len == 0) {
            return 0;
        }
        n = send(s_ax.fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
        }
        ward_agentx_tx_done(&s_ax.ax, (size_t)n);
    }
    return 0;
}

static const char *why_of(int rc)
{
    switch (rc) {
    case -ECONNRESET:
        return "the master closed the connection";
    case -ECONNREFUSED:
        return "the master refused or closed the session";
    case -EPROTO:
        return "malformed AgentX PDU from the master";
    case -ETIMEDOUT:
        return "the master did not answer";
    default:
        return strerror(-rc);
    }
}

void agentx_posix_step(int64_t now_ms, uint32_t journal_depth)
{
    int rc;

    if (!s_ax.started) {
        return;
    }
    if (s_ax.link == L_DOWN && now_ms >= s_ax.next_try_ms) {
        try_connect(now_ms);
    }
    if (s_ax.link == L_CONNECTING) {
        finish_connect(now_ms);
    }
    if (s_ax.link != L_UP) {
        return;
    }
    s_ax.ax.mib.journal_depth = journal_depth;
    rc = pump_in(now_ms);
    rc = rc == 0 ? ward_agentx_tick(&s_ax.ax, now_ms) : rc;
    rc = rc == 0 ? pump_out() : rc;
    if (rc != 0) {
        char why[160];

        snprintf(why, sizeof(why), "%s (AgentX error %u)", why_of(rc),
                 (unsigned)s_ax.ax.stats.last_error);
        drop(now_ms, rc == -ECONNREFUSED ? why : why_of(rc));
        return;
    }
    if (s_ax.ax.state == WARD_AGENTX_READY && !s_ax.was_ready) {
        s_ax.was_ready = true;
        s_ax.backoff_ms = BACKOFF_MIN_MS;
        log_repeat_printf(s_ax.log, now_ms,
                          "ward-agent: agentx %s: registered (session %u, %u subtrees)", s_ax.spec,
                          (unsigned)s_ax.ax.session_id, (unsigned)WARD_MIB_SUBTREES);
    }
}

void agentx_posix_pollfd(struct pollfd *pfd)
{
    size_t pending = 0;

    pfd->fd = -1;
    pfd->events = 0;
    if (!s_ax.started || s_ax.fd < 0) {
        return;
    }
    pfd->fd = s_ax.fd;
    if (s_ax.link == L_CONNECTING) {
        pfd->events = POLLOUT;
        return;
    }
    (void)ward_agentx_tx_data(&s_ax.ax, &pending);
    pfd->events = (short)(POLLIN | (pending > 0 ? POLLOUT : 0));
}

int64_t agentx_posix_next_wake(int64_t now_ms)
{
    if (!s_ax.started) {
        return INT64_MAX;
    }
    if (s_ax.link == L_UP) {
        /* Notifications for state changes the loop records: looked at every 100 ms. */
        return now_ms + 100;
    }
    return s_ax.next_try_ms > now_ms ? s_ax.next_try_ms : now_ms;
}

void agentx_posix_stop(void)
{
    if (s_ax.fd >= 0) {
        close(s_ax.fd);
        s_ax.fd = -1;
    }
}

#else /* !CONFIG_WARD_AGENTX */

#include <errno.h>
#include <stdio.h>

int agentx_posix_parse(const char *spec)
{
    fprintf(stderr, "ward-agent: --agentx %s: this build has no AgentX (CONFIG_WARD_AGENTX=n)\n",
            spec);
    return -ENOTSUP;
}

void agentx_posix_start(const struct ward_agent *agent, struct log_repeat *log,
                        const struct ward_nms_cache *cache)
{
    (void)agent;
    (void)log;
    (void)cache;
}

void agentx_posix_pollfd(struct pollfd *pfd)
{
    pfd->fd = -1;
    pfd->events = 0;
}

void agentx_posix_step(int64_t now_ms, uint32_t journal_depth)
{
    (void)now_ms;
    (void)journal_depth;
}

int64_t agentx_posix_next_wake(int64_t now_ms)
{
    (void)now_ms;
    return INT64_MAX;
}

void agentx_posix_stop(void)
{
}

#endif
