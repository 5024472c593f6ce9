/*
 * What the rest of the collector needs of its TLS layer without any mbedTLS type: where the
 * key material is (configuration) and counters. tls/tls.h has the rest.
 */
#ifndef WCOL_TLS_TLS_CONFIG_H_
#define WCOL_TLS_TLS_CONFIG_H_

#include <stdbool.h>
#include <stdint.h>

struct wcol_tls_paths {
    const char *ca;   /* CA certificate(s) that sign device certificates */
    const char *cert; /* the collector's certificate (chain) */
    const char *key;  /* its private key */
    const char *crl;  /* CRL file, may be NULL */
    const char *ticket_keys;
    uint32_t ticket_lifetime_s;
    uint32_t ticket_rotate_s;
    bool tls13_only; /* refuse TLS 1.2 on both listeners */
};

struct wcol_tls;

/** Session tickets issued on both listeners. */
uint64_t wcol_tls_tickets_issued(const struct wcol_tls *t);
/** Session tickets presented and refused (unknown or retired key, expired, revoked device,
 *  damaged): the peer fell back to a full handshake. */
uint64_t wcol_tls_tickets_refused(const struct wcol_tls *t);

#endif /* WCOL_TLS_TLS_CONFIG_H_ */
