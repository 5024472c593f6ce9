/*
 * mbedTLS configuration for the off-device tools (ward-collector, wardctl), built as
 * ward_tools_mbedtls from the same Debian source as the agent's library.
 *
 * Same protocol surface as the agent (boards/common/linux/mbedtls_config.h): TLS 1.2 only,
 * ECDHE-ECDSA on P-256 with AES-GCM or ChaCha20-Poly1305. On top of that the collector
 * needs the server side, CRL parsing, error strings for its log, and a small footprint per
 * connection so that tens of thousands of agents fit:
 *  - MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH shrinks the record buffers after the handshake to the
 *    maximum fragment length the agent negotiated (4 KiB instead of 16 KiB in);
 *  - MBEDTLS_SSL_KEEP_PEER_CERTIFICATE is off: the collector copies the identity it needs
 *    (subject CN, serial, expiry) in its verify callback and then frees the certificate;
 *  - records the collector sends are at most 4 KiB, the agent's input buffer (see below).
 * Session tickets use the collector's own write/parse callbacks (tools/collector/ticket.c),
 * not ssl_ticket.c, so that the ticket key survives restarts and a ticket carries the device
 * identity.
 */
#ifndef WARD_TOOLS_TLS_MBEDTLS_CONFIG_H_
#define WARD_TOOLS_TLS_MBEDTLS_CONFIG_H_

/* Platform */
#define MBEDTLS_HAVE_ASM
/*
 * AES-NI (with a run-time CPU check): AES-GCM in plain C was 29 % of the collector's CPU
 * under load (docs/benchmarks.md). Tools are built only for the x86_64 host.
 */
#define MBEDTLS_AESNI_C
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_FS_IO
#define MBEDTLS_DEPRECATED_REMOVED
#define MBEDTLS_ERROR_C

/* Hashes and symmetric crypto */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_AES_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C

/* Randomness: the kernel's getrandom through mbedTLS's platform entropy */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_HMAC_DRBG_C

/* Public key: ECDSA on P-256 */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C

/* Certificates and revocation */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CRL_PARSE_C
#define MBEDTLS_X509_CHECK_KEY_USAGE
#define MBEDTLS_X509_CHECK_EXTENDED_KEY_USAGE

/* TLS 1.2 server and client, mutual auth, tickets */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
#define MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH

/*
 * Record buffers: 16 KiB both ways during the handshake, shrunk afterwards (variable buffer
 * length above) to what was negotiated. The collector caps the records it sends at 4 KiB
 * with mbedtls_ssl_conf_max_frag_len() (the agent's input buffer), so its output buffer
 * shrinks for every peer; the input buffer shrinks to 4 KiB for agents, which negotiate a
 * 4 KiB max_fragment_length, and stays 16 KiB for clients that do not (OpenSSL, wardctl).
 * Keep both lengths equal: mbedTLS 2.28 shrinks the input buffer of a peer that negotiated
 * nothing to min(IN, OUT), which would refuse a standard client's 16 KiB records.
 */
#define MBEDTLS_SSL_IN_CONTENT_LEN  16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 16384

#define MBEDTLS_SSL_CIPHERSUITES                                                                   \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,                                               \
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,                                     \
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384

#include "mbedtls/check_config.h"

#endif /* WARD_TOOLS_TLS_MBEDTLS_CONFIG_H_ */
