/*
 * Device lifecycle at the collector (docs/pki.md, "Device lifecycle"): revocation and
 * decommissioning decided by an administrator through the operator API, and the detection
 * of one device certificate used by two agents at once.
 *
 * Revocations are kept in STATE/devices.db (table device_revocations, beside the store's
 * ward.db as incidents.db is), or with the PostgreSQL storage in the shared database
 * (devices/devices_pg.h), loaded at start and held in memory. A revocation names the
 * device and its time: every certificate of that device issued at or before it (notBefore),
 * and every session ticket issued before it, is refused from then on, whoever signed it; a
 * certificate issued later (re-enrolment) is accepted. The CRL (ward-pki revoke) keeps
 * working beside it, by serial.
 *
 * Duplicate use: the heartbeats of one device should carry one boot id until it restarts,
 * and a restarted agent never goes back to its old boot id. When a device's heartbeats switch
 * back to the boot id they left within WCOL_DEVICES_DUP_WINDOW_MS, two agents hold the same
 * certificate: a high event (sensor "certificate", to "duplicate") is raised through the
 * fleet, at most once per window per device, counted, audited (device.certificate.duplicate,
 * with both boot ids and peer addresses) and listed in /v1/health (lifecycle.duplicate).
 * Addresses alone decide nothing: one agent that comes back from a new address (DHCP, NAT)
 * keeps its boot id and is not a duplicate; two agents behind one address are.
 */
#ifndef WCOL_DEVICES_DEVICES_H_
#define WCOL_DEVICES_DEVICES_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ident.h"

#define WCOL_DEVICES_DUP_WINDOW_MS (10u * 60u * 1000u)
#define WCOL_DEVICES_REASON_MAX    200

/* Enrolment, renewal, revocation and removal go into the audit log (audit/audit.h). */
#include "audit/audit.h"

struct wcol_devices;
struct wcol_collector;
struct wcol_conn;
struct wcol_jw;
struct wcol_prom;
struct wcol_bus;

struct wcol_devices_stats {
    uint64_t refused;          /* handshakes and tickets refused: the device is revoked */
    uint64_t closed;           /* live connections closed by a revocation */
    uint64_t duplicates;       /* duplicate certificate use detected */
    uint64_t enrolled;         /* certificates signed for an enrolment request */
    uint64_t cert_switches;    /* a device presenting a newer certificate than before */
    uint64_t synced;           /* revocations read back from other collectors (PostgreSQL) */
    unsigned revoked, removed; /* devices in each state now */
};

/**
 * Open STATE/devices.db (db_path's directory), bring its table up and load the revocations.
 * @return 0, -EIO (logged), -ENOMEM.
 */
int wcol_devices_open(struct wcol_devices **out, const char *db_path);
/** The same with the revocations and enrolment tokens in PostgreSQL, shared by the
 *  collectors on it (devices/devices_pg.h). @return 0, -EIO (logged), -ENOMEM. */
int wcol_devices_open_pg(struct wcol_devices **out, const char *conninfo);
void wcol_devices_close(struct wcol_devices *d);

/** With PostgreSQL: every WCOL_DEVICES_SYNC_MS, the revocations other collectors made are
 *  read back, and the live connections of a newly revoked device closed. */
void wcol_devices_tick(struct wcol_collector *c, uint64_t now_mono);

/** Open c->devices beside the store, watch the bus, hook the TLS layer's device checks and
 *  load the enrolment CA when configured. @return 0 or a negative errno (logged). */
int wcol_devices_attach(struct wcol_collector *c);

/** The TLS layer's device_refused hook (tls/tls.h): the device is revoked since before
 *  id->not_before. Counts a refusal. */
bool wcol_devices_refused(void *ctx, const struct wcol_ident *id);

/**
 * Record a revocation (removed: a decommissioning too) and its time, now_ms; a revocation of
 * a revoked device keeps its first time. @return 0, -EIO.
 */
int wcol_devices_revoke(struct wcol_devices *d, const char *id, bool removed, int64_t now_ms,
                        const char *actor, const char *reason);

/** When the device was revoked (Unix ms), 0 if it is not. */
int64_t wcol_devices_revoked_at(const struct wcol_devices *d, const char *id);

/** A device connection's handshake completed with id (full or resumed): note the certificate
 *  it presented; a switch to a newer one (a renewal the agent took into use, re-enrolment) is
 *  logged, counted and audited (device.certificate.switch). d may be NULL. */
void wcol_devices_cert_seen(struct wcol_devices *d, const struct wcol_ident *id);

/** Watch committed heartbeats for duplicate certificate use. @return as wcol_bus_subscribe. */
int wcol_devices_subscribe(struct wcol_devices *d, struct wcol_collector *c, struct wcol_bus *bus);

struct wcol_devices_stats *wcol_devices_stats(struct wcol_devices *d);

/** The "devices" object of GET /v1/health. */
void wcol_devices_health(struct wcol_devices *d, struct wcol_jw *w);

/** The lifecycle families of GET /metrics. */
void wcol_devices_metrics(struct wcol_devices *d, struct wcol_prom *w);

/**
 * Operator requests on /v1/devices/{id}/{revoke,remove,enroll} (POST, admin): handled
 * (answered) when the path is one of them. who is the token's name.
 * @return true when handled.
 */
bool wcol_devices_request(struct wcol_conn *conn, const char *who, const char *body, size_t len);

/**
 * POST /v1/enroll on the operator listener, before operator tokens are checked: the bearer is
 * a one-time enrolment token (wardctl device enroll-token), the body {"device": ID, "csr":
 * PEM}. @return true when the path is /v1/enroll (answered).
 */
bool wcol_devices_token_enrol(struct wcol_conn *conn, const char *body, size_t len);

/**
 * POST /v1/renew on the device listener, {"csr": PEM}: the device's current certificate (its
 * mutual TLS) vouches for a request with a new key and the same CN; the answer is as for
 * enrolment. Audited with the actor "device:ID".
 */
void wcol_devices_renew(struct wcol_conn *conn, const char *body, size_t len);

#endif /* WCOL_DEVICES_DEVICES_H_ */
