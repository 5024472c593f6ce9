/*
 * ward-agent enroll --token: the device sends its request to the collector itself, with a
 * one-time enrolment token an administrator made (wardctl device enroll-token). The device has
 * no certificate yet, so this goes to POST /v1/enroll on the collector's operator listener
 * over server-authenticated TLS (the collector's CA pinned, its name checked); the device
 * listener stays mutual-TLS-only. One blocking request, bounded by a 15 s socket timeout.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cJSON.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "ward/transport/http.h"

#include "enroll.h"

#define TOKEN_TIMEOUT_S 15
#define REQ_MAX         (3 * ENROLL_PEM_MAX)

struct tclient {
    int fd;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
};

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);

    return n >= 0 ? (int)n : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    ssize_t n = recv(*(int *)ctx, buf, len, 0);

    return n >= 0 ? (int)n : MBEDTLS_ERR_SSL_TIMEOUT; /* or an error: nothing to wait for */
}

static int dial(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    struct timeval tv = { .tv_sec = TOKEN_TIMEOUT_S };
    int fd = -1;

    if (getaddrinfo(host, port, &hints, &res) != 0) {
        return -EHOSTUNREACH;
    }
    for (const struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
                        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
                        connect(fd, a->ai_addr, a->ai_addrlen) != 0)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd >= 0 ? fd : -ECONNREFUSED;
}

/* The CA file as PEM (mbedTLS here has no file I/O): parsed with its NUL. */
static int parse_ca(mbedtls_x509_crt *crt, const char *path)
{
    static unsigned char buf[32768];
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    if (f != NULL) {
        fclose(f);
    }
    if (n == 0 || n >= sizeof(buf) - 1) {
        return MBEDTLS_ERR_X509_FILE_IO_ERROR;
    }
    buf[n] = '\0';
    return mbedtls_x509_crt_parse(crt, buf, n + 1);
}

static int tls_setup(struct tclient *t, const char *ca, const char *server_name)
{
    static const char pers[] = "ward-agent enroll --token";
    int rc = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
                                   (const unsigned char *)pers, sizeof(pers) - 1);

    rc = rc ?: parse_ca(&t->ca, ca);
    rc = rc
             ?: mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
                                            MBEDTLS_SSL_TRANSPORT_STREAM,
                                            MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) {
        return rc;
    }
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
    rc = mbedtls_ssl_setup(&t->ssl, &t->conf);
    rc = rc ?: mbedtls_ssl_set_hostname(&t->ssl, server_name);
    mbedtls_ssl_set_bio(&t->ssl, &t->fd, bio_send, bio_recv, NULL);
    return rc;
}

static int write_all(struct tclient *t, const char *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        int n = mbedtls_ssl_write(&t->ssl, (const unsigned char *)buf + off, len - off);

        if (n <= 0) {
            return n == 0 ? -EIO : n;
        }
        off += (size_t)n;
    }
    return 0;
}

static int read_resp(struct tclient *t, struct ward_http_resp *resp)
{
    unsigned char buf[1024];

    for (;;) {
        int n = mbedtls_ssl_read(&t->ssl, buf, sizeof(buf));
        size_t used = 0;

        if (n <= 0) {
            return n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ? -ECONNRESET : n;
        }
        int done = ward_http_resp_feed(resp, buf, (size_t)n, &used);

        if (done != 0) {
            return done < 0 ? done : 0;
        }
    }
}

/* The certificate of a 200 answer into out, or the collector's reason on stderr. */
static int take_cert(const struct ward_http_resp *resp, char *body, char *out, size_t cap)
{
    body[resp->body_len] = '\0';
    cJSON *doc = cJSON_Parse(body);
    const cJSON *crt = cJSON_GetObjectItemCaseSensitive(doc, "certificate");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
    int rc = -EACCES;

    if (resp->status == 200 && cJSON_IsString(crt) && strlen(crt->valuestring) < cap) {
        snprintf(out, cap, "%s", crt->valuestring);
        rc = 0;
    } else {
        fprintf(stderr, "ward-agent enroll: the collector refused: HTTP %u: %s\n", resp->status,
                cJSON_IsString(err) ? err->valuestring : "no certificate in the answer");
    }
    cJSON_Delete(doc);
    return rc;
}

static int exchange(struct tclient *t, const char *server_name, const char *token, const char *id,
                    const char *csr, char *cert_out, size_t cap)
{
    static char req[REQ_MAX], body[REQ_MAX], rbody[REQ_MAX];
    struct ward_http_resp resp;
    int blen = enroll_csr_json(id, csr, body, sizeof(body));
    int hlen = blen < 0 ? blen
                        : snprintf(req, sizeof(req),
                                   "POST /v1/enroll HTTP/1.1\r\nHost: %s\r\nAuthorization: "
                                   "Bearer %s\r\nContent-Type: application/json\r\n"
                                   "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                                   server_name, token, blen, body);
    int rc = hlen < 0 || hlen >= (int)sizeof(req) ? -ENOSPC : mbedtls_ssl_handshake(&t->ssl);

    if (rc != 0) {
        fprintf(stderr,
                "ward-agent enroll: TLS with the collector failed (-0x%04x): is --ca its "
                "CA and --server-name its name?\n",
                (unsigned)-rc);
        return rc;
    }
    ward_http_resp_init(&resp, (uint8_t *)rbody, sizeof(rbody) - 1);
    rc = write_all(t, req, (size_t)hlen);
    rc = rc ?: read_resp(t, &resp);
    if (rc != 0) {
        fprintf(stderr, "ward-agent enroll: no answer from the collector (%d)\n", rc);
        return rc;
    }
    return take_cert(&resp, rbody, cert_out, cap);
}

int enroll_with_token(const char *collector, const char *server_name, const char *ca,
                      const char *token, const char *id, const char *csr, char *cert_out,
                      size_t cap)
{
    static struct tclient t;
    char host[256], port[8];
    const char *colon = strrchr(collector, ':');

    if (colon == NULL || colon == collector || (size_t)(colon - collector) >= sizeof(host) ||
        strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port)) {
        fprintf(stderr, "ward-agent enroll: --collector needs HOST:PORT (the operator port)\n");
        return -EINVAL;
    }
    memcpy(host, collector, (size_t)(colon - collector));
    host[colon - collector] = '\0';
    snprintf(port, sizeof(port), "%s", colon + 1);
    memset(&t, 0, sizeof(t));
    mbedtls_entropy_init(&t.entropy);
    mbedtls_ctr_drbg_init(&t.drbg);
    mbedtls_x509_crt_init(&t.ca);
    mbedtls_ssl_config_init(&t.conf);
    mbedtls_ssl_init(&t.ssl);
    t.fd = dial(host, port);
    int rc = t.fd < 0 ? t.fd : tls_setup(&t, ca, server_name != NULL ? server_name : host);

    if (t.fd < 0) {
        fprintf(stderr, "ward-agent enroll: cannot connect to %s: %s\n", collector,
                strerror(-t.fd));
    } else if (rc != 0) {
        fprintf(stderr, "ward-agent enroll: cannot set up TLS with CA %s (-0x%04x)\n", ca,
                (unsigned)-rc);
    } else {
        rc = exchange(&t, server_name != NULL ? server_name : host, token, id, csr, cert_out, cap);
        (void)mbedtls_ssl_close_notify(&t.ssl);
    }
    if (t.fd >= 0) {
        close(t.fd);
    }
    mbedtls_ssl_free(&t.ssl);
    mbedtls_ssl_config_free(&t.conf);
    mbedtls_x509_crt_free(&t.ca);
    mbedtls_ctr_drbg_free(&t.drbg);
    mbedtls_entropy_free(&t.entropy);
    return rc;
}
