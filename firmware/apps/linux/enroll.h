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

/**
 * {"device": id, "csr": PEM} (id NULL: {"csr": PEM}) into out. A PEM holds base64, dashes,
 * spaces and newlines; only the newlines need escaping. @return its length, -ENOSPC.
 */
int enroll_csr_json(const char *id, const char *pem, char *out, size_t cap);

/**
 * POST /v1/enroll on the collector's operator port (HOST:PORT) with the one-time token, over
 * server-authenticated TLS (ca, server_name or HOST); the certificate into cert_out.
 * @return 0, or a negative error after one line on stderr.
 */
int enroll_with_token(const char *collector, const char *server_name, const char *ca,
                      const char *token, const char *id, const char *csr, char *cert_out,
                      size_t cap);

#endif /* WARD_APPS_LINUX_ENROLL_H_ */
