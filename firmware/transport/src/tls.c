#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <psa/crypto.h>

#include "ward/transport/config.h"
#include "ward/transport/tls.h"

/*
 * The protocol version is the board's choice, made in its mbedTLS configuration: TLS 1.3 when
 * it compiles 1.3 in (then 1.2 is never offered, so no downgrade), else TLS 1.2 (a board whose
 * flash budget has no room for 1.3 and PSA, docs/dependencies.md).
 * Suite preference: ChaCha20 first (no AES hardware on the small boards; under TLS 1.2 also
 * 8 bytes less per record than GCM's explicit nonce), then AES-GCM. Suites the board's
 * configuration leaves out are skipped by mbedTLS.
 */
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
#define WARD_TLS_VERSION MBEDTLS_SSL_VERSION_TLS1_3
static const int s_suites[] = {
    MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
    MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
    0,
};
#else
#define WARD_TLS_VERSION MBEDTLS_SSL_VERSION_TLS1_2
static const int s_suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    0,
};
#endif
static const uint16_t s_groups[] = { MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
                                     MBEDTLS_SSL_IANA_TLS_GROUP_NONE };
static const uint16_t s_sig_algs[] = { MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256,
                                       MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384,
                                       MBEDTLS_TLS1_3_SIG_NONE };

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

#if defined(MBEDTLS_SSL_MAX_FRAGMENT_LENGTH)
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
#endif

/* The subject CN's value, or NULL. */
static const mbedtls_x509_buf *subject_cn(const mbedtls_x509_crt *crt)
{
    for (const mbedtls_x509_name *n = &crt->subject; n != NULL; n = n->next) {
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
            return &n->val;
        }
    }
    return NULL;
}

static bool same_cn(const mbedtls_x509_crt *a, const mbedtls_x509_crt *b)
{
    const mbedtls_x509_buf *x = subject_cn(a), *y = subject_cn(b);

    return x != NULL && y != NULL && x->len == y->len && memcmp(x->p, y->p, x->len) == 0;
}

/* Parse a certificate and its key into cert and key (initialised by the caller) and check
 * that they belong together. @return 0, -EBADMSG, -ENOTSUP (not P-256), -EINVAL (mismatch). */
static int parse_pair(struct ward_tls *t, mbedtls_x509_crt *cert, mbedtls_pk_context *key,
                      const uint8_t *cert_pem, size_t cert_len, const uint8_t *key_pem,
                      size_t key_len)
{
    if (mbedtls_x509_crt_parse(cert, cert_pem, cert_len) != 0 ||
        mbedtls_pk_parse_key(key, key_pem, key_len, NULL, 0, mbedtls_ctr_drbg_random, &t->drbg) !=
            0) {
        return -EBADMSG;
    }
    if (!mbedtls_pk_can_do(key, MBEDTLS_PK_ECDSA) ||
        mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*key)) != MBEDTLS_ECP_DP_SECP256R1) {
        return -ENOTSUP;
    }
    if (mbedtls_pk_check_pair(&cert->pk, key, mbedtls_ctr_drbg_random, &t->drbg) != 0) {
        return -EINVAL;
    }
    return 0;
}

static int parse_creds(struct ward_tls *t, const struct ward_tls_creds *c)
{
    if (mbedtls_x509_crt_parse(&t->ca, c->ca, c->ca_len) != 0 ||
        parse_pair(t, &t->cert, &t->key, c->cert, c->cert_len, c->key, c->key_len) != 0) {
        return -EBADMSG;
    }
    return 0;
}

/* Exchange two objects in place (no third copy on the stack of a small board). */
static void swap_bytes(void *a, void *b, size_t n)
{
    uint8_t *x = a, *y = b;

    for (size_t i = 0; i < n; i++) {
        uint8_t v = x[i];

        x[i] = y[i];
        y[i] = v;
    }
}

int ward_tls_reload(struct ward_tls *t, const uint8_t *cert_pem, size_t cert_len,
                    const uint8_t *key_pem, size_t key_len)
{
    mbedtls_x509_crt cert;
    mbedtls_pk_context key;
    int rc;

    if (t == NULL || !t->ready || cert_pem == NULL || key_pem == NULL) {
        return -EINVAL;
    }
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    rc = parse_pair(t, &cert, &key, cert_pem, cert_len, key_pem, key_len);
    if (rc == 0 && !same_cn(&t->cert, &cert)) {
        rc = -EPERM;
    }
    if (rc == 0) {
        /* The configuration points at t->cert and t->key: exchanging their contents switches
         * the next handshake to the new pair (none of these structs points into itself), and
         * the locals then hold the old pair, freed below. */
        swap_bytes(&t->cert, &cert, sizeof(cert));
        swap_bytes(&t->key, &key, sizeof(key));
        /* A ticket resumes the identity it was issued to: the next handshake is a full one. */
        ward_tls_forget_session(t);
    }
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&cert);
    return rc;
}

/* Called for each certificate of the collector's chain: only a full handshake verifies one.
 * That is how a resumed handshake is told from a full one, in TLS 1.2 and 1.3 alike. */
static int verify_seen(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    (void)crt;
    (void)depth;
    (void)flags;
    ((struct ward_tls *)ctx)->saw_full = true;
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
    mbedtls_ssl_conf_verify(conf, verify_seen, t);
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &t->drbg);
    mbedtls_ssl_conf_ciphersuites(conf, s_suites);
    mbedtls_ssl_conf_groups(conf, s_groups);
    mbedtls_ssl_conf_sig_algs(conf, s_sig_algs);
    mbedtls_ssl_conf_min_tls_version(conf, WARD_TLS_VERSION);
    mbedtls_ssl_conf_max_tls_version(conf, WARD_TLS_VERSION);
    mbedtls_ssl_conf_session_tickets(conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    /* Tickets arrive after the handshake: be told (the key exchange mode is set per
     * connection, in tls_start()). */
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
#if defined(MBEDTLS_SSL_MAX_FRAGMENT_LENGTH)
    rc = mbedtls_ssl_conf_max_frag_len(conf, mfl_code(WARD_TLS_MAX_FRAG_LEN));
    if (rc != 0) {
        return rc;
    }
#endif
    return mbedtls_ssl_conf_own_cert(conf, &t->cert, &t->key);
}

/*
 * TLS 1.3 runs on PSA Crypto, whose state is process-wide (mbedTLS keeps it in statics) and
 * takes a little of the pool. Count the ward_tls instances using it (a load generator runs
 * thousands in one process), so that freeing the last one gives everything back and the pool
 * is empty again, as tests check.
 */
#if defined(MBEDTLS_PSA_CRYPTO_C)
static unsigned s_psa_users;
#endif

static int psa_acquire(struct ward_tls *t)
{
#if defined(MBEDTLS_PSA_CRYPTO_C)
    if (psa_crypto_init() != PSA_SUCCESS) {
        return -EIO;
    }
    s_psa_users++;
    t->psa_held = true;
#else
    (void)t;
#endif
    return 0;
}

static void psa_release(struct ward_tls *t)
{
#if defined(MBEDTLS_PSA_CRYPTO_C)
    if (t->psa_held && --s_psa_users == 0) {
        mbedtls_psa_crypto_free();
    }
    t->psa_held = false;
#else
    (void)t;
#endif
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

    rc = psa_acquire(t);
    if (rc != 0) {
        goto fail;
    }
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
    psa_release(t);
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
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    case MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET: /* more tickets than one call takes */
        t->wants = WARD_CHAN_WANT_READ;
        return -EAGAIN;
#endif
    default:
        break;
    }
    t->last_error = rc;
    if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && t->ssl.MBEDTLS_PRIVATE(in_msg) != NULL) {
        /* kept for the message: the context is reset before anyone reads it */
        t->last_alert = t->ssl.MBEDTLS_PRIVATE(in_msg)[1];
    }
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
    t->ticket_taken = false;
    t->net_error = 0;
    t->wants = 0;
    if (rc == 0 && t->have_saved && mbedtls_ssl_set_session(&t->ssl, &t->saved) != 0) {
        ward_tls_forget_session(t); /* unusable ticket: fall back to a full handshake */
    }
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    /*
     * With a ticket, offer plain PSK only (psk_ke): mbedTLS's server prefers a certificate
     * handshake over plain PSK whenever the ClientHello allows one, and psk_dhe_ke costs an
     * ECDHE on both ends, so leaving out the key share is what keeps resumption free of
     * public-key work (a fleet's reconnect storm, docs/benchmarks.md). If the collector
     * refuses the ticket (expired, revoked, unknown key) the handshake fails, the session is
     * forgotten (tls_handshake) and the next connection is a full ECDHE handshake. A full
     * handshake offers psk_ke too: the collector issues tickets only for modes offered.
     */
    mbedtls_ssl_conf_tls13_key_exchange_modes(
        &t->conf, MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK |
                      (t->have_saved ? 0 : MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL));
#endif
    return rc == 0 ? 0 : map_error(t, rc);
}

/* Keep the newest session (the collector may have issued a fresh ticket). */
static void save_session(struct ward_tls *t)
{
    mbedtls_ssl_session_free(&t->saved);
    mbedtls_ssl_session_init(&t->saved);
    t->have_saved = mbedtls_ssl_get_session(&t->ssl, &t->saved) == 0;
}

static void handshake_done(struct ward_tls *t)
{
    t->resumed = !t->saw_full;
    if (t->resumed) {
        t->stats.resumed_handshakes++;
    } else {
        t->stats.full_handshakes++;
    }
    /* TLS 1.2 delivers the ticket inside the handshake; TLS 1.3 after it (save_session() is
     * then called when mbedTLS signals the NewSessionTicket). */
    if (mbedtls_ssl_get_version_number(&t->ssl) == MBEDTLS_SSL_VERSION_TLS1_2) {
        save_session(t);
    }
}

/*
 * A TLS 1.3 NewSessionTicket was processed: keep it, and say whether to call again. mbedTLS
 * takes a ticket in two calls: the first reads the record and answers WANT_READ with the
 * message held back (check_pending), the second processes it and answers
 * RECEIVED_NEW_SESSION_TICKET. Both mean "call again now": the socket may have nothing more.
 */
static bool took_ticket(struct ward_tls *t, int rc)
{
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    if (rc == MBEDTLS_ERR_SSL_WANT_READ && mbedtls_ssl_check_pending(&t->ssl) != 0) {
        return true;
    }
    if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
        /* mbedTLS exports a connection's session once: keep the first ticket (a server may
         * send several, all equally good), never free a saved one for a failed export. */
        if (!t->ticket_taken) {
            save_session(t);
            t->ticket_taken = true;
        }
        return true;
    }
#endif
    (void)t;
    (void)rc;
    return false;
}

/* Bounds the calls for NewSessionTicket messages in one read (the collector sends one, OpenSSL
 * two; each takes two calls). */
#define WARD_TLS_TICKETS_PER_CALL 8

static int tls_handshake(void *ctx)
{
    struct ward_tls *t = ctx;
    int rc = 0;

    for (int i = 0; i <= WARD_TLS_TICKETS_PER_CALL; i++) {
        rc = mbedtls_ssl_handshake(&t->ssl);
        if (!took_ticket(t, rc)) {
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
    int rc = 0;

    for (int i = 0; i <= WARD_TLS_TICKETS_PER_CALL; i++) {
        rc = mbedtls_ssl_write(&t->ssl, buf, len);
        if (!took_ticket(t, rc)) {
            break;
        }
    }
    return rc >= 0 ? rc : map_error(t, rc);
}

static int tls_read(void *ctx, uint8_t *buf, size_t len)
{
    struct ward_tls *t = ctx;
    int rc = 0;

    for (int i = 0; i <= WARD_TLS_TICKETS_PER_CALL; i++) {
        rc = mbedtls_ssl_read(&t->ssl, buf, len);
        if (!took_ticket(t, rc)) {
            break;
        }
    }
    if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
        return 0;
    }
    return rc >= 0 ? rc : map_error(t, rc);
}

static void tls_finish(void *ctx, bool graceful)
{
    struct ward_tls *t = ctx;

    if (graceful && mbedtls_ssl_is_handshake_over(&t->ssl)) {
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
