/*
 * The sender's TLS client for https:// receivers (docs/incidents.md, "HTTPS receivers"):
 * mbedTLS over the sender's non-blocking socket, TLS 1.2 or later, the receiver's certificate
 * verified (required) against its ca-file or the system's CAs and its DNS name.
 */
#ifndef WCOL_INCIDENTS_RECV_TLS_H_
#define WCOL_INCIDENTS_RECV_TLS_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

struct wcol_receiver;

/* The sender thread's: the random generator lives as long as the thread. */
struct wcol_recv_tls {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    bool seeded;
    /* one connection */
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_ssl_context ssl;
    int fd;
    int64_t deadline; /* monotonic ms */
};

/** Seed the generator. @return 0, -EIO. */
int wcol_recv_tls_init(struct wcol_recv_tls *t);
void wcol_recv_tls_free(struct wcol_recv_tls *t);

/**
 * Handshake on the connected fd before the deadline (monotonic ms).
 * @return 0, or -1 with err set (an untrusted certificate says why). Close with
 * wcol_recv_tls_close() in every case.
 */
int wcol_recv_tls_open(struct wcol_recv_tls *t, const struct wcol_receiver *r, int fd,
                       int64_t deadline, char *err, size_t cap);
/** @return 0, -1 (failed or timed out). */
int wcol_recv_tls_send(struct wcol_recv_tls *t, const char *p, size_t n);
/** @return bytes read (0: closed), -1. */
int wcol_recv_tls_recv(struct wcol_recv_tls *t, char *buf, size_t cap);
void wcol_recv_tls_close(struct wcol_recv_tls *t);

#endif /* WCOL_INCIDENTS_RECV_TLS_H_ */
