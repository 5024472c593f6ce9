/* The board's source of true randomness, for mbedTLS and lwIP. */
#ifndef WARD_BOARDS_MPS2_AN385_ENTROPY_H_
#define WARD_BOARDS_MPS2_AN385_ENTROPY_H_

#include <stddef.h>

/**
 * Fill buf with len bytes from a hardware entropy source.
 * @return 0, -ENODEV: this board has none (see entropy.c), -EINVAL for a NULL buffer.
 */
int an385_entropy_read(void *buf, size_t len);

/*
 * mbedTLS's MBEDTLS_ENTROPY_HARDWARE_ALT hook, implemented in entropy.c. mbedTLS 3 declares
 * it only in a library-internal header (library/entropy_poll.h), so the board declares it.
 */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen);

#endif /* WARD_BOARDS_MPS2_AN385_ENTROPY_H_ */
