/* The board's source of true randomness, for mbedTLS and lwIP. */
#ifndef WARD_BOARDS_MPS2_AN385_ENTROPY_H_
#define WARD_BOARDS_MPS2_AN385_ENTROPY_H_

#include <stddef.h>

/**
 * Fill buf with len bytes from a hardware entropy source.
 * @return 0, -ENODEV: this board has none (see entropy.c), -EINVAL for a NULL buffer.
 */
int an385_entropy_read(void *buf, size_t len);

#endif /* WARD_BOARDS_MPS2_AN385_ENTROPY_H_ */
