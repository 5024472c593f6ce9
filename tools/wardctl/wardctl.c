/*
 * wardctl: the operator's view of the fleet, over the collector's operator API (TLS, the
 * collector's certificate verified against the ward CA, a bearer token).
 *
 *   wardctl [OPTIONS] devices | device ID | events [FILTERS] | health | watch [--for S]
 *
 * Every command takes --json and then prints the collector's documents unchanged (watch:
 * one JSON line per refresh). Errors are one line on stderr and exit status 1; usage errors
 * exit 2.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/asn1.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "table.h"

#define RESPONSE_MAX    (32u * 1024u * 1024u)
#define HEAD_MAX        8192u
#define WATCH_EVENTS    12
#define DEFAULT_URL     "https://localhost:8444"
#define DEFAULT_TIMEOUT 10000

static const char s_usage[] =
    "usage: wardctl [OPTIONS] COMMAND\n"
    "\n"
    "commands:\n"
    "  devices                    every device: state, health, last heartbeat\n"
    "  device ID                  one device: heartbeat, sensors, recent events\n"
    "  events [--device ID] [--since ID] [--severity low|medium|high] [--limit N]\n"
    "                             events, oldest first (without --since: the latest N)\n"
    "  health                     the collector's own health\n"
    "  watch [--interval S] [--for S]\n"
    "                             live fleet table until Ctrl-C (or for S seconds)\n"
    "\n"
    "options:\n"
    "  --url URL          operator API (default $WARDCTL_URL, else " DEFAULT_URL ")\n"
    "  --ca FILE          CA that signed the collector (default $WARDCTL_CA, else PKI/ca.crt)\n"
    "  --token-file FILE  bearer token (default $WARDCTL_TOKEN_FILE, else the one token in\n"
    "                     PKI/tokens/)\n"
    "  --pki DIR          a ward-pki directory (default $WARD_PKI_DIR, else var/pki)\n"
    "  --json             machine-readable output\n"
    "  --timeout S        network timeout in seconds (default 10)\n";

struct opts {
    const char *url;
    const char *ca;
    const char *token_file;
    const char *pki;
    bool json;
    int timeout_ms;
    /* command options */
    const char *device;
    const char *since;
    const char *severity;
    const char *limit;
    double interval_s;
    double for_s;
};

struct client {
    char host[300];
    char port[8];
    int fd;
    bool up;
    int timeout_ms;
    char token[600];
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    char err[1024]; /* why the last request failed */
    uint8_t ip[16]; /* the URL's host when it is an address literal */
    size_t ip_len;  /* 4 or 16; 0 for a name */
};

static volatile sig_atomic_t s_stop;

static void on_stop(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void die_usage(const char *msg)
{
    fprintf(stderr, "wardctl: %s (run 'wardctl --help')\n", msg);
    exit(2);
}

/* ---- configuration ---- */

static int read_token(const char *path, char *out, size_t cap)
{
    struct stat st;
    FILE *f = fopen(path, "re");

    if (f == NULL) {
        fprintf(stderr, "wardctl: cannot read token file %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
        fprintf(stderr,
                "wardctl: token file %s is accessible to group or others; run: chmod 600 %s\n",
                path, path);
        fclose(f);
        return -1;
    }
    if (fgets(out, (int)cap, f) == NULL) {
        fprintf(stderr, "wardctl: token file %s is empty\n", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    for (char *p = out; *p; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            fprintf(stderr, "wardctl: token file %s holds more than one word\n", path);
            return -1;
        }
    }
    return out[0] != '\0' ? 0 : -1;
}

/* The only *.token file in PKI/tokens, when there is exactly one. */
static int find_token_file(const char *pki, char *out, size_t cap)
{
    char dir[4096];
    struct dirent *e;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/tokens", pki);
    DIR *d = opendir(dir);

    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);

        if (l > 6 && strcmp(e->d_name + l - 6, ".token") == 0 && n++ == 0 &&
            snprintf(out, cap, "%s/%s", dir, e->d_name) >= (int)cap) {
            n = 2; /* path too long: refuse rather than read another file */
        }
    }
    closedir(d);
    return n == 1 ? 0 : -1;
}

static int parse_url(const char *url, struct client *c)
{
    const char *hp;

    if (strncmp(url, "https://", 8) != 0) {
        fprintf(stderr, "wardctl: --url must start with https:// (got '%s')\n", url);
        return -1;
    }
    hp = url + 8;
    size_t len = strcspn(hp, "/");
    char buf[300];

    if (len == 0 || len >= sizeof(buf)) {
        fprintf(stderr, "wardctl: bad --url '%s'\n", url);
        return -1;
    }
    memcpy(buf, hp, len);
    buf[len] = '\0';
    char *colon = strrchr(buf, ':');

    if (buf[0] == '[') {
        char *close = strchr(buf, ']');

        if (close == NULL) {
            fprintf(stderr, "wardctl: bad --url '%s'\n", url);
            return -1;
        }
        *close = '\0';
        snprintf(c->host, sizeof(c->host), "%s", buf + 1);
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        if (colon != NULL) {
            *colon = '\0';
        }
        snprintf(c->host, sizeof(c->host), "%s", buf);
    }
    snprintf(c->port, sizeof(c->port), "%s", colon != NULL ? colon + 1 : "443");
    if (inet_pton(AF_INET, c->host, c->ip) == 1) {
        c->ip_len = 4;
    } else if (inet_pton(AF_INET6, c->host, c->ip) == 1) {
        c->ip_len = 16;
    }
    return 0;
}

/* ---- the TLS client ---- */

static int io_wait(struct client *c, short ev)
{
    struct pollfd p = { .fd = c->fd, .events = ev };
    int rc = poll(&p, 1, c->timeout_ms);

    if (rc == 0) {
        snprintf(c->err, sizeof(c->err), "timed out after %d ms", c->timeout_ms);
        return -1;
    }
    if (rc < 0) {
        snprintf(c->err, sizeof(c->err), "%s", s_stop ? "interrupted" : strerror(errno));
        return -1;
    }
    return 0;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct client *c = ctx;
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

    if (n >= 0) {
        return (int)n;
    }
    return errno == EAGAIN || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE
                                             : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct client *c = ctx;
    ssize_t n = recv(c->fd, buf, len, 0);

    if (n >= 0) {
        return (int)n;
    }
    return errno == EAGAIN || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ
                                             : MBEDTLS_ERR_NET_RECV_FAILED;
}

static const char *tls_err(int rc)
{
    static char buf[160];

    mbedtls_strerror(rc, buf, sizeof(buf));
    return buf;
}

/*
 * mbedTLS 2.28 matches the server name against dNSName entries and the CN only. For a URL
 * with an address literal, check the certificate's iPAddress entries ourselves (ward-pki
 * puts 127.0.0.1 and ::1 there).
 */
static int verify_ip_san(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    const struct client *c = ctx;

    if (depth != 0 || c->ip_len == 0) {
        return 0;
    }
    for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san != NULL; san = san->next) {
        if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && san->buf.len == c->ip_len &&
            memcmp(san->buf.p, c->ip, c->ip_len) == 0) {
            return 0;
        }
    }
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

static int client_init(struct client *c, const char *ca, const char *token_file)
{
    static const char pers[] = "wardctl";
    int rc;

    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_ssl_init(&c->ssl);
    c->fd = -1;
    if (read_token(token_file, c->token, sizeof(c->token)) != 0) {
        return -1;
    }
    if (psa_crypto_init() != PSA_SUCCESS) { /* TLS 1.3 runs on PSA Crypto */
        fprintf(stderr, "wardctl: cannot initialise PSA Crypto (is /dev/urandom readable?)\n");
        return -1;
    }
    rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                               (const unsigned char *)pers, sizeof(pers) - 1);
    if (rc == 0 && (rc = mbedtls_x509_crt_parse_file(&c->ca, ca)) != 0) {
        fprintf(stderr, "wardctl: cannot load CA certificate %s: %s\n", ca, tls_err(rc));
        return -1;
    }
    rc = rc
             ?: mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
                                            MBEDTLS_SSL_TRANSPORT_STREAM,
                                            MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) {
        fprintf(stderr, "wardctl: TLS setup failed: %s\n", tls_err(rc));
        return -1;
    }
    mbedtls_ssl_conf_min_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    mbedtls_ssl_conf_verify(&c->conf, verify_ip_san, c);
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    return 0;
}

static void client_drop(struct client *c)
{
    if (c->fd >= 0) {
        if (c->up) {
            (void)mbedtls_ssl_close_notify(&c->ssl);
        }
        close(c->fd);
    }
    c->fd = -1;
    c->up = false;
    mbedtls_ssl_free(&c->ssl);
    mbedtls_ssl_init(&c->ssl);
}

static int tcp_connect(struct client *c)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    int rc = getaddrinfo(c->host, c->port, &hints, &res);

    if (rc != 0) {
        snprintf(c->err, sizeof(c->err), "cannot resolve %s: %s", c->host, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0) {
            continue;
        }
        if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            (errno == EINPROGRESS && io_wait(c, POLLOUT) == 0)) {
            int err = 0;
            socklen_t el = sizeof(err);

            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err == 0) {
                freeaddrinfo(res);
                return 0;
            }
            snprintf(c->err, sizeof(c->err), "cannot connect to %s:%s: %s", c->host, c->port,
                     strerror(err));
        } else if (c->err[0] == '\0' || errno != EINPROGRESS) {
            snprintf(c->err, sizeof(c->err), "cannot connect to %s:%s: %s", c->host, c->port,
                     strerror(errno));
        }
        close(c->fd);
        c->fd = -1;
    }
    freeaddrinfo(res);
    return -1;
}

/* Drive an mbedTLS operation to completion, waiting for the socket within the timeout. */
static int tls_wait(struct client *c, int rc)
{
    if (rc == MBEDTLS_ERR_SSL_WANT_READ) {
        return io_wait(c, POLLIN);
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        return io_wait(c, POLLOUT);
    }
    return -1;
}

static int client_connect(struct client *c)
{
    int rc;

    c->err[0] = '\0';
    if (tcp_connect(c) != 0) {
        return -1;
    }
    if ((rc = mbedtls_ssl_setup(&c->ssl, &c->conf)) != 0 ||
        (rc = mbedtls_ssl_set_hostname(&c->ssl, c->ip_len ? NULL : c->host)) != 0) {
        snprintf(c->err, sizeof(c->err), "TLS setup: %s", tls_err(rc));
        client_drop(c);
        return -1;
    }
    mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
    while ((rc = mbedtls_ssl_handshake(&c->ssl)) != 0) {
        if (tls_wait(c, rc) != 0) {
            if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
                char info[200];

                mbedtls_x509_crt_verify_info(info, sizeof(info), "",
                                             mbedtls_ssl_get_verify_result(&c->ssl));
                info[strcspn(info, "\n")] = '\0';
                snprintf(c->err, sizeof(c->err), "the collector's certificate is not trusted: %s",
                         info);
            } else if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
                snprintf(c->err, sizeof(c->err), "TLS handshake with %s:%s failed: %s", c->host,
                         c->port, tls_err(rc));
            }
            client_drop(c);
            return -1;
        }
    }
    c->up = true;
    return 0;
}

static int write_all(struct client *c, const char *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        int n = mbedtls_ssl_write(&c->ssl, (const unsigned char *)buf + off, len - off);

        if (n > 0) {
            off += (size_t)n;
        } else if (tls_wait(c, n) != 0) {
            if (c->err[0] == '\0') {
                snprintf(c->err, sizeof(c->err), "write failed: %s", tls_err(n));
            }
            return -1;
        }
    }
    return 0;
}

/* Read until at least `want` bytes are buffered. @return 0, -1 (c->err set). */
static int fill(struct client *c, char **buf, size_t *len, size_t *cap, size_t want)
{
    while (*len < want) {
        if (*cap < want) {
            size_t ncap = want < 16384 ? 16384 : want;
            char *n = realloc(*buf, ncap + 1);

            if (n == NULL) {
                snprintf(c->err, sizeof(c->err), "out of memory");
                return -1;
            }
            *buf = n;
            *cap = ncap;
        }
        int n = mbedtls_ssl_read(&c->ssl, (unsigned char *)*buf + *len, *cap - *len);

        if (n > 0) {
            *len += (size_t)n;
        } else if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            snprintf(c->err, sizeof(c->err), "the collector closed the connection");
            return -1;
        } else if (tls_wait(c, n) != 0) {
            if (c->err[0] == '\0') {
                snprintf(c->err, sizeof(c->err), "read failed: %s", tls_err(n));
            }
            return -1;
        }
    }
    return 0;
}

/* One GET. @return the HTTP status (>0) with *body (malloc'd, NUL-terminated), or -1. */
static int request_once(struct client *c, const char *path, char **body, size_t *body_len)
{
    char req[1024];
    char *buf = NULL;
    size_t len = 0, cap = 0, head = 0, clen = 0;
    int status = 0;
    bool close_after = false;
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                     "Accept: application/json\r\n\r\n",
                     path, c->host, c->token);

    c->err[0] = '\0';
    if (n >= (int)sizeof(req) || write_all(c, req, (size_t)n) != 0) {
        return -1;
    }
    /* The head: grow until CRLF CRLF. */
    while (head == 0) {
        if (fill(c, &buf, &len, &cap, len + 1) != 0) {
            free(buf);
            return -1;
        }
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");

        if (end != NULL) {
            head = (size_t)(end - buf) + 4;
        } else if (len > HEAD_MAX) {
            snprintf(c->err, sizeof(c->err), "response head too large");
            free(buf);
            return -1;
        }
    }
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1) {
        snprintf(c->err, sizeof(c->err), "not an HTTP/1.1 response");
        free(buf);
        return -1;
    }
    for (char *line = strstr(buf, "\r\n") + 2; line < buf + head - 2;
         line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Content-Length:", 15) == 0) {
            clen = strtoul(line + 15, NULL, 10);
        } else if (strncasecmp(line, "Connection:", 11) == 0 && strstr(line, "close") != NULL) {
            close_after = true;
        }
    }
    if (clen > RESPONSE_MAX || fill(c, &buf, &len, &cap, head + clen) != 0) {
        if (clen > RESPONSE_MAX) {
            snprintf(c->err, sizeof(c->err), "response too large");
        }
        free(buf);
        return -1;
    }
    memmove(buf, buf + head, clen);
    buf[clen] = '\0';
    *body = buf;
    *body_len = clen;
    if (close_after) {
        client_drop(c);
    }
    return status;
}

/* GET with one reconnect: a kept-alive connection may have been closed by the collector. */
static int client_get(struct client *c, const char *path, char **body, size_t *len)
{
    for (int attempt = 0; attempt < 2 && !s_stop; attempt++) {
        bool reused = c->up;

        if (!c->up && client_connect(c) != 0) {
            return -1;
        }
        int status = request_once(c, path, body, len);

        if (status > 0) {
            return status;
        }
        client_drop(c);
        if (!reused) {
            break;
        }
    }
    return -1;
}

/* ---- formatting ---- */

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jnum(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!cJSON_IsNumber(v)) {
        return false;
    }
    *out = v->valuedouble;
    return true;
}

static void fmt_age(double ms, char *out, size_t cap)
{
    double s = ms / 1000.0;

    if (s < 0) {
        snprintf(out, cap, "-");
    } else if (s < 120) {
        snprintf(out, cap, "%.0fs ago", s);
    } else if (s < 7200) {
        snprintf(out, cap, "%.0fm ago", s / 60);
    } else if (s < 172800) {
        snprintf(out, cap, "%.0fh ago", s / 3600);
    } else {
        snprintf(out, cap, "%.0fd ago", s / 86400);
    }
}

static void fmt_duration(double ms, char *out, size_t cap)
{
    if (ms >= 3600000 && (long long)ms % 3600000 == 0) {
        snprintf(out, cap, "%.0fh", ms / 3600000);
    } else if (ms >= 60000 && (long long)ms % 60000 == 0) {
        snprintf(out, cap, "%.0fm", ms / 60000);
    } else if (ms >= 1000) {
        snprintf(out, cap, "%.0fs", ms / 1000);
    } else {
        snprintf(out, cap, "%.0fms", ms);
    }
}

static void fmt_time(double ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0) {
        snprintf(out, cap, "-");
        return;
    }
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static void print_devices(const cJSON *doc, FILE *out)
{
    static const char *const head[] = { "DEVICE",   "STATE", "HEALTH", "LAST HEARTBEAT",
                                        "INTERVAL", "BOOT",  NULL };
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(doc, "devices");
    const cJSON *d;
    struct ward_table t;
    double up = 0, silent = 0, count = 0;

    ward_table_init(&t, head);
    cJSON_ArrayForEach(d, devs)
    {
        char age[32] = "never", interval[32] = "-", boot[16] = "";
        double v;

        if (jnum(d, "heartbeat_age_ms", &v)) {
            fmt_age(v, age, sizeof(age));
        }
        if (jnum(d, "interval_ms", &v)) {
            fmt_duration(v, interval, sizeof(interval));
        }
        snprintf(boot, sizeof(boot), "%.8s", jstr(d, "boot_id") ? jstr(d, "boot_id") : "");
        const char *row[] = { jstr(d, "id"), jstr(d, "state"), jstr(d, "health"),
                              age,           interval,         boot };

        ward_table_row(&t, row);
    }
    ward_table_print(&t, out);
    ward_table_free(&t);
    jnum(doc, "count", &count);
    jnum(doc, "up", &up);
    jnum(doc, "silent", &silent);
    fprintf(out, "%.0f devices: %.0f up, %.0f silent\n", count, up, silent);
}

static void event_change(const cJSON *e, char *out, size_t cap)
{
    snprintf(out, cap, "%s -> %s", jstr(e, "from") ? jstr(e, "from") : "?",
             jstr(e, "to") ? jstr(e, "to") : "?");
}

static void print_events_table(const cJSON *events, FILE *out, bool with_device)
{
    static const char *const head_dev[] = { "ID",     "TIME",     "DEVICE", "SENSOR",
                                            "CHANGE", "SEVERITY", "VALUE",  NULL };
    static const char *const head_one[] = { "ID",       "TIME",  "SENSOR", "CHANGE",
                                            "SEVERITY", "VALUE", NULL };
    const cJSON *e;
    struct ward_table t;

    ward_table_init(&t, with_device ? head_dev : head_one);
    cJSON_ArrayForEach(e, events)
    {
        char id[24] = "", when[32] = "", change[48], value[32] = "";
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(e, "event");
        double v;

        if (jnum(e, "id", &v)) {
            snprintf(id, sizeof(id), "%.0f", v);
        }
        if (!jnum(e, "time_ms", &v) || v <= 0) {
            jnum(e, "received_ms", &v);
        }
        fmt_time(v, when, sizeof(when));
        event_change(e, change, sizeof(change));
        if (jnum(ev, "value", &v)) {
            snprintf(value, sizeof(value), "%.0f", v);
        }
        const char *row_dev[] = {
            id, when, jstr(e, "device"), jstr(e, "sensor"), change, jstr(e, "severity"), value
        };
        const char *row_one[] = { id, when, jstr(e, "sensor"), change, jstr(e, "severity"), value };

        ward_table_row(&t, with_device ? row_dev : row_one);
    }
    ward_table_print(&t, out);
    ward_table_free(&t);
}

static void print_device(const cJSON *d, FILE *out)
{
    const cJSON *hb = cJSON_GetObjectItemCaseSensitive(d, "heartbeat");
    const cJSON *snap = cJSON_GetObjectItemCaseSensitive(d, "snapshot");
    char buf[64], since[96], iv[32] = "-", silent[32] = "-";
    double v;

    fprintf(out, "device:          %s\n", jstr(d, "id") ? jstr(d, "id") : "?");
    since[0] = '\0';
    if (jnum(d, "state_since_ms", &v) && v > 0) {
        fmt_time(v, buf, sizeof(buf));
        snprintf(since, sizeof(since), " (since %s)", buf);
    }
    fprintf(out, "state:           %s%s\n", jstr(d, "state") ? jstr(d, "state") : "?", since);
    fprintf(out, "health:          %s\n", jstr(d, "health") ? jstr(d, "health") : "-");
    strcpy(buf, "never");
    if (jnum(d, "heartbeat_age_ms", &v)) {
        fmt_age(v, buf, sizeof(buf));
    }
    if (jnum(d, "interval_ms", &v)) {
        fmt_duration(v, iv, sizeof(iv));
    }
    if (jnum(d, "silent_after_ms", &v)) {
        fmt_duration(v, silent, sizeof(silent));
    }
    fprintf(out, "last heartbeat:  %s (interval %s, silent after %s)\n", buf, iv, silent);
    fprintf(out, "boot:            %s\n", jstr(d, "boot_id") ? jstr(d, "boot_id") : "-");
    if (cJSON_IsObject(hb)) {
        fprintf(out, "firmware:        %s (board %s, %s)\n", jstr(hb, "firmware") ?: "-",
                jstr(hb, "board") ?: "-", jstr(hb, "arch") ?: "-");
        if (jnum(hb, "uptime_ms", &v)) {
            fmt_duration(v - (double)((long long)v % 1000), buf, sizeof(buf));
            fprintf(out, "uptime:          %s\n", buf);
        }
    }
    const cJSON *sensors = cJSON_GetObjectItemCaseSensitive(snap, "sensors");

    if (cJSON_IsArray(sensors)) {
        static const char *const head[] = {
            "SENSOR", "STATE", "SEVERITY", "VALUE", "REASON", NULL
        };
        struct ward_table t;
        const cJSON *s;

        fprintf(out, "\nsensors:\n");
        ward_table_init(&t, head);
        cJSON_ArrayForEach(s, sensors)
        {
            char value[32] = "";

            if (jnum(s, "value", &v)) {
                snprintf(value, sizeof(value), "%.0f", v);
            }
            const char *row[] = { jstr(s, "id"), jstr(s, "state"), jstr(s, "severity"), value,
                                  jstr(s, "reason") };

            ward_table_row(&t, row);
        }
        ward_table_print(&t, out);
        ward_table_free(&t);
    }
    fprintf(out, "\nrecent events:\n");
    print_events_table(cJSON_GetObjectItemCaseSensitive(d, "recent_events"), out, false);
}

static void print_health(const cJSON *h, FILE *out)
{
    const cJSON *sec;
    double up = 0, rss = 0;

    jnum(h, "uptime_s", &up);
    jnum(h, "rss_kib", &rss);
    fprintf(out, "collector %s: %s, up %.0f s, RSS %.0f KiB\n",
            jstr(h, "version") ? jstr(h, "version") : "?",
            jstr(h, "status") ? jstr(h, "status") : "?", up, rss);
    cJSON_ArrayForEach(sec, h)
    {
        const cJSON *item;

        if (!cJSON_IsObject(sec)) {
            continue;
        }
        fprintf(out, "%s:", sec->string);
        cJSON_ArrayForEach(item, sec)
        {
            if (cJSON_IsNumber(item)) {
                fprintf(out, " %s=%.0f", item->string, item->valuedouble);
            } else if (cJSON_IsString(item)) {
                fprintf(out, " %s=%s", item->string, item->valuestring);
            }
        }
        fputc('\n', out);
    }
}

/* ---- commands ---- */

static int fail_status(struct client *c, int status, const char *body, const char *what)
{
    if (status < 0) {
        fprintf(stderr, "wardctl: %s: %s\n", what, c->err);
        return 1;
    }
    cJSON *doc = cJSON_Parse(body);
    const char *msg = jstr(doc, "error");

    if (status == 401) {
        fprintf(stderr, "wardctl: the collector refused the token (401): check --token-file\n");
    } else {
        fprintf(stderr, "wardctl: %s: HTTP %d: %s\n", what, status, msg ? msg : "no reason given");
    }
    cJSON_Delete(doc);
    return 1;
}

static int get_doc(struct client *c, const char *path, const char *what, bool json, char **raw,
                   cJSON **doc)
{
    size_t len;
    int status = client_get(c, path, raw, &len);

    if (status != 200) {
        int rc = fail_status(c, status, status > 0 ? *raw : NULL, what);

        if (status > 0) {
            free(*raw);
        }
        return rc;
    }
    *doc = json ? NULL : cJSON_Parse(*raw);
    if (!json && *doc == NULL) {
        fprintf(stderr, "wardctl: %s: the collector sent malformed JSON\n", what);
        free(*raw);
        return 1;
    }
    return 0;
}

static int cmd_simple(struct client *c, const struct opts *o, const char *path, const char *what,
                      void (*print)(const cJSON *, FILE *))
{
    char *raw = NULL;
    cJSON *doc = NULL;

    if (get_doc(c, path, what, o->json, &raw, &doc) != 0) {
        return 1;
    }
    if (o->json) {
        printf("%s\n", raw);
    } else {
        print(doc, stdout);
    }
    cJSON_Delete(doc);
    free(raw);
    return 0;
}

static void print_events(const cJSON *doc, FILE *out)
{
    double next = 0;

    print_events_table(cJSON_GetObjectItemCaseSensitive(doc, "events"), out, true);
    if (jnum(doc, "next", &next)) {
        fprintf(out, "(next: --since %.0f)\n", next);
    }
}

static bool id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > 63 || id[0] == '.' || id[0] == '-') {
        return false;
    }
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int events_path(const struct opts *o, char *path, size_t cap)
{
    int n = snprintf(path, cap, "/v1/events?");

    if (o->device != NULL) {
        if (!id_valid(o->device)) {
            die_usage("--device must be a device id");
        }
        n += snprintf(path + n, cap - (size_t)n, "device=%s&", o->device);
    }
    if (o->since != NULL) {
        if (strspn(o->since, "0123456789") != strlen(o->since) || o->since[0] == '\0') {
            die_usage("--since must be an event id");
        }
        n += snprintf(path + n, cap - (size_t)n, "since=%s&", o->since);
    }
    if (o->severity != NULL) {
        if (strspn(o->severity, "abcdefghijklmnopqrstuvwxyz") != strlen(o->severity)) {
            die_usage("--severity is none, low, medium or high");
        }
        n += snprintf(path + n, cap - (size_t)n, "severity=%s&", o->severity);
    }
    if (o->limit != NULL) {
        if (strspn(o->limit, "0123456789") != strlen(o->limit) || o->limit[0] == '\0') {
            die_usage("--limit must be a number");
        }
        n += snprintf(path + n, cap - (size_t)n, "limit=%s&", o->limit);
    }
    path[n - 1] = '\0'; /* the trailing '&' or '?' */
    return 0;
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keep the last WATCH_EVENTS events seen, as their JSON text. */
struct recent {
    char *ev[WATCH_EVENTS];
    unsigned n;
};

static void recent_add(struct recent *r, const cJSON *e)
{
    char *txt = cJSON_PrintUnformatted(e);

    if (txt == NULL) {
        return;
    }
    if (r->n == WATCH_EVENTS) {
        free(r->ev[0]);
        memmove(r->ev, r->ev + 1, (WATCH_EVENTS - 1) * sizeof(r->ev[0]));
        r->n--;
    }
    r->ev[r->n++] = txt;
}

static void watch_frame(const cJSON *devices, const struct recent *r, const char *error, bool tty)
{
    char now[40];
    struct timeval tv;

    gettimeofday(&tv, NULL);
    fmt_time((double)tv.tv_sec * 1000.0, now, sizeof(now));
    if (tty) {
        fputs("\033[H\033[2J", stdout);
    }
    printf("ward fleet  %s  (Ctrl-C to stop)\n\n", now);
    if (error != NULL) {
        printf("collector unreachable: %s\n", error);
    } else {
        print_devices(devices, stdout);
    }
    cJSON *arr = cJSON_CreateArray();

    for (unsigned i = 0; i < r->n; i++) {
        cJSON_AddItemToArray(arr, cJSON_Parse(r->ev[i]));
    }
    printf("\nlatest events:\n");
    print_events_table(arr, stdout, true);
    cJSON_Delete(arr);
    if (!tty) {
        putchar('\n');
    }
    fflush(stdout);
}

/* One refresh: devices, then the events after the cursor. */
static int watch_once(struct client *c, const struct opts *o, long long *cursor, struct recent *r,
                      bool tty)
{
    char path[128];
    char *raw = NULL, *eraw = NULL;
    size_t len;
    int status = client_get(c, "/v1/devices", &raw, &len);
    cJSON *devices = status == 200 ? cJSON_Parse(raw) : NULL;

    if (status == 401) {
        free(raw);
        return fail_status(c, status, NULL, "watch");
    }
    if (*cursor < 0) {
        snprintf(path, sizeof(path), "/v1/events?limit=%d", WATCH_EVENTS);
    } else {
        snprintf(path, sizeof(path), "/v1/events?since=%lld&limit=1000", *cursor);
    }
    if (devices != NULL) {
        status = client_get(c, path, &eraw, &len);
    }
    cJSON *events = status == 200 && eraw != NULL ? cJSON_Parse(eraw) : NULL;
    const cJSON *e;
    double next;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(events, "events"))
    {
        recent_add(r, e);
    }
    if (events != NULL && jnum(events, "next", &next)) {
        *cursor = (long long)next;
    }
    if (o->json) {
        if (devices != NULL && events != NULL) {
            printf("{\"devices\":%s,\"events\":%s}\n", raw, eraw);
        } else {
            printf("{\"error\":\"collector unreachable\"}\n");
        }
        fflush(stdout);
    } else {
        watch_frame(devices, r, devices != NULL && events != NULL ? NULL : c->err, tty);
    }
    cJSON_Delete(devices);
    cJSON_Delete(events);
    free(raw);
    free(eraw);
    return 0;
}

static int cmd_watch(struct client *c, const struct opts *o)
{
    struct recent r = { .n = 0 };
    long long cursor = -1;
    bool tty = isatty(STDOUT_FILENO) && !o->json;
    double start = mono_s();
    int rc = 0;

    while (!s_stop) {
        double t0 = mono_s();

        if (o->for_s > 0 && t0 - start >= o->for_s) {
            break;
        }
        c->err[0] = '\0';
        rc = watch_once(c, o, &cursor, &r, tty);
        if (rc != 0) {
            break;
        }
        /* Sleep to the next refresh, waking for Ctrl-C; never past --for. */
        double until = t0 + o->interval_s;

        if (o->for_s > 0 && until > start + o->for_s) {
            until = start + o->for_s;
        }
        while (!s_stop && mono_s() < until) {
            poll(NULL, 0, (int)((until - mono_s()) * 1000) + 1);
        }
    }
    for (unsigned i = 0; i < r.n; i++) {
        free(r.ev[i]);
    }
    return rc;
}

/* ---- main ---- */

enum {
    OPT_URL = 256,
    OPT_CA,
    OPT_TOKEN,
    OPT_PKI,
    OPT_JSON,
    OPT_TIMEOUT,
    OPT_DEVICE,
    OPT_SINCE,
    OPT_SEVERITY,
    OPT_LIMIT,
    OPT_INTERVAL,
    OPT_FOR,
};

static double seconds_arg(const char *name, const char *arg)
{
    char *end;
    double v = strtod(arg, &end);

    if (*arg == '\0' || *end != '\0' || v <= 0 || v > 31536000) {
        fprintf(stderr, "wardctl: --%s needs a positive number of seconds, not '%s'\n", name, arg);
        exit(2);
    }
    return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        { "url", required_argument, NULL, OPT_URL },
        { "ca", required_argument, NULL, OPT_CA },
        { "token-file", required_argument, NULL, OPT_TOKEN },
        { "pki", required_argument, NULL, OPT_PKI },
        { "json", no_argument, NULL, OPT_JSON },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "device", required_argument, NULL, OPT_DEVICE },
        { "since", required_argument, NULL, OPT_SINCE },
        { "severity", required_argument, NULL, OPT_SEVERITY },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "for", required_argument, NULL, OPT_FOR },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
        switch (opt) {
        case OPT_URL:
            o->url = optarg;
            break;
        case OPT_CA:
            o->ca = optarg;
            break;
        case OPT_TOKEN:
            o->token_file = optarg;
            break;
        case OPT_PKI:
            o->pki = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_TIMEOUT:
            o->timeout_ms = (int)(seconds_arg("timeout", optarg) * 1000);
            break;
        case OPT_DEVICE:
            o->device = optarg;
            break;
        case OPT_SINCE:
            o->since = optarg;
            break;
        case OPT_SEVERITY:
            o->severity = optarg;
            break;
        case OPT_LIMIT:
            o->limit = optarg;
            break;
        case OPT_INTERVAL:
            o->interval_s = seconds_arg("interval", optarg);
            break;
        case OPT_FOR:
            o->for_s = seconds_arg("for", optarg);
            break;
        case 'h':
            fputs(s_usage, stdout);
            exit(0);
        default:
            die_usage("unknown option");
        }
    }
}

int main(int argc, char **argv)
{
    static struct client c;
    struct opts o = { .timeout_ms = DEFAULT_TIMEOUT, .interval_s = 2.0 };
    static char ca_buf[4096], token_buf[4096];
    int rc;

    /* Global options, the command, then its options (getopt stops at the command). */
    parse_args(argc, argv, &o);
    if (optind >= argc) {
        fputs(s_usage, stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    const char *arg = NULL;

    if (strcmp(cmd, "device") == 0) {
        if (optind + 1 >= argc || argv[optind + 1][0] == '-') {
            die_usage("device needs an ID");
        }
        arg = argv[optind + 1];
        optind++;
    }
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;

    optind = 1;
    parse_args(sub_argc, sub_argv, &o);
    if (optind < sub_argc) {
        die_usage("unexpected argument");
    }
    o.url = o.url ?: getenv("WARDCTL_URL") ?: DEFAULT_URL;
    o.pki = o.pki ?: getenv("WARD_PKI_DIR") ?: "var/pki";
    if (o.ca == NULL && (o.ca = getenv("WARDCTL_CA")) == NULL) {
        snprintf(ca_buf, sizeof(ca_buf), "%s/ca.crt", o.pki);
        o.ca = ca_buf;
    }
    if (o.token_file == NULL && (o.token_file = getenv("WARDCTL_TOKEN_FILE")) == NULL) {
        if (find_token_file(o.pki, token_buf, sizeof(token_buf)) != 0) {
            fprintf(stderr, "wardctl: no token: give --token-file (or one token in %s/tokens)\n",
                    o.pki);
            return 2;
        }
        o.token_file = token_buf;
    }
    struct sigaction sa = { .sa_handler = on_stop };

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    c.timeout_ms = o.timeout_ms;
    if (parse_url(o.url, &c) != 0 || client_init(&c, o.ca, o.token_file) != 0) {
        return 1;
    }
    if (strcmp(cmd, "devices") == 0) {
        rc = cmd_simple(&c, &o, "/v1/devices", "devices", print_devices);
    } else if (strcmp(cmd, "device") == 0) {
        char path[128];

        if (!id_valid(arg)) {
            die_usage("a device id is 1-63 of [A-Za-z0-9._-]");
        }
        snprintf(path, sizeof(path), "/v1/devices/%s", arg);
        rc = cmd_simple(&c, &o, path, arg, print_device);
    } else if (strcmp(cmd, "events") == 0) {
        char path[512];

        events_path(&o, path, sizeof(path));
        rc = cmd_simple(&c, &o, path, "events", print_events);
    } else if (strcmp(cmd, "health") == 0) {
        rc = cmd_simple(&c, &o, "/v1/health", "health", print_health);
    } else if (strcmp(cmd, "watch") == 0) {
        rc = cmd_watch(&c, &o);
    } else {
        fprintf(stderr, "wardctl: unknown command '%s' (devices, device, events, health, watch)\n",
                cmd);
        rc = 2;
    }
    client_drop(&c);
    return rc;
}
