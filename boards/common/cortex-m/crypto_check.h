/* On-target check and TLS pool measurement of the handshake's P-256 work (crypto_check.c). */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_CRYPTO_CHECK_H_
#define WARD_BOARDS_COMMON_CORTEX_M_CRYPTO_CHECK_H_

/** @return NULL when ECDH and ECDSA P-256 agree and the pool is left as found, or why not. */
const char *cm_check_handshake_crypto(void);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_CRYPTO_CHECK_H_ */
