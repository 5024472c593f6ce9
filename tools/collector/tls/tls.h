/*
 * The collector's TLS: one mbedTLS configuration per listener, sharing keys and trust.
 *
 *  - device listener: TLS 1.3 or 1.2 (1.3 only with tls13_only), ECDHE and ECDSA on P-256
 *    with AES-GCM or ChaCha20-Poly1305 only, a client certificate from the ward CA is
 *    required; the subject CN is the device identity.
 *  - operator listener: the same protocol, no client certificate (operators present a bearer
 *    token in HTTP instead).
 *
 * Revocation: the collector checks the CRL itself in its verify callback rather than handing
 * it to mbedTLS, so a new CRL can be swapped in (SIGHUP, or the file changing) while
 * handshakes are in flight. The CRL's signature and issuer are checked against the CA when
 * it is loaded; a CRL past its nextUpdate is still enforced and logged as stale.
 */
#ifndef WCOL_TLS_TLS_H_
#define WCOL_TLS_TLS_H_

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "common/ident.h"
#include "tls/ticket.h"
#include "tls/tls_config.h"

#define WCOL_TICKET_PURPOSE_DEVICE 1u
#define WCOL_TICKET_PURPOSE_API    2u

struct wcol_tls {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt cert;
    mbedtls_pk_context key;
    mbedtls_x509_crl *crl; /* current CRL, NULL when none is configured */
    char crl_path[4096];
    struct timespec crl_mtime;
    int crl_stat_err; /* the last failure to see the CRL file, logged once until it changes */
    bool crl_stale_logged;
    mbedtls_ssl_config device_conf;
    mbedtls_ssl_config api_conf;
    struct wcol_ticket_keys tickets;
    struct wcol_ticket_ctx device_tickets;
    struct wcol_ticket_ctx api_tickets;
    /* Device revocations kept by the collector itself (devices/devices.h), beside the CRL:
     * true refuses the identity. May be NULL. */
    bool (*device_refused)(void *ctx, const struct wcol_ident *id);
    void *refused_ctx;
    /* Held to read or change the CRL and the device revocations: the device loops' threads
     * check them in their handshakes (server/worker.h). */
    pthread_mutex_t refused_mu;
};

/**
 * Load keys, certificates, CRL and ticket keys; build both configurations.
 * Every failure is logged as one line naming the file and what to do.
 * @return 0 or a negative errno (-ENOENT, -EBADMSG, -EPERM, -EIO).
 */
int wcol_tls_init(struct wcol_tls *t, const struct wcol_tls_paths *paths);

void wcol_tls_free(struct wcol_tls *t);

/**
 * Re-read the CRL (when forced, or when its file changed). A CRL that fails to load or verify
 * leaves the current one in force. @return 1 when a new CRL is in force, 0 unchanged, -errno.
 */
int wcol_tls_reload_crl(struct wcol_tls *t, bool force);

/** Is this serial number on the current CRL? */
bool wcol_tls_is_revoked(struct wcol_tls *t, const uint8_t *serial, size_t len);

/** Hold the refused lock while changing what device_refused reads (devices/devices.c). */
void wcol_tls_refused_lock(struct wcol_tls *t);
void wcol_tls_refused_unlock(struct wcol_tls *t);

/** Is this identity refused: its serial on the CRL, or its device revoked by the collector
 *  (device_refused) since before its certificate (or ticket) was issued? */
bool wcol_tls_ident_refused(struct wcol_tls *t, const struct wcol_ident *id);

/* The verify callback's context: one per connection. */
struct wcol_tls_peer {
    struct wcol_tls *tls;
    struct wcol_ident ident;
};

/**
 * mbedTLS verify callback for device connections (ctx: struct wcol_tls_peer, given with
 * mbedtls_ssl_set_verify): copies CN, serial and expiry of the leaf, refuses a CN that is not
 * a valid device id, and applies the CRL.
 */
int wcol_tls_verify_device(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags);

/** mbedtls_strerror() into a static buffer, for one-line logs. */
const char *wcol_tls_strerror(int err);

#endif /* WCOL_TLS_TLS_H_ */
