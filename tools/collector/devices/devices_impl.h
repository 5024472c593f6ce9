/* The device lifecycle's state, private to devices/. */
#ifndef WCOL_DEVICES_DEVICES_IMPL_H_
#define WCOL_DEVICES_DEVICES_IMPL_H_

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "common/ident.h"
#include "devices/devices.h"

#define WCOL_DUP_BOOT_MAX 64

struct wcol_revocation {
    char id[WCOL_DEVICE_ID_MAX + 1];
    int64_t revoked_at_ms;
    bool removed;
};

/* The boot ids a device's heartbeats carried lately (duplicate detection). */
struct wcol_dup_track {
    char id[WCOL_DEVICE_ID_MAX + 1];
    char cur[WCOL_DUP_BOOT_MAX + 1];  /* boot id of the latest heartbeat */
    char prev[WCOL_DUP_BOOT_MAX + 1]; /* the one before it changed */
    uint64_t switched_mono;           /* when cur replaced prev */
    uint64_t raised_mono;             /* last duplicate raised, 0 never */
    struct wcol_dup_track *next;
};

struct wcol_signer; /* devices/signer.c */

struct wcol_devices {
    char path[4096];
    sqlite3 *db;
    struct wcol_revocation *v; /* sorted by id */
    size_t n, cap;
    struct wcol_devices_stats stats;
    struct wcol_collector *c;
    struct wcol_dup_track **buckets;
    size_t nbuckets;
    struct wcol_signer *signer; /* NULL: no enrolment CA configured */
};

void wcol_devices_dup_free(struct wcol_devices *d);

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
