/*
 * ward-agent cert-renew: renew the device's certificate before it expires, over the device's own
 * mutual TLS (the same TLS client as the reporting loop, firmware/transport): a new key and
 * request are made here, POST /v1/renew on the collector's device port is authenticated by
 * the current certificate, and the new key and certificate replace the old ones (each written
 * beside it, fsynced, then renamed). A running `ward-agent run` notices the new files and
 * uses them from its next connection (run_certwatch.h; docs/pki.md, "Renewal").
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "ward/transport/http.h"
#include "ward/transport/tls.h"

#include "commands.h"
#include "enroll.h"
#include "net_posix.h"
#include "opt_table.h"

#define RENEW_TIMEOUT_MS 15000
#define RENEW_BODY_MAX   (2 * ENROLL_PEM_MAX)

struct renew_args {
    const char *collector;
    const char *server_name;
    const char *ca;
    const char *cert;
    const char *key;
    const char *within; /* days */
    bool force;
};

static const struct opt_spec s_opts[] = {
    { "--collector", offsetof(struct renew_args, collector), OPT_TEXT, "HOST:PORT",
      "the collector's device port (required)" },
    { "--server-name", offsetof(struct renew_args, server_name), OPT_TEXT, "NAME",
      "name in its certificate (default: HOST)" },
    { "--ca", offsetof(struct renew_args, ca), OPT_TEXT, "FILE", "CA of the collector (required)" },
    { "--cert", offsetof(struct renew_args, cert), OPT_TEXT, "FILE",
      "this device's certificate, replaced (required)" },
    { "--key", offsetof(struct renew_args, key), OPT_TEXT, "FILE",
      "its private key, replaced (required)" },
    { "--within", offsetof(struct renew_args, within), OPT_TEXT, "DAYS",
      "renew when it expires within DAYS (default 30)" },
    { "--force", offsetof(struct renew_args, force), OPT_FLAG, NULL,
      "renew now, whatever its expiry" },
};

void cmd_renew_usage(FILE *f)
{
    opt_usage(f,
              "usage: ward-agent cert-renew --collector HOST:PORT --ca FILE --cert FILE\n"
              "                             --key FILE [--server-name NAME] [--within DAYS]\n"
              "                             [--force]\n"
              "Renew this device's certificate over its mutual TLS when it expires within\n"
              "DAYS: a new key is made here, the collector signs it (it needs --enroll-cert),\n"
              "and both files are replaced. Exit 0 renewed or not due, 1 failed.\n",
              s_opts, sizeof(s_opts) / sizeof(s_opts[0]));
}

static int parse_args(int argc, char **argv, struct renew_args *a)
{
    if (opt_parse_flat(s_opts, sizeof(s_opts) / sizeof(s_opts[0]), argc, argv, a, sizeof(*a),
                       "ward-agent cert-renew") != 0) {
        return 2;
    }
    if (a->collector == NULL || a->ca == NULL || a->cert == NULL || a->key == NULL) {
        fprintf(stderr,
                "ward-agent cert-renew: --collector, --ca, --cert and --key are required\n");
        return 2;
    }
    return 0;
}

/* A whole small file, NUL-terminated (PEM for mbedTLS counts the NUL). */
static int read_pem(const char *path, unsigned char *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        return -errno;
    }
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    if (n == 0 || n >= cap - 1) {
        return -EMSGSIZE;
    }
    buf[n] = '\0';
    *len = n + 1;
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait a little for the socket (or just a little when it is unknown). */
static void wait_io(const struct ward_net_posix *np)
{
    struct pollfd p = { .fd = ward_net_posix_fd(np), .events = POLLIN | POLLOUT };

    if (p.fd < 0 || poll(&p, 1, 20) < 0) {
        struct timespec ts = { 0, 20 * 1000 * 1000 };

        nanosleep(&ts, NULL);
    }
}

struct session {
    struct ward_net_posix np;
    struct ward_net net;
    struct ward_tls tls;
    struct ward_chan ch;
    int64_t deadline;
};

static int connect_and_handshake(struct session *s, const char *host, uint16_t port)
{
    int rc = ward_net_connect(&s->net, host, port);

    while (rc == -EINPROGRESS && mono_ms() < s->deadline) {
        wait_io(&s->np);
        rc = ward_net_connect_result(&s->net);
    }
    rc = rc ?: s->ch.ops->start(s->ch.ctx);
    while (rc == 0 || rc == -EAGAIN) {
        rc = s->ch.ops->handshake(s->ch.ctx);
        if (rc != -EAGAIN || mono_ms() >= s->deadline) {
            break;
        }
        wait_io(&s->np);
    }
    return rc == -EAGAIN ? -ETIMEDOUT : rc;
}

static int send_all(struct session *s, const uint8_t *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        int n = s->ch.ops->write(s->ch.ctx, buf + off, len - off);

        if (n > 0) {
            off += (size_t)n;
        } else if (n != -EAGAIN || mono_ms() >= s->deadline) {
            return n == -EAGAIN ? -ETIMEDOUT : n;
        } else {
            wait_io(&s->np);
        }
    }
    return 0;
}

static int read_response(struct session *s, struct ward_http_resp *resp)
{
    uint8_t buf[1024];

    for (;;) {
        int n = s->ch.ops->read(s->ch.ctx, buf, sizeof(buf));
        size_t used = 0;

        if (n > 0) {
            int done = ward_http_resp_feed(resp, buf, (size_t)n, &used);

            if (done != 0) {
                return done < 0 ? done : 0;
            }
        } else if (n != -EAGAIN || mono_ms() >= s->deadline) {
            return n == 0 ? -ECONNRESET : n == -EAGAIN ? -ETIMEDOUT : n;
        } else {
            wait_io(&s->np);
        }
    }
}

/* POST /v1/renew; the certificate of the answer into cert_out. @return 0, -errno (said). */
static int ask_collector(struct session *s, const char *host, uint16_t port, const char *csr,
                         char *cert_out, size_t cap)
{
    static char body[RENEW_BODY_MAX];
    static uint8_t rbody[RENEW_BODY_MAX];
    char head[512];
    struct ward_http_resp resp;
    int blen = enroll_csr_json(NULL, csr, body, sizeof(body));
    int hlen =
        blen < 0 ? blen
                 : ward_http_format_post(head, sizeof(head), host, port, "/v1/renew", (size_t)blen);
    int rc = hlen < 0 ? hlen : send_all(s, (const uint8_t *)head, (size_t)hlen);

    rc = rc ?: send_all(s, (const uint8_t *)body, (size_t)blen);
    ward_http_resp_init(&resp, rbody, sizeof(rbody) - 1);
    rc = rc ?: read_response(s, &resp);
    if (rc != 0) {
        fprintf(stderr, "ward-agent cert-renew: no answer from %s:%u: %s\n", host, port,
                strerror(-rc));
        return rc;
    }
    rbody[resp.body_len] = '\0';
    cJSON *doc = cJSON_Parse((const char *)rbody);
    const cJSON *crt = cJSON_GetObjectItemCaseSensitive(doc, "certificate");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");

    rc = -EPROTO;
    if (resp.status != 200 || !cJSON_IsString(crt) || strlen(crt->valuestring) >= cap) {
        fprintf(stderr, "ward-agent cert-renew: the collector refused: HTTP %u: %s\n", resp.status,
                cJSON_IsString(err) ? err->valuestring : "no certificate in the answer");
    } else {
        snprintf(cert_out, cap, "%s", crt->valuestring);
        rc = 0;
    }
    cJSON_Delete(doc);
    return rc;
}

/* Days until the certificate expires and its CN. @return 0, -EBADMSG. */
static int cert_facts(const unsigned char *pem, size_t len, double *days, char *cn, size_t cap)
{
    mbedtls_x509_crt crt;
    int rc = -EBADMSG;

    mbedtls_x509_crt_init(&crt);
    if (mbedtls_x509_crt_parse(&crt, pem, len) == 0) {
        struct tm tm = { .tm_year = crt.valid_to.year - 1900,
                         .tm_mon = crt.valid_to.mon - 1,
                         .tm_mday = crt.valid_to.day,
                         .tm_hour = crt.valid_to.hour,
                         .tm_min = crt.valid_to.min,
                         .tm_sec = crt.valid_to.sec };

        *days = difftime(timegm(&tm), time(NULL)) / 86400.0;
        for (const mbedtls_x509_name *n = &crt.subject; n != NULL; n = n->next) {
            if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 && n->val.len < cap) {
                memcpy(cn, n->val.p, n->val.len);
                cn[n->val.len] = '\0';
                rc = 0;
            }
        }
    }
    mbedtls_x509_crt_free(&crt);
    return rc;
}

/* Replace key then certificate: each written beside its file, fsynced, then renamed. */
static int install(const struct renew_args *a, const char *key_pem, const char *cert_pem)
{
    char kt[4096 + 8], ct[4096 + 8];
    int rc;

    snprintf(kt, sizeof(kt), "%s.new", a->key);
    snprintf(ct, sizeof(ct), "%s.new", a->cert);
    rc = enroll_write_file(kt, key_pem, strlen(key_pem), 0600, true);
    rc = rc ?: enroll_write_file(ct, cert_pem, strlen(cert_pem), 0644, true);
    if (rc == 0 && (rename(kt, a->key) != 0 || rename(ct, a->cert) != 0)) {
        rc = -errno;
    }
    if (rc != 0) {
        fprintf(stderr, "ward-agent cert-renew: cannot replace %s and %s: %s\n", a->key, a->cert,
                strerror(-rc));
    }
    return rc;
}

static int split_hostport(const char *spec, char *host, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(spec, ':');
    char *end;
    unsigned long p = colon != NULL ? strtoul(colon + 1, &end, 10) : 0;

    if (colon == NULL || colon == spec || (size_t)(colon - spec) >= cap || *end != '\0' || p == 0 ||
        p > 65535) {
        return -EINVAL;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    *port = (uint16_t)p;
    return 0;
}

static int renew(const struct renew_args *a, const char *host, uint16_t port, const char *cn)
{
    static unsigned char ca[16384], crt[ENROLL_PEM_MAX], key[ENROLL_PEM_MAX];
    static unsigned char nkey[ENROLL_PEM_MAX], ncsr[ENROLL_PEM_MAX];
    static char ncert[ENROLL_PEM_MAX];
    static struct session s;
    struct ward_tls_creds creds = { .server_name = a->server_name ? a->server_name : host };
    int rc = read_pem(a->ca, ca, sizeof(ca), &creds.ca_len);

    rc = rc ?: read_pem(a->cert, crt, sizeof(crt), &creds.cert_len);
    rc = rc ?: read_pem(a->key, key, sizeof(key), &creds.key_len);
    if (rc != 0) {
        fprintf(stderr, "ward-agent cert-renew: cannot read %s, %s or %s: %s\n", a->ca, a->cert,
                a->key, strerror(-rc));
        return 1;
    }
    creds.ca = ca;
    creds.cert = crt;
    creds.key = key;
    if (enroll_make(cn, nkey, sizeof(nkey), ncsr, sizeof(ncsr)) != 0) {
        fprintf(stderr, "ward-agent cert-renew: cannot make the new key and request\n");
        return 1;
    }
    ward_net_posix_init(&s.np);
    s.net = ward_net_posix(&s.np);
    rc = ward_tls_init(&s.tls, &creds, &s.net, "ward-agent cert-renew");
    if (rc != 0) {
        fprintf(stderr, "ward-agent cert-renew: cannot set up TLS with %s and %s: %s\n", a->cert,
                a->key, strerror(-rc));
        return 1;
    }
    s.ch = ward_tls_chan(&s.tls);
    s.deadline = mono_ms() + RENEW_TIMEOUT_MS;
    rc = connect_and_handshake(&s, host, port);
    if (rc != 0) {
        fprintf(stderr, "ward-agent cert-renew: cannot reach %s over mutual TLS: %s\n",
                a->collector, strerror(-rc));
    }
    rc = rc ?: ask_collector(&s, creds.server_name, port, (const char *)ncsr, ncert, sizeof(ncert));
    s.ch.ops->finish(s.ch.ctx, true);
    ward_net_close(&s.net);
    ward_tls_free(&s.tls);
    rc = rc ?: install(a, (const char *)nkey, ncert);
    memset(nkey, 0, sizeof(nkey));
    memset(key, 0, sizeof(key));
    return rc == 0 ? 0 : 1;
}

int cmd_renew(int argc, char **argv)
{
    static unsigned char pem[ENROLL_PEM_MAX];
    struct renew_args a;
    char host[256], cn[64];
    uint16_t port = 0;
    double days = 0, within = 30;
    size_t len = 0;
    int status = parse_args(argc, argv, &a);

    if (status != 0) {
        return status;
    }
    if (a.within != NULL) {
        char *end;

        within = strtod(a.within, &end);
        if (*end != '\0' || within < 0 || within > 825) {
            fprintf(stderr, "ward-agent cert-renew: --within needs 0-825 days, not '%s'\n",
                    a.within);
            return 2;
        }
    }
    if (split_hostport(a.collector, host, sizeof(host), &port) != 0) {
        fprintf(stderr, "ward-agent cert-renew: --collector needs HOST:PORT, not '%s'\n",
                a.collector);
        return 2;
    }
    if (read_pem(a.cert, pem, sizeof(pem), &len) != 0 ||
        cert_facts(pem, len, &days, cn, sizeof(cn)) != 0) {
        fprintf(stderr, "ward-agent cert-renew: %s is not a readable certificate with a CN\n",
                a.cert);
        return 1;
    }
    if (!a.force && days > within) {
        printf("ward-agent cert-renew: %s (%s) expires in %.1f days; not due (--within %.0f)\n",
               a.cert, cn, days, within);
        return 0;
    }
    status = renew(&a, host, port, cn);
    if (status == 0) {
        printf(
            "ward-agent cert-renew: %s renewed for %s (it expired in %.1f days); a running agent "
            "uses it from its next connection\n",
            a.cert, cn, days);
    }
    return status;
}
