/*
 * Record buffers of idle connections, parked.
 *
 * mbedTLS keeps two record buffers per connection for its whole life: 16 KiB in and 16 KiB
 * out (MBEDTLS_SSL_IN/OUT_CONTENT_LEN). Under TLS 1.2, MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH
 * shrank them after the handshake to the max_fragment_length an agent negotiated; mbedTLS 3.6
 * runs that shrink only at the end of a TLS 1.2 handshake (TLS 1.3 has no max_fragment_length,
 * and its handshake end never reaches the resize), so under TLS 1.3 every connection kept
 * both at 16 KiB: ~42 KiB per agent where TLS 1.2 needed ~15 KiB (docs/benchmarks.md).
 *
 * An agent's connection is idle between heartbeats almost all the time (60 s by default),
 * and an idle connection holds nothing in either buffer. Parking cuts both to a few bytes
 * (the incoming record counter lives in the first 8 bytes of the input buffer, so the head of
 * each buffer is kept) and unparking restores their sizes before mbedTLS touches them again.
 * This is what mbedTLS's own resize does (handle_buffer_resizing() in ssl_tls.c), on the same
 * fields; they are private in mbedTLS 3.6, hence MBEDTLS_PRIVATE() and this one file.
 *
 * The rule for callers: every mbedTLS call that reads or writes records on a parked
 * connection (mbedtls_ssl_read, _write, _close_notify, _handshake) must come after
 * wcol_tls_unpark(). mbedtls_ssl_free() is safe on a parked connection.
 */
#ifndef WCOL_TLS_PARK_H_
#define WCOL_TLS_PARK_H_

#include <stdbool.h>
#include <stdint.h>

#include <mbedtls/ssl.h>

/* What a parked connection needs to get its buffers back: their sizes (0: not parked). */
struct wcol_tls_park {
    uint32_t in_len;
    uint32_t out_len;
};

/**
 * Park the record buffers of a connection that is idle: handshake over, nothing buffered
 * either way (no partial or undelivered record in, nothing unsent out).
 * @return 1 parked, 0 not idle or already parked (nothing changed), -ENOMEM.
 */
int wcol_tls_park(mbedtls_ssl_context *ssl, struct wcol_tls_park *p);

/**
 * Restore the buffers of a parked connection (nothing to do when it is not parked).
 * @return 0, or -ENOMEM (the connection stays parked and must be closed).
 */
int wcol_tls_unpark(mbedtls_ssl_context *ssl, struct wcol_tls_park *p);

static inline bool wcol_tls_parked(const struct wcol_tls_park *p)
{
    return p->in_len != 0;
}

#endif /* WCOL_TLS_PARK_H_ */
