/* Mutual TLS on the metrics listener (run_metrics_tls.h). */
#include "ward/base/config.h"

#if IS_ENABLED(CONFIG_WARD_TRANSPORT) && IS_ENABLED(CONFIG_WARD_NMS_PROM)

#include "run_metrics_tls.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/ctr_drbg.h>

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);

    if (n < 0) {
        return (errno == EAGAIN || errno == EINTR) ? MBEDTLS_ERR_SSL_WANT_WRITE
                                                   : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
    }
    return (int)n;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    ssize_t n = recv(*(int *)ctx, buf, len, 0);

    if (n < 0) {
        return (errno == EAGAIN || errno == EINTR) ? MBEDTLS_ERR_SSL_WANT_READ
                                                   : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
    }
    return (int)n;
}

int metrics_tls_setup(struct metrics_tls *t, struct ward_tls *dev)
{
    mbedtls_ssl_config_init(&t->conf);
    if (mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        return -EIO;
    }
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&t->conf, &dev->ca, NULL);
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &dev->drbg);
    if (mbedtls_ssl_conf_own_cert(&t->conf, &dev->cert, &dev->key) != 0) {
        return -EBADMSG;
    }
    t->on = true;
    return 0;
}

static int map(int rc)
{
    if (rc == MBEDTLS_ERR_SSL_WANT_READ) {
        return METRICS_TLS_AGAIN_READ;
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        return METRICS_TLS_AGAIN_WRITE;
    }
    return -EPROTO;
}

int metrics_tls_open(struct metrics_tls *t, struct metrics_tls_conn *c, int fd)
{
    mbedtls_ssl_init(&c->ssl);
    c->fd = fd;
    c->open = true;
    c->handshaken = false;
    if (mbedtls_ssl_setup(&c->ssl, &t->conf) != 0) {
        metrics_tls_close(c);
        return -ENOMEM;
    }
    mbedtls_ssl_set_bio(&c->ssl, &c->fd, bio_send, bio_recv, NULL);
    return 0;
}

int metrics_tls_handshake(struct metrics_tls_conn *c)
{
    int rc = mbedtls_ssl_handshake(&c->ssl);

    if (rc == 0) {
        c->handshaken = true;
        return 0;
    }
    return map(rc);
}

ssize_t metrics_tls_recv(struct metrics_tls_conn *c, void *buf, size_t len)
{
    int rc = mbedtls_ssl_read(&c->ssl, buf, len);

    if (rc >= 0) {
        return rc;
    }
    /* A TLS 1.3 ticket or the peer's close_notify: not data, not an error. */
    if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
        return 0;
    }
    if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
        return METRICS_TLS_AGAIN_READ;
    }
    return map(rc);
}

ssize_t metrics_tls_send(struct metrics_tls_conn *c, const void *buf, size_t len)
{
    int rc = mbedtls_ssl_write(&c->ssl, buf, len);

    return rc >= 0 ? rc : map(rc);
}

void metrics_tls_close(struct metrics_tls_conn *c)
{
    if (!c->open) {
        return;
    }
    if (c->handshaken) {
        (void)mbedtls_ssl_close_notify(&c->ssl);
    }
    mbedtls_ssl_free(&c->ssl);
    c->open = false;
    c->handshaken = false;
}

#endif
