/*
 * mbedTLS 3.6 configuration for ward's Linux boards (linux-x86_64, linux-aarch64,
 * linux-armv7, linux-armv5te, sim). Only what the agent needs: a TLS 1.3 client with mutual
 * authentication, ECDHE and ECDSA on P-256, AES-GCM or ChaCha20-Poly1305, session tickets,
 * and the hashes the agent uses. TLS 1.2 is compiled out: these boards have the room for
 * 1.3, and an agent that cannot speak 1.2 cannot be downgraded to it (the collector still
 * accepts 1.2 for boards whose budget keeps it: mps2-an385).
 * Everything else is left out, which keeps the static binaries small and the attack surface
 * narrow. Trims, each with its reason, are commented where they are made.
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
#define MBEDTLS_SHA384_C /* the *_AES_256_GCM_SHA384 suites and SHA-384 signatures */
/* TLS 1.3's key schedule (through PSA, see below) */
#define MBEDTLS_HKDF_C
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
/*
 * PSA Crypto: mbedTLS 3.6's TLS 1.3 does its key schedule, ECDHE and record protection
 * through it, so psa_crypto_init() runs in ward_tls_init(). The algorithms it offers follow
 * from the legacy modules above (no MBEDTLS_PSA_CRYPTO_CONFIG). Its key store is
 * process-wide and grows on demand from the pool (MBEDTLS_PSA_KEY_STORE_DYNAMIC): one agent
 * holds a handful of keys during a handshake, but the load generator runs thousands of
 * agents in one process, and a fixed store (MBEDTLS_PSA_KEY_SLOT_COUNT) made their
 * simultaneous reconnects fail with MBEDTLS_ERR_SSL_ALLOC_FAILED.
 */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_PSA_KEY_STORE_DYNAMIC

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
/* ward-agent enroll: the device makes its own key and certificate request (docs/pki.md). */
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_PEM_WRITE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CSR_WRITE_C

/* TLS 1.3 client, mutual auth, tickets */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
/* Server: ward-agent run --metrics-tls (docs/nms.md), mutual TLS for Prometheus' scrapes. */
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_3
/*
 * TLS 1.3 key exchange: ECDHE for a full handshake, plain PSK for resumption. The agent offers
 * only psk_ke (not psk_dhe_ke) with a ticket, so a resumed handshake does no public-key work
 * on either end, as TLS 1.2 tickets did: that keeps a fleet's reconnect storm after a
 * collector restart cheap (docs/benchmarks.md). Resumed sessions are protected by the
 * collector's rotating ticket key (tools/collector/ticket.h), as before. psk_dhe_ke is
 * compiled out: the agent never offers it.
 */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_ENABLED
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
/*
 * mbedTLS 3.6's TLS 1.3 requires the peer certificate to be kept in the session (check_config
 * refuses it otherwise); under mbedTLS 2.28's TLS 1.2 it was freed after the handshake. The
 * cost shows in the pool figures in docs/benchmarks.md.
 */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
/*
 * record_size_limit (RFC 8449), TLS 1.3's replacement for max_fragment_length: the agent
 * asks for records within its 4 KiB input buffer, and the collector, which honours it,
 * shrinks its output buffer per connection to match (MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH).
 */
#define MBEDTLS_SSL_RECORD_SIZE_LIMIT
/* Not enabled: TLS 1.3 middlebox compatibility mode (an extra ChangeCipherSpec and a 32-byte
 * session id per handshake, bytes for nothing between agent and collector), early data. */

/*
 * Small record buffers: the collector never sends records larger than the agent's input
 * buffer (TLS 1.2: max_fragment_length; TLS 1.3: its own records are acknowledgements and a
 * handshake flight of small messages), and the agent's batches are a few KiB at most.
 */
#define MBEDTLS_SSL_IN_CONTENT_LEN  4096
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096

#define MBEDTLS_SSL_CIPHERSUITES                                                                   \
    MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, MBEDTLS_TLS1_3_AES_128_GCM_SHA256,                    \
        MBEDTLS_TLS1_3_AES_256_GCM_SHA384

/* mbedTLS 3 runs its own check_config.h after this file (build_info.h); including it here,
 * before its adjust headers, would refuse valid configurations. */

#endif /* WARD_BOARDS_COMMON_LINUX_MBEDTLS_CONFIG_H_ */
