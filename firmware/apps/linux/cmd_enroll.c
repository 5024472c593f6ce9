/*
 * ward-agent enroll: make the device's key and a certificate signing request on the device.
 * The private key is written here (mode 0600, never replaced unless --force) and never
 * leaves the machine; the request goes to an administrator (`wardctl device enroll ID --csr
 * FILE`, or `ward-pki sign-csr ID --csr FILE` on an offline CA host), who returns the
 * certificate. docs/pki.md, "Device lifecycle".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_csr.h>
#include <psa/crypto.h>

#include "ward/wire/device_id.h"

#include "commands.h"
#include "enroll.h"
#include "opt_table.h"

struct enroll_args {
    const char *id;
    const char *key_out;
    const char *csr_out;
    bool force;
    /* self-enrolment with a one-time token (enroll_token.c) */
    const char *collector;
    const char *server_name;
    const char *ca;
    const char *token;
    const char *cert_out;
};

static const struct opt_spec s_opts[] = {
    { "--id", offsetof(struct enroll_args, id), OPT_TEXT, "ID",
      "the device id: the certificate's CN (required)" },
    { "--key-out", offsetof(struct enroll_args, key_out), OPT_TEXT, "FILE",
      "new private key, EC P-256, mode 0600 (required)" },
    { "--csr-out", offsetof(struct enroll_args, csr_out), OPT_TEXT, "FILE",
      "certificate signing request for the admin (required)" },
    { "--force", offsetof(struct enroll_args, force), OPT_FLAG, NULL,
      "replace an existing key file (renewal by hand)" },
    { "--token", offsetof(struct enroll_args, token), OPT_TEXT, "FILE",
      "one-time enrolment token: enrol now (with --collector)" },
    { "--collector", offsetof(struct enroll_args, collector), OPT_TEXT, "HOST:PORT",
      "the collector's operator port, for --token" },
    { "--server-name", offsetof(struct enroll_args, server_name), OPT_TEXT, "NAME",
      "name in its certificate (default: HOST)" },
    { "--ca", offsetof(struct enroll_args, ca), OPT_TEXT, "FILE",
      "CA of the collector, for --token" },
    { "--cert-out", offsetof(struct enroll_args, cert_out), OPT_TEXT, "FILE",
      "where the signed certificate goes, for --token" },
};

void cmd_enroll_usage(FILE *f)
{
    opt_usage(f,
              "usage: ward-agent enroll --id ID --key-out FILE --csr-out FILE [--force]\n"
              "                         [--token FILE --collector HOST:PORT --ca FILE\n"
              "                          --cert-out FILE [--server-name NAME]]\n"
              "Make this device's private key (it never leaves the device) and a certificate\n"
              "signing request with CN = ID. Have it signed with `wardctl device enroll ID\n"
              "--csr FILE` or `ward-pki sign-csr ID --csr FILE`, then run with --key FILE\n"
              "--cert CERT. With --token (wardctl device enroll-token) the device has the\n"
              "collector sign it now, on its operator port.\n",
              s_opts, sizeof(s_opts) / sizeof(s_opts[0]));
}

static int parse_args(int argc, char **argv, struct enroll_args *a)
{
    if (opt_parse_flat(s_opts, sizeof(s_opts) / sizeof(s_opts[0]), argc, argv, a, sizeof(*a),
                       "ward-agent enroll") != 0) {
        return 2;
    }
    if (a->id == NULL || a->key_out == NULL || a->csr_out == NULL) {
        fprintf(stderr, "ward-agent enroll: --id, --key-out and --csr-out are required\n");
        return 2;
    }
    if (a->token != NULL && (a->collector == NULL || a->ca == NULL || a->cert_out == NULL)) {
        fprintf(stderr, "ward-agent enroll: --token needs --collector, --ca and --cert-out\n");
        return 2;
    }
    if (!ward_device_id_valid(a->id, strlen(a->id))) {
        fprintf(stderr,
                "ward-agent enroll: device id '%s' must be 1-63 of [A-Za-z0-9._-], starting "
                "with a letter or digit\n",
                a->id);
        return 2;
    }
    return 0;
}

/* Write all of buf to path, created with mode (O_EXCL unless replace), fsynced. */
int enroll_write_file(const char *path, const char *buf, size_t len, mode_t mode, bool replace)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (replace ? 0 : O_EXCL), mode);
    int rc = 0;

    if (fd < 0) {
        return -errno;
    }
    /* O_CREAT's mode is masked by the umask and ignored for an existing file: set it. */
    if (fchmod(fd, mode) != 0) {
        rc = -errno;
        goto close_fd;
    }
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, buf + off, len - off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            goto close_fd;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0) {
        rc = -errno;
    }
close_fd:
    if (close(fd) != 0 && rc == 0) {
        rc = -errno;
    }
    return rc;
}

static int make_key(mbedtls_pk_context *key, mbedtls_ctr_drbg_context *drbg)
{
    int rc = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));

    if (rc == 0) {
        rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key),
                                 mbedtls_ctr_drbg_random, drbg);
    }
    return rc;
}

static int make_csr(const char *id, mbedtls_pk_context *key, mbedtls_ctr_drbg_context *drbg,
                    unsigned char *pem, size_t cap)
{
    mbedtls_x509write_csr csr;
    char subject[8 + WARD_DEVICE_ID_LEN_MAX];
    int rc;

    snprintf(subject, sizeof(subject), "CN=%s", id);
    mbedtls_x509write_csr_init(&csr);
    mbedtls_x509write_csr_set_md_alg(&csr, MBEDTLS_MD_SHA256);
    mbedtls_x509write_csr_set_key(&csr, key);
    rc = mbedtls_x509write_csr_set_subject_name(&csr, subject);
    if (rc == 0) {
        rc = mbedtls_x509write_csr_pem(&csr, pem, cap, mbedtls_ctr_drbg_random, drbg);
    }
    mbedtls_x509write_csr_free(&csr);
    return rc;
}

static int write_outputs(const struct enroll_args *a, const unsigned char *key_pem,
                         const unsigned char *csr_pem)
{
    int rc = enroll_write_file(a->key_out, (const char *)key_pem, strlen((const char *)key_pem),
                               0600, a->force);

    if (rc == -EEXIST) {
        fprintf(stderr,
                "ward-agent enroll: %s exists; refusing to replace a device key (give --force "
                "to make a new one)\n",
                a->key_out);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "ward-agent enroll: cannot write %s: %s\n", a->key_out, strerror(-rc));
        return 1;
    }
    rc = enroll_write_file(a->csr_out, (const char *)csr_pem, strlen((const char *)csr_pem), 0644,
                           true);
    if (rc != 0) {
        fprintf(stderr, "ward-agent enroll: cannot write %s: %s\n", a->csr_out, strerror(-rc));
        return 1;
    }
    return 0;
}

int enroll_csr_json(const char *id, const char *pem, char *out, size_t cap)
{
    int w = id != NULL ? snprintf(out, cap, "{\"device\":\"%s\",\"csr\":\"", id)
                       : snprintf(out, cap, "{\"csr\":\"");
    size_t n = w > 0 ? (size_t)w : cap;

    for (const char *p = pem; n < cap && *p != '\0'; p++) {
        if (n + 3 >= cap || *p == '"' || *p == '\\') {
            return -ENOSPC;
        }
        if (*p == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = *p;
        }
    }
    if (n + 3 > cap) {
        return -ENOSPC;
    }
    memcpy(out + n, "\"}", 3);
    return (int)(n + 2);
}

int enroll_make(const char *id, unsigned char *key_pem, size_t key_cap, unsigned char *csr_pem,
                size_t csr_cap)
{
    static const char pers[] = "ward-agent enroll";
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context key;
    int rc = -EIO;

    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&key);
    if (psa_crypto_init() != PSA_SUCCESS ||
        mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, (const unsigned char *)pers,
                              sizeof(pers) - 1) != 0) {
        goto free_all;
    }
    if (make_key(&key, &drbg) == 0 && mbedtls_pk_write_key_pem(&key, key_pem, key_cap) == 0 &&
        make_csr(id, &key, &drbg, csr_pem, csr_cap) == 0) {
        rc = 0;
    }
free_all:
    mbedtls_pk_free(&key);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return rc;
}

/* The token file's first line, without its newline. @return 0, or 1 after one line. */
static int read_token(const char *path, char *tok, size_t cap)
{
    FILE *f = fopen(path, "r");
    bool ok = f != NULL && fgets(tok, (int)cap, f) != NULL;

    if (f != NULL) {
        fclose(f);
    }
    tok[ok ? strcspn(tok, "\r\n") : 0] = '\0';
    if (tok[0] == '\0') {
        fprintf(stderr, "ward-agent enroll: cannot read a token from %s\n", path);
        return 1;
    }
    return 0;
}

static int enrol_now(const struct enroll_args *a, const char *csr)
{
    static char cert[ENROLL_PEM_MAX];
    char tok[128];

#ifndef WARD_AGENT_TRANSPORT
    (void)cert;
    (void)tok;
    (void)csr;
    fprintf(stderr, "ward-agent enroll: this build has no transport; --token is not available\n");
    return 2;
#else
    if (read_token(a->token, tok, sizeof(tok)) != 0 ||
        enroll_with_token(a->collector, a->server_name, a->ca, tok, a->id, csr, cert,
                          sizeof(cert)) != 0) {
        fprintf(stderr,
                "ward-agent enroll: not enrolled; the key %s and request %s are kept "
                "(an admin can sign it: wardctl device enroll %s --csr %s)\n",
                a->key_out, a->csr_out, a->id, a->csr_out);
        return 1;
    }
    int rc = enroll_write_file(a->cert_out, cert, strlen(cert), 0644, true);

    if (rc != 0) {
        fprintf(stderr, "ward-agent enroll: cannot write %s: %s\n", a->cert_out, strerror(-rc));
        return 1;
    }
    printf("ward-agent enroll: enrolled %s: key %s, certificate %s\n", a->id, a->key_out,
           a->cert_out);
    return 0;
#endif
}

int cmd_enroll(int argc, char **argv)
{
    static unsigned char key_pem[ENROLL_PEM_MAX], csr_pem[ENROLL_PEM_MAX];
    struct enroll_args a;
    int status = parse_args(argc, argv, &a);

    if (status != 0) {
        return status;
    }
    if (enroll_make(a.id, key_pem, sizeof(key_pem), csr_pem, sizeof(csr_pem)) != 0) {
        fprintf(stderr,
                "ward-agent enroll: cannot make the key and request for %s (is "
                "/dev/urandom readable?)\n",
                a.id);
        return 1;
    }
    status = write_outputs(&a, key_pem, csr_pem);
    memset(key_pem, 0, sizeof(key_pem));
    if (status == 0 && a.token != NULL) {
        return enrol_now(&a, (const char *)csr_pem);
    }
    if (status == 0) {
        printf("ward-agent enroll: key %s (0600) and request %s for device %s; have it signed "
               "with: wardctl device enroll %s --csr %s\n",
               a.key_out, a.csr_out, a.id, a.id, a.csr_out);
    }
    memset(key_pem, 0, sizeof(key_pem));
    return status;
}
