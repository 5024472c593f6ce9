/*
 * Mutual TLS over a ward_net connection (mbedTLS 3.6), as a ward_chan: TLS 1.3 when the
 * board's mbedTLS configuration compiles it in (then only 1.3), else TLS 1.2.
 *
 * - The device presents its own certificate and key (ECDSA P-256).
 * - Only the collector's CA is trusted (pinned; no system store), and the collector's
 *   certificate must name server_name (sent as SNI and checked against CN/SAN).
 * - Cipher suites: ChaCha20-Poly1305 or AES-GCM with ECDHE and ECDSA on P-256, nothing else.
 * - A session ticket from every full handshake is kept (TLS 1.3: the first NewSessionTicket
 *   after it), so reconnects resume without public-key operations (TLS 1.3: psk_ke only);
 *   full and resumed handshakes are counted.
 * - TLS 1.2: max_fragment_length asks the collector to keep records within the input buffer.
 * - The server name is mandatory (ward_tls_init refuses NULL or ""): mbedTLS only checks the
 *   certificate's name when one is set (CVE-2025-27809).
 *
 * All buffers come from mbedTLS's allocator: install a ward_mempool first
 * (ward_mempool_install_mbedtls) so none of this touches a system heap. The ssl context is
 * set up once by ward_tls_init(); reconnects reuse its buffers.
 */
#ifndef WARD_TRANSPORT_TLS_H_
#define WARD_TRANSPORT_TLS_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "ward/transport/chan.h"
#include "ward/transport/net.h"

/** PEM or DER credentials. PEM buffers must include their terminating NUL in the length. */
struct ward_tls_creds {
    const uint8_t *ca;
    size_t ca_len;
    const uint8_t *cert;
    size_t cert_len;
    const uint8_t *key;
    size_t key_len;
    const char *server_name; /* the collector's name, as in its certificate */
};

struct ward_tls_stats {
    uint32_t full_handshakes;    /* completed with certificate exchange and ECDHE */
    uint32_t resumed_handshakes; /* completed from a session ticket */
    uint32_t failed_handshakes;
    uint32_t verify_failures; /* the collector's certificate was rejected */
};

struct ward_tls {
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt cert;
    mbedtls_pk_context key;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_session saved; /* the last session, resumed on the next connection */
    bool have_saved;
    bool saw_full;      /* this handshake verified the collector's certificate */
    bool ticket_taken;  /* this connection's TLS 1.3 ticket is saved already */
    bool resumed;       /* the last completed handshake was resumed */
    bool ready;         /* init() succeeded */
    bool psa_held;      /* counted as a user of PSA Crypto (TLS 1.3 boards) */
    unsigned wants;     /* WARD_CHAN_WANT_* after the last -EAGAIN */
    int net_error;      /* the negative errno of the last failed network op */
    int last_error;     /* the last mbedTLS error code, for messages */
    uint8_t last_alert; /* with last_error a fatal alert: its description (RFC 8446 6.2) */
    uint32_t verify_flags;
    struct ward_net *net;
    struct ward_tls_stats stats;
};

/**
 * Initialise PSA Crypto (TLS 1.3 boards), parse the credentials, seed the DRBG (mbedTLS's
 * platform entropy: getrandom on Linux, the board's hardware source on bare metal) and set
 * up the client.
 * @return 0; -EINVAL for missing arguments; -EBADMSG when the CA, the certificate or the
 *         key does not parse, the key is not ECDSA P-256, or it does not match the
 *         certificate; -ENOMEM when the pool is too small; -EIO when seeding the DRBG or
 *         initialising PSA Crypto fails.
 */
int ward_tls_init(struct ward_tls *t, const struct ward_tls_creds *creds, struct ward_net *net,
                  const char *personalization);

/** Release everything init() took (back to the pool). */
void ward_tls_free(struct ward_tls *t);

/** Forget the saved session: the next handshake is a full one. */
void ward_tls_forget_session(struct ward_tls *t);

/**
 * Switch to a new certificate and key (a renewal, or files an operator replaced) for the next
 * handshake: both are parsed from the pool and checked before anything changes; on any error
 * the old pair stays in use. The saved session is forgotten, so the next handshake is a full
 * one that presents the new certificate. Call it with no handshake in progress.
 * @return 0; -EINVAL for missing arguments or when the key does not match the certificate;
 *         -EBADMSG when either does not parse (or the pool is too small for both pairs at
 *         once); -ENOTSUP when the key is not ECDSA P-256; -EPERM when the certificate's
 *         subject CN (the device id) differs from the current one.
 */
int ward_tls_reload(struct ward_tls *t, const uint8_t *cert_pem, size_t cert_len,
                    const uint8_t *key_pem, size_t key_len);

/** The channel view for the transport. */
struct ward_chan ward_tls_chan(struct ward_tls *t);

/** "mbedTLS -0x7780" style text of the last error, for one-line messages. */
const char *ward_tls_strerror(const struct ward_tls *t, char *buf, size_t len);

#endif /* WARD_TRANSPORT_TLS_H_ */
