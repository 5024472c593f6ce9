/*
 * One-time enrolment tokens (docs/pki.md, "Enrolment"): an administrator makes one for a
 * device id with an expiry; the device presents it once, as the bearer of POST /v1/enroll on
 * the operator listener (server-authenticated TLS: the device listener stays mutual-TLS-only),
 * with its certificate request. Only the token's SHA-256 is stored (devices.db, table
 * enrol_tokens); it is spent in the same statement that checks it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <sqlite3.h>

#include "ward/base/jscan.h"

#include "api/api.h"
#include "common/clock.h"
#include "common/jw.h"
#include "common/log.h"
#include "devices/devices.h"
#include "devices/devices_impl.h"
#include "devices/devices_pg.h"
#include "devices/signer.h"
#include "server/collector.h"
#include "server/conn.h"

#define TOKEN_PREFIX  "wenr_"
#define TOKEN_HEX     64
#define TOKEN_LEN     (sizeof(TOKEN_PREFIX) - 1 + TOKEN_HEX)
#define EXPIRES_MAX_S (30 * 86400)

static const char s_schema[] = "CREATE TABLE IF NOT EXISTS enrol_tokens ("
                               "  sha256 TEXT PRIMARY KEY, device TEXT NOT NULL,"
                               "  expires_ms INTEGER NOT NULL, created_by TEXT NOT NULL,"
                               "  used_ms INTEGER NOT NULL DEFAULT 0"
                               ") WITHOUT ROWID;";

int wcol_devices_tokens_open(struct wcol_devices *d)
{
    if (d->pg != NULL) {
        return 0; /* op_enrol_tokens: the store's migrations */
    }
    return sqlite3_exec(d->db, s_schema, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static void hex_sha256(const char *s, size_t len, char out[65])
{
    unsigned char h[32];

    mbedtls_sha256((const unsigned char *)s, len, h, 0);
    for (int i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    }
}

/* A fresh token into tok (TOKEN_LEN + 1 bytes). @return 0, -EIO. */
static int make_token(char *tok)
{
    unsigned char r[TOKEN_HEX / 2];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t n = f != NULL ? fread(r, 1, sizeof(r), f) : 0;

    if (f != NULL) {
        fclose(f);
    }
    if (n != sizeof(r)) {
        return -EIO;
    }
    memcpy(tok, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
    for (size_t i = 0; i < sizeof(r); i++) {
        snprintf(tok + sizeof(TOKEN_PREFIX) - 1 + 2 * i, 3, "%02x", r[i]);
    }
    return 0;
}

static int64_t parse_expires(const char *s, size_t len)
{
    struct ward_jscan js;
    char key[16];
    int64_t v = 3600;
    int m;

    if (len == 0) {
        return v;
    }
    ward_jscan_init(&js, s, len);
    ward_jscan_object(&js);
    while ((m = ward_jscan_member(&js, key, sizeof(key))) > 0) {
        if (strcmp(key, "expires_s") != 0 || ward_jscan_int64(&js, &v) != 0) {
            return -1;
        }
    }
    return m < 0 || ward_jscan_end(&js) != 0 || v < 1 || v > EXPIRES_MAX_S ? -1 : v;
}

/* @return the sqlite3 step code. */
static int token_insert(sqlite3 *db, const char *hash, const char *id, int64_t until,
                        const char *who)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "INSERT INTO enrol_tokens (sha256, device, expires_ms, "
                                "created_by) VALUES (?1, ?2, ?3, ?4)",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, until);
        sqlite3_bind_text(st, 4, who, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc;
}

void wcol_devices_token_create(struct wcol_conn *conn, const char *id, const char *who,
                               const char *body, size_t len)
{
    struct wcol_collector *c = wcol_conn_collector(conn);
    int64_t expires_s = parse_expires(body, len);
    int64_t until = wcol_now_wall_ms() + expires_s * 1000;
    char tok[TOKEN_LEN + 1], hash[65], detail[64];
    struct wcol_jw w;
    int rc;

    if (expires_s < 0) {
        wcol_conn_error(conn, 400, "the body is {\"expires_s\": 1..2592000}");
        return;
    }
    if (make_token(tok) != 0) {
        wcol_conn_error(conn, 500, "no random bytes for the token");
        return;
    }
    hex_sha256(tok, TOKEN_LEN, hash);
    if (c->devices->pg != NULL) {
        rc = wcol_devicespg_token_add(c->devices->pg, hash, id, until, who) == 0 ? SQLITE_DONE
                                                                                 : SQLITE_ERROR;
    } else {
        rc = token_insert(c->devices->db, hash, id, until, who);
    }
    if (rc != SQLITE_DONE) {
        wcol_conn_error(conn, 503, "storage unavailable: no token made");
        return;
    }
    snprintf(detail, sizeof(detail), "expires_s=%lld", (long long)expires_s);
    WCOL_AUDIT(c, who, "device.enroll_token", id, detail);
    wcol_jw_init(&w, 1024);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "device", id);
    wcol_jw_kstr(&w, "token", tok);
    wcol_jw_kint(&w, "expires_ms", until);
    wcol_jw_obj_end(&w);
    wcol_api_send_doc(conn, &w);
}

/* Spend the token of the Authorization header for device id. @return true when it was
 * valid, unused and unexpired (it is used now). */
static bool spend(struct wcol_devices *d, const struct wcol_http_request *r, const char *id)
{
    static const char bearer[] = "Bearer ";
    char hash[65];
    sqlite3_stmt *st = NULL;
    bool ok = false;

    if (r->authorization_len != sizeof(bearer) - 1 + TOKEN_LEN ||
        memcmp(r->authorization, bearer, sizeof(bearer) - 1) != 0) {
        return false;
    }
    hex_sha256(r->authorization + sizeof(bearer) - 1, TOKEN_LEN, hash);
    if (d->pg != NULL) {
        return wcol_devicespg_token_spend(d->pg, hash, id, wcol_now_wall_ms());
    }
    if (sqlite3_prepare_v2(d->db,
                           "UPDATE enrol_tokens SET used_ms = ?3 WHERE sha256 = ?1 AND "
                           "device = ?2 AND used_ms = 0 AND expires_ms > ?3",
                           -1, &st, NULL) == SQLITE_OK) {
        int64_t now = wcol_now_wall_ms();

        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(d->db) == 1;
    }
    sqlite3_finalize(st);
    return ok;
}

/* {"device": ID, "csr": PEM}. @return NULL or why not. */
static const char *parse_enrol(const char *s, size_t len, char *id, size_t idcap, char *csr,
                               size_t cap)
{
    struct ward_jscan js;
    char key[8];
    int m;

    id[0] = csr[0] = '\0';
    ward_jscan_init(&js, s, len);
    ward_jscan_object(&js);
    while ((m = ward_jscan_member(&js, key, sizeof(key))) > 0) {
        int rc = strcmp(key, "device") == 0 ? ward_jscan_string(&js, id, idcap)
                 : strcmp(key, "csr") == 0  ? ward_jscan_string(&js, csr, cap)
                                            : -EINVAL;

        if (rc < 0) {
            return "the body is {\"device\": ID, \"csr\": PEM of at most 4096 bytes}";
        }
    }
    if (m < 0 || ward_jscan_end(&js) != 0 || !wcol_device_id_valid(id, strlen(id)) ||
        csr[0] == '\0') {
        return "the body is {\"device\": ID, \"csr\": PEM}";
    }
    return NULL;
}

bool wcol_devices_token_enrol(struct wcol_conn *conn, const char *body, size_t len)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    struct wcol_collector *c = wcol_conn_collector(conn);
    char id[WCOL_DEVICE_ID_MAX + 1], who[32 + WCOL_DEVICE_ID_MAX];
    const char *why;
    char *csr;

    if (r->target_len != 10 || memcmp(r->target, "/v1/enroll", 10) != 0) {
        return false;
    }
    if (r->method != WCOL_HTTP_POST) {
        wcol_conn_wrong_method(conn, "POST");
        return true;
    }
    csr = calloc(1, WCOL_CSR_MAX + 2);
    why = csr == NULL ? "out of memory"
                      : parse_enrol(body, len, id, sizeof(id), csr, WCOL_CSR_MAX + 2);
    if (why != NULL) {
        free(csr);
        wcol_conn_error(conn, 400, why);
        return true;
    }
    snprintf(who, sizeof(who), "enroll-token:%s", id);
    if (!spend(c->devices, r, id)) {
        c->stats.unauthorized++;
        WCOL_AUDIT(c, who, "device.enroll.refused", id,
                   "token unknown, spent, expired or "
                   "for another device");
        free(csr);
        wcol_conn_error(conn, 401,
                        "the enrolment token is unknown, spent, expired or for "
                        "another device");
        return true;
    }
    wcol_conn_authenticated(conn);
    wcol_devices_enrol_answer(conn, id, who, csr, strlen(csr), "device.enroll");
    free(csr);
    return true;
}
