#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "common/log.h"
#include "tls/ticket.h"

/*
 * Ticket layout (all integers big-endian):
 *   key id (4) | nonce (12) | ciphertext | tag (16)
 * plaintext:
 *   version (1) | issued (8) | not_after (8) | serial_len (1) | serial | cn_len (1) | cn |
 *   mbedtls_ssl_session_save() output
 * The authenticated data is the key id and the listener's purpose byte.
 */
#define TICKET_VERSION 1u
#define NONCE_LEN      12u
#define TAG_LEN        16u
#define HEAD_LEN       (4u + NONCE_LEN)
#define PLAIN_FIXED    (1u + 8u + 8u + 1u + 1u)
#define SESSION_MAX    512u
#define FILE_MAGIC     "ward-ticket-keys 1"

static void put_be64(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;

    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)u;
        u >>= 8;
    }
}

static int64_t get_be64(const uint8_t *p)
{
    uint64_t u = 0;

    for (int i = 0; i < 8; i++) {
        u = (u << 8) | p[i];
    }
    return (int64_t)u;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int key_arm(struct wcol_ticket_key *k)
{
    mbedtls_gcm_free(&k->gcm);
    mbedtls_gcm_init(&k->gcm);
    if (k->id == 0) {
        return 0;
    }
    return mbedtls_gcm_setkey(&k->gcm, MBEDTLS_CIPHER_ID_AES, k->key, 8 * WCOL_TICKET_KEY_BYTES) ==
                   0
               ? 0
               : -EIO;
}

static int fsync_dir_of(const char *path)
{
    char copy[4096];

    snprintf(copy, sizeof(copy), "%s", path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd < 0) {
        return -errno;
    }
    int rc = fsync(dfd) == 0 ? 0 : -errno;

    close(dfd);
    return rc;
}

/* Write both keys to path.tmp (0600), fsync, rename over path: never a torn key file. */
static int keys_save(const struct wcol_ticket_keys *k)
{
    char tmp[4200];
    char text[512];
    int len = snprintf(text, sizeof(text), "%s\n", FILE_MAGIC);

    for (int s = 0; s < 2; s++) {
        if (k->slot[s].id == 0) {
            continue;
        }
        len += snprintf(text + len, sizeof(text) - (size_t)len, "%" PRIu32 " %" PRId64 " ",
                        k->slot[s].id, k->slot[s].created);
        for (int i = 0; i < WCOL_TICKET_KEY_BYTES; i++) {
            len += snprintf(text + len, sizeof(text) - (size_t)len, "%02x", k->slot[s].key[i]);
        }
        text[len++] = '\n';
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", k->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd < 0) {
        return -errno;
    }
    int rc = 0;

    if (fchmod(fd, 0600) != 0 || write(fd, text, (size_t)len) != len || fsync(fd) != 0) {
        rc = errno ? -errno : -EIO;
    }
    close(fd);
    mbedtls_platform_zeroize(text, sizeof(text));
    if (rc == 0 && rename(tmp, k->path) != 0) {
        rc = -errno;
    }
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    return fsync_dir_of(k->path);
}

static int parse_hex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;

        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -EBADMSG;
        }
        out[i] = (uint8_t)v;
    }
    return s[2 * n] == '\0' || s[2 * n] == '\n' ? 0 : -EBADMSG;
}

static int keys_load(struct wcol_ticket_keys *k)
{
    int fd = open(k->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    char text[512];
    ssize_t n;

    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        close(fd);
        wcol_log_error("ticket key file %s is accessible to group or others; chmod 600 it",
                       k->path);
        return -EPERM;
    }
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0) {
        return -errno;
    }
    text[n] = '\0';
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    int s = 0;

    if (line == NULL || strcmp(line, FILE_MAGIC) != 0) {
        return -EBADMSG;
    }
    while ((line = strtok_r(NULL, "\n", &save)) != NULL && s < 2) {
        char hex[2 * WCOL_TICKET_KEY_BYTES + 2];
        uint32_t id;
        int64_t created;

        if (sscanf(line, "%" SCNu32 " %" SCNd64 " %65s", &id, &created, hex) != 3 || id == 0 ||
            parse_hex(hex, k->slot[s].key, WCOL_TICKET_KEY_BYTES) != 0) {
            return -EBADMSG;
        }
        k->slot[s].id = id;
        k->slot[s].created = created;
        s++;
    }
    mbedtls_platform_zeroize(text, sizeof(text));
    return s > 0 ? 0 : -EBADMSG;
}

static int key_new(struct wcol_ticket_keys *k, struct wcol_ticket_key *out, uint32_t id,
                   int64_t now)
{
    if (k->f_rng(k->p_rng, out->key, WCOL_TICKET_KEY_BYTES) != 0) {
        return -EIO;
    }
    out->id = id;
    out->created = now;
    return 0;
}

static int rotate(struct wcol_ticket_keys *k, int64_t now)
{
    uint8_t fresh[WCOL_TICKET_KEY_BYTES];
    uint32_t id = k->slot[0].id + 1u;

    if (k->f_rng(k->p_rng, fresh, sizeof(fresh)) != 0) {
        return -EIO;
    }
    /* Shift the key material only; the GCM contexts are rebuilt from it below. */
    k->slot[1].id = k->slot[0].id;
    k->slot[1].created = k->slot[0].created;
    memcpy(k->slot[1].key, k->slot[0].key, WCOL_TICKET_KEY_BYTES);
    k->slot[0].id = id == 0 ? 1 : id;
    k->slot[0].created = now;
    memcpy(k->slot[0].key, fresh, WCOL_TICKET_KEY_BYTES);
    mbedtls_platform_zeroize(fresh, sizeof(fresh));

    int rc = keys_save(k);

    if (rc == 0) {
        rc = key_arm(&k->slot[0]);
    }
    if (rc == 0) {
        rc = key_arm(&k->slot[1]);
    }
    return rc;
}

int wcol_ticket_keys_open(struct wcol_ticket_keys *k, const char *path, uint32_t lifetime_s,
                          uint32_t rotate_s, int (*f_rng)(void *, unsigned char *, size_t),
                          void *p_rng, int64_t now)
{
    memset(k, 0, sizeof(*k));
    pthread_mutex_init(&k->mu, NULL);
    mbedtls_gcm_init(&k->slot[0].gcm);
    mbedtls_gcm_init(&k->slot[1].gcm);
    if (lifetime_s == 0 || rotate_s == 0 || lifetime_s > rotate_s || strlen(path) >= 4000) {
        return -EINVAL;
    }
    snprintf(k->path, sizeof(k->path), "%s", path);
    k->lifetime_s = lifetime_s;
    k->rotate_s = rotate_s;
    k->f_rng = f_rng;
    k->p_rng = p_rng;

    int rc = keys_load(k);

    if (rc == -ENOENT) {
        rc = key_new(k, &k->slot[0], 1, now);
        if (rc == 0) {
            rc = keys_save(k);
        }
        if (rc == 0) {
            wcol_log_info("created session ticket key file %s", path);
        }
    }
    if (rc != 0) {
        return rc;
    }
    rc = key_arm(&k->slot[0]);
    if (rc == 0) {
        rc = key_arm(&k->slot[1]);
    }
    if (rc == 0) {
        rc = wcol_ticket_keys_maybe_rotate(k, now);
    }
    return rc < 0 ? rc : 0;
}

int wcol_ticket_keys_maybe_rotate(struct wcol_ticket_keys *k, int64_t now)
{
    if (k->shared) {
        return 0;
    }
    if (now - k->slot[0].created < (int64_t)k->rotate_s) {
        return 0;
    }
    pthread_mutex_lock(&k->mu);
    int rc = rotate(k, now);

    pthread_mutex_unlock(&k->mu);
    if (rc != 0) {
        return rc;
    }
    wcol_log_info("rotated session ticket key (now key %" PRIu32 ", previous %" PRIu32 ")",
                  k->slot[0].id, k->slot[1].id);
    return 1;
}

/* The database's key ids live above 2^31 so that they never meet a key file's. */
#define SHARED_ID_BIT 0x80000000u

int wcol_ticket_keys_import(struct wcol_ticket_keys *k, const struct wcol_ticket_key_material m[2])
{
    int rc = 0;

    /* The device loops (server/worker.c) make and read tickets with these slots. */
    pthread_mutex_lock(&k->mu);
    for (int s = 0; s < 2; s++) {
        k->slot[s].id = m[s].id != 0 ? m[s].id | SHARED_ID_BIT : 0;
        k->slot[s].created = m[s].created;
        memcpy(k->slot[s].key, m[s].key, WCOL_TICKET_KEY_BYTES);
        rc = rc ?: key_arm(&k->slot[s]);
    }
    k->shared = true;
    pthread_mutex_unlock(&k->mu);
    return rc;
}

void wcol_ticket_keys_close(struct wcol_ticket_keys *k)
{
    for (int s = 0; s < 2; s++) {
        mbedtls_gcm_free(&k->slot[s].gcm);
    }
    mbedtls_platform_zeroize(k->slot, sizeof(k->slot));
    pthread_mutex_destroy(&k->mu);
}

static struct wcol_ticket_key *find_key(struct wcol_ticket_keys *k, uint32_t id)
{
    for (int s = 0; s < 2; s++) {
        if (k->slot[s].id != 0 && k->slot[s].id == id) {
            return &k->slot[s];
        }
    }
    return NULL;
}

/*
 * mbedtls_ssl_session_save() without the peer certificate. TLS 1.3 in mbedTLS 3.6 needs
 * MBEDTLS_SSL_KEEP_PEER_CERTIFICATE, and a TLS 1.2 session then carries the device's whole
 * certificate, which would double every 1.2 ticket on the wire. The ticket carries the
 * identity the collector needs (CN, serial, expiry: parse_identity() re-checks them), so the
 * certificate is left out: a shallow copy with the (private) field cleared, never freed.
 * TLS 1.3 sessions never serialize it.
 */
static int session_save_lean(const mbedtls_ssl_session *session, unsigned char *buf, size_t len,
                             size_t *olen)
{
    mbedtls_ssl_session lean = *session;

    lean.MBEDTLS_PRIVATE(peer_cert) = NULL;
    return mbedtls_ssl_session_save(&lean, buf, len, olen);
}

static int ticket_write(void *p_ticket, const mbedtls_ssl_session *session, unsigned char *start,
                        const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
    struct wcol_ticket_ctx *t = p_ticket;
    struct wcol_ticket_keys *k = t->keys;
    struct wcol_ticket_key *key = &k->slot[0];
    const struct wcol_ident *id = t->current;
    uint8_t plain[PLAIN_FIXED + WCOL_SERIAL_MAX + WCOL_DEVICE_ID_MAX + SESSION_MAX];
    uint8_t aad[5];
    size_t cn_len = id != NULL && id->valid ? strlen(id->cn) : 0;
    size_t p = 0;
    size_t slen = 0;
    int rc;

    plain[p++] = TICKET_VERSION;
    put_be64(plain + p, (int64_t)time(NULL));
    p += 8;
    put_be64(plain + p, id != NULL && id->valid ? id->not_after : 0);
    p += 8;
    plain[p++] = id != NULL && id->valid ? id->serial_len : 0;
    if (id != NULL && id->valid) {
        memcpy(plain + p, id->serial, id->serial_len);
        p += id->serial_len;
    }
    plain[p++] = (uint8_t)cn_len;
    memcpy(plain + p, id != NULL ? id->cn : "", cn_len);
    p += cn_len;
    rc = session_save_lean(session, plain + p, sizeof(plain) - p, &slen);
    if (rc != 0) {
        return rc;
    }
    p += slen;
    if ((size_t)(end - start) < HEAD_LEN + p + TAG_LEN) {
        mbedtls_platform_zeroize(plain, sizeof(plain));
        return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
    }
    put_be32(start, key->id);
    if (k->f_rng(k->p_rng, start + 4, NONCE_LEN) != 0) {
        mbedtls_platform_zeroize(plain, sizeof(plain));
        return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
    }
    memcpy(aad, start, 4);
    aad[4] = t->purpose;
    rc = mbedtls_gcm_crypt_and_tag(&key->gcm, MBEDTLS_GCM_ENCRYPT, p, start + 4, NONCE_LEN, aad,
                                   sizeof(aad), plain, start + HEAD_LEN, TAG_LEN,
                                   start + HEAD_LEN + p);
    mbedtls_platform_zeroize(plain, sizeof(plain));
    if (rc != 0) {
        return rc;
    }
    *tlen = HEAD_LEN + p + TAG_LEN;
    *lifetime = k->lifetime_s;
    t->issued++;
    return 0;
}

/* Check the identity part of a decrypted ticket and copy it out. */
static int parse_identity(struct wcol_ticket_ctx *t, const uint8_t *plain, size_t len,
                          struct wcol_ident *out, size_t *used)
{
    struct wcol_ticket_keys *k = t->keys;
    int64_t now = (int64_t)time(NULL);
    size_t p = 0;

    if (len < PLAIN_FIXED || plain[0] != TICKET_VERSION) {
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    }
    int64_t issued = get_be64(plain + 1);

    if (issued > now + 60 || now - issued >= (int64_t)k->lifetime_s) {
        return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
    }
    memset(out, 0, sizeof(*out));
    out->not_after = get_be64(plain + 9);
    p = 17;
    out->serial_len = plain[p++];
    if (out->serial_len > WCOL_SERIAL_MAX || p + out->serial_len + 1 > len) {
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    }
    memcpy(out->serial, plain + p, out->serial_len);
    p += out->serial_len;
    size_t cn_len = plain[p++];

    if (cn_len > WCOL_DEVICE_ID_MAX || p + cn_len > len) {
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    }
    memcpy(out->cn, plain + p, cn_len);
    out->cn[cn_len] = '\0';
    p += cn_len;
    out->valid = cn_len > 0;
    if (out->valid && out->not_after <= now) {
        return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED; /* the certificate expired since */
    }
    out->not_before = issued;
    if (out->valid && k->is_revoked != NULL && k->is_revoked(k->revoked_ctx, out)) {
        wcol_log_warn("refused a session ticket of revoked device %s", out->cn);
        return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
    }
    *used = p;
    return 0;
}

static int ticket_parse(void *p_ticket, mbedtls_ssl_session *session, unsigned char *buf,
                        size_t len)
{
    struct wcol_ticket_ctx *t = p_ticket;
    uint8_t plain[PLAIN_FIXED + WCOL_SERIAL_MAX + WCOL_DEVICE_ID_MAX + SESSION_MAX];
    struct wcol_ident ident;
    uint8_t aad[5];
    size_t used = 0;
    int rc;

    if (len < HEAD_LEN + TAG_LEN || len - HEAD_LEN - TAG_LEN > sizeof(plain)) {
        t->refused++;
        return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
    }
    size_t clen = len - HEAD_LEN - TAG_LEN;
    struct wcol_ticket_key *key = find_key(t->keys, get_be32(buf));

    if (key == NULL) {
        t->refused++;
        return MBEDTLS_ERR_SSL_INVALID_MAC; /* unknown or retired key */
    }
    memcpy(aad, buf, 4);
    aad[4] = t->purpose;
    rc = mbedtls_gcm_auth_decrypt(&key->gcm, clen, buf + 4, NONCE_LEN, aad, sizeof(aad),
                                  buf + HEAD_LEN + clen, TAG_LEN, buf + HEAD_LEN, plain);
    if (rc != 0) {
        t->refused++;
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    }
    rc = parse_identity(t, plain, clen, &ident, &used);
    if (rc == 0) {
        rc = mbedtls_ssl_session_load(session, plain + used, clen - used);
    }
    mbedtls_platform_zeroize(plain, sizeof(plain));
    if (rc != 0) {
        t->refused++;
        return rc;
    }
    if (t->current != NULL) {
        ident.resumed = true;
        *t->current = ident;
    }
    t->resumed++;
    return 0;
}

/*
 * The device loops' threads share the keys (server/worker.h): a GCM context keeps state while it
 * runs, and the owner rotates the keys. A ticket is made or read once per handshake, so one lock
 * costs nothing measurable.
 */
int wcol_ticket_write(void *p_ticket, const mbedtls_ssl_session *session, unsigned char *start,
                      const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
    struct wcol_ticket_keys *k = ((struct wcol_ticket_ctx *)p_ticket)->keys;

    pthread_mutex_lock(&k->mu);
    int rc = ticket_write(p_ticket, session, start, end, tlen, lifetime);

    pthread_mutex_unlock(&k->mu);
    return rc;
}

int wcol_ticket_parse(void *p_ticket, mbedtls_ssl_session *session, unsigned char *buf, size_t len)
{
    struct wcol_ticket_keys *k = ((struct wcol_ticket_ctx *)p_ticket)->keys;

    pthread_mutex_lock(&k->mu);
    int rc = ticket_parse(p_ticket, session, buf, len);

    pthread_mutex_unlock(&k->mu);
    return rc;
}
