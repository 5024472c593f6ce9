/*
 * Mutual TLS 1.2 over a ward_net connection (mbedTLS), as a ward_chan.
 *
 * - The device presents its own certificate and key (ECDSA P-256).
 * - Only the collector's CA is trusted (pinned; no system store), and the collector's
 *   certificate must name server_name (sent as SNI and checked against CN/SAN).
 * - Cipher suites: ECDHE-ECDSA with ChaCha20-Poly1305 or AES-GCM, nothing else.
 * - A session ticket from every full handshake is kept, so reconnects resume without
 *   public-key operations; full and resumed handshakes are counted.
 * - max_fragment_length asks the collector to keep records within the input buffer.
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
    bool saw_full;  /* this handshake went through the certificate exchange */
    bool resumed;   /* the last completed handshake was resumed */
    bool ready;     /* init() succeeded */
    unsigned wants; /* WARD_CHAN_WANT_* after the last -EAGAIN */
    int net_error;  /* the negative errno of the last failed network op */
    int last_error; /* the last mbedTLS error code, for messages */
    uint32_t verify_flags;
    struct ward_net *net;
    struct ward_tls_stats stats;
};

/**
 * Parse the credentials, seed the DRBG (mbedTLS's platform entropy: getrandom on Linux,
 * the board's hardware source on bare metal) and set up the client.
 * @return 0; -EINVAL for missing arguments; -EBADMSG when the CA, the certificate or the
 *         key does not parse, the key is not ECDSA P-256, or it does not match the
 *         certificate; -ENOMEM when the pool is too small; -EIO when seeding the DRBG fails.
 */
int ward_tls_init(struct ward_tls *t, const struct ward_tls_creds *creds, struct ward_net *net,
                  const char *personalization);

/** Release everything init() took (back to the pool). */
void ward_tls_free(struct ward_tls *t);

/** Forget the saved session: the next handshake is a full one. */
void ward_tls_forget_session(struct ward_tls *t);

/** The channel view for the transport. */
struct ward_chan ward_tls_chan(struct ward_tls *t);

/** "mbedTLS -0x7780" style text of the last error, for one-line messages. */
const char *ward_tls_strerror(const struct ward_tls *t, char *buf, size_t len);

#endif /* WARD_TRANSPORT_TLS_H_ */
