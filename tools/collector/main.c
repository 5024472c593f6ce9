/*
 * ward-collector: receives agents' reports over mutual TLS, stores them, tracks the fleet,
 * and answers operators. Run `ward-collector --help` for the options.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

static const char s_usage[] =
    "usage: ward-collector --pki DIR --state DIR [OPTIONS]\n"
    "\n"
    "Receives ward agents' reports (HTTPS, mutual TLS) and serves the operator API.\n"
    "\n"
    "Identity and trust (a ward-pki directory gives all of them):\n"
    "  --pki DIR              ca.crt, collector.crt, collector.key, crl.pem, api-tokens in DIR\n"
    "  --ca FILE --cert FILE --key FILE --crl FILE --tokens FILE   (override one by one)\n"
    "Where:\n"
    "  --state DIR            database, session ticket keys, 'ports' file (created 0700)\n"
    "  --db FILE              SQLite database (default STATE/ward.db)\n"
    "  --listen ADDR:PORT     devices (default 127.0.0.1:8443; port 0 = any free port)\n"
    "  --api-listen ADDR:PORT operators (default 127.0.0.1:8444)\n"
    "Fleet:\n"
    "  --silent-factor N      silent when no heartbeat for N x its interval (default 3)\n"
    "  --heartbeat-interval MS  interval of devices that announce none (default 60000)\n"
    "  --check-interval MS    how often silence and the CRL file are checked (default 1000)\n"
    "  --max-devices N        (default 100000)\n"
    "  --retention DURATION   delete events received longer ago (default 90d; s, m, h, d;\n"
    "                         0 keeps everything)\n"
    "Limits:\n"
    "  --max-connections N    device connections (default 16384); --max-api-connections N (64)\n"
    "  --max-body BYTES       (default 65536); --max-head BYTES (8192); --max-headers N (32)\n"
    "  --max-events N         events per request (default 1024)\n"
    "  --handshake-timeout MS (default 10000); --request-timeout MS (30000)\n"
    "  --idle-timeout MS      keep-alive (default 600000); --write-timeout MS (30000)\n"
    "  --max-group N          requests per storage commit (default 512)\n"
    "  --busy-timeout MS      wait for a storage lock held by another process (default 100)\n"
    "Session tickets:\n"
    "  --ticket-lifetime S    (default 86400); --ticket-rotate S (default 86400, >= lifetime)\n"
    "Protocol:\n"
    "  --tls13-only           refuse TLS 1.2 (default: TLS 1.3, and 1.2 for boards that\n"
    "                         have no room for 1.3)\n"
    "Other:\n"
    "  --log-level LEVEL      error, warn, info (default), debug\n"
    "  -h, --help, --version\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop after answering what is committed; SIGHUP reloads the CRL\n"
    "and the operator tokens.\n";

enum {
    OPT_PKI = 256,
    OPT_CA,
    OPT_CERT,
    OPT_KEY,
    OPT_CRL,
    OPT_TOKENS,
    OPT_STATE,
    OPT_DB,
    OPT_LISTEN,
    OPT_API_LISTEN,
    OPT_SILENT,
    OPT_HB,
    OPT_CHECK,
    OPT_MAX_DEVICES,
    OPT_MAX_CONNS,
    OPT_MAX_API,
    OPT_MAX_BODY,
    OPT_MAX_HEAD,
    OPT_MAX_HEADERS,
    OPT_MAX_EVENTS,
    OPT_HS_TIMEOUT,
    OPT_REQ_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_WRITE_TIMEOUT,
    OPT_MAX_GROUP,
    OPT_BUSY,
    OPT_TICKET_LIFE,
    OPT_TICKET_ROTATE,
    OPT_LOG,
    OPT_TLS13_ONLY,
    OPT_RETENTION,
    OPT_VERSION,
};

static const struct option s_opts[] = {
    { "pki", required_argument, NULL, OPT_PKI },
    { "ca", required_argument, NULL, OPT_CA },
    { "cert", required_argument, NULL, OPT_CERT },
    { "key", required_argument, NULL, OPT_KEY },
    { "crl", required_argument, NULL, OPT_CRL },
    { "tokens", required_argument, NULL, OPT_TOKENS },
    { "state", required_argument, NULL, OPT_STATE },
    { "db", required_argument, NULL, OPT_DB },
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "api-listen", required_argument, NULL, OPT_API_LISTEN },
    { "silent-factor", required_argument, NULL, OPT_SILENT },
    { "heartbeat-interval", required_argument, NULL, OPT_HB },
    { "check-interval", required_argument, NULL, OPT_CHECK },
    { "max-devices", required_argument, NULL, OPT_MAX_DEVICES },
    { "max-connections", required_argument, NULL, OPT_MAX_CONNS },
    { "max-api-connections", required_argument, NULL, OPT_MAX_API },
    { "max-body", required_argument, NULL, OPT_MAX_BODY },
    { "max-head", required_argument, NULL, OPT_MAX_HEAD },
    { "max-headers", required_argument, NULL, OPT_MAX_HEADERS },
    { "max-events", required_argument, NULL, OPT_MAX_EVENTS },
    { "handshake-timeout", required_argument, NULL, OPT_HS_TIMEOUT },
    { "request-timeout", required_argument, NULL, OPT_REQ_TIMEOUT },
    { "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
    { "write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT },
    { "max-group", required_argument, NULL, OPT_MAX_GROUP },
    { "busy-timeout", required_argument, NULL, OPT_BUSY },
    { "ticket-lifetime", required_argument, NULL, OPT_TICKET_LIFE },
    { "ticket-rotate", required_argument, NULL, OPT_TICKET_ROTATE },
    { "log-level", required_argument, NULL, OPT_LOG },
    { "tls13-only", no_argument, NULL, OPT_TLS13_ONLY },
    { "retention", required_argument, NULL, OPT_RETENTION },
    { "version", no_argument, NULL, OPT_VERSION },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* Owned strings for paths derived from --pki and --state. */
static char s_paths[7][4096];

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

/* "90d", "12h", "30m", "45s", "0". */
static int parse_duration(const char *arg, uint64_t *ms)
{
    char *end;

    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    uint64_t unit = 0;

    if (end == arg || *arg == '-' || errno != 0) {
        return -EINVAL;
    }
    if (strcmp(end, "s") == 0) {
        unit = 1000;
    } else if (strcmp(end, "m") == 0) {
        unit = 60000;
    } else if (strcmp(end, "h") == 0) {
        unit = 3600000;
    } else if (strcmp(end, "d") == 0) {
        unit = 86400000;
    } else if (*end == '\0' && v == 0) {
        unit = 1;
    }
    if (unit == 0 || v > 36500ull * 86400000ull / unit) {
        return -EINVAL;
    }
    *ms = v * unit;
    return 0;
}

static void defaults(struct ward_collector_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listen = "127.0.0.1:8443";
    cfg->api_listen = "127.0.0.1:8444";
    cfg->max_conns = 16384;
    cfg->max_api_conns = 64;
    cfg->max_head = 8192;
    cfg->max_body = 65536;
    cfg->max_headers = 32;
    cfg->max_events = 1024;
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

static const char *join(int slot, const char *dir, const char *name)
{
    snprintf(s_paths[slot], sizeof(s_paths[slot]), "%s/%s", dir, name);
    return s_paths[slot];
}

/* Options that take a number, with their bounds and where they go. */
static int numeric_option(int opt, const char *arg, struct ward_collector_config *cfg)
{
    unsigned long v;
    const char *name = NULL;

    for (const struct option *o = s_opts; o->name != NULL; o++) {
        if (o->val == opt) {
            name = o->name;
        }
    }
    struct {
        int opt;
        unsigned long min, max;
    } const bounds[] = {
        { OPT_SILENT, 1, 1000 },
        { OPT_HB, 100, 86400000 },
        { OPT_CHECK, 10, 60000 },
        { OPT_MAX_DEVICES, 1, 10000000 },
        { OPT_MAX_CONNS, 1, 1000000 },
        { OPT_MAX_API, 1, 10000 },
        { OPT_MAX_BODY, 256, 16777216 },
        { OPT_MAX_HEAD, 256, 65536 },
        { OPT_MAX_HEADERS, 4, 256 },
        { OPT_MAX_EVENTS, 1, 100000 },
        { OPT_HS_TIMEOUT, 100, 3600000 },
        { OPT_REQ_TIMEOUT, 100, 3600000 },
        { OPT_IDLE_TIMEOUT, 100, 86400000 },
        { OPT_WRITE_TIMEOUT, 100, 3600000 },
        { OPT_MAX_GROUP, 1, 100000 },
        { OPT_BUSY, 0, 60000 },
        { OPT_TICKET_LIFE, 1, 604800 },
        { OPT_TICKET_ROTATE, 1, 31536000 },
    };
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        if (bounds[i].opt != opt) {
            continue;
        }
        if (number(name, arg, bounds[i].min, bounds[i].max, &v) != 0) {
            return -EINVAL;
        }
        switch (opt) {
        case OPT_SILENT:
            cfg->silent_factor = (unsigned)v;
            break;
        case OPT_HB:
            cfg->default_interval_ms = (unsigned)v;
            break;
        case OPT_CHECK:
            cfg->check_interval_ms = (unsigned)v;
            break;
        case OPT_MAX_DEVICES:
            cfg->max_devices = v;
            break;
        case OPT_MAX_CONNS:
            cfg->max_conns = (unsigned)v;
            break;
        case OPT_MAX_API:
            cfg->max_api_conns = (unsigned)v;
            break;
        case OPT_MAX_BODY:
            cfg->max_body = v;
            break;
        case OPT_MAX_HEAD:
            cfg->max_head = v;
            break;
        case OPT_MAX_HEADERS:
            cfg->max_headers = (unsigned)v;
            break;
        case OPT_MAX_EVENTS:
            cfg->max_events = (unsigned)v;
            break;
        case OPT_HS_TIMEOUT:
            cfg->handshake_timeout_ms = (unsigned)v;
            break;
        case OPT_REQ_TIMEOUT:
            cfg->request_timeout_ms = (unsigned)v;
            break;
        case OPT_IDLE_TIMEOUT:
            cfg->idle_timeout_ms = (unsigned)v;
            break;
        case OPT_WRITE_TIMEOUT:
            cfg->write_timeout_ms = (unsigned)v;
            break;
        case OPT_MAX_GROUP:
            cfg->max_group = (unsigned)v;
            break;
        case OPT_BUSY:
            cfg->busy_timeout_ms = (unsigned)v;
            break;
        case OPT_TICKET_LIFE:
            cfg->tls.ticket_lifetime_s = (uint32_t)v;
            break;
        case OPT_TICKET_ROTATE:
            cfg->tls.ticket_rotate_s = (uint32_t)v;
            break;
        default:
            break;
        }
        return 0;
    }
    return 1; /* not numeric */
}

static int parse_args(int argc, char **argv, struct ward_collector_config *cfg)
{
    const char *pki = NULL;
    int opt;

    while ((opt = getopt_long(argc, argv, "h", s_opts, NULL)) != -1) {
        int rc = numeric_option(opt, optarg, cfg);

        if (rc < 0) {
            return 2;
        }
        if (rc == 0) {
            continue;
        }
        switch (opt) {
        case OPT_PKI:
            pki = optarg;
            break;
        case OPT_CA:
            cfg->tls.ca = optarg;
            break;
        case OPT_CERT:
            cfg->tls.cert = optarg;
            break;
        case OPT_KEY:
            cfg->tls.key = optarg;
            break;
        case OPT_CRL:
            cfg->tls.crl = optarg;
            break;
        case OPT_TOKENS:
            cfg->tokens_path = optarg;
            break;
        case OPT_STATE:
            cfg->state_dir = optarg;
            break;
        case OPT_DB:
            cfg->db_path = optarg;
            break;
        case OPT_LISTEN:
            cfg->listen = optarg;
            break;
        case OPT_API_LISTEN:
            cfg->api_listen = optarg;
            break;
        case OPT_TLS13_ONLY:
            cfg->tls.tls13_only = true;
            break;
        case OPT_RETENTION:
            if (parse_duration(optarg, &cfg->retention_ms) != 0) {
                fprintf(stderr,
                        "ward-collector: --retention is a duration like 90d, 12h, 30m, "
                        "45s or 0, not '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_LOG: {
            enum ward_log_level lvl;

            if (ward_log_parse_level(optarg, &lvl) != 0) {
                fprintf(stderr, "ward-collector: --log-level is error, warn, info or debug\n");
                return 2;
            }
            ward_log_set_level(lvl);
            break;
        }
        case OPT_VERSION:
            printf("ward-collector %s\n", WARD_COLLECTOR_VERSION);
            return 1;
        case 'h':
            fputs(s_usage, stdout);
            return 1;
        default:
            fprintf(stderr, "ward-collector: run 'ward-collector --help' for the options\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ward-collector: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (pki != NULL) {
        cfg->tls.ca = cfg->tls.ca ? cfg->tls.ca : join(0, pki, "ca.crt");
        cfg->tls.cert = cfg->tls.cert ? cfg->tls.cert : join(1, pki, "collector.crt");
        cfg->tls.key = cfg->tls.key ? cfg->tls.key : join(2, pki, "collector.key");
        cfg->tls.crl = cfg->tls.crl ? cfg->tls.crl : join(3, pki, "crl.pem");
        cfg->tokens_path = cfg->tokens_path ? cfg->tokens_path : join(4, pki, "api-tokens");
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

int main(int argc, char **argv)
{
    static struct ward_collector c;
    struct ward_collector_config cfg;

    defaults(&cfg);
    int rc = parse_args(argc, argv, &cfg);

    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    rc = ward_collector_open(&c, &cfg);
    if (rc != 0) {
        ward_log_error("not started (see above)");
        ward_collector_close(&c);
        return 1;
    }
    rc = ward_collector_run(&c);
    ward_collector_close(&c);
    return rc == 0 ? 0 : 1;
}
