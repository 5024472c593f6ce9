/*
 * What the collector knows about the peer of one connection once TLS has authenticated it:
 * copied out of the client certificate in the verify callback (the certificate itself is
 * freed after the handshake) or restored from a session ticket on resumption.
 */
#ifndef WCOL_COMMON_IDENT_H_
#define WCOL_COMMON_IDENT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WCOL_DEVICE_ID_MAX 63
#define WCOL_SERIAL_MAX    20 /* RFC 5280: serial numbers are at most 20 octets */

struct wcol_ident {
    bool valid;                      /* a client certificate was verified for this session */
    char cn[WCOL_DEVICE_ID_MAX + 1]; /* subject CN = device id */
    uint8_t serial[WCOL_SERIAL_MAX]; /* certificate serial, big-endian as in the DER */
    uint8_t serial_len;
    int64_t not_after; /* certificate expiry, Unix seconds */
    /* The certificate's notBefore, or on resumption the time the ticket was issued (a
     * session that passed every check then): what a device revocation compares. */
    int64_t not_before;
    bool resumed; /* restored from a session ticket */
};

/** A device id (docs/schemas/common.json): 1-63 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool wcol_device_id_valid(const char *id, size_t len);

#endif /* WCOL_COMMON_IDENT_H_ */
