#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl_ciphersuites.h>

#include "ward/transport/config.h"
#include "ward/transport/tls.h"

/* Preference order: ChaCha20 first (no AES hardware on the small boards, 8 bytes less per
 * record than GCM's explicit nonce), then AES-GCM. */
static const int s_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    0,
};
static const mbedtls_ecp_group_id s_curves[] = { MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_NONE };
static const int s_sig_hashes[] = { MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA384, MBEDTLS_MD_NONE };

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct ward_tls *t = ctx;
    int rc = ward_net_send(t->net, buf, len);

    if (rc == -EAGAIN) {
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    }
    if (rc < 0) {
        t->net_error = rc;
        return MBEDTLS_ERR_NET_SEND_FAILED;
    }
    return rc;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct ward_tls *t = ctx;
    int rc = ward_net_recv(t->net, buf, len);

    if (rc == -EAGAIN) {
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    if (rc < 0) {
        t->net_error = rc;
        return MBEDTLS_ERR_NET_RECV_FAILED;
    }
    return rc;
}

static unsigned char mfl_code(unsigned len)
{
    switch (len) {
    case 512:
        return MBEDTLS_SSL_MAX_FRAG_LEN_512;
    case 1024:
        return MBEDTLS_SSL_MAX_FRAG_LEN_1024;
    case 2048:
        return MBEDTLS_SSL_MAX_FRAG_LEN_2048;
    case 4096:
        return MBEDTLS_SSL_MAX_FRAG_LEN_4096;
    default:
        return MBEDTLS_SSL_MAX_FRAG_LEN_NONE;
    }
}

static int parse_creds(struct ward_tls *t, const struct ward_tls_creds *c)
{
    if (mbedtls_x509_crt_parse(&t->ca, c->ca, c->ca_len) != 0 ||
        mbedtls_x509_crt_parse(&t->cert, c->cert, c->cert_len) != 0 ||
        mbedtls_pk_parse_key(&t->key, c->key, c->key_len, NULL, 0) != 0) {
        return -EBADMSG;
    }
    if (!mbedtls_pk_can_do(&t->key, MBEDTLS_PK_ECDSA) ||
        mbedtls_pk_ec(t->key)->grp.id != MBEDTLS_ECP_DP_SECP256R1 ||
        mbedtls_pk_check_pair(&t->cert.pk, &t->key) != 0) {
        return -EBADMSG;
    }
    return 0;
}

static int setup_conf(struct ward_tls *t)
{
    mbedtls_ssl_config *conf = &t->conf;
    int rc = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT);

    if (rc != 0) {
        return rc;
    }
    mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(conf, &t->ca, NULL);
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &t->drbg);
    mbedtls_ssl_conf_ciphersuites(conf, s_suites);
    mbedtls_ssl_conf_curves(conf, s_curves);
    mbedtls_ssl_conf_sig_hashes(conf, s_sig_hashes);
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_session_tickets(conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
    rc = mbedtls_ssl_conf_max_frag_len(conf, mfl_code(WARD_TLS_MAX_FRAG_LEN));
    if (rc != 0) {
        return rc;
    }
    return mbedtls_ssl_conf_own_cert(conf, &t->cert, &t->key);
}

int ward_tls_init(struct ward_tls *t, const struct ward_tls_creds *creds, struct ward_net *net,
                  const char *personalization)
{
    const char *pers = personalization != NULL ? personalization : "ward";
    int rc;

    if (t == NULL || creds == NULL || net == NULL || creds->ca == NULL || creds->cert == NULL ||
        creds->key == NULL || creds->server_name == NULL || creds->server_name[0] == '\0') {
        return -EINVAL;
    }
    memset(t, 0, sizeof(*t));
    t->net = net;
    mbedtls_ssl_init(&t->ssl);
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_x509_crt_init(&t->cert);
    mbedtls_pk_init(&t->key);
    mbedtls_entropy_init(&t->entropy);
    mbedtls_ctr_drbg_init(&t->drbg);
    mbedtls_ssl_session_init(&t->saved);
    t->ready = true;

    if (mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
                              (const unsigned char *)pers, strlen(pers)) != 0) {
        rc = -EIO;
        goto fail;
    }
    rc = parse_creds(t, creds);
    if (rc != 0) {
        goto fail;
    }
    rc = setup_conf(t);
    if (rc == 0) {
        rc = mbedtls_ssl_setup(&t->ssl, &t->conf);
    }
    if (rc == 0) {
        rc = mbedtls_ssl_set_hostname(&t->ssl, creds->server_name);
    }
    if (rc != 0) {
        t->last_error = rc;
        rc = rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? -ENOMEM : -EINVAL;
        goto fail;
    }
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    return 0;

fail:
    ward_tls_free(t);
    return rc;
}

void ward_tls_free(struct ward_tls *t)
{
    if (t == NULL || !t->ready) {
        return;
    }
    mbedtls_ssl_session_free(&t->saved);
    mbedtls_ssl_free(&t->ssl);
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->entropy);
    mbedtls_pk_free(&t->key);
    mbedtls_x509_crt_free(&t->cert);
    mbedtls_x509_crt_free(&t->ca);
    t->ready = false;
    t->have_saved = false;
}

void ward_tls_forget_session(struct ward_tls *t)
{
    mbedtls_ssl_session_free(&t->saved);
    mbedtls_ssl_session_init(&t->saved);
    t->have_saved = false;
}

/* Map an mbedTLS result to the channel's convention and remember what was waited for. */
static int map_error(struct ward_tls *t, int rc)
{
    switch (rc) {
    case MBEDTLS_ERR_SSL_WANT_READ:
        t->wants = WARD_CHAN_WANT_READ;
        return -EAGAIN;
    case MBEDTLS_ERR_SSL_WANT_WRITE:
        t->wants = WARD_CHAN_WANT_WRITE;
        return -EAGAIN;
    default:
        break;
    }
    t->last_error = rc;
    switch (rc) {
    case MBEDTLS_ERR_NET_SEND_FAILED:
    case MBEDTLS_ERR_NET_RECV_FAILED:
        return t->net_error != 0 ? t->net_error : -EIO;
    case MBEDTLS_ERR_SSL_CONN_EOF:
        return -ECONNRESET;
    case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
        return -EACCES;
    case MBEDTLS_ERR_SSL_ALLOC_FAILED:
        return -ENOMEM;
    default:
        return -EPROTO;
    }
}

static int tls_start(void *ctx)
{
    struct ward_tls *t = ctx;
    int rc = mbedtls_ssl_session_reset(&t->ssl);

    t->saw_full = false;
    t->resumed = false;
    t->net_error = 0;
    t->wants = 0;
    if (rc == 0 && t->have_saved && mbedtls_ssl_set_session(&t->ssl, &t->saved) != 0) {
        ward_tls_forget_session(t); /* unusable ticket: fall back to a full handshake */
    }
    return rc == 0 ? 0 : map_error(t, rc);
}

static void handshake_done(struct ward_tls *t)
{
    t->resumed = !t->saw_full;
    if (t->resumed) {
        t->stats.resumed_handshakes++;
    } else {
        t->stats.full_handshakes++;
    }
    /* Keep the newest session (the collector may have issued a fresh ticket). */
    mbedtls_ssl_session_free(&t->saved);
    mbedtls_ssl_session_init(&t->saved);
    t->have_saved = mbedtls_ssl_get_session(&t->ssl, &t->saved) == 0;
}

static int tls_handshake(void *ctx)
{
    struct ward_tls *t = ctx;
    int rc = 0;

    /* Step by hand: a full handshake passes through SERVER_CERTIFICATE, a resumed one jumps
     * from ServerHello to ChangeCipherSpec. That is how resumption is observed. */
    while (t->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
        if (t->ssl.state == MBEDTLS_SSL_SERVER_CERTIFICATE) {
            t->saw_full = true;
        }
        rc = mbedtls_ssl_handshake_step(&t->ssl);
        if (rc != 0) {
            break;
        }
    }
    if (rc == 0) {
        handshake_done(t);
        return 0;
    }
    rc = map_error(t, rc);
    if (rc != -EAGAIN) {
        t->stats.failed_handshakes++;
        if (rc == -EACCES) {
            t->verify_flags = mbedtls_ssl_get_verify_result(&t->ssl);
            t->stats.verify_failures++;
        }
        if (rc != -ECONNRESET && rc != t->net_error) {
            ward_tls_forget_session(t);
        }
    }
    return rc;
}

static int tls_write(void *ctx, const uint8_t *buf, size_t len)
{
    struct ward_tls *t = ctx;
    int rc = mbedtls_ssl_write(&t->ssl, buf, len);

    return rc >= 0 ? rc : map_error(t, rc);
}

static int tls_read(void *ctx, uint8_t *buf, size_t len)
{
    struct ward_tls *t = ctx;
    int rc = mbedtls_ssl_read(&t->ssl, buf, len);

    if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
        return 0;
    }
    return rc >= 0 ? rc : map_error(t, rc);
}

static void tls_finish(void *ctx, bool graceful)
{
    struct ward_tls *t = ctx;

    if (graceful && t->ssl.state == MBEDTLS_SSL_HANDSHAKE_OVER) {
        (void)mbedtls_ssl_close_notify(&t->ssl); /* best effort: never waits */
    }
}

static unsigned tls_wants(void *ctx)
{
    return ((struct ward_tls *)ctx)->wants;
}

static bool tls_pending(void *ctx)
{
    struct ward_tls *t = ctx;

    return mbedtls_ssl_get_bytes_avail(&t->ssl) > 0 || mbedtls_ssl_check_pending(&t->ssl) != 0;
}

static bool tls_resumed(void *ctx)
{
    return ((struct ward_tls *)ctx)->resumed;
}

static const struct ward_chan_ops s_tls_ops = {
    .start = tls_start,
    .handshake = tls_handshake,
    .write = tls_write,
    .read = tls_read,
    .finish = tls_finish,
    .wants = tls_wants,
    .pending = tls_pending,
    .resumed = tls_resumed,
};

struct ward_chan ward_tls_chan(struct ward_tls *t)
{
    struct ward_chan c = { .ops = &s_tls_ops, .ctx = t };

    return c;
}

const char *ward_tls_strerror(const struct ward_tls *t, char *buf, size_t len)
{
    int e = t->last_error;

    snprintf(buf, len, "mbedTLS %s0x%04x", e < 0 ? "-" : "", (unsigned)(e < 0 ? -e : e));
    return buf;
}
