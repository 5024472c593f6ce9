#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "options.h"

enum opt_type {
    T_STR,      /* const char * */
    T_FLAG,     /* bool, set by the option without an argument */
    T_UINT,     /* unsigned */
    T_SIZE,     /* size_t */
    T_U32,      /* uint32_t */
    T_DURATION, /* uint64_t milliseconds, written 90d, 12h, 30m, 45s or 0 */
    T_LOG,      /* the log level (not in the configuration) */
    T_HELP,
    T_VERSION,
    T_SECTION, /* a heading of --help */
};

/* What parsing fills: the configuration and the options that only derive parts of it. */
struct args {
    struct wcol_collector_config cfg;
    const char *pki;
};

struct opt {
    const char *name;
    enum opt_type type;
    unsigned long min, max;
    size_t offset;   /* into struct args */
    const char *arg; /* placeholder in --help */
    const char *help;
};

#define AT(field) offsetof(struct args, field)

static const struct opt s_opts[] = {
    { "Identity and trust (a ward-pki directory gives all of them):", T_SECTION, 0, 0, 0, NULL,
      NULL },
    { "pki", T_STR, 0, 0, AT(pki), "DIR",
      "ca.crt, collector.crt, collector.key, crl.pem, api-tokens in DIR" },
    { "ca", T_STR, 0, 0, AT(cfg.tls.ca), "FILE", "CA of the device certificates" },
    { "cert", T_STR, 0, 0, AT(cfg.tls.cert), "FILE", "the collector's certificate" },
    { "key", T_STR, 0, 0, AT(cfg.tls.key), "FILE", "its private key" },
    { "crl", T_STR, 0, 0, AT(cfg.tls.crl), "FILE", "revoked device certificates" },
    { "tokens", T_STR, 0, 0, AT(cfg.tokens_path), "FILE", "operator bearer tokens" },
    { "Where:", T_SECTION, 0, 0, 0, NULL, NULL },
    { "state", T_STR, 0, 0, AT(cfg.state_dir), "DIR",
      "database, session ticket keys, 'ports' file (created 0700)" },
    { "db", T_STR, 0, 0, AT(cfg.db_path), "FILE", "SQLite database (default STATE/ward.db)" },
    { "listen", T_STR, 0, 0, AT(cfg.listen), "ADDR:PORT", "devices (port 0 = any free port)" },
    { "api-listen", T_STR, 0, 0, AT(cfg.api_listen), "ADDR:PORT", "operators" },
    { "user", T_STR, 0, 0, AT(cfg.user), "NAME",
      "run as NAME once the ports, database and key files are open (the state directory is "
      "given to NAME)" },
    { "Fleet:", T_SECTION, 0, 0, 0, NULL, NULL },
    { "silent-factor", T_UINT, 1, 1000, AT(cfg.silent_factor), "N",
      "silent when no heartbeat for N x its interval" },
    { "heartbeat-interval", T_UINT, 100, 86400000, AT(cfg.default_interval_ms), "MS",
      "interval of devices that announce none" },
    { "check-interval", T_UINT, 10, 60000, AT(cfg.check_interval_ms), "MS",
      "how often silence and the CRL file are checked" },
    { "max-devices", T_SIZE, 1, 10000000, AT(cfg.max_devices), "N", "devices in the fleet" },
    { "retention", T_DURATION, 0, 0, AT(cfg.retention_ms), "DURATION",
      "delete events received longer ago (s, m, h, d; 0 keeps everything)" },
    { "alerting", T_STR, 0, 0, AT(cfg.alerting_path), "FILE",
      "incident policy, receivers, routes and runbooks (docs/incidents.md)" },
    { "Limits:", T_SECTION, 0, 0, 0, NULL, NULL },
    { "max-connections", T_UINT, 1, 1000000, AT(cfg.max_conns), "N", "device connections" },
    { "max-api-connections", T_UINT, 1, 10000, AT(cfg.max_api_conns), "N", "operator connections" },
    { "max-unauth-connections", T_UINT, 1, 1000000, AT(cfg.max_unauth_conns), "N",
      "device connections not yet authenticated (the oldest is shed for a newcomer)" },
    { "max-unauth-per-source", T_UINT, 1, 1000000, AT(cfg.max_unauth_per_source), "N",
      "unauthenticated connections from one address, either port (its oldest is shed)" },
    { "max-body", T_SIZE, 256, 16777216, AT(cfg.max_body), "BYTES", "request body" },
    { "max-head", T_SIZE, 256, 65536, AT(cfg.max_head), "BYTES", "request head" },
    { "max-headers", T_UINT, 4, 256, AT(cfg.max_headers), "N", "header lines" },
    { "max-sensors", T_UINT, 1, 1000000, AT(cfg.max_sensors), "N",
      "sensors per device in its health snapshot (a page past it is refused)" },
    { "max-events", T_UINT, 1, 100000, AT(cfg.max_events), "N", "events per request" },
    { "handshake-timeout", T_UINT, 100, 3600000, AT(cfg.handshake_timeout_ms), "MS",
      "TLS handshake" },
    { "request-timeout", T_UINT, 100, 3600000, AT(cfg.request_timeout_ms), "MS",
      "from a request's first byte to its last" },
    { "idle-timeout", T_UINT, 100, 86400000, AT(cfg.idle_timeout_ms), "MS",
      "keep-alive connection with no request" },
    { "write-timeout", T_UINT, 100, 3600000, AT(cfg.write_timeout_ms), "MS",
      "response not taken by the peer" },
    { "max-group", T_UINT, 1, 100000, AT(cfg.max_group), "N", "requests per storage commit" },
    { "busy-timeout", T_UINT, 0, 60000, AT(cfg.busy_timeout_ms), "MS",
      "wait for a storage lock held by another process" },
    { "Session tickets:", T_SECTION, 0, 0, 0, NULL, NULL },
    { "ticket-lifetime", T_U32, 1, 604800, AT(cfg.tls.ticket_lifetime_s), "S",
      "how long a ticket resumes a session" },
    { "ticket-rotate", T_U32, 1, 31536000, AT(cfg.tls.ticket_rotate_s), "S",
      "ticket key rotation (>= lifetime)" },
    { "Protocol:", T_SECTION, 0, 0, 0, NULL, NULL },
    { "tls13-only", T_FLAG, 0, 0, AT(cfg.tls.tls13_only), NULL,
      "refuse TLS 1.2 (by default accepted for boards without room for 1.3)" },
    { "Other:", T_SECTION, 0, 0, 0, NULL, NULL },
    { "log-level", T_LOG, 0, 0, 0, "LEVEL", "error, warn, info (default), debug" },
    { "version", T_VERSION, 0, 0, 0, NULL, "print the version" },
    { "help", T_HELP, 0, 0, 0, NULL, "this text" },
};

#define N_OPTS (sizeof(s_opts) / sizeof(s_opts[0]))

static const char s_usage_head[] =
    "usage: ward-collector --pki DIR --state DIR [OPTIONS]\n"
    "\n"
    "Receives ward agents' reports (HTTPS, mutual TLS) and serves the operator API.\n";

static const char s_usage_tail[] =
    "\n"
    "Signals: SIGTERM/SIGINT stop after answering what is committed; SIGHUP reloads the CRL\n"
    "and the operator tokens.\n";

/* Owned strings for paths derived from --pki and --state. */
static char s_paths[7][4096];

static void defaults(struct wcol_collector_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listen = "127.0.0.1:8443";
    cfg->api_listen = "127.0.0.1:8444";
    cfg->max_conns = 16384;
    cfg->max_api_conns = 64;
    cfg->max_unauth_conns = 2048;
    cfg->max_unauth_per_source = 2048; /* the budget: fleets behind one NAT address */
    cfg->max_head = 8192;
    cfg->max_body = 65536;
    cfg->max_headers = 32;
    cfg->max_events = 1024;
    cfg->max_sensors = 4096;
    cfg->handshake_timeout_ms = 10000;
    cfg->request_timeout_ms = 30000;
    cfg->idle_timeout_ms = 600000;
    cfg->write_timeout_ms = 30000;
    cfg->max_devices = 100000;
    cfg->silent_factor = 3;
    cfg->default_interval_ms = 60000;
    cfg->check_interval_ms = 1000;
    cfg->max_group = 512;
    cfg->busy_timeout_ms = 100;
    cfg->tls.ticket_lifetime_s = 86400;
    cfg->tls.ticket_rotate_s = 86400;
    cfg->retention_ms = 90ull * 86400000u;
}

static int number(const char *opt, const char *arg, unsigned long min, unsigned long max,
                  unsigned long *out)
{
    char *end;

    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);

    if (*arg == '\0' || *arg == '-' || *end != '\0' || errno != 0 || v < min || v > max) {
        fprintf(stderr, "ward-collector: --%s needs a number in %lu..%lu, not '%s'\n", opt, min,
                max, arg);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static const struct {
    const char *suffix;
    uint64_t ms;
} s_units[] = { { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 } };

/* "90d", "12h", "30m", "45s", "0". */
static int parse_duration(const char *arg, uint64_t *ms)
{
    char *end;

    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    uint64_t unit = *end == '\0' && v == 0 && end != arg ? 1 : 0;

    if (end == arg || *arg == '-' || errno != 0) {
        return -EINVAL;
    }
    for (size_t i = 0; i < sizeof(s_units) / sizeof(s_units[0]); i++) {
        if (strcmp(end, s_units[i].suffix) == 0) {
            unit = s_units[i].ms;
        }
    }
    if (unit == 0 || v > 36500ull * 86400000ull / unit) {
        return -EINVAL;
    }
    *ms = v * unit;
    return 0;
}

/* The default of an option, as --help shows it ("" when none). */
static void format_default(const struct opt *o, const struct args *a, char *out, size_t cap)
{
    const char *p = (const char *)a + o->offset;

    out[0] = '\0';
    switch (o->type) {
    case T_STR:
        if (*(const char *const *)(const void *)p != NULL) {
            snprintf(out, cap, "%s", *(const char *const *)(const void *)p);
        }
        break;
    case T_UINT:
        snprintf(out, cap, "%u", *(const unsigned *)(const void *)p);
        break;
    case T_SIZE:
        snprintf(out, cap, "%zu", *(const size_t *)(const void *)p);
        break;
    case T_U32:
        snprintf(out, cap, "%lu", (unsigned long)*(const uint32_t *)(const void *)p);
        break;
    case T_DURATION: {
        uint64_t ms = *(const uint64_t *)(const void *)p;

        for (size_t i = 0; i < sizeof(s_units) / sizeof(s_units[0]) && out[0] == '\0'; i++) {
            if (ms > 0 && ms % s_units[i].ms == 0) {
                snprintf(out, cap, "%llu%s", (unsigned long long)(ms / s_units[i].ms),
                         s_units[i].suffix);
            }
        }
        break;
    }
    default:
        break;
    }
}

static void usage(void)
{
    struct args d;
    char flag[48], def[64];

    defaults(&d.cfg);
    d.pki = NULL;
    fputs(s_usage_head, stdout);
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &s_opts[i];

        if (o->type == T_SECTION) {
            printf("\n%s\n", o->name);
            continue;
        }
        snprintf(flag, sizeof(flag), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        format_default(o, &d, def, sizeof(def));
        printf("  %-28s %s", flag, o->help);
        if (def[0] != '\0') {
            printf(" (default %s)", def);
        }
        if (o->max > 0) {
            printf(" [%lu..%lu]", o->min, o->max);
        }
        putchar('\n');
    }
    fputs(s_usage_tail, stdout);
}

/* Store one option's argument. @return 0, 1 done (help/version), 2 usage error. */
static int apply(const struct opt *o, const char *arg, struct args *a)
{
    void *dst = (char *)a + o->offset;
    unsigned long v = 0;
    enum wcol_log_level lvl;

    if ((o->type == T_UINT || o->type == T_SIZE || o->type == T_U32) &&
        number(o->name, arg, o->min, o->max, &v) != 0) {
        return 2;
    }
    switch (o->type) {
    case T_STR:
        *(const char **)dst = arg;
        return 0;
    case T_FLAG:
        *(bool *)dst = true;
        return 0;
    case T_UINT:
        *(unsigned *)dst = (unsigned)v;
        return 0;
    case T_SIZE:
        *(size_t *)dst = v;
        return 0;
    case T_U32:
        *(uint32_t *)dst = (uint32_t)v;
        return 0;
    case T_DURATION:
        if (parse_duration(arg, dst) != 0) {
            fprintf(stderr,
                    "ward-collector: --%s is a duration like 90d, 12h, 30m, 45s or 0, "
                    "not '%s'\n",
                    o->name, arg);
            return 2;
        }
        return 0;
    case T_LOG:
        if (wcol_log_parse_level(arg, &lvl) != 0) {
            fprintf(stderr, "ward-collector: --log-level is error, warn, info or debug\n");
            return 2;
        }
        wcol_log_set_level(lvl);
        return 0;
    case T_VERSION:
        printf("ward-collector %s\n", WCOL_COLLECTOR_VERSION);
        return 1;
    default:
        usage();
        return 1;
    }
}

/*
 * The collector never signs anything, so the CA's private key has no business where it can
 * read: say so once (docs/collector.md, "Security").
 */
static void warn_ca_key(const char *pki)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/ca.key", pki);
    if (access(path, F_OK) == 0) {
        wcol_log_warn("%s holds the CA's private key, which the collector never needs: keep it "
                      "offline or in another directory (ward-pki --dir) and give the collector "
                      "only ca.crt, collector.crt/.key, crl.pem and api-tokens",
                      path);
    }
}

static const char *join(int slot, const char *dir, const char *name)
{
    snprintf(s_paths[slot], sizeof(s_paths[slot]), "%s/%s", dir, name);
    return s_paths[slot];
}

/* What the options imply for each other, and what must be given. @return 0 or 2. */
static int complete(struct args *a)
{
    struct wcol_collector_config *cfg = &a->cfg;

    if (a->pki != NULL) {
        warn_ca_key(a->pki);
        cfg->tls.ca = cfg->tls.ca ? cfg->tls.ca : join(0, a->pki, "ca.crt");
        cfg->tls.cert = cfg->tls.cert ? cfg->tls.cert : join(1, a->pki, "collector.crt");
        cfg->tls.key = cfg->tls.key ? cfg->tls.key : join(2, a->pki, "collector.key");
        cfg->tls.crl = cfg->tls.crl ? cfg->tls.crl : join(3, a->pki, "crl.pem");
        cfg->tokens_path = cfg->tokens_path ? cfg->tokens_path : join(4, a->pki, "api-tokens");
    }
    if (cfg->state_dir == NULL) {
        fprintf(stderr, "ward-collector: --state DIR is required (database and ticket keys)\n");
        return 2;
    }
    if (cfg->tls.ca == NULL || cfg->tls.cert == NULL || cfg->tls.key == NULL ||
        cfg->tokens_path == NULL) {
        fprintf(stderr, "ward-collector: give --pki DIR (or --ca, --cert, --key and --tokens)\n");
        return 2;
    }
    if (cfg->tls.ticket_lifetime_s > cfg->tls.ticket_rotate_s) {
        fprintf(stderr, "ward-collector: --ticket-lifetime must not exceed --ticket-rotate\n");
        return 2;
    }
    cfg->db_path = cfg->db_path ? cfg->db_path : join(5, cfg->state_dir, "ward.db");
    cfg->tls.ticket_keys = join(6, cfg->state_dir, "ticket-keys");
    return 0;
}

int wcol_options_parse(int argc, char **argv, struct wcol_collector_config *cfg)
{
    static struct option longopts[N_OPTS + 1];
    struct args a = { .pki = NULL };
    size_t n = 0;
    int idx, opt;

    defaults(&a.cfg);
    for (size_t i = 0; i < N_OPTS; i++) {
        if (s_opts[i].type != T_SECTION) {
            longopts[n++] =
                (struct option){ s_opts[i].name, s_opts[i].arg ? required_argument : no_argument,
                                 NULL, (int)(256 + i) };
        }
    }
    longopts[n] = (struct option){ NULL, 0, NULL, 0 };
    while ((opt = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        int rc;

        if (opt == 'h') {
            usage();
            return 1;
        }
        if (opt < 256 || opt >= 256 + (int)N_OPTS) {
            fprintf(stderr, "ward-collector: run 'ward-collector --help' for the options\n");
            return 2;
        }
        rc = apply(&s_opts[opt - 256], optarg, &a);
        if (rc != 0) {
            return rc;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ward-collector: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    int rc = complete(&a);

    *cfg = a.cfg;
    return rc;
}
