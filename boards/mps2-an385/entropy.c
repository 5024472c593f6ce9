/*
 * Entropy: there is none on this board, and the code says so instead of inventing some.
 *
 * QEMU's mps2-an385 (like the AN385 FPGA image) has no TRNG, and nothing else on it is
 * unpredictable: the emulator starts every run in the same state, so timer values,
 * uninitialised RAM or UART timing would only look random. mbedTLS is therefore built with
 * MBEDTLS_NO_PLATFORM_ENTROPY and MBEDTLS_ENTROPY_HARDWARE_ALT, and this source FAILS
 * CLOSED: every poll returns MBEDTLS_ERR_ENTROPY_SOURCE_FAILED, so seeding a DRBG, making
 * ECDHE/ECDSA keys and any TLS handshake fail instead of running on guessable numbers.
 *
 * A real board must provide a TRNG here (read it, check its health flags, return its
 * bytes), or a provisioned per-device seed through MBEDTLS_ENTROPY_NV_SEED.
 */
#include <errno.h>

#include <mbedtls/entropy.h>

#include "entropy.h"

int an385_entropy_read(void *buf, size_t len)
{
    (void)len;
    if (buf == NULL) {
        return -EINVAL;
    }
    return -ENODEV;
}

/* mbedTLS's hook for MBEDTLS_ENTROPY_HARDWARE_ALT (declared in entropy.h). */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
    (void)data;
    if (olen != NULL) {
        *olen = 0;
    }
    if (output == NULL || olen == NULL || an385_entropy_read(output, len) != 0) {
        return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
    }
    *olen = len;
    return 0;
}
