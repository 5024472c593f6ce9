/*
 * Session tickets for the collector (TLS 1.2: RFC 5077; TLS 1.3: NewSessionTicket, mbedTLS
 * calls the same write/parse callbacks), with a key that survives restarts.
 *
 * Why not mbedTLS's ssl_ticket.c: its key lives only in memory, so every collector restart
 * would send the whole fleet through full ECDHE-ECDSA handshakes at once. Here the keys are
 * kept in a file in the collector's state directory (mode 0600, replaced atomically), the
 * current key signs new tickets and the previous one is still accepted, and the current key
 * is rotated every `rotate_s` seconds. A ticket is valid for `lifetime_s` <= `rotate_s`, so
 * every ticket stays usable for its whole lifetime across one rotation (the grace period).
 *
 * A ticket is AES-256-GCM over: issue time, the device identity (CN, certificate serial and
 * expiry) and mbedTLS's serialized session. Resumption skips the certificate, so the ticket
 * must carry the identity; parsing re-checks the certificate's expiry and the current CRL,
 * so revoking a device also invalidates its tickets. Each listener has its own purpose byte
 * in the authenticated data, so a ticket from the operator API (no client certificate)
 * never resumes a session on the device port.
 */
#ifndef WCOL_TLS_TICKET_H_
#define WCOL_TLS_TICKET_H_

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/gcm.h>
#include <mbedtls/ssl.h>

#include "common/ident.h"

#define WCOL_TICKET_KEY_BYTES 32

struct wcol_ticket_key {
    uint32_t id;     /* 0 = slot empty */
    int64_t created; /* Unix seconds */
    uint8_t key[WCOL_TICKET_KEY_BYTES];
    mbedtls_gcm_context gcm;
};

struct wcol_ticket_keys {
    char path[4096];
    uint32_t lifetime_s;
    uint32_t rotate_s;
    struct wcol_ticket_key slot[2]; /* [0] current, [1] previous */
    int (*f_rng)(void *, unsigned char *, size_t);
    void *p_rng;
    /* Revocation check used when a ticket is presented (may be NULL): the identity it
     * restores, not_before = the ticket's issue time. */
    bool (*is_revoked)(void *ctx, const struct wcol_ident *id);
    void *revoked_ctx;
    bool shared;        /* the keys come from the cluster's database: no file, no local rotation */
    pthread_mutex_t mu; /* held to make or read a ticket and to rotate (server/worker.h) */
};

/* One key as the cluster's database holds it (cluster/cluster.c). */
struct wcol_ticket_key_material {
    uint32_t id; /* 0 = none */
    int64_t created;
    uint8_t key[WCOL_TICKET_KEY_BYTES];
};

/*
 * Per listener and device loop: the purpose byte and the identity of the connection whose
 * handshake is being stepped right now (a loop is one thread; it sets `current` around each
 * mbedtls_ssl_handshake() call). Give &ctx to mbedtls_ssl_conf_session_tickets_cb().
 */
struct wcol_ticket_ctx {
    struct wcol_ticket_keys *keys;
    uint8_t purpose;
    struct wcol_ident *current;
    uint64_t issued, resumed, refused;
};

/**
 * Load the key file, creating it (0600) when absent; rotate if the current key is too old.
 * @return 0, -EINVAL (lifetime > rotation or zero), -EPERM (file readable by others),
 *         -EBADMSG (file corrupt), -errno from the file system or the RNG.
 */
int wcol_ticket_keys_open(struct wcol_ticket_keys *k, const char *path, uint32_t lifetime_s,
                          uint32_t rotate_s, int (*f_rng)(void *, unsigned char *, size_t),
                          void *p_rng, int64_t now);

/** Rotate when the current key is rotate_s old. @return 1 rotated, 0 not due, -errno. */
int wcol_ticket_keys_maybe_rotate(struct wcol_ticket_keys *k, int64_t now);

/**
 * Use the cluster's keys from now on, m[0] current and m[1] previous (id 0: none): the key
 * file is left as it is and no longer rotated here (the leader rotates the shared keys).
 * @return 0, -EIO (the cipher refused the key).
 */
int wcol_ticket_keys_import(struct wcol_ticket_keys *k, const struct wcol_ticket_key_material m[2]);

void wcol_ticket_keys_close(struct wcol_ticket_keys *k);

/* mbedtls_ssl_ticket_write_t / mbedtls_ssl_ticket_parse_t; p_ticket is a wcol_ticket_ctx. */
int wcol_ticket_write(void *p_ticket, const mbedtls_ssl_session *session, unsigned char *start,
                      const unsigned char *end, size_t *tlen, uint32_t *lifetime);
int wcol_ticket_parse(void *p_ticket, mbedtls_ssl_session *session, unsigned char *buf, size_t len);

#endif /* WCOL_TLS_TICKET_H_ */
