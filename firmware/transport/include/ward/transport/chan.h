/*
 * A secure channel over one ward_net connection: the layer between the transport's state
 * machine and the bytes on the wire. The agent's only implementation is TLS
 * (ward/transport/tls.h); tests substitute a pass-through from tests/fakes/ so the state
 * machine can be driven byte by byte. There is deliberately no clear-text channel in the
 * firmware: nothing the agent links can send a report unencrypted.
 */
#ifndef WARD_TRANSPORT_CHAN_H_
#define WARD_TRANSPORT_CHAN_H_

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a channel is waiting for after -EAGAIN: the caller polls the socket for this. */
#define WARD_CHAN_WANT_READ  0x1u
#define WARD_CHAN_WANT_WRITE 0x2u

struct ward_chan_ops {
    /** Prepare for a new connection (the TCP connection is up). @return 0 or -errno. */
    int (*start)(void *ctx);
    /**
     * Advance the handshake.
     * @return 0 done, -EAGAIN waiting for the network, -EACCES the peer's certificate was
     *         rejected, -EPROTO a protocol failure, -ECONNRESET the peer went away.
     */
    int (*handshake)(void *ctx);
    /** @return bytes taken (> 0), -EAGAIN, or -errno. Repeat with the same data on -EAGAIN. */
    int (*write)(void *ctx, const uint8_t *buf, size_t len);
    /** @return bytes read (> 0), 0 when the peer closed, -EAGAIN, or -errno. */
    int (*read)(void *ctx, uint8_t *buf, size_t len);
    /** End the session (best-effort close_notify when graceful). Never blocks. */
    void (*finish)(void *ctx, bool graceful);
    /** WARD_CHAN_WANT_* after the last -EAGAIN. */
    unsigned (*wants)(void *ctx);
    /** True when decrypted bytes are buffered (the socket will not signal them). */
    bool (*pending)(void *ctx);
    /** True when the last completed handshake resumed a session (no public-key work). */
    bool (*resumed)(void *ctx);
};

struct ward_chan {
    const struct ward_chan_ops *ops;
    void *ctx;
};

#endif /* WARD_TRANSPORT_CHAN_H_ */
