/*
 * The backup container (container.h): a header, length-prefixed records, and a trailer that
 * is either a SHA-256 or an AES-256-GCM tag over everything before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/gcm.h>
#include <mbedtls/sha256.h>

#include "backup/container.h"
#include "backup/util.h"

#define CHUNK     65536
#define TAG_BYTES 16
#define FLAG_GCM  0x01

struct wbk_writer {
    int fd;
    bool enc;
    mbedtls_gcm_context gcm;
    mbedtls_sha256_context sha;
    unsigned char in[CHUNK];       /* a file's bytes as read */
    unsigned char buf[CHUNK + 16]; /* their ciphertext */
};

/* Payload bytes: encrypted or hashed, then written. */
static int sink(struct wbk_writer *w, const void *p, size_t n)
{
    const unsigned char *b = p;

    while (n > 0) {
        size_t part = n < CHUNK ? n : CHUNK, olen = 0;

        if (!w->enc) {
            mbedtls_sha256_update(&w->sha, b, part);
            if (wbk_write_all(w->fd, b, part) != 0) {
                return -errno;
            }
        } else if (mbedtls_gcm_update(&w->gcm, b, part, w->buf, sizeof(w->buf), &olen) != 0 ||
                   wbk_write_all(w->fd, w->buf, olen) != 0) {
            return -EIO;
        }
        b += part;
        n -= part;
    }
    return 0;
}

static void be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t unbe(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

int wbk_open(struct wbk_writer **out, const char *path, const struct wcol_backup_key *key,
             char *err, size_t cap)
{
    unsigned char h[WBK_HEADER] = { 0 };
    struct wbk_writer *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        return wbk_say(err, cap, -ENOMEM, "out of memory");
    }
    w->enc = key != NULL && key->set;
    memcpy(h, WBK_MAGIC, 8);
    h[8] = 1;
    h[9] = w->enc ? FLAG_GCM : 0;
    if (w->enc && getrandom(h + 12, 12, 0) != 12) {
        free(w);
        return wbk_say(err, cap, -EIO, "no random nonce: %s", strerror(errno));
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        int e = errno;

        free(w);
        return wbk_say(err, cap, -e, "cannot create %s: %s", path, strerror(e));
    }
    mbedtls_sha256_init(&w->sha);
    mbedtls_gcm_init(&w->gcm);
    if (w->enc) {
        if (mbedtls_gcm_setkey(&w->gcm, MBEDTLS_CIPHER_ID_AES, key->k, 256) != 0 ||
            mbedtls_gcm_starts(&w->gcm, MBEDTLS_GCM_ENCRYPT, h + 12, 12) != 0 ||
            mbedtls_gcm_update_ad(&w->gcm, h, sizeof(h)) != 0) {
            wbk_abort(w);
            return wbk_say(err, cap, -EIO, "AES-256-GCM setup failed");
        }
    } else {
        mbedtls_sha256_starts(&w->sha, 0);
        mbedtls_sha256_update(&w->sha, h, sizeof(h));
    }
    if (wbk_write_all(w->fd, h, sizeof(h)) != 0) {
        int e = errno;

        wbk_abort(w);
        return wbk_say(err, cap, -e, "cannot write %s: %s", path, strerror(e));
    }
    *out = w;
    return 0;
}

static int record_head(struct wbk_writer *w, const char *name, uint64_t size)
{
    unsigned char h[2 + WBK_NAME_MAX + 8];
    size_t n = strlen(name);

    if (n > WBK_NAME_MAX) {
        return -ENAMETOOLONG;
    }
    be(h, n, 2);
    for (size_t i = 0; i < n; i++) {
        h[2 + i] = (unsigned char)name[i];
    }
    be(h + 2 + n, size, 8);
    return sink(w, h, 2 + n + 8);
}

int wbk_add_mem(struct wbk_writer *w, const char *name, const void *data, size_t len, char *err,
                size_t cap)
{
    if (record_head(w, name, len) != 0 || sink(w, data, len) != 0) {
        return wbk_say(err, cap, -EIO, "cannot write the record %s: %s", name, strerror(errno));
    }
    return 0;
}

int wbk_add_file(struct wbk_writer *w, const char *name, const char *path, char *err, size_t cap)
{
    struct stat st;
    uint64_t left;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;

        if (fd >= 0) {
            close(fd);
        }
        return wbk_say(err, cap, -e, "cannot read %s: %s", path, strerror(e));
    }
    left = (uint64_t)st.st_size;
    int rc = record_head(w, name, left);

    while (rc == 0 && left > 0) {
        ssize_t k =
            wbk_cancelled() ? -ECANCELED : wbk_read_full(fd, w->in, left < CHUNK ? left : CHUNK);

        if (k <= 0) {
            rc = k == -ECANCELED ? -ECANCELED : -EIO;
            break;
        }
        left -= (uint64_t)k;
        rc = sink(w, w->in, (size_t)k);
    }
    close(fd);
    return rc == 0 ? 0 : wbk_say(err, cap, rc, "cannot pack %s: %s", path, strerror(-rc));
}

static void writer_free(struct wbk_writer *w)
{
    mbedtls_gcm_free(&w->gcm);
    mbedtls_sha256_free(&w->sha);
    if (w->fd >= 0) {
        close(w->fd);
    }
    free(w);
}

void wbk_abort(struct wbk_writer *w)
{
    if (w != NULL) {
        writer_free(w);
    }
}

int wbk_close(struct wbk_writer *w, char *err, size_t cap)
{
    unsigned char end[2] = { 0, 0 }, trailer[32], rest[16];
    size_t tlen = 32, olen = 0;
    int rc = sink(w, end, sizeof(end));

    if (rc == 0 && w->enc) {
        tlen = TAG_BYTES;
        rc = mbedtls_gcm_finish(&w->gcm, rest, sizeof(rest), &olen, trailer, TAG_BYTES) != 0
                 ? -EIO
                 : wbk_write_all(w->fd, rest, olen);
    } else if (rc == 0) {
        mbedtls_sha256_finish(&w->sha, trailer);
    }
    rc = rc ?: wbk_write_all(w->fd, trailer, tlen);
    if (rc == 0 && fsync(w->fd) != 0) {
        rc = -errno;
    }
    writer_free(w);
    return rc == 0 ? 0 : wbk_say(err, cap, rc, "cannot finish the backup: %s", strerror(-rc));
}

/* ---- reading ---- */

struct reader {
    int fd, out;
    bool enc;
    uint64_t payload; /* bytes between header and trailer */
    unsigned char h[WBK_HEADER];
    unsigned char in[CHUNK], buf[CHUNK + 16];
};

/* Header and size checks. @return 0, -EBADMSG, -ENOKEY. */
static int read_header(struct reader *r, const char *file, const struct wcol_backup_key *key,
                       char *err, size_t cap)
{
    struct stat st;
    ssize_t k = wbk_read_full(r->fd, r->h, sizeof(r->h));

    if (fstat(r->fd, &st) != 0 || k < 0) {
        return wbk_say(err, cap, -EIO, "cannot read %s: %s", file, strerror(errno));
    }
    if (k < 8 || memcmp(r->h, WBK_MAGIC, 8) != 0) {
        return wbk_say(err, cap, -EBADMSG, "%s is not a ward backup (no WARDBKP1 header)", file);
    }
    if (k < WBK_HEADER || r->h[8] != 1 || (r->h[9] & ~FLAG_GCM) != 0) {
        return wbk_say(err, cap, -EBADMSG,
                       k < WBK_HEADER ? "%s is truncated (short header)"
                                      : "%s is a ward backup of an unknown version or flags",
                       file);
    }
    r->enc = (r->h[9] & FLAG_GCM) != 0;
    if (r->enc && (key == NULL || !key->set)) {
        return wbk_say(err, cap, -ENOKEY, "%s is encrypted: give its key with --key FILE", file);
    }
    uint64_t tlen = r->enc ? TAG_BYTES : 32;

    if ((uint64_t)st.st_size < WBK_HEADER + tlen + 2) {
        return wbk_say(err, cap, -EBADMSG, "%s is truncated (%lld bytes)", file,
                       (long long)st.st_size);
    }
    r->payload = (uint64_t)st.st_size - WBK_HEADER - tlen;
    return 0;
}

/* The payload, decrypted or hashed, into r->out; then the trailer. @return 0, -EBADMSG. */
static int read_payload(struct reader *r, const char *file, const struct wcol_backup_key *key,
                        char *err, size_t cap)
{
    mbedtls_gcm_context gcm;
    mbedtls_sha256_context sha;
    unsigned char trailer[32], calc[32];
    uint64_t left = r->payload;
    size_t olen;
    int rc = 0;

    mbedtls_gcm_init(&gcm);
    mbedtls_sha256_init(&sha);
    if (r->enc) {
        rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key->k, 256) ||
                     mbedtls_gcm_starts(&gcm, MBEDTLS_GCM_DECRYPT, r->h + 12, 12) ||
                     mbedtls_gcm_update_ad(&gcm, r->h, sizeof(r->h))
                 ? -EIO
                 : 0;
    } else {
        mbedtls_sha256_starts(&sha, 0);
        mbedtls_sha256_update(&sha, r->h, sizeof(r->h));
    }
    while (rc == 0 && left > 0) {
        size_t part = left < CHUNK ? (size_t)left : CHUNK;

        if (wbk_read_full(r->fd, r->in, part) != (ssize_t)part) {
            rc = wbk_say(err, cap, -EBADMSG, "%s is truncated", file);
            break;
        }
        left -= part;
        olen = part;
        if (r->enc) {
            rc = mbedtls_gcm_update(&gcm, r->in, part, r->buf, sizeof(r->buf), &olen) ? -EIO : 0;
        } else {
            mbedtls_sha256_update(&sha, r->in, part);
            memcpy(r->buf, r->in, part);
        }
        rc = rc ?: wbk_write_all(r->out, r->buf, olen);
    }
    size_t tlen = r->enc ? TAG_BYTES : 32;

    if (rc == 0 && wbk_read_full(r->fd, trailer, tlen) != (ssize_t)tlen) {
        rc = wbk_say(err, cap, -EBADMSG, "%s is truncated", file);
    }
    if (rc == 0 && r->enc) {
        rc = mbedtls_gcm_finish(&gcm, r->buf, 16, &olen, calc, TAG_BYTES)
                 ? -EIO
                 : wbk_write_all(r->out, r->buf, olen);
    } else if (rc == 0) {
        mbedtls_sha256_finish(&sha, calc);
    }
    mbedtls_gcm_free(&gcm);
    mbedtls_sha256_free(&sha);
    if (rc == 0 && memcmp(calc, trailer, tlen) != 0) {
        rc = wbk_say(err, cap, -EBADMSG,
                     r->enc ? "%s: authentication failed (wrong key, or the file was altered)"
                            : "%s: checksum mismatch (the file is corrupt or truncated)",
                     file);
    }
    if (rc == -EIO && err[0] == '\0') {
        wbk_say(err, cap, rc, "%s: cannot read or decrypt: %s", file, strerror(errno));
    }
    return rc;
}

static bool name_ok(const char *n, size_t len)
{
    if (len == 0 || len > WBK_NAME_MAX || n[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = n[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return false;
        }
    }
    return true;
}

/* Copy size bytes from fd to dir/name (which must not exist). */
static int extract_one(struct reader *r, const char *dir, const char *name, uint64_t size)
{
    char path[4200];
    int out, rc = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (out < 0) {
        return errno == EEXIST ? -EBADMSG : -errno;
    }
    while (rc == 0 && size > 0) {
        size_t part = size < CHUNK ? (size_t)size : CHUNK;

        rc = wbk_read_full(r->fd, r->in, part) == (ssize_t)part ? wbk_write_all(out, r->in, part)
                                                                : -EBADMSG;
        size -= part;
    }
    if (rc == 0 && fsync(out) != 0) {
        rc = -errno;
    }
    close(out);
    return rc;
}

/* The records of the (checked) payload file r->fd into dir. */
static int parse_records(struct reader *r, const char *dir, char *err, size_t cap)
{
    uint64_t left = r->payload;
    unsigned n = 0;

    for (;;) {
        unsigned char h[8];
        char name[WBK_NAME_MAX + 1];
        size_t nlen;

        if (left < 2 || wbk_read_full(r->fd, h, 2) != 2) {
            return wbk_say(err, cap, -EBADMSG, "the payload ends inside a record");
        }
        left -= 2;
        nlen = (size_t)unbe(h, 2);
        if (nlen == 0) {
            break;
        }
        if (nlen > WBK_NAME_MAX || left < nlen + 8 ||
            wbk_read_full(r->fd, name, nlen) != (ssize_t)nlen || wbk_read_full(r->fd, h, 8) != 8 ||
            !name_ok(name, nlen)) {
            return wbk_say(err, cap, -EBADMSG, "record %u has a bad name", n + 1);
        }
        name[nlen] = '\0';
        left -= nlen + 8;
        uint64_t size = unbe(h, 8);

        if (size > left || (n == 0 && strcmp(name, "manifest.json") != 0)) {
            return wbk_say(err, cap, -EBADMSG, "record %u (%s) is %s", n + 1, name,
                           size > left ? "longer than the payload" : "not the manifest");
        }
        int rc = extract_one(r, dir, name, size);

        if (rc != 0) {
            return wbk_say(err, cap, rc, "cannot unpack %s: %s", name,
                           rc == -EBADMSG ? "duplicate or short record" : strerror(-rc));
        }
        left -= size;
        n++;
    }
    if (left != 0 || n == 0) {
        return wbk_say(err, cap, -EBADMSG, n == 0 ? "no records" : "bytes after the end record");
    }
    return 0;
}

int wbk_unpack(const char *file, const struct wcol_backup_key *key, const char *dir,
               bool *encrypted, char *err, size_t cap)
{
    char payload[4200];
    struct reader *r = calloc(1, sizeof(*r));
    int rc;

    if (r == NULL) {
        return wbk_say(err, cap, -ENOMEM, "out of memory");
    }
    err[0] = '\0';
    snprintf(payload, sizeof(payload), "%s/.payload", dir);
    r->out = -1;
    r->fd = open(file, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        rc = wbk_say(err, cap, -errno, "cannot open %s: %s", file, strerror(errno));
        goto out_free;
    }
    rc = read_header(r, file, key, err, cap);
    if (rc == 0) {
        r->out = open(payload, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        rc = r->out < 0
                 ? wbk_say(err, cap, -errno, "cannot create %s: %s", payload, strerror(errno))
                 : read_payload(r, file, key, err, cap);
    }
    *encrypted = r->enc;
    if (rc == 0) {
        close(r->fd);
        r->fd = r->out;
        r->out = -1;
        r->payload = (uint64_t)lseek(r->fd, 0, SEEK_END);
        lseek(r->fd, 0, SEEK_SET);
        rc = parse_records(r, dir, err, cap);
    }
    if (r->out >= 0) {
        close(r->out);
    }
    close(r->fd);
    unlink(payload);
out_free:
    free(r);
    return rc;
}
