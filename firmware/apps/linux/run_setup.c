/*
 * ward-agent run, start-up: credentials, TLS, the HAL backend, the agent context, the
 * journal and the transport (see run.h). Start-up may use the heap (reading the rules and
 * the scenario); the loop that follows does not.
 */
#include "ward/base/config.h"

#if IS_ENABLED(CONFIG_WARD_TRANSPORT)

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/oid.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "clock.h"
#include "run.h"
#include "run_log.h"

#define INPUT_MAX (1024u * 1024u) /* rules and scenario files */

/* HOST:PORT or [V6]:PORT */
static int parse_collector(const char *arg, struct run *r)
{
    const char *colon = strrchr(arg, ':');
    const char *host = arg;
    size_t hlen;
    char *end;
    long port;

    if (colon == NULL) {
        return -EINVAL;
    }
    hlen = (size_t)(colon - arg);
    if (hlen >= 2 && arg[0] == '[' && arg[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    port = strtol(colon + 1, &end, 10);
    if (hlen == 0 || hlen >= sizeof(r->host) || *end != '\0' || port < 1 || port > 65535) {
        return -EINVAL;
    }
    memcpy(r->host, host, hlen);
    r->host[hlen] = '\0';
    r->port = (uint16_t)port;
    return 0;
}

static bool is_numeric_host(const char *h)
{
    return strspn(h, "0123456789.") == strlen(h) || strchr(h, ':') != NULL;
}

/* Read a whole small file into buf, NUL-terminated; *len counts the NUL (PEM wants it). */
int run_read_small(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 0;

    if (fd < 0) {
        return -errno;
    }
    for (;;) {
        ssize_t got = read(fd, buf + n, cap - 1 - n);

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            int e = -errno;

            close(fd);
            return e;
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
        if (n == cap - 1) {
            close(fd);
            return -EFBIG;
        }
    }
    close(fd);
    buf[n] = '\0';
    *len = n + 1;
    return 0;
}

/* A private key must not be readable by anyone else: refuse it, as ssh does. */
int run_check_key_mode(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        return -errno;
    }
    if ((st.st_mode & 077) != 0) {
        fprintf(stderr,
                "ward-agent: %s is accessible to group or others (mode %03o); run: chmod 600 "
                "'%s'\n",
                path, (unsigned)(st.st_mode & 0777), path);
        return -EPERM;
    }
    return 0;
}

static int load_creds(const struct opts *o, struct run *r, struct ward_tls_creds *c)
{
    const char *paths[3] = { o->ca, o->cert, o->key };
    uint8_t *bufs[3] = { r->pem_ca, r->pem_cert, r->pem_key };
    size_t lens[3];

    if (run_check_key_mode(o->key) == -EPERM) {
        return -EPERM;
    }
    for (int i = 0; i < 3; i++) {
        int rc = run_read_small(paths[i], bufs[i], RUN_PEM_MAX, &lens[i]);

        if (rc != 0) {
            fprintf(stderr, "ward-agent: cannot read %s: %s\n", paths[i], strerror(-rc));
            return rc;
        }
    }
    memset(c, 0, sizeof(*c));
    c->ca = r->pem_ca;
    c->ca_len = lens[0];
    c->cert = r->pem_cert;
    c->cert_len = lens[1];
    c->key = r->pem_key;
    c->key_len = lens[2];
    c->server_name = r->server_name;
    return 0;
}

/* The certificate's subject CN: the identity the collector checks the device id against. */
static int cert_cn(const mbedtls_x509_crt *crt, char *out, size_t len)
{
    for (const mbedtls_x509_name *n = &crt->subject; n != NULL; n = n->next) {
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 && n->val.len < len) {
            memcpy(out, n->val.p, n->val.len);
            out[n->val.len] = '\0';
            return 0;
        }
    }
    return -ENOENT;
}

static int read_input(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;

    if (f == NULL) {
        return -errno;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -EIO;
    }
    if ((unsigned long)n > INPUT_MAX) {
        fclose(f);
        return -EFBIG;
    }
    *text = malloc((size_t)n + 1); /* start-up only; freed before the loop */
    if (*text == NULL || fread(*text, 1, (size_t)n, f) != (size_t)n) {
        free(*text);
        fclose(f);
        return -EIO;
    }
    fclose(f);
    (*text)[n] = '\0';
    *len = (size_t)n;
    return 0;
}

#if IS_ENABLED(CONFIG_WARD_HAL_SIM)
static int setup_sim(const struct opts *o, struct run *r)
{
    char err[160] = "";
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (o->scenario == NULL) {
        fprintf(stderr, "ward-agent: the sim backend needs --scenario FILE "
                        "(a scenario document, docs/scenarios.md)\n");
        return -EINVAL;
    }
    rc = read_input(o->scenario, &text, &len);
    if (rc != 0) {
        fprintf(stderr, "ward-agent: cannot read scenario %s: %s\n", o->scenario, strerror(-rc));
        return rc;
    }
    rc = ward_sim_init(&r->sim, &r->hal, text, len, err, sizeof(err));
    free(text);
    if (rc != 0) {
        fprintf(stderr, "ward-agent: scenario %s: %s\n", o->scenario, err[0] ? err : strerror(-rc));
    }
    return rc;
}
#endif

#if IS_ENABLED(CONFIG_WARD_HAL_LINUX)
static int setup_linux(const struct opts *o, struct run *r)
{
    int rc = ward_linux_hal_init(&r->linux_hal, &r->hal, o->root);

    if (rc != 0) {
        fprintf(stderr, "ward-agent: cannot set up the Linux sensors under %s: %s\n",
                o->root != NULL ? o->root : "/", strerror(-rc));
        return rc;
    }
    (void)ward_linux_disk_attach(&r->hal, o->root);
    return 0;
}
#endif

static int setup_hal(const struct opts *o, struct run *r)
{
    int rc = 0;

    memset(&r->hal, 0, sizeof(r->hal));
#if IS_ENABLED(CONFIG_WARD_HAL_SIM)
    rc = setup_sim(o, r);
#else
    if (o->scenario != NULL) {
        fprintf(stderr, "ward-agent: --scenario needs the sim backend (this is %s)\n",
                WARD_BOARD_NAME);
        return -EINVAL;
    }
#endif
#if IS_ENABLED(CONFIG_WARD_HAL_LINUX)
    rc = rc != 0 ? rc : setup_linux(o, r);
#else
    if (o->root != NULL) {
        fprintf(stderr, "ward-agent: --root needs a board with the Linux sensor backend\n");
        return -EINVAL;
    }
#endif
    return rc;
}

static int load_rules(const char *path, struct run *r, int64_t now)
{
    struct ward_rules_error err;
    char *text = NULL;
    size_t len = 0;
    int rc = read_input(path, &text, &len);

    if (rc != 0) {
        fprintf(stderr, "ward-agent: cannot read rules %s: %s\n", path, strerror(-rc));
        return rc;
    }
    memset(&err, 0, sizeof(err));
    rc = ward_agent_load_rules(&r->agent, text, len, &err, now);
    free(text);
    if (rc < 0) { /* err.msg starts with its own "line N: " */
        fprintf(stderr, "ward-agent: rules %s: %s\n", path, err.msg);
    }
    return rc;
}

static int setup_agent(const struct opts *o, struct run *r, const char *device_id, int64_t now)
{
    struct ward_agent_config cfg;
    uint8_t boot_id[WARD_BOOT_ID_LEN];
    int rc;

    if (getrandom(boot_id, sizeof(boot_id), 0) != (ssize_t)sizeof(boot_id)) {
        fprintf(stderr, "ward-agent: cannot draw a boot id from getrandom: %s\n", strerror(errno));
        return -EIO;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.device_id = device_id;
    cfg.boot_id = boot_id;
    cfg.seed = ward_backoff_seed(device_id, (uint32_t)strlen(device_id));
    cfg.hal = &r->hal;
    if (!r->pull_only) {
        cfg.hooks.heartbeat = ward_uplink_on_heartbeat;
        cfg.hooks.user = &r->up;
    }
#if IS_ENABLED(CONFIG_WARD_NMS_PROM)
    if (o->metrics != NULL || o->agentx != NULL) { /* /metrics, /health, WARD-MIB's disks */
        cfg.hooks.observe = ward_nms_cache_observe;
        cfg.hooks.observe_user = &r->metrics.cache;
    }
#endif
    rc = ward_agent_init(&r->agent, &cfg, now);
    if (rc != 0) {
        fprintf(stderr, "ward-agent: device id '%s' is not usable (1..%d characters)\n", device_id,
                WARD_DEVICE_ID_MAX - 1);
        return rc;
    }
    ward_agent_set_wall_clock(&r->agent, now, app_wall_ms());
    if (o->rules != NULL && (rc = load_rules(o->rules, r, now)) < 0) {
        return rc;
    }
    return ward_json_arena_init(&r->arena, r->arena_mem, sizeof(r->arena_mem));
}

static int setup_journal(const struct opts *o, struct run *r)
{
    int rc = ward_store_posix_open(&r->store, o->state_dir);

    if (rc == -EBUSY) {
        fprintf(stderr, "ward-agent: state directory %s is in use by another ward-agent\n",
                o->state_dir);
        return rc;
    }
    if (rc != 0) {
        fprintf(stderr, "ward-agent: cannot open the journal in %s: %s\n", o->state_dir,
                strerror(-rc));
        return rc;
    }
    rc = ward_journal_open(&r->journal, ward_store_posix(&r->store), r->idx,
                           WARD_JOURNAL_MAX_RECORDS, WARD_JOURNAL_MAX_BYTES);
    if (rc != 0) {
        fprintf(stderr, "ward-agent: cannot recover the journal in %s: %s\n", o->state_dir,
                strerror(-rc));
        return rc;
    }
    return ward_outbox_init(&r->outbox, &r->journal);
}

/* ---- transport ---- */

static int setup_transport(struct run *r, const char *device_id)
{
    struct ward_transport_config cfg;
    int rc;

    ward_transport_config_defaults(&cfg);
    cfg.host = r->host;
    cfg.port = r->port;
    cfg.seed = ward_backoff_seed(device_id, (uint32_t)strlen(device_id)) ^ 0x7472616e73706f72ull;
    rc = ward_transport_init(&r->tp, &cfg, &r->net, ward_tls_chan(&r->tls), r->tx, sizeof(r->tx),
                             r->rx, sizeof(r->rx));
    if (rc != 0) {
        fprintf(stderr, "ward-agent: collector address '%s' is not usable\n", r->host);
        return rc;
    }
    r->tp.on_link = run_log_link;
    r->tp.user = r;
    return 0;
}

static int setup_uplink(struct run *r, int64_t now)
{
    const struct ward_uplink_parts parts = { &r->agent, &r->outbox, &r->tp, &r->arena };
    int rc = ward_uplink_init(&r->up, NULL, &parts, now);

    if (rc != 0) {
        fprintf(stderr, "ward-agent: cannot start the reporting loop: %s\n", strerror(-rc));
        return rc;
    }
    r->up.on_fault = run_log_fault;
    r->up.on_ack = run_drill_on_ack;
    r->up.user = r;
    return 0;
}

static int setup_tls(const struct opts *o, struct run *r, const char **device_id)
{
    static char cn[WARD_DEVICE_ID_MAX];
    struct ward_tls_creds creds;
    int rc = load_creds(o, r, &creds);

    if (rc != 0) {
        return rc;
    }
    rc = ward_tls_init(&r->tls, &creds, &r->net, "ward-agent");
    if (rc == -EBADMSG) {
        fprintf(stderr,
                "ward-agent: %s, %s or %s does not parse, or the key is not ECDSA P-256, or it "
                "does not match the certificate\n",
                o->ca, o->cert, o->key);
        return rc;
    }
    if (rc != 0) {
        fprintf(stderr, "ward-agent: cannot set up TLS: %s (pool of %u bytes)\n", strerror(-rc),
                (unsigned)sizeof(r->pool_mem));
        return rc;
    }
    if (cert_cn(&r->tls.cert, cn, sizeof(cn)) != 0) {
        fprintf(stderr, "ward-agent: %s has no subject CN (the device id)\n", o->cert);
        return -EINVAL;
    }
    if (*device_id == NULL) {
        *device_id = cn;
    } else if (strcmp(*device_id, cn) != 0) {
        fprintf(stderr,
                "ward-agent: --device-id %s does not match the certificate's CN %s (%s); the "
                "collector would refuse it\n",
                *device_id, cn, o->cert);
        return -EINVAL;
    }
    return 0;
}

/* --collector and --server-name: where to connect and the name its certificate must hold. */
static int setup_collector(const struct opts *o, struct run *r)
{
    if (parse_collector(o->collector, r) != 0) {
        fprintf(stderr, "ward-agent: --collector wants HOST:PORT or [ADDRESS]:PORT, not '%s'\n",
                o->collector);
        return -EINVAL;
    }
    if (o->server_name == NULL && is_numeric_host(r->host)) {
        fprintf(stderr,
                "ward-agent: --collector %s is an address; give the name its certificate holds "
                "with --server-name (e.g. localhost)\n",
                r->host);
        return -EINVAL;
    }
    snprintf(r->server_name, sizeof(r->server_name), "%s",
             o->server_name != NULL ? o->server_name : r->host);
    return 0;
}

/* mbedTLS on its static pool and the device's credentials (also for --metrics-tls alone). */
static int setup_tls_pool(const struct opts *o, struct run *r, const char **device_id)
{
    int rc;

    /* Certificate checks call gmtime_r(), which reads the time zone (with malloc) once. */
    tzset();
    if (ward_mempool_init(&r->pool, r->pool_mem, sizeof(r->pool_mem)) != 0 ||
        ward_mempool_install_mbedtls(&r->pool) != 0) {
        fprintf(stderr, "ward-agent: cannot route mbedTLS to its static pool\n");
        return -EIO;
    }
    ward_net_posix_init(&r->np);
    r->net = ward_net_posix(&r->np);
    if ((rc = setup_tls(o, r, device_id)) != 0) {
        return rc;
    }
#if IS_ENABLED(CONFIG_WARD_NMS_PROM)
    if (o->metrics_tls && (rc = run_metrics_tls_attach(&r->metrics, &r->tls)) != 0) {
        return rc;
    }
#endif
    return 0;
}

/*
 * No --collector: a pull-only agent (a BMC nobody pushes from). No TLS uplink and no journal:
 * its events are the state changes /metrics and SNMP expose, freed once recorded (nobody
 * will acknowledge them). The device id is --device-id, else the certificate's CN
 * (--metrics-tls), else the host name.
 */
static int startup_pull_only(const struct opts *o, struct run *r, int64_t now)
{
    static char host[WARD_DEVICE_ID_MAX];
    const char *device_id = o->device_id;
    int rc;

    r->pull_only = true;
    /* The TLS client is set up with the credentials but never connects: a name, not a host. */
    snprintf(r->server_name, sizeof(r->server_name), "%s", "pull-only.invalid");
    if (o->metrics_tls && (rc = setup_tls_pool(o, r, &device_id)) != 0) {
        return rc; /* the device id is then the certificate's CN */
    }
    if (o->metrics_tls) {
        /* Never connects: give the client's record buffers back to the pool for the listener. */
        mbedtls_ssl_free(&r->tls.ssl);
        mbedtls_ssl_init(&r->tls.ssl);
    }
    if (device_id == NULL) {
        if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
            snprintf(host, sizeof(host), "%s", WARD_DEVICE_ID_DEFAULT);
        }
        device_id = host;
    }
    if ((rc = setup_hal(o, r)) != 0 || (rc = setup_agent(o, r, device_id, now)) != 0) {
        return rc;
    }
    fprintf(stderr, "ward-agent: %s (board %s) pull-only (no --collector) as %s\n", WARD_BOARD_NAME,
            WARD_ARCH, device_id);
    return 0;
}

static int startup_endpoints(const struct opts *o, struct run *r)
{
#if IS_ENABLED(CONFIG_WARD_NMS_PROM)
    run_metrics_init(&r->metrics);
    return run_metrics_start(&r->metrics, o);
#else
    if (o->metrics != NULL) {
        fprintf(stderr, "ward-agent: --metrics needs CONFIG_WARD_NMS_PROM (this is %s)\n",
                WARD_BOARD_NAME);
        return -ENOTSUP;
    }
    (void)r;
    return 0;
#endif
}

int run_startup(const struct opts *o, struct run *r, int64_t now)
{
    const char *device_id = o->device_id;
    int restored;
    int rc;

    log_repeat_init(&r->log, stderr, RUN_LOG_REPEAT_WINDOW_MS);
    r->store.fd = -1;
    r->store.dirfd = -1;
    /* First: a listener the rules refuse stops start-up before anything else is said. */
    if ((rc = startup_endpoints(o, r)) != 0) {
        return rc;
    }
    if (o->collector == NULL) {
        ward_net_posix_init(&r->np);
        return startup_pull_only(o, r, now);
    }
    if ((rc = setup_collector(o, r)) != 0) {
        return rc;
    }
    if ((rc = setup_tls_pool(o, r, &device_id)) != 0 || (rc = setup_hal(o, r)) != 0 ||
        (rc = setup_agent(o, r, device_id, now)) != 0 || (rc = setup_journal(o, r)) != 0 ||
        (rc = setup_transport(r, device_id)) != 0 || (rc = setup_uplink(r, now)) != 0) {
        return rc;
    }
    run_certwatch_init(r, o->cert, o->key, now);
    r->drill.dir = o->drill_dir != NULL ? o->drill_dir : WARD_DRILL_DIR_DEFAULT;
    r->drill.off = o->no_drills;
    r->drill.speed = o->drill_speed > 0 ? o->drill_speed : 1;
    if (r->drill.speed > 100) {
        fprintf(stderr, "ward-agent: --drill-speed must be 1..100\n");
        return -EINVAL;
    }
    restored = ward_outbox_restore(&r->outbox, &r->agent);
    if (restored < 0) {
        fprintf(stderr, "ward-agent: cannot read the journal in %s\n", o->state_dir);
        return restored;
    }
    run_log_journal_recovery(o, r, restored);
    run_log_banner_level();
    fprintf(stderr, "ward-agent: board %s (%s) reporting to %s:%u as %s, state in %s\n",
            WARD_BOARD_NAME, WARD_ARCH, r->host, r->port, device_id, o->state_dir);
    return 0;
}

void run_step(struct run *r, int64_t now)
{
    if (!r->pull_only) {
        run_certwatch_step(r, now);
        ward_uplink_step(&r->up, now);
        return;
    }
    (void)ward_agent_poll(&r->agent, now);
    if (r->agent.log.next_seq > 1) {
        (void)ward_evlog_ack(&r->agent.log, r->agent.boot_id, r->agent.log.next_seq - 1);
    }
}

int64_t run_next_wake(const struct run *r, int64_t now)
{
    int64_t wake =
        r->pull_only ? ward_sched_next_due(&r->agent.sched) : ward_uplink_next_wake(&r->up, now);
#if IS_ENABLED(CONFIG_WARD_NMS_PROM)
    int64_t m = run_metrics_next_wake(&r->metrics);

    wake = m < wake ? m : wake;
#endif
    return wake;
}

#endif /* CONFIG_WARD_TRANSPORT */

const struct ward_nms_cache *run_reading_cache(const struct run *r)
{
#if IS_ENABLED(CONFIG_WARD_NMS_PROM)
    return &r->metrics.cache;
#else
    (void)r;
    return NULL; /* the cache lives beside the metrics listener */
#endif
}
