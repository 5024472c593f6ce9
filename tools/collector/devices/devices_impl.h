/* The device lifecycle's state, private to devices/. */
#ifndef WCOL_DEVICES_DEVICES_IMPL_H_
#define WCOL_DEVICES_DEVICES_IMPL_H_

#include <stdbool.h>
#include <stdint.h>

#include <pthread.h>
#include <sqlite3.h>

#include "common/ident.h"
#include "devices/devices.h"

#define WCOL_DUP_BOOT_MAX 64
#define WCOL_DUP_PEER_MAX 64 /* "ADDR:PORT" of an IPv6 peer fits */
#define WCOL_DUP_LIST_MAX 32 /* devices listed in /v1/health's lifecycle.duplicate */

struct wcol_revocation {
    char id[WCOL_DEVICE_ID_MAX + 1];
    int64_t revoked_at_ms;
    bool removed;
};

/* The boot ids a device's heartbeats carried lately (duplicate detection). */
struct wcol_dup_track {
    char id[WCOL_DEVICE_ID_MAX + 1];
    char cur[WCOL_DUP_BOOT_MAX + 1];       /* boot id of the latest heartbeat */
    char prev[WCOL_DUP_BOOT_MAX + 1];      /* the one before it changed */
    char cur_peer[WCOL_DUP_PEER_MAX + 1];  /* where the heartbeat of cur came from */
    char prev_peer[WCOL_DUP_PEER_MAX + 1]; /* and of prev */
    int64_t raised_wall_ms;                /* last duplicate raised (wall clock), 0 never */
    uint64_t switched_mono;                /* when cur replaced prev */
    uint64_t raised_mono;                  /* last duplicate raised, 0 never */
    uint8_t serial[WCOL_SERIAL_MAX];       /* certificate last presented (handshake or ticket) */
    uint8_t serial_len;
    int64_t not_after; /* its expiry: a switch is to a certificate that lasts longer */
    struct wcol_dup_track *next;
};

struct wcol_signer; /* devices/signer.c */

struct wcol_pgconn;

struct wcol_devices {
    char path[4096];
    sqlite3 *db;               /* STATE/devices.db, or */
    struct wcol_pgconn *pg;    /* PostgreSQL, shared (devices/devices_pg.h) */
    uint64_t next_sync;        /* monotonic ms of the next read-back of the revocations */
    struct wcol_revocation *v; /* sorted by id */
    size_t n, cap;
    struct wcol_devices_stats stats;
    struct wcol_collector *c;
    /* The tracks below: handshakes note certificates, committed reports boot ids; neither may
     * assume the other runs on its thread. Never held across logging or auditing. */
    pthread_mutex_t dup_mu;
    struct wcol_dup_track **buckets;
    size_t nbuckets;
    struct wcol_signer *signer; /* NULL: no enrolment CA configured */
};

void wcol_devices_dup_free(struct wcol_devices *d);
struct wcol_jw;
/** "duplicate": [...] of /v1/health's lifecycle: devices raised within the window, with the
 *  boot ids and peer addresses of both agents. */
void wcol_devices_dup_list(struct wcol_devices *d, struct wcol_jw *w);

struct wcol_conn;
/** Sign the PEM request csr for id and answer it (or the refusal); audited as action. */
void wcol_devices_enrol_answer(struct wcol_conn *conn, const char *id, const char *who,
                               const char *csr, size_t len, const char *action);
/** The enrol_tokens table (enrol_token.c). @return 0, -EIO. */
int wcol_devices_tokens_open(struct wcol_devices *d);
/** POST /v1/devices/{id}/enroll-token {"expires_s": N}: a new token, shown once. */
void wcol_devices_token_create(struct wcol_conn *conn, const char *id, const char *who,
                               const char *body, size_t len);
void wcol_devices_signer_free(struct wcol_devices *d);

#endif /* WCOL_DEVICES_DEVICES_IMPL_H_ */
