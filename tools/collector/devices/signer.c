/*
 * Enrolment: the collector signs a device's certificate request with an enrolment CA whose
 * certificate and key it is given (--enroll-cert, --enroll-key). That CA is not the offline
 * root of ward-pki: it is a CA of its own that the collector's --ca file trusts beside the
 * root, so that the root's key never sits on the collector's host (docs/pki.md). The request
 * must carry a valid self-signature, an EC P-256 key and CN = the device id; the certificate
 * is clientAuth only, valid from now (after the device's revocation, if any) for
 * --enroll-days.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include "common/log.h"
#include "devices/devices_impl.h"
#include "devices/signer.h"

struct wcol_signer {
    mbedtls_x509_crt ca;
    mbedtls_pk_context key;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    char issuer[512];
    unsigned days;
};

void wcol_devices_signer_free(struct wcol_devices *d)
{
    struct wcol_signer *s = d->signer;

    if (s == NULL) {
        return;
    }
    mbedtls_x509_crt_free(&s->ca);
    mbedtls_pk_free(&s->key);
    mbedtls_ctr_drbg_free(&s->drbg);
    mbedtls_entropy_free(&s->entropy);
    free(s);
    d->signer = NULL;
}

static int load_signer(struct wcol_signer *s, const char *cert, const char *key)
{
    struct stat st;
    int rc = mbedtls_x509_crt_parse_file(&s->ca, cert);

    if (rc != 0) {
        wcol_log_error("cannot load the enrolment CA certificate %s (make one with ward-pki "
                       "--dir DIR init)",
                       cert);
        return -EBADMSG;
    }
    if (stat(key, &st) != 0 || (st.st_mode & 077) != 0) {
        wcol_log_error("enrolment CA key %s is missing or accessible to group or others; run: "
                       "chmod 600 %s",
                       key, key);
        return -EPERM;
    }
    if (mbedtls_pk_parse_keyfile(&s->key, key, NULL, mbedtls_ctr_drbg_random, &s->drbg) != 0 ||
        mbedtls_pk_check_pair(&s->ca.pk, &s->key, mbedtls_ctr_drbg_random, &s->drbg) != 0) {
        wcol_log_error("enrolment CA key %s does not load or does not belong to %s", key, cert);
        return -EBADMSG;
    }
    if (mbedtls_x509_dn_gets(s->issuer, sizeof(s->issuer), &s->ca.subject) < 0) {
        wcol_log_error("enrolment CA certificate %s: its subject is too long", cert);
        return -EBADMSG;
    }
    return 0;
}

int wcol_devices_signer_open(struct wcol_devices *d, const char *cert, const char *key,
                             unsigned days)
{
    static const char pers[] = "ward-collector enrol";
    struct wcol_signer *s = calloc(1, sizeof(*s));
    int rc;

    if (s == NULL) {
        return -ENOMEM;
    }
    d->signer = s;
    s->days = days;
    mbedtls_x509_crt_init(&s->ca);
    mbedtls_pk_init(&s->key);
    mbedtls_entropy_init(&s->entropy);
    mbedtls_ctr_drbg_init(&s->drbg);
    rc = mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy,
                               (const unsigned char *)pers, sizeof(pers) - 1) != 0
             ? -EIO
             : load_signer(s, cert, key);
    if (rc != 0) {
        wcol_devices_signer_free(d);
        return rc;
    }
    wcol_log_info("enrolment: signing device certificates with %s (%s) for %u days", cert,
                  s->issuer, days);
    return 0;
}

/* The request's own signature: mbedTLS parses a CSR but has no call that checks it. */
static int csr_check_signature(mbedtls_x509_csr *csr)
{
    mbedtls_md_type_t md_type = csr->MBEDTLS_PRIVATE(sig_md);
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(md_type);
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];

    if (md == NULL || mbedtls_md(md, csr->cri.p, csr->cri.len, hash) != 0) {
        return -EBADMSG;
    }
    return mbedtls_pk_verify_ext(csr->MBEDTLS_PRIVATE(sig_pk), csr->MBEDTLS_PRIVATE(sig_opts),
                                 &csr->pk, md_type, hash, mbedtls_md_get_size(md),
                                 csr->MBEDTLS_PRIVATE(sig).p, csr->MBEDTLS_PRIVATE(sig).len) == 0
               ? 0
               : -EBADMSG;
}

/* Exactly one CN, equal to id. */
static bool csr_names(const mbedtls_x509_csr *csr, const char *id)
{
    const mbedtls_x509_name *cn = NULL;
    unsigned n = 0;

    for (const mbedtls_x509_name *a = &csr->subject; a != NULL; a = a->next) {
        if (a->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &a->oid) == 0) {
            cn = a;
            n++;
        }
    }
    return n == 1 && cn->val.len == strlen(id) && memcmp(cn->val.p, id, cn->val.len) == 0;
}

static void x509_time(int64_t t, char out[15])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

static int write_extensions(mbedtls_x509write_cert *w)
{
    /* clientAuth only: a device certificate must not serve as a collector's. */
    mbedtls_asn1_sequence eku = {
        .buf = { .tag = MBEDTLS_ASN1_OID,
                 .len = MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH),
                 .p = (unsigned char *)MBEDTLS_OID_CLIENT_AUTH },
    };
    int rc = mbedtls_x509write_crt_set_basic_constraints(w, 0, -1);

    rc = rc ?: mbedtls_x509write_crt_set_key_usage(w, MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    return rc ?: mbedtls_x509write_crt_set_ext_key_usage(w, &eku);
}

static int sign(struct wcol_signer *s, mbedtls_x509_csr *csr, const char *id, int64_t not_before,
                struct wcol_enrolment *out)
{
    mbedtls_x509write_cert w;
    unsigned char serial[16];
    char subject[8 + WCOL_DEVICE_ID_MAX], nb[15], na[15];
    int64_t end = not_before + (int64_t)s->days * 86400;
    int rc;

    if (mbedtls_ctr_drbg_random(&s->drbg, serial, sizeof(serial)) != 0) {
        return -EIO;
    }
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40); /* positive, 16 octets */
    snprintf(subject, sizeof(subject), "CN=%s", id);
    x509_time(not_before, nb);
    x509_time(end, na);
    mbedtls_x509write_crt_init(&w);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, &csr->pk);
    mbedtls_x509write_crt_set_issuer_key(&w, &s->key);
    rc = mbedtls_x509write_crt_set_serial_raw(&w, serial, sizeof(serial));
    rc = rc ?: mbedtls_x509write_crt_set_subject_name(&w, subject);
    rc = rc ?: mbedtls_x509write_crt_set_issuer_name(&w, s->issuer);
    rc = rc ?: mbedtls_x509write_crt_set_validity(&w, nb, na);
    rc = rc ?: write_extensions(&w);
    rc = rc
             ?: mbedtls_x509write_crt_pem(&w, (unsigned char *)out->pem, sizeof(out->pem),
                                          mbedtls_ctr_drbg_random, &s->drbg);
    mbedtls_x509write_crt_free(&w);
    if (rc != 0) {
        wcol_log_error("enrolment of %s: cannot write the certificate (mbedTLS -0x%04x)", id,
                       (unsigned)-rc);
        return -EIO;
    }
    for (size_t i = 0; i < sizeof(serial); i++) {
        snprintf(out->serial + 2 * i, 3, "%02X", serial[i]);
    }
    out->not_before = not_before;
    out->not_after = end;
    return 0;
}

int wcol_devices_enrol(struct wcol_devices *d, const char *id, const char *csr_pem, size_t len,
                       int64_t now_s, struct wcol_enrolment *out, const char **why)
{
    mbedtls_x509_csr csr;
    char buf[WCOL_CSR_MAX + 1];
    int rc = -EINVAL;

    if (d->signer == NULL) {
        *why = "enrolment is off: start the collector with --enroll-cert and --enroll-key";
        return -ENOTSUP;
    }
    if (len == 0 || len > WCOL_CSR_MAX) {
        *why = "the body must be a PEM certificate request of at most 4096 bytes";
        return -EINVAL;
    }
    memcpy(buf, csr_pem, len);
    buf[len] = '\0'; /* mbedTLS takes PEM with its NUL */
    mbedtls_x509_csr_init(&csr);
    if (mbedtls_x509_csr_parse(&csr, (const unsigned char *)buf, len + 1) != 0) {
        *why = "not a PEM certificate request (make one with: ward-agent enroll)";
    } else if (csr_check_signature(&csr) != 0) {
        *why = "the request's signature does not verify";
    } else if (mbedtls_pk_get_type(&csr.pk) != MBEDTLS_PK_ECKEY ||
               mbedtls_pk_get_bitlen(&csr.pk) != 256) {
        *why = "the request's key is not EC P-256";
    } else if (!csr_names(&csr, id)) {
        *why = "the request's CN is not the device id of the path";
    } else {
        int64_t revoked_s = wcol_devices_revoked_at(d, id) / 1000;

        /* After its revocation's second: that revocation refuses notBefore <= it. */
        rc = sign(d->signer, &csr, id, now_s > revoked_s ? now_s : revoked_s + 1, out);
        *why = rc == 0 ? NULL : "the certificate could not be written";
    }
    mbedtls_x509_csr_free(&csr);
    d->stats.enrolled += rc == 0;
    return rc;
}
