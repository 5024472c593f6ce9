/* Enrolment: signing device certificate requests with the enrolment CA (devices/signer.c). */
#ifndef WCOL_DEVICES_SIGNER_H_
#define WCOL_DEVICES_SIGNER_H_

#include <stddef.h>
#include <stdint.h>

#define WCOL_CSR_MAX  4096
#define WCOL_CERT_MAX 4096

struct wcol_devices;

struct wcol_enrolment {
    char pem[WCOL_CERT_MAX];
    char serial[33];               /* hex */
    int64_t not_before, not_after; /* Unix seconds */
};

/**
 * Load the enrolment CA (certificate, private key of mode 0600) for days of validity.
 * @return 0, -EBADMSG, -EPERM, -EIO, -ENOMEM (each logged).
 */
int wcol_devices_signer_open(struct wcol_devices *d, const char *cert, const char *key,
                             unsigned days);

/**
 * Check a PEM request for device id and sign it. On failure *why is one line for the client.
 * @return 0, -ENOTSUP (no enrolment CA), -EINVAL (the request), -EIO.
 */
int wcol_devices_enrol(struct wcol_devices *d, const char *id, const char *csr_pem, size_t len,
                       int64_t now_s, struct wcol_enrolment *out, const char **why);

#endif /* WCOL_DEVICES_SIGNER_H_ */
