/* The device's own key and certificate request, shared by enroll and renew (cmd_enroll.c). */
#ifndef WARD_APPS_LINUX_ENROLL_H_
#define WARD_APPS_LINUX_ENROLL_H_

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ENROLL_PEM_MAX 4096

/**
 * A new EC P-256 key (PEM into key_pem) and a request with CN = id signed by it (csr_pem).
 * @return 0, -EIO (random generator, or mbedTLS could not write them).
 */
int enroll_make(const char *id, unsigned char *key_pem, size_t key_cap, unsigned char *csr_pem,
                size_t csr_cap);

/** Write all of buf to path with mode (O_EXCL unless replace), fsynced. @return 0, -errno. */
int enroll_write_file(const char *path, const char *buf, size_t len, mode_t mode, bool replace);

#endif /* WARD_APPS_LINUX_ENROLL_H_ */
