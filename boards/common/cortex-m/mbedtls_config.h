/*
 * mbedTLS configuration for the Cortex-M boards (mps2-an385, lm3s6965evb): the same TLS 1.2
 * client as the Linux boards
 * (boards/common/linux/mbedtls_config.h: mutual authentication, ECDHE-ECDSA on P-256,
 * AES-GCM or ChaCha20-Poly1305, session tickets, SHA-256/512, X.509), adapted to bare
 * metal:
 *
 * - No OS entropy (MBEDTLS_NO_PLATFORM_ENTROPY) and no TRNG on either board: the strong source
 *   is a per-device seed provisioned in flash and rewritten on every boot
 *   (MBEDTLS_ENTROPY_NV_SEED, read and written by boards/common/cortex-m/entropy.c), mixed with
 *   weak timer jitter (mbedtls_hardware_poll). A blank or all-zero seed fails closed.
 * - No clock: neither MBEDTLS_HAVE_TIME nor MBEDTLS_HAVE_TIME_DATE. Neither board has an RTC,
 *   so certificate validity periods are NOT checked until a trusted time source exists.
 * - No C heap (CONFIG_WARD_HEAP_AT_START_SIZE=0): mbedtls_calloc() takes memory from the
 *   transport's static pool (firmware/transport/src/mempool.c, CONFIG_WARD_TLS_POOL_SIZE),
 *   installed at start-up as on every board.
 * - The memory trims of the Linux boards (ECP window 2, no fixed-point tables, the peer
 *   certificate not kept), so their measured pool peak applies here.
 * - Flash budget (128 KiB for the whole image): credentials are DER (no PEM/Base64 parser),
 *   no CRL parser (the collector's CA is pinned), no SHA-512, so no AES-256-GCM-SHA384 suite
 *   and no SHA-384 signatures: ward-pki issues P-256/SHA-256 only. AES tables: the
 *   "fewer tables" variant (2 KiB instead of 8).
 * - MBEDTLS_HAVE_ASM stays: the Thumb-2 multiply-accumulate in bn_mul.h builds for the
 *   M3 (it needs no DSP extension), and the board's bignum check runs it against known
 *   answers on every boot.
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_MBEDTLS_CONFIG_H_
#define WARD_BOARDS_COMMON_CORTEX_M_MBEDTLS_CONFIG_H_

/* Platform */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_ENTROPY_NV_SEED
#define MBEDTLS_PLATFORM_NV_SEED_READ_MACRO  cm_nv_seed_read
#define MBEDTLS_PLATFORM_NV_SEED_WRITE_MACRO cm_nv_seed_write
#define MBEDTLS_DEPRECATED_REMOVED

/* Hashes and symmetric crypto */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
/* The slower, smaller SHA-256 (flash budget: mbedTLS 3.6's TLS code is larger than 2.28's). */
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES /* 2 KiB of tables instead of 8: flash budget */
/* GCM, ChaCha20 and CTR-DRBG only ever encrypt with AES: leave decryption out (flash). */
#define MBEDTLS_BLOCK_CIPHER_NO_DECRYPT
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C

/* Randomness: CTR-DRBG over the board's hardware source (see above) */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_HMAC_DRBG_C

/* Public key: ECDSA on P-256 */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
/* Smaller ECP working set (the Linux boards' trim): the pool peak, not speed, is the limit. */
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

/* Certificates */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

/* TLS 1.2 client, mutual auth, tickets */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET

/* Small record buffers, as on the Linux boards. */
#define MBEDTLS_SSL_IN_CONTENT_LEN  4096
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096

#define MBEDTLS_SSL_CIPHERSUITES                                                                   \
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,                                               \
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256

/* mbedTLS 3 runs its own check_config.h after this file (build_info.h); including it here,
 * before its adjust headers, would refuse valid configurations. */

/* The NV seed hooks (boards/common/cortex-m/entropy.c), for the library's entropy_poll.c. */
#include <stddef.h>
int cm_nv_seed_read(unsigned char *buf, size_t len);
int cm_nv_seed_write(unsigned char *buf, size_t len);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_MBEDTLS_CONFIG_H_ */
