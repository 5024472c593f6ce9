/* Version and the one-line banner every board prints at start. */
#ifndef WARD_VERSION_H_
#define WARD_VERSION_H_

#include <stddef.h>

/** @return the agent's version, "MAJOR.MINOR.PATCH". */
const char *ward_version(void);

/**
 * Format the banner: "ward VERSION board=NAME arch=ARCH config=DIGEST16".
 *
 * @param buf  destination, always NUL-terminated when len > 0
 * @param len  size of buf
 * @return the banner's length, -EINVAL for a NULL or empty buffer, -ENOSPC when it did not
 *         fit (buf then holds a truncated banner).
 */
int ward_banner_format(char *buf, size_t len);

#endif /* WARD_VERSION_H_ */
