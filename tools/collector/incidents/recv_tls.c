/* The sender's TLS client (recv_tls.h). */
#include "incidents/recv_tls.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>

#include "common/clock.h"
#include "incidents/policy.h"

int wcol_recv_tls_init(struct wcol_recv_tls *t)
{
    static const char pers[] = "ward-collector-sender";

    memset(t, 0, sizeof(*t));
    mbedtls_entropy_init(&t->entropy);
    mbedtls_ctr_drbg_init(&t->drbg);
    t->seeded = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
                                      (const unsigned char *)pers, sizeof(pers) - 1) == 0;
    return t->seeded ? 0 : -EIO;
}

void wcol_recv_tls_free(struct wcol_recv_tls *t)
{
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->entropy);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    ssize_t n = send(((struct wcol_recv_tls *)ctx)->fd, buf, len, MSG_NOSIGNAL);

    if (n >= 0) {
        return (int)n;
    }
    return errno == EAGAIN || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE
                                             : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    ssize_t n = recv(((struct wcol_recv_tls *)ctx)->fd, buf, len, 0);

    if (n >= 0) {
        return (int)n;
    }
    return errno == EAGAIN || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ
                                             : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* mbedTLS wants the socket: wait for it until the deadline. @return 0, -1. */
static int again(struct wcol_recv_tls *t, int rc)
{
    struct pollfd p = { .fd = t->fd };
    int64_t left = t->deadline - (int64_t)wcol_now_mono();

    if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
        return -1;
    }
    p.events = rc == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT;
    return left > 0 && poll(&p, 1, (int)left) > 0 ? 0 : -1;
}

static void say(char *err, size_t cap, const struct wcol_receiver *r, const char *what, int rc)
{
    char e[120];

    mbedtls_strerror(rc, e, sizeof(e));
    snprintf(err, cap, "TLS %s with %s:%s: %s", what, r->host, r->port, e);
}

int wcol_recv_tls_open(struct wcol_recv_tls *t, const struct wcol_receiver *r, int fd,
                       int64_t deadline, char *err, size_t cap)
{
    int rc;

    t->fd = fd;
    t->deadline = deadline;
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_ssl_init(&t->ssl);
    if (!t->seeded) {
        snprintf(err, cap, "no random generator for TLS");
        return -1;
    }
    /* Read per connection: a renewed CA file is picked up without a reload. */
    rc = mbedtls_x509_crt_parse_file(&t->ca, r->ca_file[0] ? r->ca_file : WCOL_POL_SYSTEM_CA);
    rc = rc
             ?: mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
                                            MBEDTLS_SSL_TRANSPORT_STREAM,
                                            MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) {
        say(err, cap, r, "setup (ca-file)", rc);
        return -1;
    }
    mbedtls_ssl_conf_min_tls_version(&t->conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
    if ((rc = mbedtls_ssl_setup(&t->ssl, &t->conf)) != 0 ||
        (rc = mbedtls_ssl_set_hostname(&t->ssl, r->host)) != 0) {
        say(err, cap, r, "setup", rc);
        return -1;
    }
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    while ((rc = mbedtls_ssl_handshake(&t->ssl)) != 0) {
        if (again(t, rc) == 0) {
            continue;
        }
        if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
            char info[160];

            mbedtls_x509_crt_verify_info(info, sizeof(info), "",
                                         mbedtls_ssl_get_verify_result(&t->ssl));
            info[strcspn(info, "\n")] = '\0';
            snprintf(err, cap, "the certificate of %s:%s is not trusted: %s", r->host, r->port,
                     info);
        } else if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
            snprintf(err, cap, "TLS handshake with %s:%s timed out", r->host, r->port);
        } else {
            say(err, cap, r, "handshake", rc);
        }
        return -1;
    }
    return 0;
}

int wcol_recv_tls_send(struct wcol_recv_tls *t, const char *p, size_t n)
{
    while (n > 0) {
        int w = mbedtls_ssl_write(&t->ssl, (const unsigned char *)p, n);

        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (again(t, w) != 0) {
            return -1;
        }
    }
    return 0;
}

int wcol_recv_tls_recv(struct wcol_recv_tls *t, char *buf, size_t cap)
{
    for (;;) {
        int n = mbedtls_ssl_read(&t->ssl, (unsigned char *)buf, cap);

        if (n >= 0) {
            return n;
        }
        if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            return 0;
        }
        if (again(t, n) != 0) {
            return -1;
        }
    }
}

void wcol_recv_tls_close(struct wcol_recv_tls *t)
{
    (void)mbedtls_ssl_close_notify(&t->ssl);
    mbedtls_ssl_free(&t->ssl);
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_x509_crt_free(&t->ca);
}
