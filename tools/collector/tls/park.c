#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <mbedtls/platform.h>
#include <mbedtls/platform_util.h>

#include "tls/park.h"

/*
 * A parked buffer keeps its head: the 8-byte incoming record counter (TLS keeps it in front
 * of the input buffer's record header) and the header, IV and length offsets the pointers
 * below refer to (at most 8 + 5 + 8 bytes, the explicit nonce of TLS 1.2 GCM).
 */
#define PARKED_LEN 64u

#define P(field) MBEDTLS_PRIVATE(field)

/* The pointers mbedTLS keeps into each record buffer (TLS over a stream; in_offt is NULL on
 * an idle connection). */
#if defined(MBEDTLS_SSL_DTLS_CONNECTION_ID)
#define IN_PTRS(s)                                                                                 \
    &(s)->P(in_ctr), &(s)->P(in_hdr), &(s)->P(in_cid), &(s)->P(in_len), &(s)->P(in_iv),            \
        &(s)->P(in_msg)
#define OUT_PTRS(s)                                                                                \
    &(s)->P(out_ctr), &(s)->P(out_hdr), &(s)->P(out_cid), &(s)->P(out_len), &(s)->P(out_iv),       \
        &(s)->P(out_msg)
#else
#define IN_PTRS(s)                                                                                 \
    &(s)->P(in_ctr), &(s)->P(in_hdr), &(s)->P(in_len), &(s)->P(in_iv), &(s)->P(in_msg)
#define OUT_PTRS(s)                                                                                \
    &(s)->P(out_ctr), &(s)->P(out_hdr), &(s)->P(out_len), &(s)->P(out_iv), &(s)->P(out_msg)
#endif

struct buf_view {
    unsigned char **buf;
    size_t *len;
    unsigned char **ptrs[6];
    size_t n;
};

static void views(mbedtls_ssl_context *ssl, struct buf_view *in, struct buf_view *out)
{
    unsigned char **in_ptrs[] = { IN_PTRS(ssl) };
    unsigned char **out_ptrs[] = { OUT_PTRS(ssl) };

    in->buf = &ssl->P(in_buf);
    in->len = &ssl->P(in_buf_len);
    in->n = sizeof(in_ptrs) / sizeof(in_ptrs[0]);
    memcpy(in->ptrs, in_ptrs, sizeof(in_ptrs));
    out->buf = &ssl->P(out_buf);
    out->len = &ssl->P(out_buf_len);
    out->n = sizeof(out_ptrs) / sizeof(out_ptrs[0]);
    memcpy(out->ptrs, out_ptrs, sizeof(out_ptrs));
}

/* Every pointer into the buffer lies in its first `len` bytes. */
static bool fits(const struct buf_view *v, size_t len)
{
    for (size_t i = 0; i < v->n; i++) {
        if (*v->ptrs[i] < *v->buf || (size_t)(*v->ptrs[i] - *v->buf) >= len) {
            return false;
        }
    }
    return true;
}

/* Move a buffer to a fresh allocation of len bytes: its head, and its pointers at the same
 * offsets (as mbedTLS's own resize does). The old one is wiped: it held plaintext. */
static int move(struct buf_view *v, size_t len)
{
    unsigned char *nb = mbedtls_calloc(1, len);
    size_t keep = len < *v->len ? len : *v->len;

    if (nb == NULL) {
        return -ENOMEM;
    }
    memcpy(nb, *v->buf, keep);
    for (size_t i = 0; i < v->n; i++) {
        *v->ptrs[i] = nb + (*v->ptrs[i] - *v->buf);
    }
    mbedtls_platform_zeroize(*v->buf, *v->len);
    mbedtls_free(*v->buf);
    *v->buf = nb;
    *v->len = len;
    return 0;
}

static bool idle(mbedtls_ssl_context *ssl)
{
    return mbedtls_ssl_is_handshake_over(ssl) && mbedtls_ssl_check_pending(ssl) == 0 &&
           ssl->P(in_offt) == NULL && ssl->P(in_left) == 0 && ssl->P(out_left) == 0 &&
           ssl->P(in_buf) != NULL && ssl->P(out_buf) != NULL;
}

int wcol_tls_park(mbedtls_ssl_context *ssl, struct wcol_tls_park *p)
{
    struct buf_view in, out;
    size_t in_len, out_len;

    if (wcol_tls_parked(p) || !idle(ssl)) {
        return 0;
    }
    views(ssl, &in, &out);
    in_len = *in.len;
    out_len = *out.len;
    if (in_len <= PARKED_LEN || out_len <= PARKED_LEN || !fits(&in, PARKED_LEN) ||
        !fits(&out, PARKED_LEN)) {
        return 0;
    }
    if (move(&in, PARKED_LEN) != 0) {
        return -ENOMEM;
    }
    p->in_len = (uint32_t)in_len;
    p->out_len = (uint32_t)out_len;
    /* Without memory for a small output buffer the big one stays: parked on one side only,
     * which unparking handles. */
    (void)move(&out, PARKED_LEN);
    return 1;
}

int wcol_tls_unpark(mbedtls_ssl_context *ssl, struct wcol_tls_park *p)
{
    struct buf_view in, out;

    if (!wcol_tls_parked(p)) {
        return 0;
    }
    views(ssl, &in, &out);
    if ((*in.len < p->in_len && move(&in, p->in_len) != 0) ||
        (*out.len < p->out_len && move(&out, p->out_len) != 0)) {
        return -ENOMEM; /* what was restored stays; unparking again does the rest */
    }
    p->in_len = p->out_len = 0;
    return 0;
}
