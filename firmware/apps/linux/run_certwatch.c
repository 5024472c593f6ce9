/* ward-agent run: a renewed certificate taken into use without a restart (run_certwatch.h). */
#include "ward/base/config.h"

#if IS_ENABLED(CONFIG_WARD_TRANSPORT)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/x509_crt.h>

#include "run.h"
#include "run_certwatch.h"

#define CERTWATCH_PERIOD_MS 1000

static struct run_file_id file_id(const char *path)
{
    struct run_file_id id = { 0 };
    struct stat st;

    if (stat(path, &st) == 0) {
        id.dev = (uint64_t)st.st_dev;
        id.ino = (uint64_t)st.st_ino;
        id.size = (uint64_t)st.st_size;
        id.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        id.mode = (unsigned)st.st_mode;
        id.present = true;
    }
    return id;
}

static bool same_file(const struct run_file_id *a, const struct run_file_id *b)
{
    return a->present == b->present && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns;
}

/* Read both files into the run's PEM buffers and hash them. @return 0 or -errno. */
static int read_pair(struct run *r, size_t *clen, size_t *klen, uint8_t csha[WARD_DIGEST_LEN],
                     uint8_t ksha[WARD_DIGEST_LEN])
{
    const struct run_certwatch *w = &r->certwatch;
    int rc = run_read_small(w->cert_path, r->pem_cert, RUN_PEM_MAX, clen);

    rc = rc ?: run_read_small(w->key_path, r->pem_key, RUN_PEM_MAX, klen);
    rc = rc ?: ward_sha256(r->pem_cert, *clen, csha);
    return rc ?: ward_sha256(r->pem_key, *klen, ksha);
}

void run_certwatch_init(struct run *r, const char *cert_path, const char *key_path, int64_t now)
{
    struct run_certwatch *w = &r->certwatch;
    size_t clen, klen;

    memset(w, 0, sizeof(*w));
    w->cert_path = cert_path;
    w->key_path = key_path;
    w->cert = file_id(cert_path);
    w->key = file_id(key_path);
    w->next_check_ms = now + CERTWATCH_PERIOD_MS;
    (void)read_pair(r, &clen, &klen, w->cert_sha, w->key_sha); /* unreadable: any change */
    memset(r->pem_key, 0, sizeof(r->pem_key)); /* the key stays in the TLS context only */
}

/* "serial 4A:..:01, expires 2029-03-10" of the certificate in use. */
static void describe(const mbedtls_x509_crt *crt, char *out, size_t len)
{
    char serial[80];

    if (mbedtls_x509_serial_gets(serial, sizeof(serial), &crt->serial) < 0) {
        snprintf(serial, sizeof(serial), "?");
    }
    snprintf(out, len, "serial %s, expires %04d-%02d-%02d %02d:%02d:%02d UTC", serial,
             crt->valid_to.year, crt->valid_to.mon, crt->valid_to.day, crt->valid_to.hour,
             crt->valid_to.min, crt->valid_to.sec);
}

static const char *reload_why(int rc)
{
    switch (rc) {
    case -EBADMSG:
        return "the certificate or the key does not parse";
    case -ENOTSUP:
        return "the key is not ECDSA P-256";
    case -EINVAL:
        return "the key does not match the certificate";
    case -EPERM:
        return "the certificate names another device (subject CN)";
    case -EACCES:
        return "the key is accessible to group or others (chmod 600 it)";
    default:
        return strerror(-rc);
    }
}

/* Read both files and, when their contents changed, switch to them.
 * @return 1 switched, 0 nothing new, or a negative errno (said in one line). */
static int reload(struct run *r)
{
    struct run_certwatch *w = &r->certwatch;
    uint8_t csha[WARD_DIGEST_LEN], ksha[WARD_DIGEST_LEN];
    size_t clen = 0, klen = 0;
    char before[160], after[160];
    int rc = (w->key.mode & 077) != 0 ? -EACCES : 0; /* as at start-up: refused, as ssh does */

    rc = rc ?: read_pair(r, &clen, &klen, csha, ksha);
    if (rc == 0 && memcmp(csha, w->cert_sha, sizeof(csha)) == 0 &&
        memcmp(ksha, w->key_sha, sizeof(ksha)) == 0) {
        memset(r->pem_key, 0, sizeof(r->pem_key));
        return 0; /* touched, copied over itself, or only its time moved */
    }
    describe(&r->tls.cert, before, sizeof(before));
    if (rc == 0) {
        rc = ward_tls_reload(&r->tls, r->pem_cert, clen, r->pem_key, klen);
    }
    memset(r->pem_key, 0, sizeof(r->pem_key)); /* the key stays in the TLS context only */
    if (rc != 0) {
        w->failures++;
        fprintf(stderr,
                "ward-agent: %s or %s changed but is not used: %s; keeping the certificate in "
                "use (%s)\n",
                w->cert_path, w->key_path, reload_why(rc), before);
        return rc;
    }
    memcpy(w->cert_sha, csha, sizeof(csha));
    memcpy(w->key_sha, ksha, sizeof(ksha));
    w->reloads++;
    describe(&r->tls.cert, after, sizeof(after));
    fprintf(stderr,
            "ward-agent: new certificate %s loaded: %s -> %s; the next connection uses it\n",
            w->cert_path, before, after);
    return 1;
}

void run_certwatch_step(struct run *r, int64_t now)
{
    struct run_certwatch *w = &r->certwatch;
    bool down = r->tp.link == WARD_LINK_DOWN || r->tp.link == WARD_LINK_BACKOFF;

    if (w->cert_path == NULL || (!down && r->tp.link != WARD_LINK_UP)) {
        return; /* a handshake in progress uses the pair it started with */
    }
    if (down || now >= w->next_check_ms) {
        struct run_file_id c = file_id(w->cert_path), k = file_id(w->key_path);

        w->next_check_ms = now + CERTWATCH_PERIOD_MS;
        if (c.present && k.present && (!same_file(&c, &w->cert) || !same_file(&k, &w->key))) {
            /* Tried once per change: cert-renew renames the key before the certificate, and
             * a mismatch seen between the two renames is retried when the second lands. */
            w->cert = c;
            w->key = k;
            w->reconnect = reload(r) > 0 || w->reconnect;
        }
    }
    if (w->reconnect && (down || !ward_transport_busy(&r->tp))) {
        w->reconnect = false;
        if (!down) {
            ward_transport_shutdown(&r->tp); /* idle: nothing in flight is lost */
        }
    }
}

#endif /* CONFIG_WARD_TRANSPORT */
