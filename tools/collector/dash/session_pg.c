/* Dashboard sessions in PostgreSQL (dash/session_pg.h). Binary values travel as hex text. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/gcm.h>
#include <mbedtls/sha256.h>

#include "ward/base/hex.h"

#include "dash/session_pg.h"
#include "store/pgconn.h"

#define NONCE      12
#define TAG        16
#define PLAIN_MAX  (WCOL_SESSION_TOKEN_HEX + WCOL_SESSION_BEARER_MAX)
#define SEALED_MAX (NONCE + PLAIN_MAX + TAG)

/* The row's key: the SHA-256 of the id, as hex. */
static void id_hash(const char *id, char hex[65])
{
    uint8_t sha[32];

    (void)mbedtls_sha256((const unsigned char *)id, strlen(id), sha, 0);
    ward_hex_encode(sha, sizeof(sha), hex);
}

/* The seal's key: the SHA-256 of a label and the id, so it is not the row's key. */
static void seal_key(const char *id, uint8_t key[32])
{
    static const char label[] = "ward dashboard session seal";
    mbedtls_sha256_context h;

    mbedtls_sha256_init(&h);
    (void)mbedtls_sha256_starts(&h, 0);
    (void)mbedtls_sha256_update(&h, (const unsigned char *)label, sizeof(label)); /* with NUL */
    (void)mbedtls_sha256_update(&h, (const unsigned char *)id, strlen(id));
    (void)mbedtls_sha256_finish(&h, key);
    mbedtls_sha256_free(&h);
}

/* csrf + bearer of s sealed into out (hex), bound to who. @return 0, -EIO. */
static int seal(const struct wcol_session *s, char out[2 * SEALED_MAX + 1])
{
    uint8_t key[32], plain[PLAIN_MAX], box[SEALED_MAX];
    size_t blen = strlen(s->bearer), n = WCOL_SESSION_TOKEN_HEX + blen;
    mbedtls_gcm_context g;
    int rc = -EIO;

    if (getrandom(box, NONCE, 0) != NONCE) {
        return -EIO;
    }
    memcpy(plain, s->csrf, WCOL_SESSION_TOKEN_HEX);
    memcpy(plain + WCOL_SESSION_TOKEN_HEX, s->bearer, blen);
    seal_key(s->id, key);
    mbedtls_gcm_init(&g);
    if (mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256) == 0 &&
        mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, n, box, NONCE,
                                  (const unsigned char *)s->who, strlen(s->who), plain, box + NONCE,
                                  TAG, box + NONCE + n) == 0) {
        ward_hex_encode(box, NONCE + n + TAG, out);
        rc = 0;
    }
    mbedtls_gcm_free(&g);
    explicit_bzero(key, sizeof(key));
    explicit_bzero(plain, sizeof(plain));
    return rc;
}

/* The hex seal of out->who opened with the key of id into out's csrf and bearer.
 * @return 0, -EBADMSG (not ours: wrong length, or the tag does not match). */
static int unseal(const char *id, const char *hex, struct wcol_session *out)
{
    uint8_t key[32], plain[PLAIN_MAX], box[SEALED_MAX];
    size_t len = strlen(hex) / 2;
    mbedtls_gcm_context g;
    int rc = -EBADMSG;

    if (len < NONCE + WCOL_SESSION_TOKEN_HEX + TAG || len > SEALED_MAX ||
        ward_hex_decode(hex, box, len) != 0) {
        return -EBADMSG;
    }
    size_t n = len - NONCE - TAG;

    seal_key(id, key);
    mbedtls_gcm_init(&g);
    if (mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, 256) == 0 &&
        mbedtls_gcm_auth_decrypt(&g, n, box, NONCE, (const unsigned char *)out->who,
                                 strlen(out->who), box + NONCE + n, TAG, box + NONCE, plain) == 0) {
        memcpy(out->csrf, plain, WCOL_SESSION_TOKEN_HEX);
        out->csrf[WCOL_SESSION_TOKEN_HEX] = '\0';
        memcpy(out->bearer, plain + WCOL_SESSION_TOKEN_HEX, n - WCOL_SESSION_TOKEN_HEX);
        out->bearer[n - WCOL_SESSION_TOKEN_HEX] = '\0';
        rc = 0;
    }
    mbedtls_gcm_free(&g);
    explicit_bzero(key, sizeof(key));
    explicit_bzero(plain, sizeof(plain));
    return rc;
}

static const char *i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

int wcol_sessionpg_open(struct wcol_sessions *t, const char *conninfo)
{
    return wcol_pgconn_open(&t->pg, conninfo, "dashboard"); /* table: store/store_pg.c */
}

void wcol_sessionpg_close(struct wcol_sessions *t)
{
    wcol_pgconn_close(t->pg);
    t->pg = NULL;
}

int wcol_sessionpg_insert(struct wcol_pgconn *q, const struct wcol_session *s, int64_t now_ms)
{
    char h[65], sealed[2 * SEALED_MAX + 1], now[24], idle[24], life[24];

    if (seal(s, sealed) != 0) {
        return -EIO;
    }
    id_hash(s->id, h);
    /* The sessions that ended by themselves go on the way. */
    const char *v[] = { h,
                        s->who,
                        sealed,
                        i64(now, now_ms),
                        i64(idle, WCOL_SESSION_IDLE_MS),
                        i64(life, WCOL_SESSION_LIFETIME_MS) };
    PGresult *r = wcol_pgconn_run(q,
                                  "WITH gone AS (DELETE FROM op_dash_sessions WHERE used_ms <= "
                                  "$4::bigint - $5::bigint OR created_ms <= $4::bigint - "
                                  "$6::bigint) INSERT INTO op_dash_sessions (sha256, user_name, "
                                  "sealed, created_ms, used_ms) VALUES (decode($1, 'hex'), $2, "
                                  "decode($3, 'hex'), $4, $4)",
                                  6, v, NULL, NULL);
    int rc = r != NULL ? 0 : -EIO;

    PQclear(r);
    explicit_bzero(sealed, sizeof(sealed));
    return rc;
}

int wcol_sessionpg_lookup(struct wcol_pgconn *q, const char *id, bool refresh, int64_t now_ms,
                          struct wcol_session *out, int64_t *age_ms)
{
    char h[65], now[24], idle[24], life[24], step[24];

    id_hash(id, h);
    const char *v[] = { h, i64(now, now_ms), i64(idle, WCOL_SESSION_IDLE_MS),
                        i64(life, WCOL_SESSION_LIFETIME_MS),
                        i64(step, refresh ? WCOL_SESSIONPG_REFRESH_MS : INT64_MAX / 4) };
    /* The idle timer is written only when it is a step behind: a page's burst of requests
     * reads the row and does not rewrite it each time. */
    PGresult *r = wcol_pgconn_run(
        q,
        "WITH s AS (SELECT sha256, user_name, sealed, created_ms, used_ms FROM "
        "op_dash_sessions WHERE sha256 = decode($1, 'hex') AND used_ms > $2::bigint - "
        "$3::bigint AND created_ms > $2::bigint - $4::bigint), u AS (UPDATE op_dash_sessions AS "
        "d SET used_ms = $2 FROM s WHERE d.sha256 = s.sha256 AND s.used_ms < $2::bigint - "
        "$5::bigint) SELECT user_name, encode(sealed, 'hex'), $2::bigint - created_ms FROM s",
        5, v, NULL, NULL);
    int rc = 0;

    if (r == NULL) {
        return -EIO;
    }
    if (PQntuples(r) == 1) {
        memset(out, 0, sizeof(*out));
        snprintf(out->id, sizeof(out->id), "%s", id);
        snprintf(out->who, sizeof(out->who), "%s", PQgetvalue(r, 0, 0));
        *age_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        rc = unseal(id, PQgetvalue(r, 0, 1), out) == 0 ? 1 : 0;
    }
    PQclear(r);
    return rc;
}

int wcol_sessionpg_end(struct wcol_pgconn *q, const char *id)
{
    char h[65];

    id_hash(id, h);
    const char *v[] = { h };
    PGresult *r = wcol_pgconn_run(
        q, "DELETE FROM op_dash_sessions WHERE sha256 = decode($1, 'hex')", 1, v, NULL, NULL);
    int rc = r != NULL ? 0 : -EIO;

    PQclear(r);
    return rc;
}

int64_t wcol_sessionpg_count(struct wcol_pgconn *q, int64_t now_ms)
{
    char now[24], idle[24], life[24];
    const char *v[] = { i64(now, now_ms), i64(idle, WCOL_SESSION_IDLE_MS),
                        i64(life, WCOL_SESSION_LIFETIME_MS) };
    PGresult *r = wcol_pgconn_run(q,
                                  "SELECT count(*) FROM op_dash_sessions WHERE used_ms > "
                                  "$1::bigint - $2::bigint AND created_ms > $1::bigint - "
                                  "$3::bigint",
                                  3, v, NULL, NULL);
    int64_t n = r != NULL && PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -EIO;

    PQclear(r);
    return n;
}
