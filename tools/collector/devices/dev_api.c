/*
 * The device lifecycle half of the operator API (role admin; docs/pki.md):
 *   POST /v1/devices/{id}/revoke  {"reason": TEXT}  revoked now: its live connections are
 *                                                   closed at once, new handshakes refused
 *   POST /v1/devices/{id}/remove  {"reason": TEXT}  revoked and decommissioned: the fleet
 *                                                   keeps it as `removed`, never `silent`
 *   POST /v1/devices/{id}/enroll  {"csr": PEM}      the certificate, signed by the enrolment
 *                                                   CA (--enroll-cert/--enroll-key)
 *   POST /v1/devices/{id}/enroll-token {"expires_s": N}  a one-time enrolment token
 * and without an operator token, POST /v1/enroll with the enrolment token (enrol_token.c)
 * and on the device listener, authenticated by the device's current certificate:
 *   POST /v1/renew                {"csr": PEM}      its next certificate (same CN, new key)
 * Each is an audited action (WCOL_AUDIT).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/base/jscan.h"

#include "api/api.h"
#include "common/clock.h"
#include "common/jw.h"
#include "common/log.h"
#include "devices/devices.h"
#include "devices/devices_impl.h"
#include "devices/signer.h"
#include "inventory/inventory.h"
#include "server/collector.h"
#include "server/conn.h"
#include "tls/tls.h"

#define PREFIX     "/v1/devices/"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

/* {"reason": "..."} or an empty body. @return NULL, or why it is refused. */
static const char *parse_reason(const char *s, size_t len, char *reason, size_t cap)
{
    struct ward_jscan js;
    char key[16];
    int m;

    snprintf(reason, cap, "%s", "");
    if (len == 0) {
        return NULL;
    }
    ward_jscan_init(&js, s, len);
    ward_jscan_object(&js);
    while ((m = ward_jscan_member(&js, key, sizeof(key))) > 0) {
        if (strcmp(key, "reason") != 0) {
            return "unknown member (reason)";
        }
        if (ward_jscan_string(&js, reason, cap) < 0) {
            return "reason is a string of at most 200 bytes";
        }
    }
    if (m < 0 || ward_jscan_end(&js) != 0) {
        return "the body is not a JSON object {\"reason\": TEXT}";
    }
    return NULL;
}

/* {"csr": PEM}. @return NULL, or why it is refused. */
static const char *parse_csr(const char *s, size_t len, char *csr, size_t cap)
{
    struct ward_jscan js;
    char key[8];
    int m;

    ward_jscan_init(&js, s, len);
    ward_jscan_object(&js);
    while ((m = ward_jscan_member(&js, key, sizeof(key))) > 0) {
        if (strcmp(key, "csr") != 0) {
            return "unknown member (csr)";
        }
        if (ward_jscan_string(&js, csr, cap) < 0 || strlen(csr) > WCOL_CSR_MAX) {
            return "csr is a PEM request of at most 4096 bytes";
        }
    }
    if (m < 0 || ward_jscan_end(&js) != 0 || csr[0] == '\0') {
        return "the body is not a JSON object {\"csr\": PEM}";
    }
    return NULL;
}

static void revoke(struct wcol_conn *conn, const char *id, bool removed, const char *who,
                   const char *body, size_t len)
{
    struct wcol_collector *c = wcol_conn_collector(conn);
    struct wcol_devices *d = c->devices;
    char reason[WCOL_DEVICES_REASON_MAX + 1], detail[WCOL_DEVICES_REASON_MAX + 64];
    const char *why = parse_reason(body, len, reason, sizeof(reason));
    int64_t now = wcol_now_wall_ms();
    struct wcol_jw w;

    if (why != NULL) {
        wcol_conn_error(conn, 400, why);
        return;
    }
    if (wcol_devices_revoke(d, id, removed, now, who, reason) != 0) {
        wcol_conn_error(conn, 503, "storage unavailable: the device is not revoked");
        return;
    }
    /* The live check is not a refused handshake: keep that counter to handshakes. */
    uint64_t refused = __atomic_load_n(&d->stats.refused, __ATOMIC_RELAXED);
    unsigned closed = wcol_collector_drop_refused(c);

    __atomic_store_n(&d->stats.refused, refused, __ATOMIC_RELAXED);
    d->stats.closed += closed;
    if (removed) {
        (void)wcol_fleet_remove(&c->fleet, id, now);
        wcol_inventory_device_removed(c->inventory, id); /* its outdated-agent incident */
    } else {
        (void)wcol_fleet_raise(&c->fleet, id, "certificate", "valid", "revoked");
    }
    snprintf(detail, sizeof(detail), "closed=%u reason=\"%s\"", closed, reason);
    WCOL_AUDIT(c, who, removed ? "device.remove" : "device.revoke", id, detail);
    wcol_jw_init(&w, 4096);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "device", id);
    wcol_jw_kint(&w, "revoked_at_ms", wcol_devices_revoked_at(d, id));
    wcol_jw_key(&w, "removed");
    wcol_jw_bool(&w, removed);
    wcol_jw_kuint(&w, "connections_closed", closed);
    wcol_jw_obj_end(&w);
    wcol_api_send_doc(conn, &w);
}

void wcol_devices_enrol_answer(struct wcol_conn *conn, const char *id, const char *who,
                               const char *csr, size_t len, const char *action)
{
    struct wcol_collector *c = wcol_conn_collector(conn);
    struct wcol_enrolment *e = calloc(1, sizeof(*e));
    const char *why = "out of memory";
    char detail[96], refused[48];
    struct wcol_jw w;
    int rc = e == NULL
                 ? -EIO
                 : wcol_devices_enrol(c->devices, id, csr, len, wcol_now_wall_ms() / 1000, e, &why);

    if (rc != 0) {
        free(e);
        snprintf(refused, sizeof(refused), "%s.refused", action);
        WCOL_AUDIT(c, who, refused, id, why);
        wcol_conn_error(conn, rc == -ENOTSUP ? 501 : rc == -EINVAL ? 422 : 500, why);
        return;
    }
    snprintf(detail, sizeof(detail), "serial=%s", e->serial);
    WCOL_AUDIT(c, who, action, id, detail);
    wcol_jw_init(&w, 16384);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "device", id);
    wcol_jw_kstr(&w, "serial", e->serial);
    wcol_jw_kint(&w, "not_before", e->not_before);
    wcol_jw_kint(&w, "not_after", e->not_after);
    wcol_jw_kstr(&w, "certificate", e->pem);
    wcol_jw_obj_end(&w);
    free(e);
    wcol_api_send_doc(conn, &w);
}

/* The request {"csr": PEM} in body, signed for id and answered. */
static void enrol(struct wcol_conn *conn, const char *id, const char *who, const char *body,
                  size_t len, const char *action)
{
    char *csr = calloc(1, WCOL_CSR_MAX + 2);
    const char *why = csr == NULL ? "out of memory" : parse_csr(body, len, csr, WCOL_CSR_MAX + 2);

    if (why != NULL) {
        wcol_conn_error(conn, csr == NULL ? 503 : 400, why);
    } else {
        wcol_devices_enrol_answer(conn, id, who, csr, strlen(csr), action);
    }
    free(csr);
}

bool wcol_devices_request(struct wcol_conn *conn, const char *who, const char *body, size_t len)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    const char *t = r->target;
    size_t pl = r->target_len;

    if (pl <= PREFIX_LEN || memcmp(t, PREFIX, PREFIX_LEN) != 0) {
        return false;
    }
    const char *id_s = t + PREFIX_LEN, *slash = memchr(id_s, '/', pl - PREFIX_LEN);

    if (slash == NULL) {
        return false; /* GET /v1/devices/{id}: api.c */
    }
    size_t idl = (size_t)(slash - id_s), vl = pl - PREFIX_LEN - idl - 1;
    const char *verb = slash + 1;
    bool is_revoke = vl == 6 && memcmp(verb, "revoke", 6) == 0;
    bool is_remove = vl == 6 && memcmp(verb, "remove", 6) == 0;
    bool is_enrol = vl == 6 && memcmp(verb, "enroll", 6) == 0;
    bool is_token = vl == 12 && memcmp(verb, "enroll-token", 12) == 0;
    char id[WCOL_DEVICE_ID_MAX + 1];

    if (!is_revoke && !is_remove && !is_enrol && !is_token) {
        return false;
    }
    if (r->method != WCOL_HTTP_POST) {
        wcol_conn_wrong_method(conn, "POST");
        return true;
    }
    if (!wcol_device_id_valid(id_s, idl)) {
        wcol_conn_error(conn, 400, "not a device id");
        return true;
    }
    memcpy(id, id_s, idl);
    id[idl] = '\0';
    if (is_token) {
        wcol_devices_token_create(conn, id, who, body, len);
    } else if (is_enrol) {
        enrol(conn, id, who, body, len, "device.enroll");
    } else {
        revoke(conn, id, is_remove, who, body, len);
    }
    return true;
}

void wcol_devices_renew(struct wcol_conn *conn, const char *body, size_t len)
{
    const char *id = wcol_conn_peer_cn(conn);
    char who[8 + WCOL_DEVICE_ID_MAX];

    snprintf(who, sizeof(who), "device:%s", id);
    enrol(conn, id, who, body, len, "device.renew");
}

int wcol_devices_attach(struct wcol_collector *c)
{
    const struct wcol_collector_config *cfg = &c->cfg;
    /* With PostgreSQL revocations and enrolment tokens are shared (devices/devices_pg.h). */
    int rc = cfg->pg_conninfo != NULL ? wcol_devices_open_pg(&c->devices, cfg->pg_conninfo)
                                      : wcol_devices_open(&c->devices, cfg->db_path);

    rc = rc ?: wcol_devices_subscribe(c->devices, c, &c->bus);
    rc = rc ?: wcol_devices_tokens_open(c->devices);
    if (rc == 0 && cfg->enroll_cert != NULL) {
        rc = wcol_devices_signer_open(c->devices, cfg->enroll_cert, cfg->enroll_key,
                                      cfg->enroll_days);
    }
    if (rc == 0) {
        c->tls->device_refused = wcol_devices_refused;
        c->tls->refused_ctx = c->devices;
    }
    return rc;
}
