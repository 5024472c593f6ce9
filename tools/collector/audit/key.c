/* The collector's audit key (ECDSA P-256) and checkpoint lines (audit.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ecp.h>

#include "ward/base/hex.h"

#include "audit/audit_impl.h"
#include "common/log.h"

static int write_file(const char *path, const unsigned char *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);

    if (fd < 0) {
        return -errno;
    }
    int rc = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -errno;

    close(fd);
    return rc;
}

static int make_key(struct wcol_audit *a, const char *priv, const char *pub)
{
    unsigned char pem[1024];
    int rc = mbedtls_pk_setup(&a->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));

    rc = rc
             ?: mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(a->key),
                                    mbedtls_ctr_drbg_random, &a->drbg);
    rc = rc ?: mbedtls_pk_write_key_pem(&a->key, pem, sizeof(pem));
    if (rc != 0) {
        wcol_log_error("audit: cannot make a key (mbedTLS -0x%04x)", (unsigned)-rc);
        return -EIO;
    }
    rc = write_file(priv, pem, strlen((char *)pem), 0600);
    mbedtls_platform_zeroize(pem, sizeof(pem));
    if (rc == 0 && mbedtls_pk_write_pubkey_pem(&a->key, pem, sizeof(pem)) == 0) {
        (void)unlink(pub); /* a stale public half of another key must not stay */
        rc = write_file(pub, pem, strlen((char *)pem), 0644);
    }
    if (rc != 0) {
        wcol_log_error("audit: cannot write %s: %s", priv, strerror(-rc));
        return -EIO;
    }
    wcol_log_info("audit: made the checkpoint key %s (public half: %s)", priv, pub);
    return 0;
}

int wcol_audit_key_open(struct wcol_audit *a, const char *state_dir)
{
    char priv[4200], pub[4200];
    struct stat st;

    mbedtls_pk_init(&a->key);
    mbedtls_entropy_init(&a->entropy);
    mbedtls_ctr_drbg_init(&a->drbg);
    a->key_ready = true; /* initialised: freed by wcol_audit_key_free */
    if (mbedtls_ctr_drbg_seed(&a->drbg, mbedtls_entropy_func, &a->entropy,
                              (const unsigned char *)"ward-audit", 10) != 0) {
        wcol_log_error("audit: no randomness");
        return -EIO;
    }
    snprintf(priv, sizeof(priv), "%s/audit-key.pem", state_dir);
    snprintf(pub, sizeof(pub), "%s/audit-key.pub.pem", state_dir);
    if (stat(priv, &st) != 0) {
        return make_key(a, priv, pub);
    }
    if ((st.st_mode & 077) != 0) {
        wcol_log_error("audit: %s is accessible to group or others; run: chmod 600 %s", priv, priv);
        return -EIO;
    }
    int rc = mbedtls_pk_parse_keyfile(&a->key, priv, NULL, mbedtls_ctr_drbg_random, &a->drbg);

    if (rc != 0 || !mbedtls_pk_can_do(&a->key, MBEDTLS_PK_ECKEY)) {
        wcol_log_error("audit: %s is not an EC private key (mbedTLS -0x%04x)", priv, (unsigned)-rc);
        return -EIO;
    }
    return 0;
}

void wcol_audit_key_free(struct wcol_audit *a)
{
    if (a->key_ready) {
        mbedtls_pk_free(&a->key);
        mbedtls_ctr_drbg_free(&a->drbg);
        mbedtls_entropy_free(&a->entropy);
        a->key_ready = false;
    }
}

static int body(int64_t count, const uint8_t head[32], int64_t at_ms, char *out, size_t cap)
{
    char hex[65];

    ward_hex_encode(head, 32, hex);
    int n = snprintf(out, cap, "ward-audit-checkpoint v1 count=%lld head=%s at_ms=%lld",
                     (long long)count, hex, (long long)at_ms);

    return n > 0 && (size_t)n < cap ? n : -ENOSPC;
}

int wcol_audit_sign_line(struct wcol_audit *a, int64_t count, const uint8_t head[32], int64_t at_ms,
                         char *out, size_t cap)
{
    unsigned char digest[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t sig_len = 0;
    int n = body(count, head, at_ms, out, cap);

    if (n < 0 || mbedtls_sha256((const unsigned char *)out, (size_t)n, digest, 0) != 0 ||
        mbedtls_pk_sign(&a->key, MBEDTLS_MD_SHA256, digest, 32, sig, sizeof(sig), &sig_len,
                        mbedtls_ctr_drbg_random, &a->drbg) != 0 ||
        (size_t)n + 6 + 2 * sig_len + 2 > cap) {
        wcol_log_error("audit: cannot sign a checkpoint");
        return -EIO;
    }
    memcpy(out + n, " sig=", 5);
    ward_hex_encode(sig, sig_len, out + n + 5);
    strcat(out, "\n");
    return 0;
}

int wcol_audit_check_line(mbedtls_pk_context *pub, const char *line, int64_t *count,
                          uint8_t head[32])
{
    char hex[65], sighex[301], again[256]; /* sighex: what %300s may write */
    unsigned char digest[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    long long c, at;

    if (sscanf(line, "ward-audit-checkpoint v1 count=%lld head=%64s at_ms=%lld sig=%300s", &c, hex,
               &at, sighex) != 4 ||
        strlen(hex) != 64 || ward_hex_decode(hex, head, 32) != 0 || c < 0 ||
        strlen(sighex) % 2 != 0 || strlen(sighex) / 2 > sizeof(sig) ||
        ward_hex_decode(sighex, sig, strlen(sighex) / 2) != 0) {
        return -EBADMSG;
    }
    *count = c;
    int n = body(c, head, at, again, sizeof(again));

    if (n < 0 || mbedtls_sha256((const unsigned char *)again, (size_t)n, digest, 0) != 0) {
        return -EBADMSG;
    }
    return mbedtls_pk_verify(pub, MBEDTLS_MD_SHA256, digest, 32, sig, strlen(sighex) / 2) == 0
               ? 0
               : -EPERM;
}
