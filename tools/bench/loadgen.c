/*
 * loadgen: many agents in one process against a collector on loopback.
 *
 *   loadgen --pki DIR --certs DIR --agents N --port P [--ramp S] [--hold S] [--interval-ms MS]
 *           [--sensors N] [--tick-us US] [--restart | --restart-tickets] [--server-name NAME]
 *           -- SERVER-COMMAND...
 *
 * Every agent is the firmware's own reporting path: a ward_agent context building its
 * heartbeat batch with ward_report_batch(), ward_transport (keep-alive HTTP, timeouts,
 * backoff), ward_tls (mutual TLS with the agent's mbedTLS configuration) and the Linux net
 * port (net_posix.c), each agent with its own device certificate (CERTS/lg-NNNNN.crt/.key,
 * tools/bench/mkcerts.py). The load generator's own parts: one epoll over all sockets instead
 * of one ppoll per agent, a timer heap that steps each agent when its next heartbeat or its
 * transport's deadline comes (not a scan of every agent each tick), and reads through a
 * read-ahead that knows from epoll when a socket is empty (lg_recv: fewer system calls, the
 * same bytes). mbedTLS allocates from the libc heap here (its hooks are process-wide, and one
 * 32 KiB ward_mempool per agent would only hide the figure).
 *
 * The generator starts SERVER-COMMAND itself (the collector, or nginx for the TLS baseline)
 * so it knows its PID, reads its RSS and can restart it. Phases, each bounded in time:
 *   ramp     agents connect at a uniform rate over --ramp seconds, then up to 120 s settle;
 *   hold     each agent sends a heartbeat every --interval-ms (0: the next one as soon as
 *            the previous is acknowledged); heartbeats/s, ack latency, wire bytes, the
 *            server's and the load generator's own CPU per heartbeat, how far sends fell
 *            behind the schedule (one request in flight per agent: a late answer delays the
 *            next heartbeat; --tick-us N serves due agents together, at most N us late);
 *   restart  (--restart) the server is stopped (SIGTERM) and started again; every agent sends
 *            one heartbeat; the time until all are acknowledged, first with the saved TLS
 *            sessions (tickets), then (not with --restart-tickets) again with every session
 *            forgotten (full handshakes: the agent-side way to disable tickets).
 * One JSON line of results goes to stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "net_posix.h"
#include "ward/agent.h"
#include "ward/base/json_arena.h"
#include "ward/report.h"
#include "ward/transport/backoff.h"
#include "ward/transport/tls.h"
#include "ward/transport/transport.h"

#define MAX_AGENTS    20000u
#define PEM_MAX       4096u
#define LAT_BUCKET_US 20u
#define LAT_BUCKETS   150000u /* 3 s in 20 us steps; slower acks land in the last bucket */
#define DONE_CHECK_US 1000    /* done() predicates walk every agent: at most once per ms */
#define LAG_BUCKETS   1000u   /* send lag behind the schedule, 1 ms steps */
#define READ_AHEAD    2048u
#define SETTLE_MS     180000
#define RESTART_MS    120000

struct lg_agent {
    struct ward_agent agent;
    struct ward_net_posix np;
    struct ward_net posix; /* net_posix itself */
    struct ward_net net;   /* what TLS and the transport use: posix + read-ahead (lg_recv) */
    struct ward_tls tls;
    struct ward_transport tp;
    int reg_fd;
    uint32_t reg_events;
    uint32_t reg_connects;
    bool started;
    bool up;
    bool acked;      /* got a 2xx since the last phase reset */
    int64_t next_us; /* open loop: when the next heartbeat is due */
    int64_t sent_us;
    uint32_t heap_at; /* this agent's place in s_heap */
    bool readable;    /* the socket may hold bytes: epoll said so, or the last read was full */
    uint16_t ra_off, ra_len;
    uint8_t ra[READ_AHEAD];
    uint8_t tx[4096];
    uint8_t rx[1024];
};

struct lg_opts {
    const char *pki;
    const char *certs;
    const char *server_name;
    unsigned agents;
    unsigned port;
    unsigned ramp_s;
    unsigned hold_s;
    unsigned interval_ms;
    unsigned sensors; /* --sensors N: readings fed before each batch, sent as snapshot pages */
    unsigned tick_us; /* --tick-us N: due agents are served together, at most N us late */
    bool restart;
    bool tickets_only; /* --restart-tickets: skip the round without tickets */
    char **server_argv;
};

static struct lg_agent *s_agents;
static unsigned s_n;
static int s_ep = -1;
static pid_t s_server = -1;
static bool s_sending;
static struct lg_opts s_o;
static uint32_t *s_lat;
static uint32_t s_lag[LAG_BUCKETS];
/* Every agent, a binary min-heap on when it must be stepped next: its next heartbeat or its
 * transport's deadline. The key lives in the slot, so a sift reads one array. */
struct lg_slot {
    int64_t due_us;
    uint32_t agent;
};
static struct lg_slot *s_heap;
static uint64_t s_acks, s_non2xx, s_failed;
static uint64_t s_late, s_dropped;
static uint64_t s_waits;
/* epoll waits: the generator's wake-ups */ /* open loop: sent >= 1 ms behind, slots given up */
static unsigned s_up;
static uint8_t s_arena_mem[WARD_JSON_ARENA_SIZE];
static struct ward_json_arena s_arena;

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
    return now_us() / 1000;
}

static int read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return -errno;
    }
    n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0 || (size_t)n >= cap - 1) {
        return -EFBIG;
    }
    buf[n] = 0;
    *len = (size_t)n + 1; /* PEM lengths include the NUL */
    return 0;
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
        }
    }
    fclose(f);
    return kib;
}

/* CPU seconds (user + system) a process has used, from /proc/PID/stat; its system share in
 * *sys_s when not NULL. */
static double cpu_split_s(pid_t pid, double *sys_s)
{
    char path[64], buf[1024];
    unsigned long ut = 0, st = 0;
    char *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0.0;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    p = strrchr(buf, ')'); /* fields 14 and 15 after the command name */
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
        return 0.0;
    }
    if (sys_s != NULL) {
        *sys_s = (double)st / (double)sysconf(_SC_CLK_TCK);
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double cpu_s(pid_t pid)
{
    return cpu_split_s(pid, NULL);
}

/* ---- the agents' sockets: net_posix, with a read-ahead and the event loop's readiness ----
 * The transport reads once to see that an idle connection is still open before each request,
 * once right after sending it, and mbedTLS reads a record's 5-byte header and its body
 * separately: four recv() calls per heartbeat, two of them EAGAIN. Here a read the event loop
 * knows would find nothing (no EPOLLIN since the socket was last drained) returns -EAGAIN
 * without a system call, and one recv() fills a buffer that the next reads take from. The
 * bytes on the wire and their order are the same; a real agent pays those calls, the server
 * under test does not. A short read means the socket was drained; level-triggered epoll
 * reports anything that arrives later. */
static int lg_connect(void *ctx, const char *host, uint16_t port)
{
    struct lg_agent *a = ctx;

    a->ra_off = a->ra_len = 0;
    a->readable = true;
    return a->posix.ops->connect(a->posix.ctx, host, port);
}

static int lg_connect_result(void *ctx)
{
    struct lg_agent *a = ctx;

    return a->posix.ops->connect_result(a->posix.ctx);
}

static int lg_send(void *ctx, const uint8_t *buf, size_t len)
{
    struct lg_agent *a = ctx;

    return a->posix.ops->send(a->posix.ctx, buf, len);
}

static int lg_recv(void *ctx, uint8_t *buf, size_t len)
{
    struct lg_agent *a = ctx;
    size_t n;

    if (a->ra_len == 0) {
        int got;

        if (!a->readable) {
            return -EAGAIN;
        }
        got = a->posix.ops->recv(a->posix.ctx, a->ra, sizeof(a->ra));
        if (got <= 0) {
            a->readable = got != -EAGAIN;
            return got;
        }
        a->readable = (size_t)got == sizeof(a->ra);
        a->ra_off = 0;
        a->ra_len = (uint16_t)got;
    }
    n = len < a->ra_len ? len : a->ra_len;
    memcpy(buf, a->ra + a->ra_off, n);
    a->ra_off = (uint16_t)(a->ra_off + n);
    a->ra_len = (uint16_t)(a->ra_len - n);
    return (int)n;
}

static void lg_close(void *ctx)
{
    struct lg_agent *a = ctx;

    a->ra_off = a->ra_len = 0;
    a->posix.ops->close(a->posix.ctx);
}

static const struct ward_net_ops s_lg_net_ops = {
    .connect = lg_connect,
    .connect_result = lg_connect_result,
    .send = lg_send,
    .recv = lg_recv,
    .close = lg_close,
};

static void on_link(void *user, enum ward_link from, enum ward_link to, int err)
{
    struct lg_agent *a = user;

    (void)from;
    (void)err;
    if (to == WARD_LINK_UP && !a->up) {
        a->up = true;
        s_up++;
    } else if (to != WARD_LINK_UP && a->up) {
        a->up = false;
        s_up--;
    }
}

static int agent_init(struct lg_agent *a, unsigned i, const uint8_t *ca, size_t ca_len)
{
    static uint8_t cert[PEM_MAX], key[PEM_MAX];
    struct ward_agent_config acfg = { 0 };
    struct ward_transport_config tcfg;
    struct ward_tls_creds creds = { 0 };
    char id[32], path[512];
    uint8_t boot[WARD_BOOT_ID_LEN];
    size_t cert_len = 0, key_len = 0;
    int rc;

    snprintf(id, sizeof(id), "lg-%05u", i);
    snprintf(path, sizeof(path), "%s/%s.crt", s_o.certs, id);
    rc = read_file(path, cert, sizeof(cert), &cert_len);
    snprintf(path, sizeof(path), "%s/%s.key", s_o.certs, id);
    rc = rc == 0 ? read_file(path, key, sizeof(key), &key_len) : rc;
    if (rc != 0) {
        fprintf(stderr, "loadgen: cannot read %s (%s); run tools/bench/mkcerts.py\n", path,
                strerror(-rc));
        return rc;
    }
    for (size_t k = 0; k < sizeof(boot); k++) {
        boot[k] = (uint8_t)(i >> (8 * (k % 4)) ^ k * 37u);
    }
    acfg.device_id = id;
    acfg.boot_id = boot;
    acfg.seed = ward_backoff_seed(id, (uint32_t)strlen(id));
    rc = ward_agent_init(&a->agent, &acfg, now_ms());
    ward_net_posix_init(&a->np);
    a->posix = ward_net_posix(&a->np);
    a->net = (struct ward_net){ .ops = &s_lg_net_ops, .ctx = a };
    creds = (struct ward_tls_creds){ ca, ca_len, cert, cert_len, key, key_len, s_o.server_name };
    rc = rc == 0 ? ward_tls_init(&a->tls, &creds, &a->net, id) : rc;
    ward_transport_config_defaults(&tcfg);
    tcfg.host = "127.0.0.1";
    tcfg.port = (uint16_t)s_o.port;
    tcfg.path = "/v1/ingest";
    tcfg.seed = acfg.seed ^ 0x6c6f616467656eull;
    rc = rc == 0 ? ward_transport_init(&a->tp, &tcfg, &a->net, ward_tls_chan(&a->tls), a->tx,
                                       sizeof(a->tx), a->rx, sizeof(a->rx))
                 : rc;
    if (rc != 0) {
        fprintf(stderr, "loadgen: agent %s: set-up failed (%s)\n", id, strerror(-rc));
        return rc;
    }
    a->tp.on_link = on_link;
    a->tp.user = a;
    a->reg_fd = -1;
    return 0;
}

static void lat_add(int64_t us)
{
    uint64_t b = us < 0 ? 0 : (uint64_t)us / LAT_BUCKET_US;

    s_lat[b < LAT_BUCKETS ? b : LAT_BUCKETS - 1]++;
}

/* The p-quantile of a histogram of n buckets of bucket_ms each (upper bound of its bucket). */
static double hist_pct(const uint32_t *h, unsigned n, double bucket_ms, double p)
{
    uint64_t total = 0, seen = 0;

    for (unsigned b = 0; b < n; b++) {
        total += h[b];
    }
    for (unsigned b = 0; b < n; b++) {
        seen += h[b];
        if (total > 0 && (double)seen >= p * (double)total) {
            return (b + 1) * bucket_ms;
        }
    }
    return 0.0;
}

static double lat_pct(double p)
{
    return hist_pct(s_lat, LAT_BUCKETS, LAT_BUCKET_US / 1000.0, p);
}

/* ---- the timer heap: every agent, keyed by when it must be stepped next ---- */

static void heap_put(uint32_t pos, struct lg_slot slot)
{
    s_heap[pos] = slot;
    s_agents[slot.agent].heap_at = pos;
}

static int64_t heap_key(uint32_t pos)
{
    return s_heap[pos].due_us;
}

/* Give an agent a new key and restore the heap order around it (one sift up or down). */
static void heap_move(struct lg_agent *a, int64_t due_us)
{
    struct lg_slot slot = { due_us, (uint32_t)(a - s_agents) };
    uint32_t pos = a->heap_at;

    while (pos > 0 && heap_key((pos - 1) / 2) > due_us) {
        heap_put(pos, s_heap[(pos - 1) / 2]);
        pos = (pos - 1) / 2;
    }
    for (;;) {
        uint32_t c = 2 * pos + 1;

        if (c >= s_n) {
            break;
        }
        c += (c + 1 < s_n && heap_key(c + 1) < heap_key(c)) ? 1u : 0u;
        if (heap_key(c) >= due_us) {
            break;
        }
        heap_put(pos, s_heap[c]);
        pos = c;
    }
    heap_put(pos, slot);
}

static bool open_loop_due(const struct lg_agent *a, int64_t ms)
{
    return s_sending && s_o.interval_ms > 0 && a->started && !ward_transport_busy(&a->tp) &&
           ward_transport_can_send(&a->tp, (uint64_t)ms);
}

/* The agent's next step: its next heartbeat (open loop) or the transport's deadline (time-outs,
 * backoff, TLS data already read). Never now or earlier, so one pass over the due agents ends;
 * something still due now is retried 1 ms later (the old loop's scan retried after 10 ms). */
static void reschedule(struct lg_agent *a, int64_t us)
{
    uint64_t d = ward_transport_deadline(&a->tp, (uint64_t)(us / 1000));
    int64_t due = d >= (uint64_t)(INT64_MAX / 1000) ? INT64_MAX : (int64_t)d * 1000;

    if (open_loop_due(a, us / 1000) && a->next_us < due) {
        due = a->next_us;
    }
    if (a->ra_len > 0 && ward_net_posix_fd(&a->np) >= 0) {
        due = us; /* bytes read ahead that nobody took yet: epoll will not report them */
    }
    due = due > us ? due : us + 1000;
    if (due != heap_key(a->heap_at)) {
        heap_move(a, due);
    }
}

static void submit(struct lg_agent *a, int64_t ms)
{
    size_t cap;
    uint8_t *body = ward_transport_body(&a->tp, &cap);
    /* With --sensors: every batch carries a snapshot page of values that move (history). */
    for (unsigned i = 0; i < s_o.sensors; i++) {
        struct ward_reading r;
        char id[24];

        snprintf(id, sizeof(id), "temp:lg%u", i);
        ward_reading_ok(&r, 40000 + (ms / 100 + i * 7) % 5000);
        ward_agent_feed(&a->agent, id, &r, ms);
    }
    int len =
        ward_report_batch(&a->agent, ms, 0, 0, s_o.sensors > 0, &s_arena, (char *)body, cap, NULL);

    if (len > 0 && ward_transport_submit(&a->tp, (size_t)len, (uint64_t)ms) == 0) {
        a->sent_us = now_us();
        a->started = true;
    }
}

/* Open loop: the next heartbeat is due interval_ms after the previous one was due (a fixed
 * schedule), sent as soon as it is due and the previous one is answered. One that is more
 * than an interval behind gives up the missed slots (counted). */
static void send_due(struct lg_agent *a, int64_t us)
{
    int64_t iv = (int64_t)s_o.interval_ms * 1000, lag = us - a->next_us;

    if (us < a->next_us || !open_loop_due(a, us / 1000)) {
        return;
    }
    s_lag[lag / 1000 < (int64_t)LAG_BUCKETS ? lag / 1000 : LAG_BUCKETS - 1]++;
    s_late += lag >= 1000 ? 1u : 0u;
    submit(a, us / 1000);
    a->next_us += iv;
    if (a->next_us < us) {
        s_dropped += (uint64_t)((us - a->next_us) / iv) + 1u;
        a->next_us = us + iv;
    }
}

static void rearm(struct lg_agent *a)
{
    int fd = ward_net_posix_fd(&a->np);
    unsigned w = ward_transport_wants(&a->tp);
    uint32_t ev =
        ((w & WARD_CHAN_WANT_READ) ? EPOLLIN : 0u) | ((w & WARD_CHAN_WANT_WRITE) ? EPOLLOUT : 0u);
    struct epoll_event e = { .events = ev, .data.u32 = (uint32_t)(a - s_agents) };

    if (fd < 0) {
        a->reg_fd = -1;
        return;
    }
    if (fd != a->reg_fd || a->net.stats.connects != a->reg_connects) {
        if (epoll_ctl(s_ep, EPOLL_CTL_ADD, fd, &e) != 0 && errno == EEXIST) {
            (void)epoll_ctl(s_ep, EPOLL_CTL_MOD, fd, &e);
        }
        a->reg_fd = fd;
        a->reg_connects = a->net.stats.connects;
        a->reg_events = ev;
    } else if (ev != a->reg_events) {
        (void)epoll_ctl(s_ep, EPOLL_CTL_MOD, fd, &e);
        a->reg_events = ev;
    }
}

static void step(struct lg_agent *a, int64_t us)
{
    int64_t ms = us / 1000;

    send_due(a, us);
    for (int round = 0; round < 4; round++) {
        enum ward_transport_event ev = ward_transport_poll(&a->tp, (uint64_t)ms);
        const uint8_t *body;
        size_t len;

        if (ev == WARD_TRANSPORT_NONE) {
            break;
        }
        if (ev == WARD_TRANSPORT_RESPONSE) {
            uint16_t st = ward_transport_response(&a->tp, &body, &len);

            if (st >= 200 && st <= 299) {
                s_acks++;
                a->acked = true;
                /* As the agent's ack parser does (ward_report_apply_ack()): its next compact
                 * heartbeat leaves out the health summary the collector now has. Taken from
                 * the status, not the body, so that nginx's empty 204 gets the same bytes. */
                ward_report_batch_acked(&a->agent);
                lat_add(now_us() - a->sent_us);
            } else {
                s_non2xx++;
            }
        } else {
            s_failed++;
        }
        if (s_sending && s_o.interval_ms == 0) {
            submit(a, ms); /* closed loop: the next one as soon as this one ended */
        } else {
            send_due(a, us); /* open loop: a heartbeat that waited for this answer */
        }
    }
    rearm(a);
    reschedule(a, us);
}

/* Step every agent whose heap key has come (each at most once: keys move past now). */
static void expire(int64_t us)
{
    for (unsigned k = 0; k < s_n && heap_key(0) <= us; k++) {
        step(&s_agents[s_heap[0].agent], us);
    }
}

/* epoll_wait for at most wait_us; epoll_wait (milliseconds, rounded up) where epoll_pwait2 is
 * missing (before Linux 5.11, or under valgrind 3.19, which does not know it). */
static int wait_events(struct epoll_event *evs, int max, int64_t wait_us)
{
    static bool no_pwait2;
    struct timespec ts = { .tv_sec = wait_us / 1000000, .tv_nsec = (wait_us % 1000000) * 1000 };
    int n;

    if (!no_pwait2) {
        n = epoll_pwait2(s_ep, evs, max, &ts, NULL);
        if (n >= 0 || errno != ENOSYS) {
            return n;
        }
        no_pwait2 = true;
    }
    return epoll_wait(s_ep, evs, max, (int)((wait_us + 999) / 1000));
}

/* Run the loop until `until_ms`, or until done() says so. One epoll over every socket; the
 * wait ends at the earliest agent's key (microseconds, so agents due at different times are
 * sent at different times instead of in one burst per tick). */
static void run_until(int64_t until_ms, bool (*done)(void))
{
    static struct epoll_event evs[1024];
    int64_t until_us = until_ms * 1000, checked = 0;

    for (;;) {
        int64_t us = now_us(), wake;
        int n;

        if (us >= until_us) {
            return;
        }
        if (done != NULL && us - checked >= DONE_CHECK_US) {
            if (done()) {
                return;
            }
            checked = us;
        }
        wake = heap_key(0) < until_us ? heap_key(0) : until_us;
        if (s_o.tick_us > 0 && wake < INT64_MAX - s_o.tick_us) { /* coalesce: one wake-up a tick */
            wake = (wake + s_o.tick_us - 1) / s_o.tick_us * s_o.tick_us;
        }
        wake = wake - us < DONE_CHECK_US ? wake - us : DONE_CHECK_US * 10;
        n = wait_events(evs, 1024, wake > 0 ? wake : 0);
        s_waits++;
        us = now_us();
        for (int k = 0; k < n; k++) {
            struct lg_agent *a = &s_agents[evs[k].data.u32];

            a->readable = a->readable || (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
            step(a, us);
        }
        expire(us);
    }
}

static bool all_up(void)
{
    return s_up == s_n;
}

static bool none_busy(void)
{
    for (unsigned i = 0; i < s_n; i++) {
        if (ward_transport_busy(&s_agents[i].tp)) {
            return false;
        }
    }
    return true;
}

static bool all_acked(void)
{
    for (unsigned i = 0; i < s_n; i++) {
        if (!s_agents[i].acked) {
            return false;
        }
    }
    return true;
}

static bool port_open(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s_o.port) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

static int server_start(void)
{
    int64_t end = now_ms() + 15000;
    pid_t parent = getpid();

    s_server = fork();
    if (s_server < 0) {
        return -errno;
    }
    if (s_server == 0) {
        /* The server ends with the load generator however that ends (a test's timeout, a
         * SIGTERM from tools/bench/soak.sh): a server left behind kept its port and state
         * directory, and the next soak removed that directory under it. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) {
            _exit(127);
        }
        execvp(s_o.server_argv[0], s_o.server_argv);
        fprintf(stderr, "loadgen: cannot run %s: %s\n", s_o.server_argv[0], strerror(errno));
        _exit(127);
    }
    while (now_ms() < end) {
        if (waitpid(s_server, NULL, WNOHANG) == s_server) {
            fprintf(stderr, "loadgen: the server exited at start\n");
            s_server = -1;
            return -ECHILD;
        }
        if (port_open()) {
            return 0;
        }
        usleep(10000);
    }
    fprintf(stderr, "loadgen: the server does not listen on 127.0.0.1:%u after 15 s\n", s_o.port);
    return -ETIMEDOUT;
}

static void server_stop(void)
{
    int64_t end = now_ms() + 10000;

    if (s_server <= 0) {
        return;
    }
    kill(s_server, SIGTERM);
    while (now_ms() < end && waitpid(s_server, NULL, WNOHANG) != s_server) {
        usleep(10000);
    }
    if (now_ms() >= end) {
        kill(s_server, SIGKILL);
        waitpid(s_server, NULL, 0);
    }
    s_server = -1;
}

static void totals(uint64_t *tx, uint64_t *rx, uint32_t *full, uint32_t *resumed)
{
    *tx = *rx = 0;
    *full = *resumed = 0;
    for (unsigned i = 0; i < s_n; i++) {
        *tx += s_agents[i].net.stats.tx_bytes;
        *rx += s_agents[i].net.stats.rx_bytes;
        *full += s_agents[i].tls.stats.full_handshakes;
        *resumed += s_agents[i].tls.stats.resumed_handshakes;
    }
}

/* Restart the server and time until every agent has one heartbeat acknowledged. */
/* Transport failures summed over every agent: connect, handshake, timeouts. */
static void failures(uint32_t out[3])
{
    out[0] = out[1] = out[2] = 0;
    for (unsigned i = 0; i < s_n; i++) {
        out[0] += s_agents[i].tp.stats.connect_failures;
        out[1] += s_agents[i].tp.stats.handshake_failures;
        out[2] += s_agents[i].tp.stats.timeouts;
    }
}

static double restart_round(bool tickets, uint32_t *full, uint32_t *resumed, unsigned *done_n,
                            double *srv_cpu)
{
    uint64_t tx, rx;
    uint32_t f0, r0, fail0[3], fail1[3];
    int64_t t0;

    s_sending = false;
    run_until(now_ms() + 5000, none_busy);
    server_stop();
    run_until(now_ms() + 500, NULL); /* agents see the close: DOWN, no penalty */
    if (server_start() != 0) {
        return -1.0;
    }
    for (unsigned i = 0; i < s_n; i++) {
        if (!tickets) {
            ward_tls_forget_session(&s_agents[i].tls);
        }
        s_agents[i].acked = false;
    }
    totals(&tx, &rx, &f0, &r0);
    failures(fail0);
    t0 = now_us();
    for (unsigned i = 0; i < s_n; i++) {
        submit(&s_agents[i], now_ms());
        step(&s_agents[i], now_us());
    }
    run_until(now_ms() + RESTART_MS, all_acked);
    *done_n = 0;
    for (unsigned i = 0; i < s_n; i++) {
        *done_n += s_agents[i].acked ? 1u : 0u;
    }
    totals(&tx, &rx, full, resumed);
    *full -= f0;
    *resumed -= r0;
    *srv_cpu = cpu_s(s_server);
    failures(fail1);
    fprintf(stderr,
            "loadgen: restart (%s): %u of %u acknowledged in %.2f s; %" PRIu32 " full, %" PRIu32
            " resumed handshakes; failures: %" PRIu32 " connect, %" PRIu32 " handshake, %" PRIu32
            " timeouts; server CPU %.2f s\n",
            tickets ? "tickets" : "no tickets", *done_n, s_n, (double)(now_us() - t0) / 1e6, *full,
            *resumed, fail1[0] - fail0[0], fail1[1] - fail0[1], fail1[2] - fail0[2],
            *srv_cpu); /* a new process: all of it went into start-up and reconnects */
    return (double)(now_us() - t0) / 1e6;
}

static int parse_args(int argc, char **argv)
{
    s_o = (struct lg_opts){ .server_name = "localhost", .ramp_s = 10, .hold_s = 10 };
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(argv[i], "--") == 0) {
            s_o.server_argv = &argv[i + 1];
            break;
        } else if (strcmp(argv[i], "--restart") == 0) {
            s_o.restart = true;
        } else if (strcmp(argv[i], "--restart-tickets") == 0) {
            s_o.restart = s_o.tickets_only = true;
        } else if (v == NULL) {
            fprintf(stderr, "loadgen: %s needs a value\n", argv[i]);
            return -EINVAL;
        } else if (strcmp(argv[i], "--pki") == 0) {
            s_o.pki = argv[++i];
        } else if (strcmp(argv[i], "--certs") == 0) {
            s_o.certs = argv[++i];
        } else if (strcmp(argv[i], "--server-name") == 0) {
            s_o.server_name = argv[++i];
        } else {
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            unsigned *dst = strcmp(argv[i], "--agents") == 0        ? &s_o.agents
                            : strcmp(argv[i], "--port") == 0        ? &s_o.port
                            : strcmp(argv[i], "--ramp") == 0        ? &s_o.ramp_s
                            : strcmp(argv[i], "--hold") == 0        ? &s_o.hold_s
                            : strcmp(argv[i], "--interval-ms") == 0 ? &s_o.interval_ms
                            : strcmp(argv[i], "--sensors") == 0     ? &s_o.sensors
                            : strcmp(argv[i], "--tick-us") == 0     ? &s_o.tick_us
                                                                    : NULL;
            if (dst == NULL || *end != '\0' || n > 3600000ul) {
                fprintf(stderr, "loadgen: bad option or value: %s %s\n", argv[i], v);
                return -EINVAL;
            }
            *dst = (unsigned)n;
            i++;
        }
    }
    if (s_o.pki == NULL || s_o.certs == NULL || s_o.agents == 0 || s_o.agents > MAX_AGENTS ||
        s_o.port == 0 || s_o.port > 65535 || s_o.server_argv == NULL ||
        s_o.server_argv[0] == NULL || s_o.ramp_s > 600 || s_o.hold_s > 600) {
        fprintf(
            stderr,
            "loadgen: usage: loadgen --pki DIR --certs DIR --agents N (1..%u) --port P "
            "[--ramp S] [--hold S] [--interval-ms MS] [--sensors N] [--tick-us US] [--restart | "
            "--restart-tickets] "
            "[--server-name NAME] -- SERVER-COMMAND...\n",
            MAX_AGENTS);
        return -EINVAL;
    }
    return 0;
}

/* The load generator's own CPU (every thread, user and system), microsecond resolution. */
static void own_cpu(double *user_s, double *sys_s)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    *user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double load1(void)
{
    double l = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");

    if (f != NULL) {
        if (fscanf(f, "%lf", &l) != 1) {
            l = -1.0;
        }
        fclose(f);
    }
    return l;
}

/* The hold: the measured heartbeats; prints the first part of the JSON line. Alongside the
 * server's CPU per heartbeat, the load generator's own, to see which of the two fills the
 * cores, and how well the generator kept its schedule (lag, late and dropped sends). */
static void hold_phase(unsigned held, long rss0, long rss1)
{
    uint64_t tx0, rx0, tx1, rx1, acks, late0 = s_late, drop0 = s_dropped, acks0 = s_acks;
    uint64_t waits0 = s_waits;
    uint32_t full, resumed;
    double sys_srv0 = 0.0, sys_srv1 = 0.0;
    double cpu_srv = cpu_split_s(s_server, &sys_srv0), u0, s0, u1, s1, per, hold_s, ld = load1();
    int64_t t_hold = now_us();

    memset(s_lat, 0, LAT_BUCKETS * sizeof(*s_lat));
    memset(s_lag, 0, sizeof(s_lag));
    totals(&tx0, &rx0, &full, &resumed);
    own_cpu(&u0, &s0);
    run_until(now_ms() + (int64_t)s_o.hold_s * 1000, NULL);
    own_cpu(&u1, &s1);
    hold_s = (double)(now_us() - t_hold) / 1e6;
    cpu_srv = cpu_split_s(s_server, &sys_srv1) - cpu_srv;
    totals(&tx1, &rx1, &full, &resumed);
    acks = s_acks - acks0;
    per = acks > 0 ? 1.0 / (double)acks : 0.0;
    printf("{\"agents\":%u,\"held\":%u,\"server_rss_kib_idle\":%ld,\"server_rss_kib_held\":%ld,"
           "\"rss_per_conn_kib\":%.1f,\"hold_s\":%.2f,\"acks\":%" PRIu64
           ",\"hb_per_s\":%.0f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"tx_per_hb\":%.0f,"
           "\"rx_per_hb\":%.0f,\"non2xx\":%" PRIu64 ",\"failed\":%" PRIu64
           ",\"full_handshakes\":%" PRIu32 ",\"resumed_handshakes\":%" PRIu32
           ",\"server_cpu_s\":%.2f,\"server_cpu_us_per_hb\":%.1f,\"loadgen_cpu_s\":%.2f",
           s_n, held, rss0, rss1, held > 0 ? (double)(rss1 - rss0) / held : 0.0, hold_s, acks,
           (double)acks / hold_s, lat_pct(0.50), lat_pct(0.99), (double)(tx1 - tx0) * per,
           (double)(rx1 - rx0) * per, s_non2xx, s_failed, full, resumed, cpu_srv,
           cpu_srv * 1e6 * per, u1 - u0 + s1 - s0);
    printf(",\"loadgen_cpu_us_per_hb\":%.1f,\"loadgen_user_s\":%.2f,\"loadgen_sys_s\":%.2f,"
           "\"offered_per_s\":%.0f,\"send_lag_p99_ms\":%.0f,\"sent_late\":%" PRIu64
           ",\"slots_dropped\":%" PRIu64 ",\"waits_per_hb\":%.2f,\"load1_at_hold\":%.2f"
           ",\"server_sys_s\":%.2f",
           (u1 - u0 + s1 - s0) * 1e6 * per, u1 - u0, s1 - s0,
           s_o.interval_ms > 0 ? s_n * 1000.0 / s_o.interval_ms : 0.0,
           hist_pct(s_lag, LAG_BUCKETS, 1.0, 0.99), s_late - late0, s_dropped - drop0,
           (double)(s_waits - waits0) * per, ld, sys_srv1 - sys_srv0);
}

static void ramp(int64_t t0)
{
    unsigned next = 0;
    int64_t ramp_ms = (int64_t)s_o.ramp_s * 1000;

    s_sending = true;
    while (next < s_n) {
        int64_t us = now_us(), ms = us / 1000;
        unsigned due = ramp_ms == 0 ? s_n : (unsigned)((ms - t0) * (int64_t)s_n / ramp_ms) + 1u;

        for (; next < s_n && next < due; next++) {
            submit(&s_agents[next], ms);
            s_agents[next].next_us = us + (int64_t)s_o.interval_ms * 1000;
            step(&s_agents[next], us);
        }
        run_until(ms + 5, NULL);
    }
    run_until(now_ms() + SETTLE_MS, all_up);
}

int main(int argc, char **argv)
{
    static uint8_t ca[PEM_MAX];
    char path[512];
    size_t ca_len = 0;
    long rss0, rss1;
    int64_t t0;
    unsigned held;

    signal(SIGPIPE, SIG_IGN);
    if (parse_args(argc, argv) != 0) {
        return 2;
    }
    snprintf(path, sizeof(path), "%s/ca.crt", s_o.pki);
    if (read_file(path, ca, sizeof(ca), &ca_len) != 0) {
        fprintf(stderr, "loadgen: cannot read %s\n", path);
        return 1;
    }
    s_n = s_o.agents;
    s_agents = calloc(s_n, sizeof(*s_agents));
    s_lat = calloc(LAT_BUCKETS, sizeof(*s_lat));
    s_heap = calloc(s_n, sizeof(*s_heap));
    s_ep = epoll_create1(EPOLL_CLOEXEC);
    if (s_agents == NULL || s_lat == NULL || s_heap == NULL || s_ep < 0 ||
        ward_json_arena_init(&s_arena, s_arena_mem, sizeof(s_arena_mem)) != 0) {
        fprintf(stderr, "loadgen: out of memory for %u agents\n", s_n);
        return 1;
    }
    for (unsigned i = 0; i < s_n; i++) {
        if (agent_init(&s_agents[i], i, ca, ca_len) != 0) {
            return 1;
        }
        heap_put(i, (struct lg_slot){ INT64_MAX, i }); /* all keys equal: already a heap */
    }
    if (server_start() != 0) {
        return 1;
    }
    usleep(300000);
    rss0 = rss_kib(s_server);
    t0 = now_ms();
    ramp(t0);
    held = s_up;
    rss1 = rss_kib(s_server);
    fprintf(stderr,
            "loadgen: %u of %u agents up after %.1f s; server RSS %ld -> %ld KiB; loadgen RSS %ld "
            "KiB (%zu bytes of context per agent)\n",
            held, s_n, (double)(now_ms() - t0) / 1000.0, rss0, rss1, rss_kib(getpid()),
            sizeof(struct lg_agent));

    hold_phase(held, rss0, rss1);
    {
        uint32_t f[3];

        failures(f); /* since start: what the "failed" requests met */
        printf(",\"connect_failures\":%" PRIu32 ",\"handshake_failures\":%" PRIu32
               ",\"timeouts\":%" PRIu32,
               f[0], f[1], f[2]);
    }
    if (s_o.restart) {
        unsigned n1, n2;
        uint32_t f1, r1, f2, r2;
        double c1, c2;
        double t1 = restart_round(true, &f1, &r1, &n1, &c1);
        double t2 = -1.0;

        f2 = r2 = n2 = 0;
        c2 = 0.0;
        if (!s_o.tickets_only) {
            t2 = restart_round(false, &f2, &r2, &n2, &c2);
        }

        printf(",\"reconnect_tickets_s\":%.2f,\"reconnect_tickets_done\":%u,"
               "\"reconnect_tickets_full\":%" PRIu32 ",\"reconnect_tickets_resumed\":%" PRIu32
               ",\"reconnect_full_s\":%.2f,\"reconnect_full_done\":%u,"
               "\"reconnect_full_full\":%" PRIu32 ",\"reconnect_full_resumed\":%" PRIu32
               ",\"reconnect_tickets_server_cpu_s\":%.2f,\"reconnect_full_server_cpu_s\":%.2f",
               t1, n1, f1, r1, t2, n2, f2, r2, c1, c2);
    }
    printf("}\n");
    fflush(stdout);
    s_sending = false;
    for (unsigned i = 0; i < s_n; i++) {
        ward_transport_shutdown(&s_agents[i].tp);
    }
    server_stop();
    return s_acks > 0 ? 0 : 1;
}
