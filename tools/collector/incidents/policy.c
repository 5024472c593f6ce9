#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "common/ident.h"
#include "common/log.h"
#include "incidents/policy.h"
#include "store/store.h"

#define MAX_LINES 4096u
#define DUR_MAX   (366ull * 86400000ull)

struct lctx {
    const char *file;
    unsigned line;
};

static int bad(const struct lctx *l, const char *why, const char *what)
{
    wcol_log_error("%s:%u: %s%s%s", l->file, l->line, why, what ? ": " : "", what ? what : "");
    return -EINVAL;
}

void wcol_policy_defaults(struct wcol_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->hold_down_ms = 5 * 60000;
    p->flap_count = 4;
    p->flap_window_ms = 10 * 60000;
    p->correlate_min = 5;
    p->correlate_window_ms = 2 * 60000;
    p->ack_deadline_ms[3] = 15 * 60000;
    p->resend_ms = 60000;
    p->send_timeout_ms = 5000;
    p->retry_max_ms = 5 * 60000;
    p->escalate = -1;
    static const uint64_t targets[4][3] = {
        { 0, 0, 0 },
        { 10 * 60000, 4 * 3600000, 24 * 3600000ull },
        { 5 * 60000, 3600000, 4 * 3600000 },
        { 2 * 60000, 15 * 60000, 3600000 },
    };
    memcpy(p->drill_target_ms, targets, sizeof(targets));
    p->prune_after_ms = 7 * 86400000ull;
}

/* "500ms", "90s", "5m", "2h", "1d". @return 0 or -1. */
static int duration(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul;

    if (end == s || *s == '-' || *s == '+') {
        return -1;
    }
    if (strcmp(end, "ms") == 0) {
        mul = 1;
    } else if (strcmp(end, "s") == 0) {
        mul = 1000;
    } else if (strcmp(end, "m") == 0) {
        mul = 60000;
    } else if (strcmp(end, "h") == 0) {
        mul = 3600000;
    } else if (strcmp(end, "d") == 0) {
        mul = 86400000;
    } else {
        return -1;
    }
    if (v > DUR_MAX / mul) {
        return -1;
    }
    *out = v * mul;
    return 0;
}

static int copy(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= cap) {
        return -1;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

/* https://HOST[:PORT]/PATH, or http:// (only with insecure-http, checked by the caller). */
static int parse_url(const struct lctx *l, const char *url, struct wcol_receiver *r)
{
    const char *h, *slash, *colon;

    if (strncmp(url, "https://", 8) == 0) {
        r->tls = true;
        h = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        h = url + 7;
    } else {
        return bad(
            l, "a receiver URL is https://HOST[:PORT]/PATH (http:// only with insecure-http)", url);
    }
    slash = strchr(h, '/');
    slash = slash ? slash : h + strlen(h);
    colon = memchr(h, ':', (size_t)(slash - h));
    size_t hl = (size_t)((colon ? colon : slash) - h);

    if (hl == 0 || hl >= sizeof(r->host)) {
        return bad(l, "receiver URL host missing or too long", url);
    }
    memcpy(r->host, h, hl);
    r->host[hl] = '\0';
    if (colon != NULL) {
        size_t pl = (size_t)(slash - colon - 1);
        long port = strtol(colon + 1, NULL, 10);

        if (pl == 0 || pl >= sizeof(r->port) || strspn(colon + 1, "0123456789") != pl || port < 1 ||
            port > 65535) {
            return bad(l, "receiver URL port must be 1..65535", url);
        }
        memcpy(r->port, colon + 1, pl);
        r->port[pl] = '\0';
    } else {
        strcpy(r->port, r->tls ? "443" : "80");
    }
    if (copy(r->path, sizeof(r->path), *slash ? slash : "/") != 0) {
        return bad(l, "receiver URL path too long", url);
    }
    return 0;
}

static bool loopback(const char *host)
{
    unsigned char a[16];

    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0) {
        return true;
    }
    return inet_pton(AF_INET, host, a) == 1 && a[0] == 127;
}

static bool ip_literal(const char *host)
{
    unsigned char a[16];

    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* The transport's rules (docs/incidents.md, "HTTPS receivers"), once every option is read. */
static int transport_ok(const struct lctx *l, const struct wcol_receiver *r)
{
    mbedtls_x509_crt ca;
    int rc;

    if (!r->tls) {
        if (!r->insecure_http || r->ca_file[0] != '\0') {
            return bad(l,
                       r->ca_file[0] ? "ca-file is for https:// receivers"
                                     : "plain http:// is refused: use https://, or add "
                                       "insecure-http for a receiver on this machine (loopback)",
                       r->name);
        }
        return loopback(r->host) ? 0
                                 : bad(l,
                                       "insecure-http is only for a loopback host "
                                       "(127.0.0.0/8, ::1, localhost)",
                                       r->host);
    }
    if (r->insecure_http) {
        return bad(l, "insecure-http is for http:// receivers only", r->name);
    }
    if (ip_literal(r->host)) {
        return bad(l, "an https receiver is named by its certificate's DNS name, not an address",
                   r->host);
    }
    mbedtls_x509_crt_init(&ca);
    rc = mbedtls_x509_crt_parse_file(&ca, r->ca_file[0] ? r->ca_file : WCOL_POL_SYSTEM_CA);
    mbedtls_x509_crt_free(&ca);
    return rc == 0 ? 0
                   : bad(l, "cannot read the CA certificates (PEM) of ca-file",
                         r->ca_file[0] ? r->ca_file : WCOL_POL_SYSTEM_CA);
}

static int read_secret(const struct lctx *l, const char *path, struct wcol_receiver *r)
{
    FILE *f = fopen(path, "re");
    size_t n;

    if (f == NULL) {
        return bad(l, "cannot read the secret file", path);
    }
    n = fread(r->secret, 1, sizeof(r->secret), f);
    fclose(f);
    while (n > 0 && (r->secret[n - 1] == '\n' || r->secret[n - 1] == '\r')) {
        n--;
    }
    if (n < 16 || n >= sizeof(r->secret)) {
        return bad(l, "a webhook secret is 16..127 bytes", path);
    }
    r->secret_len = n;
    return 0;
}

/* secret-file FILE, ca-file FILE, insecure-http, after the URL. */
static int receiver_options(const struct lctx *l, char **tok, int n, struct wcol_receiver *r)
{
    for (int i = 4; i < n; i++) {
        if (strcmp(tok[i], "insecure-http") == 0) {
            r->insecure_http = true;
        } else if (i + 1 < n && strcmp(tok[i], "secret-file") == 0) {
            if (read_secret(l, tok[++i], r) != 0) {
                return -EINVAL;
            }
        } else if (i + 1 < n && strcmp(tok[i], "ca-file") == 0) {
            if (copy(r->ca_file, sizeof(r->ca_file), tok[++i]) != 0) {
                return bad(l, "ca-file path too long", tok[i]);
            }
        } else {
            return bad(l,
                       "receiver NAME webhook|alertmanager URL [secret-file FILE] [ca-file FILE] "
                       "[insecure-http]",
                       tok[i]);
        }
    }
    return 0;
}

static int receiver(struct wcol_policy *p, const struct lctx *l, char **tok, int n)
{
    struct wcol_receiver *r = &p->receivers[p->n_receivers];

    if (n < 4) {
        return bad(l,
                   "receiver NAME webhook|alertmanager URL [secret-file FILE] [ca-file FILE] "
                   "[insecure-http]",
                   NULL);
    }
    if (p->n_receivers == WCOL_POL_RECEIVERS) {
        return bad(l, "too many receivers (16)", NULL);
    }
    memset(r, 0, sizeof(*r));
    if (!wcol_device_id_valid(tok[1], strlen(tok[1])) ||
        copy(r->name, sizeof(r->name), tok[1]) != 0 || wcol_policy_receiver(p, tok[1]) >= 0) {
        return bad(l, "receiver name: 1-31 of [A-Za-z0-9._-], unique", tok[1]);
    }
    if (strcmp(tok[2], "webhook") == 0) {
        r->kind = WCOL_RECV_WEBHOOK;
    } else if (strcmp(tok[2], "alertmanager") == 0) {
        r->kind = WCOL_RECV_ALERTMANAGER;
    } else {
        return bad(l, "receiver kind is webhook or alertmanager", tok[2]);
    }
    if (parse_url(l, tok[3], r) != 0 || receiver_options(l, tok, n, r) != 0) {
        return -EINVAL;
    }
    if (r->kind == WCOL_RECV_ALERTMANAGER && strcmp(r->path, "/") == 0) {
        strcpy(r->path, "/api/v2/alerts");
    }
    if (r->kind == WCOL_RECV_WEBHOOK && r->secret_len == 0) {
        return bad(l, "a webhook needs secret-file FILE (its HMAC-SHA256 key)", tok[1]);
    }
    if (transport_ok(l, r) != 0) {
        return -EINVAL;
    }
    p->n_receivers++;
    return 0;
}

static int route(struct wcol_policy *p, const struct lctx *l, char **tok, int n)
{
    struct wcol_route_rule *r = &p->routes[p->n_routes];
    int idx = n >= 2 ? wcol_policy_receiver(p, tok[1]) : -1;

    if (idx < 0) {
        return bad(l,
                   "route RECEIVER [severity>=S] [device=GLOB] [component=GLOB]: unknown "
                   "receiver (declare it above)",
                   n >= 2 ? tok[1] : NULL);
    }
    if (p->n_routes == WCOL_POL_ROUTES) {
        return bad(l, "too many routes (32)", NULL);
    }
    memset(r, 0, sizeof(*r));
    r->receiver = (unsigned)idx;
    r->min_severity = 1;
    for (int i = 2; i < n; i++) {
        if (strncmp(tok[i], "severity>=", 10) == 0) {
            r->min_severity = wcol_store_severity_rank(tok[i] + 10);
            if (r->min_severity < 1) {
                return bad(l, "severity>= low, medium or high", tok[i]);
            }
        } else if (strncmp(tok[i], "device=", 7) == 0) {
            if (copy(r->device, sizeof(r->device), tok[i] + 7) != 0) {
                return bad(l, "device glob: 1-63 bytes", tok[i]);
            }
        } else if (strncmp(tok[i], "component=", 10) == 0) {
            if (copy(r->component, sizeof(r->component), tok[i] + 10) != 0) {
                return bad(l, "component glob: 1-63 bytes", tok[i]);
            }
        } else {
            return bad(l, "unknown route match (severity>=, device=, component=)", tok[i]);
        }
    }
    p->n_routes++;
    return 0;
}

/* runbook GLOB TEXT: TEXT is the rest of the line. */
static int runbook(struct wcol_policy *p, const struct lctx *l, char **tok, int n, const char *rest)
{
    struct wcol_runbook *r = &p->runbooks[p->n_runbooks];

    if (n < 3) {
        return bad(l, "runbook GLOB TEXT-OR-URL", NULL);
    }
    if (p->n_runbooks == WCOL_POL_RUNBOOKS) {
        return bad(l, "too many runbooks (64)", NULL);
    }
    if (copy(r->glob, sizeof(r->glob), tok[1]) != 0 || copy(r->text, sizeof(r->text), rest) != 0) {
        return bad(l, "runbook glob 1-63 bytes, text 1-255 bytes", tok[1]);
    }
    p->n_runbooks++;
    return 0;
}

static int dur_arg(const struct lctx *l, const char *s, uint64_t *out)
{
    return duration(s, out) == 0 ? 0 : bad(l, "a duration is N followed by ms, s, m, h or d", s);
}

static int count_arg(const struct lctx *l, const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (*s == '\0' || *end != '\0' || *s == '-' || v < min || v > max) {
        char why[64];

        snprintf(why, sizeof(why), "a count is %u..%u", min, max);
        return bad(l, why, s);
    }
    *out = (unsigned)v;
    return 0;
}

static int directive(struct wcol_policy *p, const struct lctx *l, char **tok, int n,
                     const char *rest2)
{
    const char *d = tok[0];

    if (strcmp(d, "receiver") == 0) {
        return receiver(p, l, tok, n);
    }
    if (strcmp(d, "route") == 0) {
        return route(p, l, tok, n);
    }
    if (strcmp(d, "runbook") == 0) {
        return runbook(p, l, tok, n, rest2);
    }
    if (strcmp(d, "escalate") == 0) {
        p->escalate = n == 2 ? wcol_policy_receiver(p, tok[1]) : -1;
        return p->escalate >= 0 ? 0 : bad(l, "escalate RECEIVER (declared above)", NULL);
    }
    if (strcmp(d, "external-url") == 0) {
        return n == 2 && copy(p->external_url, sizeof(p->external_url), tok[1]) == 0
                   ? 0
                   : bad(l, "external-url URL (1-255 bytes)", NULL);
    }
    if (n == 2 && strcmp(d, "hold-down") == 0) {
        return dur_arg(l, tok[1], &p->hold_down_ms);
    }
    if (n == 2 && strcmp(d, "resend") == 0) {
        return dur_arg(l, tok[1], &p->resend_ms)
                   ?: (p->resend_ms >= 1000 ? 0 : bad(l, "resend is at least 1s", NULL));
    }
    if (n == 2 && strcmp(d, "timeout") == 0) {
        return dur_arg(l, tok[1], &p->send_timeout_ms)
                   ?: (p->send_timeout_ms >= 100 && p->send_timeout_ms <= 60000
                           ? 0
                           : bad(l, "timeout is 100ms..60s", NULL));
    }
    if (n == 2 && strcmp(d, "retry-max") == 0) {
        return dur_arg(l, tok[1], &p->retry_max_ms);
    }
    if (n == 3 && strcmp(d, "flapping") == 0) {
        return count_arg(l, tok[1], 2, 1000, &p->flap_count)
                   ?: dur_arg(l, tok[2], &p->flap_window_ms);
    }
    if (n == 3 && strcmp(d, "correlate") == 0) {
        return count_arg(l, tok[1], 2, 100000, &p->correlate_min)
                   ?: dur_arg(l, tok[2], &p->correlate_window_ms);
    }
    if (n == 3 && strcmp(d, "ack-deadline") == 0) {
        int s = wcol_store_severity_rank(tok[1]);

        if (s < 1) {
            return bad(l, "ack-deadline low|medium|high DURATION", tok[1]);
        }
        return dur_arg(l, tok[2], &p->ack_deadline_ms[s]);
    }
    if (n == 4 && strcmp(d, "drill-target") == 0) {
        static const char *const what[] = { "detect", "ack", "resolve" };
        int s = wcol_store_severity_rank(tok[1]);

        for (int k = 0; s >= 1 && k < 3; k++) {
            if (strcmp(tok[2], what[k]) == 0) {
                return dur_arg(l, tok[3], &p->drill_target_ms[s][k]);
            }
        }
        return bad(l, "drill-target low|medium|high detect|ack|resolve DURATION", tok[1]);
    }
    if (n == 2 && strcmp(d, "prune-delivered") == 0) {
        return strcmp(tok[1], "never") == 0 ? (p->prune_after_ms = 0, 0)
                                            : dur_arg(l, tok[1], &p->prune_after_ms);
    }
    return bad(l, "unknown directive or wrong number of arguments", d);
}

/* Split a line into at most 8 whitespace-separated tokens (in place). */
static int split(char *line, char **tok, int max, const char **rest2)
{
    int n = 0;
    char *s = line;

    *rest2 = "";
    while (n < max) {
        s += strspn(s, " \t");
        if (*s == '\0') {
            break;
        }
        if (n == 2) {
            *rest2 = s; /* runbook text, before it is cut */
        }
        tok[n++] = s;
        s += strcspn(s, " \t");
        if (*s != '\0') {
            *s++ = '\0';
        }
    }
    return n;
}

int wcol_policy_load(struct wcol_policy *p, const char *path)
{
    char line[WCOL_POL_LINE_MAX + 2], keep[WCOL_POL_LINE_MAX + 2];
    struct lctx l = { path, 0 };
    FILE *f = fopen(path, "re");
    int rc = 0;

    if (f == NULL) {
        wcol_log_error("%s: cannot open the alerting file: %s", path, strerror(errno));
        return -EIO;
    }
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        char *tok[8];
        const char *rest2;

        if (++l.line > MAX_LINES) {
            rc = bad(&l, "too many lines (4096)", NULL);
            break;
        }
        size_t len = strlen(line);

        if (len > WCOL_POL_LINE_MAX || (len == sizeof(line) - 1 && line[len - 1] != '\n')) {
            rc = bad(&l, "line longer than 512 bytes", NULL);
            break;
        }
        line[strcspn(line, "#\r\n")] = '\0';
        memcpy(keep, line, strlen(line) + 1);
        int n = split(line, tok, 8, &rest2);

        if (n == 0) {
            continue;
        }
        /* The runbook's text keeps its spaces: take it from the copy. */
        const char *rest = rest2[0] ? keep + (rest2 - line) : "";

        rc = directive(p, &l, tok, n, rest);
    }
    fclose(f);
    return rc;
}

const char *wcol_policy_runbook(const struct wcol_policy *p, const char *component)
{
    for (unsigned i = 0; i < p->n_runbooks; i++) {
        if (fnmatch(p->runbooks[i].glob, component, 0) == 0) {
            return p->runbooks[i].text;
        }
    }
    return "";
}

int wcol_policy_receiver(const struct wcol_policy *p, const char *name)
{
    for (unsigned i = 0; i < p->n_receivers; i++) {
        if (strcmp(p->receivers[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}
