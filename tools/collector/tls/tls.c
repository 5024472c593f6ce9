#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <psa/crypto.h>

#include "ward/wire/device_id.h"

#include "common/log.h"
#include "tls/tls.h"

/* TLS 1.3 suites (AES-NI makes AES-GCM the cheapest here), then the TLS 1.2 ones. */
static const int s_ciphersuites[] = {
    MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
    MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    0,
};

const char *wcol_tls_strerror(int err)
{
    static _Thread_local char buf[160]; /* loops log from their own threads */

    mbedtls_strerror(err, buf, sizeof(buf));
    return buf;
}

bool wcol_device_id_valid(const char *id, size_t len)
{
    return ward_device_id_valid(id, len);
}

/* A secret on disk must be readable by its owner only (as ssh insists). */
static int check_private_file(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        int err = errno;

        wcol_log_error("cannot read %s: %s", path, strerror(err));
        return -err;
    }
    if ((st.st_mode & 077) != 0) {
        wcol_log_error("private key %s is accessible to group or others (mode %o); run: chmod 600 "
                       "%s",
                       path, (unsigned)(st.st_mode & 0777), path);
        return -EPERM;
    }
    return 0;
}

static int64_t x509_time_to_unix(const mbedtls_x509_time *t)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = t->year - 1900;
    tm.tm_mon = t->mon - 1;
    tm.tm_mday = t->day;
    tm.tm_hour = t->hour;
    tm.tm_min = t->min;
    tm.tm_sec = t->sec;
    return (int64_t)timegm(&tm);
}

/* Serial numbers compare as integers: ignore DER's leading zero octets. */
static void strip_zeros(const uint8_t **p, size_t *len)
{
    while (*len > 1 && (*p)[0] == 0) {
        (*p)++;
        (*len)--;
    }
}

static bool serial_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    strip_zeros(&a, &alen);
    strip_zeros(&b, &blen);
    return alen == blen && memcmp(a, b, alen) == 0;
}

bool wcol_tls_is_revoked(struct wcol_tls *t, const uint8_t *serial, size_t len)
{
    for (const mbedtls_x509_crl *crl = t->crl; crl != NULL; crl = crl->next) {
        for (const mbedtls_x509_crl_entry *e = &crl->entry; e != NULL; e = e->next) {
            if (e->serial.len > 0 && serial_equal(e->serial.p, e->serial.len, serial, len)) {
                return true;
            }
        }
    }
    return false;
}

bool wcol_tls_ident_refused(struct wcol_tls *t, const struct wcol_ident *id)
{
    bool refused;

    /* Device loops ask from their threads while the owner swaps the CRL (server/worker.h). */
    pthread_mutex_lock(&t->refused_mu);
    refused = (t->crl != NULL && wcol_tls_is_revoked(t, id->serial, id->serial_len)) ||
              (t->device_refused != NULL && t->device_refused(t->refused_ctx, id));
    pthread_mutex_unlock(&t->refused_mu);
    return refused;
}

void wcol_tls_refused_lock(struct wcol_tls *t)
{
    pthread_mutex_lock(&t->refused_mu);
}

void wcol_tls_refused_unlock(struct wcol_tls *t)
{
    pthread_mutex_unlock(&t->refused_mu);
}

static bool ticket_revoked(void *ctx, const struct wcol_ident *id)
{
    return wcol_tls_ident_refused(ctx, id);
}

int wcol_tls_verify_device(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    struct wcol_tls_peer *peer = ctx;
    struct wcol_ident *id = &peer->ident;
    const mbedtls_x509_name *cn = NULL;
    unsigned cns = 0;

    if (depth != 0) {
        return 0;
    }
    memset(id, 0, sizeof(*id));
    for (const mbedtls_x509_name *n = &crt->subject; n != NULL; n = n->next) {
        if (n->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
            cn = n;
            cns++;
        }
    }
    if (cns != 1 || !wcol_device_id_valid((const char *)cn->val.p, cn->val.len)) {
        *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH; /* no usable device id in the subject */
        return 0;
    }
    memcpy(id->cn, cn->val.p, cn->val.len);
    id->cn[cn->val.len] = '\0';

    const uint8_t *serial = crt->serial.p;
    size_t slen = crt->serial.len;

    strip_zeros(&serial, &slen);
    if (slen > WCOL_SERIAL_MAX) {
        *flags |= MBEDTLS_X509_BADCERT_OTHER;
        return 0;
    }
    memcpy(id->serial, serial, slen);
    id->serial_len = (uint8_t)slen;
    id->not_after = x509_time_to_unix(&crt->valid_to);
    id->not_before = x509_time_to_unix(&crt->valid_from);
    if (wcol_tls_ident_refused(peer->tls, id)) {
        *flags |= MBEDTLS_X509_BADCERT_REVOKED;
    }
    id->valid = *flags == 0;
    return 0;
}

/*
 * Every CRL in the file must be issued and signed by one of our CAs. mbedTLS 3 has no public
 * function that checks a CRL's signature on its own (only inside mbedtls_x509_crt_verify(), on
 * a chain, which cannot be swapped while handshakes are in flight), and keeps the signature
 * fields private: MBEDTLS_PRIVATE() reaches them, here only.
 */
static int crl_verify(const mbedtls_x509_crt *cas, const mbedtls_x509_crl *crl)
{
    for (const mbedtls_x509_crt *ca = cas; ca != NULL; ca = ca->next) {
        if (ca->subject_raw.len != crl->issuer_raw.len ||
            memcmp(ca->subject_raw.p, crl->issuer_raw.p, crl->issuer_raw.len) != 0) {
            continue;
        }
        mbedtls_md_type_t md_type = crl->MBEDTLS_PRIVATE(sig_md);
        mbedtls_pk_type_t pk_type = crl->MBEDTLS_PRIVATE(sig_pk);
        const mbedtls_x509_buf *sig = &crl->MBEDTLS_PRIVATE(sig);
        const mbedtls_md_info_t *md = mbedtls_md_info_from_type(md_type);
        unsigned char hash[MBEDTLS_MD_MAX_SIZE];

        if (md == NULL || mbedtls_md(md, crl->tbs.p, crl->tbs.len, hash) != 0 ||
            !mbedtls_pk_can_do(&ca->pk, pk_type)) {
            return -EBADMSG;
        }
        if (mbedtls_pk_verify_ext(pk_type, crl->MBEDTLS_PRIVATE(sig_opts),
                                  (mbedtls_pk_context *)&ca->pk, md_type, hash,
                                  mbedtls_md_get_size(md), sig->p, sig->len) != 0) {
            return -EBADMSG;
        }
        return 0;
    }
    return -EBADMSG;
}

static int crl_load(struct wcol_tls *t, mbedtls_x509_crl **out)
{
    mbedtls_x509_crl *crl = calloc(1, sizeof(*crl));
    int rc;

    if (crl == NULL) {
        return -ENOMEM;
    }
    mbedtls_x509_crl_init(crl);
    rc = mbedtls_x509_crl_parse_file(crl, t->crl_path);
    if (rc != 0) {
        wcol_log_error("cannot load CRL %s: %s; regenerate it with: ward-pki crl", t->crl_path,
                       wcol_tls_strerror(rc));
        rc = -EBADMSG;
        goto free_crl;
    }
    for (const mbedtls_x509_crl *c = crl; c != NULL; c = c->next) {
        if (crl_verify(&t->ca, c) != 0) {
            wcol_log_error("CRL %s is not signed by the configured CA; refusing it", t->crl_path);
            rc = -EBADMSG;
            goto free_crl;
        }
        if (mbedtls_x509_time_is_past(&c->next_update)) {
            wcol_log_warn("CRL %s is past its nextUpdate; still enforcing it, refresh it with: "
                          "ward-pki crl",
                          t->crl_path);
        }
    }
    *out = crl;
    return 0;
free_crl:
    mbedtls_x509_crl_free(crl);
    free(crl);
    return rc;
}

static unsigned crl_count(const mbedtls_x509_crl *crl)
{
    unsigned n = 0;

    for (; crl != NULL; crl = crl->next) {
        for (const mbedtls_x509_crl_entry *e = &crl->entry; e != NULL; e = e->next) {
            n += e->serial.len > 0;
        }
    }
    return n;
}

int wcol_tls_reload_crl(struct wcol_tls *t, bool force)
{
    struct stat st;
    mbedtls_x509_crl *fresh = NULL;

    if (t->crl_path[0] == '\0') {
        return 0;
    }
    if (stat(t->crl_path, &st) != 0) {
        int err = errno;

        /* Checked every second: say it once, not once a second. */
        if (err != t->crl_stat_err || force) {
            wcol_log_error("cannot read CRL %s: %s (the previous CRL stays in force)", t->crl_path,
                           strerror(err));
        }
        t->crl_stat_err = err;
        return -err;
    }
    t->crl_stat_err = 0;
    if (!force && st.st_mtim.tv_sec == t->crl_mtime.tv_sec &&
        st.st_mtim.tv_nsec == t->crl_mtime.tv_nsec) {
        return 0;
    }
    int rc = crl_load(t, &fresh);

    if (rc != 0) {
        return rc;
    }
    pthread_mutex_lock(&t->refused_mu);
    mbedtls_x509_crl *old = t->crl;

    t->crl = fresh;
    pthread_mutex_unlock(&t->refused_mu);
    if (old != NULL) {
        mbedtls_x509_crl_free(old);
        free(old);
    }
    t->crl_mtime = st.st_mtim;
    wcol_log_info("CRL %s loaded: %u revoked certificates", t->crl_path, crl_count(fresh));
    return 1;
}

static int conf_common(struct wcol_tls *t, mbedtls_ssl_config *conf, int authmode,
                       struct wcol_ticket_ctx *tickets, bool tls13_only)
{
    int rc = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT);

    if (rc != 0) {
        return rc;
    }
    /* TLS 1.3 for agents that have it, 1.2 for boards whose budget keeps them there; every
     * TLS 1.3 key exchange mode (agents resume with psk_ke, other clients with psk_dhe_ke). */
    mbedtls_ssl_conf_min_tls_version(conf, tls13_only ? MBEDTLS_SSL_VERSION_TLS1_3
                                                      : MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_3);
    mbedtls_ssl_conf_tls13_key_exchange_modes(conf, MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_ALL);
    mbedtls_ssl_conf_ciphersuites(conf, s_ciphersuites);
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &t->drbg);
    mbedtls_ssl_conf_authmode(conf, authmode);
    mbedtls_ssl_conf_ca_chain(conf, &t->ca, NULL);
    rc = mbedtls_ssl_conf_own_cert(conf, &t->cert, &t->key);
    if (rc != 0) {
        return rc;
    }
    mbedtls_ssl_conf_session_tickets_cb(conf, wcol_ticket_write, wcol_ticket_parse, tickets);
    /* On a server this caps the records we send (the agent's input buffer is 4 KiB). */
    return mbedtls_ssl_conf_max_frag_len(conf, MBEDTLS_SSL_MAX_FRAG_LEN_4096);
}

static int load_identity(struct wcol_tls *t, const struct wcol_tls_paths *p)
{
    int rc = mbedtls_x509_crt_parse_file(&t->ca, p->ca);

    if (rc != 0) {
        wcol_log_error("cannot load CA certificate %s: %s; create a PKI with: ward-pki init", p->ca,
                       wcol_tls_strerror(rc));
        return -EBADMSG;
    }
    rc = mbedtls_x509_crt_parse_file(&t->cert, p->cert);
    if (rc != 0) {
        wcol_log_error("cannot load collector certificate %s: %s; issue one with: ward-pki "
                       "collector",
                       p->cert, wcol_tls_strerror(rc));
        return -EBADMSG;
    }
    /* A device's (clientAuth-only) certificate must not serve as the collector's. */
    if (mbedtls_x509_crt_check_extended_key_usage(&t->cert, MBEDTLS_OID_SERVER_AUTH,
                                                  MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) != 0) {
        wcol_log_error("%s is not a server certificate (its extended key usage lacks "
                       "serverAuth); issue the collector's with: ward-pki collector",
                       p->cert);
        return -EBADMSG;
    }
    rc = check_private_file(p->key);
    if (rc != 0) {
        return rc;
    }
    rc = mbedtls_pk_parse_keyfile(&t->key, p->key, NULL, mbedtls_ctr_drbg_random, &t->drbg);
    if (rc != 0) {
        wcol_log_error("cannot load private key %s: %s", p->key, wcol_tls_strerror(rc));
        return -EBADMSG;
    }
    rc = mbedtls_pk_check_pair(&t->cert.pk, &t->key, mbedtls_ctr_drbg_random, &t->drbg);
    if (rc != 0) {
        wcol_log_error("private key %s does not belong to certificate %s", p->key, p->cert);
        return -EBADMSG;
    }
    return 0;
}

int wcol_tls_init(struct wcol_tls *t, const struct wcol_tls_paths *p)
{
    static const char pers[] = "ward-collector";
    int rc;

    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->refused_mu, NULL);
    mbedtls_entropy_init(&t->entropy);
    mbedtls_ctr_drbg_init(&t->drbg);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_x509_crt_init(&t->cert);
    mbedtls_pk_init(&t->key);
    mbedtls_ssl_config_init(&t->device_conf);
    mbedtls_ssl_config_init(&t->api_conf);
    /* TLS 1.3 runs on PSA Crypto (its key schedule, ECDHE and record keys). */
    if (psa_crypto_init() != PSA_SUCCESS) {
        wcol_log_error("cannot initialise PSA Crypto (is /dev/urandom readable?)");
        return -EIO;
    }
    rc = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
                               (const unsigned char *)pers, sizeof(pers) - 1);
    if (rc != 0) {
        wcol_log_error("cannot seed the random generator: %s", wcol_tls_strerror(rc));
        return -EIO;
    }
    rc = load_identity(t, p);
    if (rc != 0) {
        return rc;
    }
    if (p->crl != NULL && p->crl[0] != '\0') {
        snprintf(t->crl_path, sizeof(t->crl_path), "%s", p->crl);
        rc = wcol_tls_reload_crl(t, true);
        if (rc < 0) {
            return rc;
        }
    }
    rc =
        wcol_ticket_keys_open(&t->tickets, p->ticket_keys, p->ticket_lifetime_s, p->ticket_rotate_s,
                              mbedtls_ctr_drbg_random, &t->drbg, (int64_t)time(NULL));
    if (rc != 0) {
        wcol_log_error("cannot use session ticket keys %s: %s", p->ticket_keys, strerror(-rc));
        return rc;
    }
    t->tickets.is_revoked = ticket_revoked;
    t->tickets.revoked_ctx = t;
    t->device_tickets.keys = &t->tickets;
    t->device_tickets.purpose = WCOL_TICKET_PURPOSE_DEVICE;
    t->api_tickets.keys = &t->tickets;
    t->api_tickets.purpose = WCOL_TICKET_PURPOSE_API;
    rc = conf_common(t, &t->device_conf, MBEDTLS_SSL_VERIFY_REQUIRED, &t->device_tickets,
                     p->tls13_only);
    if (rc == 0) {
        rc = conf_common(t, &t->api_conf, MBEDTLS_SSL_VERIFY_NONE, &t->api_tickets, p->tls13_only);
    }
    if (rc != 0) {
        wcol_log_error("cannot configure TLS: %s", wcol_tls_strerror(rc));
        return -EIO;
    }
    return 0;
}

void wcol_tls_free(struct wcol_tls *t)
{
    mbedtls_ssl_config_free(&t->device_conf);
    mbedtls_ssl_config_free(&t->api_conf);
    wcol_ticket_keys_close(&t->tickets);
    if (t->crl != NULL) {
        mbedtls_x509_crl_free(t->crl);
        free(t->crl);
        t->crl = NULL;
    }
    mbedtls_pk_free(&t->key);
    mbedtls_x509_crt_free(&t->cert);
    mbedtls_x509_crt_free(&t->ca);
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->entropy);
    mbedtls_psa_crypto_free();
    pthread_mutex_destroy(&t->refused_mu);
}
