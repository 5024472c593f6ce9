/* The audit log's parts (audit.c, key.c, verify.c); not for other folders. */
#ifndef WCOL_AUDIT_AUDIT_IMPL_H_
#define WCOL_AUDIT_AUDIT_IMPL_H_

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <sqlite3.h>

#include "audit/audit.h"

struct wcol_pgconn;

struct wcol_audit {
    sqlite3 *db;            /* the SQLite backend, or */
    struct wcol_pgconn *pg; /* PostgreSQL (audit/audit_pg.h): the chain of node */
    char node[17];
    pthread_mutex_t mu;
    char ckpt_path[4200];
    char state_dir[4096];
    uint64_t interval_ms;
    int64_t last_ckpt_count; /* entries the last checkpoint covered */
    int64_t last_ckpt_try_ms;
    int64_t window_start_ms; /* the minute of refusals */
    unsigned window_count;
    unsigned window_max;
    uint64_t window_dropped;
    bool key_ready;
    mbedtls_pk_context key;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    struct wcol_audit_stats stats;
};

/* verify.c: a chain of entries as read, checked by wcol_audit_chain_verify. */
struct wcol_audit_row {
    int64_t seq;
    uint8_t prev[32], hash[32];
    bool content_ok; /* the content gives the hash */
};

struct wcol_audit_chain {
    struct wcol_audit_row *rows;
    size_t n, cap;
};

/** One entry read, in chain order (prev and hash as stored: lengths other than 32 are
 *  wrong). @return 0, -ENOMEM. */
int wcol_audit_chain_add(struct wcol_audit_chain *ch, int64_t seq, const struct wcol_audit_entry *e,
                         const void *prev, size_t prev_len, const void *hash, size_t hash_len);

/** The links and contents of ch, then its checkpoints (checkpoints_path NULL: none). v->ok
 *  cleared and the first problem named; v->entries grows by the chain's length.
 *  @return 0, -EIO (a checkpoint file or key unreadable: v->problem). */
int wcol_audit_chain_verify(const struct wcol_audit_chain *ch, const char *checkpoints_path,
                            const char *pub_path, struct wcol_audit_verdict *v);

/** An entry's hash (audit.h, "Canonical encoding"). */
void wcol_audit_hash(const uint8_t prev[32], const struct wcol_audit_entry *e, uint8_t out[32]);

/* key.c */
/** Load STATE/audit-key.pem, or make it (0600) and STATE/audit-key.pub.pem. @return 0, -EIO. */
int wcol_audit_key_open(struct wcol_audit *a, const char *state_dir);
void wcol_audit_key_free(struct wcol_audit *a);
/** A signed checkpoint line, '\n' included. @return 0, -EIO. */
int wcol_audit_sign_line(struct wcol_audit *a, int64_t count, const uint8_t head[32], int64_t at_ms,
                         char *out, size_t cap);
/** Check one checkpoint line with the public key. @return 0 valid, -EBADMSG malformed,
 *  -EPERM bad signature; count and head filled when well-formed. */
int wcol_audit_check_line(mbedtls_pk_context *pub, const char *line, int64_t *count,
                          uint8_t head[32]);

#endif /* WCOL_AUDIT_AUDIT_IMPL_H_ */
