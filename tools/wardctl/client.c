/* The operator API's client: URL and token, a TLS connection (the collector's certificate
 * verified against the ward CA), keep-alive GET with one retry on a stale connection. */
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

#include "wardctl.h"

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
int find_token_file(const char *pki, char *out, size_t cap)
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

int parse_url(const char *url, struct client *c)
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
        snprintf(c->err, sizeof(c->err), "%s", g_wardctl_stop ? "interrupted" : strerror(errno));
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
 * For a URL with an address literal wardctl gives mbedTLS no server name (mbedTLS 2.28 matched
 * it against dNSName entries and the CN only) and checks the certificate's iPAddress entries
 * itself (ward-pki puts 127.0.0.1 and ::1 there).
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

int client_init(struct client *c, const char *ca, const char *token_file)
{
    static const char pers[] = "wardctl";
    int rc;

    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_ssl_init(&c->ssl);
    c->fd = -1;
    if (token_file != NULL && read_token(token_file, c->token, sizeof(c->token)) != 0) {
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

void client_drop(struct client *c)
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

/* One request (a GET when post is NULL). @return the HTTP status (>0) with *body (malloc'd,
 * NUL-terminated), or -1. */
static int request_once(struct client *c, const char *path, const char *post, char **body,
                        size_t *body_len)
{
    char req[1024 + 4096];
    char *buf = NULL;
    size_t len = 0, cap = 0, head = 0, clen = 0;
    int status = 0;
    bool close_after = false;
    int n = post == NULL ? snprintf(req, sizeof(req),
                                    "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                                    "Accept: application/json\r\n\r\n",
                                    path, c->host, c->token)
                         : snprintf(req, sizeof(req),
                                    "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer "
                                    "%s\r\nAccept: application/json\r\nContent-Type: "
                                    "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                                    path, c->host, c->token, strlen(post), post);

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
int client_get(struct client *c, const char *path, char **body, size_t *len)
{
    return client_request(c, path, NULL, body, len);
}

/* A POST is sent once more only when a kept-alive connection turned out closed before any
 * answer (the collector never saw it). */
int client_request(struct client *c, const char *path, const char *post, char **body, size_t *len)
{
    for (int attempt = 0; attempt < 2 && !g_wardctl_stop; attempt++) {
        bool reused = c->up;

        if (!c->up && client_connect(c) != 0) {
            return -1;
        }
        int status = request_once(c, path, post, body, len);

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
