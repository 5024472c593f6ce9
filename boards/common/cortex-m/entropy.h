/* Randomness on a board without a TRNG: a provisioned seed, rewritten every boot (entropy.c). */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_ENTROPY_H_
#define WARD_BOARDS_COMMON_CORTEX_M_ENTROPY_H_

#include <stddef.h>
#include <stdint.h>

/**
 * Open the seed log in data flash, refuse a blank or all-zero seed (prints one line), then
 * run mbedTLS's entropy collector once: that rewrites the seed (MBEDTLS_ENTROPY_NV_SEED)
 * before anything uses randomness, and its output keys cm_entropy_read().
 * @param provisioned CM_NV_SEED_LEN bytes from the provisioning block, or NULL.
 * @return 0, -ENODEV (no usable seed), -EIO (the seed cannot be rewritten).
 */
int cm_entropy_init(const uint8_t *provisioned);

/**
 * len bytes derived from this boot's entropy output (SHA-256 in counter mode): boot ids,
 * lwIP's port and ISN choices. @return 0, -ENODEV before a successful cm_entropy_init(),
 * -EINVAL for a NULL buffer.
 */
int cm_entropy_read(void *buf, size_t len);

/*
 * mbedTLS's hooks, implemented in entropy.c: MBEDTLS_ENTROPY_HARDWARE_ALT (mbedTLS 3
 * declares it only in a library-internal header) and the NV seed read/write macros
 * (mbedtls_config.h declares those).
 */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_ENTROPY_H_ */
