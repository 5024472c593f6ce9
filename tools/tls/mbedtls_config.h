/*
 * mbedTLS configuration for the off-device tools (ward-collector, wardctl), built as
 * ward_tools_mbedtls from the same Debian source as the agent's library.
 *
 * Same protocol surface as the agent (boards/common/linux/mbedtls_config.h): TLS 1.3 and 1.2,
 * ECDHE-ECDSA on P-256 with AES-GCM or ChaCha20-Poly1305. On top of that the collector
 * needs the server side, CRL parsing, error strings for its log, every TLS 1.3 key exchange
 * mode (agents resume with psk_ke; OpenSSL and Python clients with psk_dhe_ke), and a small
 * footprint per connection so that tens of thousands of agents fit:
 *  - MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH shrinks the record buffers after the handshake to the
 *    maximum fragment length the agent negotiated (4 KiB instead of 16 KiB in);
 *  - the collector copies the identity it needs (subject CN, serial, expiry) in its verify
 *    callback; MBEDTLS_SSL_KEEP_PEER_CERTIFICATE, off under mbedTLS 2.28, is on because
 *    mbedTLS 3.6's TLS 1.3 requires it (about 1 KiB more per connection, measured in
 *    docs/benchmarks.md);
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
/*
 * The collector's device loops are threads (tools/collector/server/worker.h): the shared
 * random generator and PSA's key store (TLS 1.3 keys) take mbedTLS's own locks.
 */
#define MBEDTLS_THREADING_C
#define MBEDTLS_THREADING_PTHREAD
#define MBEDTLS_FS_IO
#define MBEDTLS_DEPRECATED_REMOVED
#define MBEDTLS_ERROR_C

/* Hashes and symmetric crypto */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C /* TOTP codes are HMAC-SHA-1 (RFC 6238; collector/auth/totp.c) */
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_HKDF_C /* TLS 1.3 key schedule */
#define MBEDTLS_AES_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
/*
 * ChaCha20-Poly1305 is what agents ask for first (boards/common/linux/mbedtls_config.h: boards
 * without AES instructions), and mbedTLS's portable C for it was a third of the collector's
 * instructions per heartbeat. tools/tls/chacha20_fast.c and poly1305_fast.c replace the two
 * primitives (vector ChaCha20 blocks, 64-bit Poly1305 limbs); chachapoly.c, PSA and TLS are
 * mbedTLS's. tests/unit/tools_chachapoly holds them to mbedTLS's own code and vectors.
 */
#define MBEDTLS_CHACHA20_ALT
#define MBEDTLS_POLY1305_ALT
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C

/* Randomness: the kernel's getrandom through mbedTLS's platform entropy */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_HMAC_DRBG_C
/* PSA Crypto: TLS 1.3 needs it (psa_crypto_init() in the collector's and wardctl's TLS set-up).
 * Algorithms follow from the legacy modules; the key store grows with the connections. */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_PSA_KEY_STORE_DYNAMIC

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
#define MBEDTLS_PK_WRITE_C /* the audit checkpoint key (collector/audit/key.c) */
#define MBEDTLS_PEM_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C

/* Certificates and revocation */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CRL_PARSE_C
#define MBEDTLS_X509_CHECK_KEY_USAGE
#define MBEDTLS_X509_CHECK_EXTENDED_KEY_USAGE
/* Enrolment (tools/collector/devices/signer.c): device requests in, certificates out. */
#define MBEDTLS_X509_CSR_PARSE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_PEM_WRITE_C

/* TLS 1.3 and 1.2 server and client, mutual auth, tickets */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
#define MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH
/* TLS 1.3 has no max_fragment_length: agents send record_size_limit (4 KiB) instead, and
 * honouring it lets the output buffer shrink as MFL did under 1.2. */
#define MBEDTLS_SSL_RECORD_SIZE_LIMIT
/*
 * A resumed TLS 1.3 handshake is refused when the ticket age the client states differs from
 * the collector's by more than this (mbedTLS: 6 s). The difference includes the time the
 * ClientHello waited in the listen queue, and in a fleet's reconnect storm that is seconds:
 * agents resume with psk_ke only, so a refused ticket fails the handshake and the agent backs
 * off (docs/benchmarks.md, "Restart storm"). The check guards 0-RTT replay, and the collector
 * has no early data; a ticket is still bounded by its lifetime and by the collector's own
 * checks (tools/collector/tls/ticket.c).
 */
#define MBEDTLS_SSL_TLS1_3_TICKET_AGE_TOLERANCE 120000

/*
 * Record buffers: 16 KiB both ways during the handshake, shrunk afterwards (variable buffer
 * length above) to what was negotiated. The collector caps the records it sends at 4 KiB
 * with mbedtls_ssl_conf_max_frag_len() (the agent's input buffer), so its output buffer
 * shrinks for every peer; the input buffer shrinks to 4 KiB for agents, which negotiate a
 * 4 KiB max_fragment_length, and stays 16 KiB for clients that do not (OpenSSL, wardctl).
 * Keep both lengths equal: mbedTLS shrinks the input buffer of a peer that negotiated
 * nothing to min(IN, OUT), which would refuse a standard client's 16 KiB records. TLS 1.3
 * has no max_fragment_length: there the collector's records are what it writes, acknowledgements
 * and small handshake messages, all far below the agent's 4 KiB input buffer.
 */
#define MBEDTLS_SSL_IN_CONTENT_LEN  16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 16384

#define MBEDTLS_SSL_CIPHERSUITES                                                                   \
    MBEDTLS_TLS1_3_AES_128_GCM_SHA256, MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,                    \
        MBEDTLS_TLS1_3_AES_256_GCM_SHA384, MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,        \
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,                                     \
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384

/* mbedTLS 3 runs its own check_config.h after this file (build_info.h); including it here,
 * before its adjust headers, would refuse valid configurations. */

#endif /* WARD_TOOLS_TLS_MBEDTLS_CONFIG_H_ */
