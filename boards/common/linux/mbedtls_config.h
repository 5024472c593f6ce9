/*
 * mbedTLS configuration for ward's Linux boards (linux-x86_64, linux-aarch64, linux-armv7,
 * sim). Only what the agent needs: a TLS 1.2 client with mutual authentication,
 * ECDHE-ECDSA key exchange on P-256 and AES-GCM or ChaCha20-Poly1305, session tickets, and
 * the hashes the agent uses. Everything else is left out, which keeps the static binaries
 * small and the attack surface narrow.
 */
#ifndef WARD_BOARDS_COMMON_LINUX_MBEDTLS_CONFIG_H_
#define WARD_BOARDS_COMMON_LINUX_MBEDTLS_CONFIG_H_

/* Platform */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_PLATFORM_C
/* mbedtls_calloc/free are routed to a static pool at start-up (ward/transport/mempool.h) */
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_DEPRECATED_REMOVED

/* Hashes and symmetric crypto */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
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
/* Smaller point tables: 2.5 KiB less at the handshake's peak, no measurable time on x86-64
 * (docs/benchmarks.md, "TLS memory"). */
#define MBEDTLS_ECP_WINDOW_SIZE       2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
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

/* Certificates */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CRL_PARSE_C

/* TLS 1.2 client, mutual auth, tickets */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
/*
 * Not kept: the collector's certificate is verified during the handshake and then freed;
 * sessions (and the saved ticket) carry only its digest. Saves 3 KiB while connected.
 */

/*
 * Small record buffers: the collector never sends records larger than the agent's input
 * buffer, and the agent's batches are a few KiB at most.
 */
#define MBEDTLS_SSL_IN_CONTENT_LEN  4096
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096

#define MBEDTLS_SSL_CIPHERSUITES                                                                   \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,                                               \
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,                                     \
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384

#include "mbedtls/check_config.h"

#endif /* WARD_BOARDS_COMMON_LINUX_MBEDTLS_CONFIG_H_ */
