/*
 * wardctl device revoke|remove|enroll ID: the device lifecycle (role admin; docs/pki.md).
 *   device revoke ID [--reason TEXT]     live connections closed, new handshakes refused
 *   device remove ID [--reason TEXT]     revoked and decommissioned (never `silent` again)
 *   device enroll ID --csr FILE [--out FILE]   the certificate for a request made on the
 *                                        device by `ward-agent enroll` (to FILE, else stdout)
 *   device enroll-token ID [--expires D] a one-time token the device enrols itself with
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safe.h"
#include "wardctl.h"

#define CSR_MAX 4096

bool device_verb(const char *arg)
{
    return arg != NULL && (strcmp(arg, "revoke") == 0 || strcmp(arg, "remove") == 0 ||
                           strcmp(arg, "enroll") == 0 || strcmp(arg, "enroll-token") == 0);
}

static void print_revoked(const cJSON *d, FILE *out)
{
    double n = 0, at = 0;
    char when[40];

    jnum(d, "connections_closed", &n);
    jnum(d, "revoked_at_ms", &at);
    fmt_time(at, when, sizeof(when));
    fprintf(out, "%s: revoked at %s%s; %.0f live connection(s) closed\n",
            shown(jstr(d, "device"), "?"), when,
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "removed"))
                ? ", removed from the fleet"
                : "",
            n);
}

static int revoke_device(struct client *c, const struct opts *o, const char *verb, const char *id)
{
    char path[128], what[96];
    cJSON *b = cJSON_CreateObject();
    char *body;

    cJSON_AddStringToObject(b, "reason", o->reason != NULL ? o->reason : "");
    body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    if (body == NULL || strlen(body) > 260) {
        free(body);
        die_usage("--reason is at most 200 bytes");
    }
    snprintf(path, sizeof(path), "/v1/devices/%s/%s", id, verb);
    snprintf(what, sizeof(what), "%s %s", verb, id);
    int rc = cmd_show(c, o, path, body, what, print_revoked);

    free(body);
    return rc;
}

/* The request file, read whole and bounded. @return heap text or NULL (said why). */
static char *read_csr(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, CSR_MAX + 2);
    size_t n = 0;

    if (f == NULL || buf == NULL) {
        fprintf(stderr, "wardctl: cannot read %s: %s\n", path, strerror(errno));
        free(buf);
        if (f != NULL) {
            fclose(f);
        }
        return NULL;
    }
    n = fread(buf, 1, CSR_MAX + 1, f);
    fclose(f);
    if (n == 0 || n > CSR_MAX) {
        fprintf(stderr,
                "wardctl: %s is empty or larger than %u bytes; give the request made by "
                "ward-agent enroll\n",
                path, (unsigned)CSR_MAX);
        free(buf);
        return NULL;
    }
    return buf;
}

static int write_cert(const char *path, const char *pem)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(pem);

    if (fd < 0 || write(fd, pem, len) != (ssize_t)len || close(fd) != 0) {
        fprintf(stderr, "wardctl: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

static int enroll_device(struct client *c, const struct opts *o, const char *id)
{
    char path[128], what[96], *raw = NULL, *body, *csr;
    size_t len;

    if (o->csr == NULL) {
        die_usage("device enroll needs --csr FILE (made by ward-agent enroll)");
    }
    if ((csr = read_csr(o->csr)) == NULL) {
        return 1;
    }
    cJSON *b = cJSON_CreateObject();

    cJSON_AddStringToObject(b, "csr", csr);
    body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    free(csr);
    snprintf(path, sizeof(path), "/v1/devices/%s/enroll", id);
    snprintf(what, sizeof(what), "enroll %s", id);
    int status = client_request(c, path, body, &raw, &len);

    free(body);
    if (status != 200) {
        int rc = fail_status(c, status, status > 0 ? raw : NULL, what);

        free(raw);
        return rc;
    }
    cJSON *doc = cJSON_Parse(raw);
    const char *pem = jstr(doc, "certificate");
    int rc = 1;

    if (pem == NULL || strncmp(pem, "-----BEGIN CERTIFICATE-----", 27) != 0) {
        fprintf(stderr, "wardctl: %s: the collector's answer holds no certificate\n", what);
    } else if (o->json) {
        print_json_safe(stdout, raw);
        putchar('\n');
        rc = o->out != NULL ? write_cert(o->out, pem) : 0;
    } else if (o->out != NULL) {
        rc = write_cert(o->out, pem);
        if (rc == 0) {
            printf("%s: certificate (serial %s) written to %s\n", id,
                   shown(jstr(doc, "serial"), "?"), o->out);
        }
    } else {
        fputs(pem, stdout);
        rc = 0;
    }
    cJSON_Delete(doc);
    free(raw);
    return rc;
}

static void print_token(const cJSON *d, FILE *out)
{
    double until = 0;
    char when[40];

    jnum(d, "expires_ms", &until);
    fmt_time(until, when, sizeof(when));
    fprintf(out, "%s\n(one-time enrolment token for %s, valid until %s; shown once)\n",
            shown(jstr(d, "token"), "?"), shown(jstr(d, "device"), "?"), when);
}

static int make_token(struct client *c, const struct opts *o, const char *id)
{
    char path[128], what[96], body[64];

    long long exp = o->expires != NULL ? duration_s(o->expires) : 3600;

    if (exp < 0) {
        fprintf(stderr, "wardctl: --expires takes a duration: 30m, 1h, 2d\n");
        return 2;
    }
    snprintf(body, sizeof(body), "{\"expires_s\":%lld}", exp);
    snprintf(path, sizeof(path), "/v1/devices/%s/enroll-token", id);
    snprintf(what, sizeof(what), "enroll-token %s", id);
    return cmd_show(c, o, path, body, what, print_token);
}

int cmd_device_lifecycle(struct client *c, const struct opts *o, const char *verb, const char *id)
{
    if (id == NULL || !id_valid(id)) {
        die_usage("device revoke|remove|enroll needs a device id (1-63 of [A-Za-z0-9._-])");
    }
    if (strcmp(verb, "enroll-token") == 0) {
        return make_token(c, o, id);
    }
    return strcmp(verb, "enroll") == 0 ? enroll_device(c, o, id) : revoke_device(c, o, verb, id);
}
