/*
 * The collector's event loop: two TLS listeners, a signalfd, per-connection deadlines, and
 * the group commit that decides when requests are answered.
 *
 * Why epoll and not libuv: mbedTLS drives the socket itself (its BIO callbacks read and write
 * the fd and say "would block"), so what the loop must provide is readiness of a raw fd, not
 * buffered streams; libuv's stream API would sit between mbedTLS and the socket for no gain,
 * and its uv_poll_t is a wrapper over the same epoll. Edge-triggered epoll with one
 * registration per connection costs no epoll_ctl per request, and constant-timeout timer
 * lists (one FIFO per timeout class) make every deadline O(1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/chacha20.h>

#include "api/api.h"
#include "cluster/cluster.h"
#include "commit/group.h"
#include "common/clock.h"
#include "common/str.h"
#include "devices/devices.h"
#include "incidents/incidents.h"
#include "inventory/inventory.h"
#include "ingest/ingest.h"
#include "auth/access.h"
#include "server/collector.h"
#include "server/conn_impl.h"
#include "server/retention.h"
#include "server/worker.h"
#include "store/pglink.h"
#include "tls/tls.h"

#define EPOLL_BATCH  256
#define READY_ROUNDS 64

/* "127.0.0.1:8443", "[::1]:8443", ":8443" (all IPv4 addresses). */
/* A host name in a listen address: its first address. @return 0, -ENXIO (does not resolve). */
static int resolve_listen(const char *host, uint16_t port, struct sockaddr_storage *ss,
                          socklen_t *len)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;

    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL ||
        res->ai_addrlen > sizeof(*ss)) {
        if (res != NULL) {
            freeaddrinfo(res);
        }
        return -ENXIO;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    } else {
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    }
    return 0;
}

static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    char *end;

    if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
        return -EINVAL;
    }
    long port = strtol(colon + 1, &end, 10);

    if (*end != '\0' || colon[1] == '\0' || port < 0 || port > 65535) {
        return -EINVAL;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    memset(ss, 0, sizeof(*ss));
    if (host[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        size_t hl = strlen(host);

        if (hl < 2 || host[hl - 1] != ']') {
            return -EINVAL;
        }
        host[hl - 1] = '\0';
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) {
            return -EINVAL;
        }
        *len = sizeof(*a);
        return 0;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;

    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (host[0] == '\0') {
        a->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
        return resolve_listen(host, (uint16_t)port, ss, len);
    }
    *len = sizeof(*a);
    return 0;
}

static int open_listener(const char *spec, char *bound, size_t bound_cap, bool reuseport)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1;

    if (parse_listen(spec, &ss, &len) != 0) {
        wcol_log_error("cannot parse listen address '%s' (want ADDR:PORT, [ADDR6]:PORT)", spec);
        return -EINVAL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -errno;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* Each device loop listens on the port with a socket of its own (server/worker.h). */
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        int err = errno;

        wcol_log_error("cannot share %s between the device loops (SO_REUSEPORT): %s", spec,
                       strerror(err));
        close(fd);
        return -err;
    }
    /* A fleet reconnecting at once waits in the listen queue while the budget for handshakes
     * is full (server/conn.c, make_room()): as deep as the kernel allows (somaxconn). */
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4096) != 0) {
        int err = errno;

        wcol_log_error("cannot listen on %s: %s", spec, strerror(err));
        close(fd);
        return -err;
    }
    len = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &len);
    char host[INET6_ADDRSTRLEN];

    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(bound, bound_cap, "[%s]:%u", host, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(bound, bound_cap, "%s:%u", host, ntohs(a->sin_port));
    }
    return fd;
}

/* STATE/ports tells scripts (and tests using port 0) where the collector listens. */
static int write_ports_file(struct wcol_collector *c)
{
    char path[4096], tmp[4200], text[256];
    int n = snprintf(text, sizeof(text), "device %s\napi %s\npid %ld\n", c->device_addr,
                     c->api_addr, (long)getpid());

    snprintf(path, sizeof(path), "%s/ports", c->cfg.state_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0) {
        return -errno;
    }
    if (write(fd, text, (size_t)n) != n) {
        close(fd);
        return -EIO;
    }
    close(fd);
    return rename(tmp, path) == 0 ? 0 : -errno;
}

static int add_ep(struct wcol_collector *c, int fd, struct wcol_ep *ep, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = ep };

    return epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

static int open_signals(struct wcol_collector *c)
{
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is a storage error, not a crash */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        return -errno;
    }
    c->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return c->sigfd < 0 ? -errno : 0;
}

/* Every connection is a descriptor: raise the soft limit, and fit the connection limits in. */
static void fit_fd_limit(struct wcol_collector *c)
{
    struct rlimit rl;
    const rlim_t reserve = 64; /* listeners, signalfd, epoll, database, logs, key files */

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t want = (rlim_t)c->cfg.max_conns + c->cfg.max_api_conns + reserve;

    if (rl.rlim_cur != RLIM_INFINITY && want > rl.rlim_cur) {
        rlim_t room = rl.rlim_cur > reserve + c->cfg.max_api_conns
                          ? rl.rlim_cur - reserve - c->cfg.max_api_conns
                          : 1;

        wcol_log_warn("open-file limit is %llu: serving at most %llu device connections instead "
                      "of %u (raise it with ulimit -n or LimitNOFILE=)",
                      (unsigned long long)rl.rlim_cur, (unsigned long long)room, c->cfg.max_conns);
        c->cfg.max_conns = (unsigned)room;
    }
}

static int open_state(struct wcol_collector *c)
{
    struct stat st;

    if (mkdir(c->cfg.state_dir, 0700) != 0 && errno != EEXIST) {
        int err = errno;

        wcol_log_error("cannot create state directory %s: %s", c->cfg.state_dir, strerror(err));
        return -err;
    }
    if (stat(c->cfg.state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        wcol_log_error("state directory %s is not a directory", c->cfg.state_dir);
        return -ENOTDIR;
    }
    if ((st.st_mode & 077) != 0) {
        wcol_log_warn("state directory %s is accessible to group or others (mode %o); it holds "
                      "the session ticket keys: chmod 700 it",
                      c->cfg.state_dir, (unsigned)(st.st_mode & 0777));
    }
    return 0;
}

static void init_context(struct wcol_collector *c, const struct wcol_collector_config *cfg)
{
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
    c->epfd = c->sigfd = c->device_fd = c->api_fd = c->lock_fd = -1;
    c->waiting[WCOL_CONN_DEVICE].fd = c->waiting[WCOL_CONN_API].fd = -1;
    c->ready_tail = &c->ready;
    c->ep_device.type = WCOL_EP_LISTEN_DEVICE;
    c->ep_api.type = WCOL_EP_LISTEN_API;
    c->ep_signal.type = WCOL_EP_SIGNAL;
    c->timeout_ms[WCOL_TC_HANDSHAKE] = cfg->handshake_timeout_ms;
    c->timeout_ms[WCOL_TC_IDLE] = cfg->idle_timeout_ms;
    c->timeout_ms[WCOL_TC_REQUEST] = cfg->request_timeout_ms;
    c->timeout_ms[WCOL_TC_WRITE] = cfg->write_timeout_ms;
    c->timeout_ms[WCOL_TC_LINGER] = 2000;
    c->start_mono = wcol_now_mono();
    c->start_wall_ms = wcol_now_wall_ms();
    c->on_request[WCOL_CONN_DEVICE] = wcol_device_request;
    c->on_request[WCOL_CONN_API] = wcol_api_request;
}

/* Refuse bad listen addresses before anything is created. */
static int check_listen_specs(const struct wcol_collector_config *cfg)
{
    struct sockaddr_storage ss;
    socklen_t sl;

    for (int i = 0; i < 2; i++) {
        const char *spec = i == 0 ? cfg->listen : cfg->api_listen;
        int rc = parse_listen(spec, &ss, &sl);

        if (rc == -ENXIO) {
            wcol_log_error("cannot resolve the host name in listen address '%s'", spec);
            return rc;
        }
        if (rc != 0) {
            wcol_log_error("cannot parse listen address '%s' (want ADDR:PORT, HOST:PORT or "
                           "[ADDR6]:PORT)",
                           spec);
            return -EINVAL;
        }
    }
    return 0;
}

/* The decoder's buffers: one request's strings and events at a time. */
static int alloc_decoder(struct wcol_collector *c)
{
    c->scratch_cap = c->cfg.max_body + 1;
    c->scratch = malloc(c->scratch_cap);
    c->batch.max_events = c->cfg.max_events;
    c->batch.events = calloc(c->cfg.max_events, sizeof(*c->batch.events));
    return c->scratch == NULL || c->batch.events == NULL ? -ENOMEM : 0;
}

/* The unauthenticated budgets: the device one from its settings, the operator one the pool. */
static int alloc_budgets(struct wcol_collector *c)
{
    uint64_t seed = 0;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
        seed = wcol_now_mono() ^ (uint64_t)getpid();
    }
    c->unauth[WCOL_CONN_DEVICE].max =
        c->cfg.max_unauth_conns < c->cfg.max_conns ? c->cfg.max_unauth_conns : c->cfg.max_conns;
    c->unauth[WCOL_CONN_API].max = c->cfg.max_api_conns;
    for (int k = 0; k < 2; k++) {
        if (wcol_srcmap_init(&c->unauth[k].srcs, c->unauth[k].max + 1, seed) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

static int open_tls_and_tokens(struct wcol_collector *c)
{
    c->tls = calloc(1, sizeof(*c->tls));
    if (c->tls == NULL) {
        return -ENOMEM;
    }
    int rc = wcol_tls_init(c->tls, &c->cfg.tls);

    if (rc != 0) {
        return rc;
    }
    rc = wcol_tokens_load(&c->tokens, c->cfg.tokens_path);
    if (rc < 0) {
        return rc;
    }
    if (rc == 0) {
        wcol_log_warn("no operator tokens in %s: the operator API will refuse everyone",
                      c->cfg.tokens_path);
    }
    return 0;
}

/* The fleet hears of a device only once its request is stored (an after-commit subscriber). */
static void fleet_on_report(void *ctx, const struct wcol_msg *m)
{
    const struct wcol_store_report *r = m->u.report.report;
    struct wcol_fleet_report fr = {
        .has_heartbeat = r->has_heartbeat,
        .interval_ms = r->interval_ms,
        .events_stored = m->u.report.stored,
    };

    wcol_copy_str(fr.boot_id, sizeof(fr.boot_id), r->boot_id != NULL ? r->boot_id : "");
    wcol_copy_str(fr.health, sizeof(fr.health), r->health != NULL ? r->health : "");
    wcol_fleet_heard(ctx, r->device, &fr, wcol_now_wall_ms(), wcol_now_mono());
}

static int open_store_and_fleet(struct wcol_collector *c)
{
    const struct wcol_collector_config *cfg = &c->cfg;
    struct wcol_store_sqlite_opts so = { .path = cfg->db_path,
                                         .busy_timeout_ms = cfg->busy_timeout_ms,
                                         .max_sensors = cfg->max_sensors };
    struct wcol_store_pg_opts po = { .conninfo = cfg->pg_conninfo,
                                     .max_sensors = cfg->max_sensors,
                                     .whole_days = wcol_retention_whole_days(c) };
    int rc = cfg->pg_conninfo != NULL ? wcol_store_pg_open(&c->store, &po)
                                      : wcol_store_sqlite_open(&c->store, &so);

    if (rc != 0) {
        return rc;
    }
    rc = wcol_fleet_init(&c->fleet, cfg->max_devices, cfg->silent_factor, cfg->default_interval_ms);
    if (rc == 0) {
        rc = wcol_fleet_load(&c->fleet, &c->store, c->start_mono);
    }
    if (rc != 0) {
        wcol_log_error("cannot load the fleet from %s",
                       cfg->pg_conninfo != NULL ? "PostgreSQL" : cfg->db_path);
        return rc;
    }
    wcol_group_init(&c->group, &c->store, &c->fleet, &c->bus, cfg->max_group);
    rc = wcol_bus_subscribe(&c->bus, WCOL_TOPIC_REPORT_RECEIVED, fleet_on_report, &c->fleet);
    rc = rc ?: wcol_metrics_subscribe(&c->metrics, &c->bus, cfg->max_devices);
    /* Incidents in incidents.db, or in the PostgreSQL database for every collector (the
     * leader's engine evaluates them), with the default rules unless --alerting names some. */
    if (rc == 0) {
        rc = wcol_incidents_open(&c->incidents, cfg->db_path, cfg->pg_conninfo, cfg->alerting_path,
                                 cfg->api_listen);
        rc = rc ?: wcol_incidents_subscribe(c->incidents, &c->bus);
    }
    /* History and inventory: in the PostgreSQL database with --storage postgresql:, else
     * SQLite files of their own in the state directory (docs/storage.md). */
    rc = rc
             ?: wcol_history_open(&c->history, &cfg->history, cfg->db_path, cfg->pg_conninfo,
                                  &c->bus, c->incidents);
    rc = rc
             ?: wcol_inventory_open(&c->inventory, cfg->db_path, cfg->pg_conninfo,
                                    cfg->min_agent_version);
    rc = rc ?: wcol_inventory_subscribe(c->inventory, &c->bus);
    if (rc == 0) {
        wcol_inventory_set_incidents(c->inventory, c->incidents); /* outdated agents */
    }
    rc = rc ?: wcol_streams_open(&c->streams, c);
    return rc ?: wcol_devices_attach(c);
}

static int open_listeners(struct wcol_collector *c)
{
    int rc;

    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (c->epfd < 0) {
        return -errno;
    }
    rc = open_signals(c);
    rc = rc ?: add_ep(c, c->sigfd, &c->ep_signal, EPOLLIN);
    if (rc != 0) {
        return rc;
    }
    if (c->cfg.loops > 1) {
        rc = wcol_loops_open(c); /* the device port is the loops' (server/worker.h) */
    } else {
        c->device_fd = open_listener(c->cfg.listen, c->device_addr, sizeof(c->device_addr), false);
        rc = c->device_fd < 0 ? c->device_fd
                              : add_ep(c, c->device_fd, &c->ep_device, EPOLLIN | EPOLLET);
    }
    if (rc != 0) {
        return rc;
    }
    c->api_fd = open_listener(c->cfg.api_listen, c->api_addr, sizeof(c->api_addr), false);
    if (c->api_fd < 0) {
        return c->api_fd;
    }
    return add_ep(c, c->api_fd, &c->ep_api, EPOLLIN | EPOLLET);
}

/* The state the collector keeps writing after the drop: give it to the user. */
static int give_state(const struct wcol_collector *c, uid_t uid, gid_t gid)
{
    static const char *const names[] = { "",
                                         "/ticket-keys",
                                         "/ports",
                                         "/lock",
                                         "/audit-checkpoints",
                                         "/audit-key.pem",
                                         "/audit-key.pub.pem" };
    char path[4200];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", c->cfg.state_dir, names[i]);
        if (lchown(path, uid, gid) != 0 && errno != ENOENT) {
            return -errno;
        }
    }
    /* The store's database, then the databases beside it: incidents.db (incidents/model.h),
     * history.db (history/hist.h), inventory.db and devices.db (devices/devices.h); each
     * with its WAL and shared-memory files. */
    static const char *const dbs[] = { NULL, "incidents.db", "history.db", "inventory.db",
                                       "devices.db" };
    static const char *const suffix[] = { "", "-wal", "-shm" };
    const char *slash = strrchr(c->cfg.db_path, '/');
    int dir = slash ? (int)(slash - c->cfg.db_path + 1) : 0;

    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        for (size_t k = 0; k < sizeof(suffix) / sizeof(suffix[0]); k++) {
            if (dbs[i] == NULL) {
                snprintf(path, sizeof(path), "%s%s", c->cfg.db_path, suffix[k]);
            } else {
                snprintf(path, sizeof(path), "%.*s%s%s", dir, c->cfg.db_path, dbs[i], suffix[k]);
            }
            if (lchown(path, uid, gid) != 0 && errno != ENOENT) {
                return -errno;
            }
        }
    }
    return 0;
}

/*
 * --user: the ports are bound and the database, keys and certificates are open; from here on
 * the collector needs no privilege. Every step is checked, and a collector that cannot drop
 * refuses to run rather than serve as root.
 */
static int drop_privileges(struct wcol_collector *c)
{
    const char *name = c->cfg.user;
    /* Once, at start-up, before the event loop: the collector is one thread. */
    // cppcheck-suppress getpwnamCalled
    const struct passwd *pw = getpwnam(name);

    if (pw == NULL) {
        wcol_log_error("--user %s: no such user", name);
        return -ENOENT;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    int rc = give_state(c, uid, gid);

    if (rc != 0) {
        wcol_log_error("--user %s: cannot give %s to it: %s", name, c->cfg.state_dir,
                       strerror(-rc));
        return rc;
    }
    if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        int err = errno;

        wcol_log_error("--user %s: cannot change to uid %u gid %u: %s (run as root, or drop "
                       "--user)",
                       name, (unsigned)uid, (unsigned)gid, strerror(err));
        return -err;
    }
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid ||
        (uid != 0 && setuid(0) == 0)) {
        wcol_log_error("--user %s: privileges were not dropped; refusing to run", name);
        return -EPERM;
    }
    wcol_log_info("running as %s (uid %u, gid %u)", name, (unsigned)uid, (unsigned)gid);
    for (int i = 0; i < 2; i++) {
        const char *f = i == 0 ? c->cfg.tls.crl : c->cfg.tokens_path;

        if (f != NULL && access(f, R_OK) != 0) {
            wcol_log_warn("--user %s cannot read %s: %s are not reloaded until it can (chown "
                          "it to %s)",
                          name, f, i == 0 ? "revocations" : "operator tokens", name);
        }
    }
    return 0;
}

int wcol_collector_open(struct wcol_collector *c, const struct wcol_collector_config *cfg)
{
    int rc;

    init_context(c, cfg);
    c->cfg.loops = wcol_loops_resolve(cfg->loops);
    rc = check_listen_specs(cfg);
    rc = rc ?: open_state(c);
    if (rc != 0) {
        return rc;
    }
    fit_fd_limit(c);
    rc = alloc_decoder(c);
    rc = rc ?: alloc_budgets(c);
    rc = rc ?: open_tls_and_tokens(c);
    rc = rc ?: wcol_state_lock(c); /* after the key checks, before the database and ports */
    rc = rc ?: open_store_and_fleet(c);
    rc = rc ?: wcol_cluster_open(&c->cluster, cfg->pg_conninfo);
    rc = rc ?: wcol_access_open(c); /* accounts and the audit log (auth/access.h) */
    rc = rc ?: open_listeners(c);
    if (rc != 0) {
        return rc;
    }
    if (cfg->user != NULL && (rc = drop_privileges(c)) != 0) {
        return rc;
    }
    rc = write_ports_file(c); /* last: it tells scripts the collector is ready */
    c->ports_written = rc == 0;
    if (rc != 0) {
        wcol_log_warn("cannot write %s/ports: %s", cfg->state_dir, strerror(-rc));
    }
    wcol_log_info("ward-collector %s: devices on %s (mutual TLS), operators on %s; %zu devices "
                  "known; storage %s (%s); ChaCha20 %s",
                  WCOL_COLLECTOR_VERSION, c->device_addr, c->api_addr, c->fleet.count,
                  c->store.ops->name, cfg->pg_conninfo != NULL ? "conninfo" : cfg->db_path,
                  ward_chacha20_impl());
    return 0;
}

/* ---- the loop ---- */

static void run_ready(struct wcol_collector *c)
{
    for (int round = 0; round < READY_ROUNDS && c->ready != NULL; round++) {
        struct wcol_conn *list = c->ready;

        c->ready = NULL;
        c->ready_tail = &c->ready;
        while (list != NULL) {
            struct wcol_conn *conn = list;

            list = conn->knext;
            conn->kicked = false;
            wcol_conn_event(conn, 0); /* a kick: no new readiness from the kernel */
        }
    }
}

static void free_dead(struct wcol_collector *c)
{
    /* A dead connection may still sit on the ready list: unlink it first. */
    struct wcol_conn **pp = &c->ready;

    c->ready_tail = &c->ready;
    while (*pp != NULL) {
        if ((*pp)->ep.type != WCOL_EP_CONN) {
            *pp = (*pp)->knext;
        } else {
            c->ready_tail = &(*pp)->knext;
            pp = &(*pp)->knext;
        }
    }
    while (c->dead != NULL) {
        struct wcol_conn *d = c->dead;

        c->dead = d->dnext;
        free(d);
    }
}

unsigned wcol_collector_drop_refused(struct wcol_collector *c)
{
    struct wcol_conn *next;
    unsigned n = 0;

    for (struct wcol_conn *conn = c->all; conn != NULL; conn = next) {
        next = conn->anext;
        if (conn->ep.type == WCOL_EP_CONN && conn->kind == WCOL_CONN_DEVICE &&
            conn->peer.ident.valid && wcol_tls_ident_refused(c->tls, &conn->peer.ident)) {
            wcol_log_warn("%s: device %s was revoked; closing its connection", conn->addr,
                          conn->peer.ident.cn);
            conn->doomed = true; /* a request waiting for the commit is answered first */
            wcol_conn_close(conn);
            n++;
        }
    }
    wcol_loops_recheck_refused(c); /* the device loops close theirs */
    return n;
}

void wcol_collector_reload(struct wcol_collector *c)
{
    unsigned before = c->tokens.n;

    c->reload = false;
    wcol_log_info("SIGHUP: reloading the configuration, the CRL and the operator tokens");
    for (unsigned i = 0; i < c->n_reload_hooks; i++) {
        if (c->reload_hooks[i].fn(c, c->reload_hooks[i].user) != 0) {
            wcol_log_error("SIGHUP: reload failed (see above); the running configuration, CRL "
                           "and tokens are kept");
            return;
        }
    }
    if (wcol_tls_reload_crl(c->tls, true) > 0) {
        (void)wcol_collector_drop_refused(c);
    }
    int n = wcol_tokens_load(&c->tokens, c->cfg.tokens_path);

    if (n >= 0) {
        wcol_log_info("operator tokens %s loaded: %d (before: %u)", c->cfg.tokens_path, n, before);
    }
}

static void periodic(struct wcol_collector *c, uint64_t now)
{
    wcol_cluster_tick(c, now); /* election, shared ticket keys, fleet read back */
    wcol_incidents_set_leader(c->incidents, wcol_cluster_is_leader(c->cluster));
    c->next_check = now + c->cfg.check_interval_ms;
    wcol_loops_fold(c);
    wcol_conn_warn_flush(c, now);
    wcol_conn_park_idle(c, now);
    if (wcol_cluster_may_judge_silence(c->cluster, now)) {
        wcol_fleet_check(&c->fleet, wcol_now_wall_ms(), now,
                         wcol_cluster_view_lag_ms(c->cluster, now));
    }
    wcol_access_tick(c, wcol_now_wall_ms());
    wcol_devices_tick(c, now); /* revocations made on other collectors (PostgreSQL) */
    wcol_streams_tick(c->streams, now);
    if (wcol_tls_reload_crl(c->tls, false) > 0) {
        (void)wcol_collector_drop_refused(c);
    }
    int rc = wcol_ticket_keys_maybe_rotate(&c->tls->tickets, (int64_t)time(NULL));

    if (rc < 0) {
        wcol_log_error("cannot rotate the session ticket key: %s", strerror(-rc));
    }
}

static void on_signal(struct wcol_collector *c)
{
    struct signalfd_siginfo si;

    while (read(c->sigfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            c->reload = true;
        } else if (!c->stopping) {
            wcol_log_info("signal %u: stopping", si.ssi_signo);
            c->stopping = true;
        }
    }
}

static int wait_timeout(struct wcol_collector *c, uint64_t now)
{
    uint64_t next = c->next_check;
    /* Retention and the PostgreSQL reconnects run on the main loop only: a device loop's
     * context copies the configuration but never advances the retention deadline, and waiting
     * for it there made every device loop spin (server/worker.h). */
    bool owner = c->loop == NULL;

    if (owner && wcol_retention_due(c) < next) {
        next = wcol_retention_due(c);
    }
    if (c->ready != NULL || c->stopping) {
        return 0;
    }
    /* A group left open (it waits for the interval, or a request joined it after the commit
     * point of this pass): epoll counts milliseconds, so the next one, at the latest. Only the
     * main loop commits. */
    if (owner && wcol_group_pending(&c->group)) {
        uint64_t due = c->last_commit_us + c->cfg.commit_interval_us;
        uint64_t now_us = wcol_now_us();

        uint64_t wake = due <= now_us ? now : now + (due - now_us + 999u) / 1000u;

        next = wake < next ? wake : next;
    }
    for (int tc = 0; tc < WCOL_TC_COUNT; tc++) {
        if (c->timers[tc].head != NULL && c->timers[tc].head->deadline < next) {
            next = c->timers[tc].head->deadline;
        }
    }
    uint64_t admit = wcol_conn_admit_due(c);

    /* Not sooner than 10 ms: the oldest handshake may be due but still have bytes to read. */
    admit = admit <= now ? now + 10 : admit;
    next = admit < next ? admit : next;
    int pg = owner ? wcol_pglink_due_in(now) : -1; /* a PostgreSQL connection made again */

    next = pg >= 0 && now + (uint64_t)pg < next ? now + (uint64_t)pg : next;
    return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

static void dispatch_event(struct wcol_collector *c, struct epoll_event *e)
{
    struct wcol_ep *ep = e->data.ptr;

    switch (ep->type) {
    case WCOL_EP_LISTEN_DEVICE:
        wcol_conn_accept(c, c->device_fd, WCOL_CONN_DEVICE);
        break;
    case WCOL_EP_LISTEN_API:
        wcol_conn_accept(c, c->api_fd, WCOL_CONN_API);
        break;
    case WCOL_EP_SIGNAL:
        on_signal(c);
        break;
    case WCOL_EP_LOOPS:
        wcol_loops_drain(c);
        break;
    case WCOL_EP_CONN:
        wcol_conn_event((struct wcol_conn *)ep, e->events);
        break;
    default: /* a connection closed earlier in this pass */
        break;
    }
}

/*
 * Commits the open group, unless the last commit began less than --commit-interval-us ago:
 * then the group waits (wait_timeout() wakes the loop for it) and takes what the next passes
 * complete. Each commit costs an fsync whatever it holds, 46-93 us of CPU here
 * (docs/benchmarks.md), so under load fewer, larger groups answer the same requests for less;
 * an idle collector's last commit is long past, and its request is committed at once. A full
 * group (--max-group) is committed where it fills, and a stopping collector commits now.
 */
void wcol_collector_commit(struct wcol_collector *c)
{
    c->last_commit_us = wcol_now_us();
    c->commit_waiting = false;
    wcol_group_commit(&c->group);
}

static void commit_when_due(struct wcol_collector *c)
{
    if (!wcol_group_pending(&c->group)) {
        c->commit_waiting = false;
        return;
    }
    if (c->stopping || wcol_now_us() - c->last_commit_us >= c->cfg.commit_interval_us) {
        wcol_collector_commit(c);
    } else {
        c->stats.commits_deferred += !c->commit_waiting;
        c->commit_waiting = true;
    }
}

/* One pass: wait, handle readiness, commit what completed, answer it, expire deadlines. */
static void pass(struct wcol_collector *c, struct epoll_event *evs)
{
    uint64_t now = wcol_now_mono();
    int n = epoll_wait(c->epfd, evs, EPOLL_BATCH, wait_timeout(c, now));

    for (int i = 0; i < n; i++) {
        dispatch_event(c, &evs[i]);
        if (wcol_group_full(&c->group)) {
            wcol_collector_commit(c);
        }
    }
    run_ready(c);
    now = wcol_now_mono();
    wcol_pglink_tick_all(now); /* lost PostgreSQL connections reconnect without waiting */
    if (now >= c->next_check) {
        periodic(c, now);
    }
    wcol_retention_tick(c, now); /* one time-bounded slice when due (server/retention.h) */
    if (c->reload) {
        wcol_collector_reload(c);
    }
    commit_when_due(c);
    run_ready(c);
    wcol_loops_flush(c); /* the acks of this pass's commit to the device loops */
    wcol_conn_expire(c, wcol_now_mono());
    wcol_conn_admit_waiting(c); /* handshakes ended or stalled in this pass: room for them */
    free_dead(c);
}

static void close_all(struct wcol_collector *c)
{
    struct wcol_conn *next;

    for (struct wcol_conn *conn = c->all; conn != NULL; conn = next) {
        next = conn->anext;
        wcol_conn_close(conn);
    }
    free_dead(c);
}

int wcol_collector_run(struct wcol_collector *c)
{
    struct epoll_event evs[EPOLL_BATCH];

    c->next_check = wcol_now_mono() + c->cfg.check_interval_ms;
    if (c->loops != NULL && wcol_loops_start(c) != 0) {
        c->stopping = true;
    }
    while (!c->stopping) {
        pass(c, evs);
    }
    /* Stop accepting, commit and answer what is staged, then close everyone. */
    if (c->device_fd >= 0) {
        close(c->device_fd);
    }
    close(c->api_fd);
    c->device_fd = c->api_fd = -1;
    wcol_conn_drop_waiting(c);
    wcol_loops_stop(c); /* their requests in flight committed and answered, threads joined */
    wcol_group_commit(&c->group);
    run_ready(c);
    close_all(c);
    wcol_state_remove_ports(c);
    wcol_log_info("stopped: %llu requests, %llu events stored, %llu duplicates",
                  (unsigned long long)c->stats.requests,
                  (unsigned long long)c->group.stats.events_stored,
                  (unsigned long long)c->group.stats.events_duplicate);
    return 0;
}

void wcol_collector_close(struct wcol_collector *c)
{
    wcol_loops_stop(c); /* a failed start: threads that did start */
    wcol_loops_free(c);
    wcol_access_close(c);
    wcol_cluster_close(c->cluster);
    c->cluster = NULL;
    if (c->store.ops != NULL) {
        c->store.ops->close(c->store.impl);
    }
    wcol_history_close(c->history); /* before the incidents: its pass may call them */
    c->history = NULL;
    wcol_inventory_close(c->inventory); /* before the incidents too: outdated agents raise them */
    c->inventory = NULL;
    wcol_incidents_close(c->incidents);
    c->incidents = NULL;
    wcol_devices_close(c->devices);
    c->devices = NULL;
    wcol_streams_close(c->streams);
    c->streams = NULL;
    wcol_fleet_free(&c->fleet);
    wcol_metrics_free(&c->metrics);
    if (c->tls != NULL) {
        wcol_tls_free(c->tls);
        free(c->tls);
        c->tls = NULL;
    }
    if (c->device_fd >= 0) {
        close(c->device_fd);
    }
    if (c->api_fd >= 0) {
        close(c->api_fd);
    }
    if (c->sigfd >= 0) {
        close(c->sigfd);
    }
    if (c->epfd >= 0) {
        close(c->epfd);
    }
    if (c->lock_fd >= 0) {
        close(c->lock_fd);
    }
    wcol_server_free_loop(c);
}

/* ---- for the device loops (server/worker.c) ---- */

int wcol_server_listen(const char *spec, char *bound, size_t bound_cap, bool reuseport)
{
    return open_listener(spec, bound, bound_cap, reuseport);
}

int wcol_server_alloc_loop(struct wcol_collector *c)
{
    int rc = alloc_decoder(c);

    return rc ?: alloc_budgets(c);
}

void wcol_server_free_loop(struct wcol_collector *c)
{
    free(c->scratch);
    free(c->batch.events);
    for (int k = 0; k < 2; k++) {
        wcol_srcmap_free(&c->unauth[k].srcs);
    }
}

int wcol_server_wait_timeout(struct wcol_collector *c, uint64_t now)
{
    return wait_timeout(c, now);
}

void wcol_server_run_ready(struct wcol_collector *c)
{
    run_ready(c);
}

void wcol_server_free_dead(struct wcol_collector *c)
{
    free_dead(c);
}

void wcol_server_close_all(struct wcol_collector *c)
{
    close_all(c);
}
