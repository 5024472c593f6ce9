#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/conffile.h"
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
    const char *config;
    bool check_config;
    int log_level; /* enum wcol_log_level, -1 when not given */
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
    { "Device enrolment (docs/pki.md; off unless both files are given):", T_SECTION, 0, 0, 0, NULL,
      NULL },
    { "enroll-cert", T_STR, 0, 0, AT(cfg.enroll_cert), "FILE",
      "enrolment CA certificate: signs device requests (also list it in --ca)" },
    { "enroll-key", T_STR, 0, 0, AT(cfg.enroll_key), "FILE", "its private key (mode 0600)" },
    { "enroll-days", T_UINT, 1, 825, AT(cfg.enroll_days), "N",
      "validity of the certificates it signs, in days" },
    { "Where:", T_SECTION, 0, 0, 0, NULL, NULL },
    { "state", T_STR, 0, 0, AT(cfg.state_dir), "DIR",
      "database, session ticket keys, 'ports' file (created 0700)" },
    { "db", T_STR, 0, 0, AT(cfg.db_path), "FILE", "SQLite database (default STATE/ward.db)" },
    { "storage", T_STR, 0, 0, AT(cfg.storage), "STORAGE",
      "sqlite:PATH or postgresql:CONNINFO (a libpq connection string): where events and "
      "devices are stored (default sqlite:STATE/ward.db; docs/storage.md)" },
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
      "delete events received longer ago (s, m, h, d; 0 keeps everything; PostgreSQL, 1d or "
      "more: whole days, an event up to a day later)" },
    { "alerting", T_STR, 0, 0, AT(cfg.alerting_path), "FILE",
      "incident policy, receivers, routes and runbooks (docs/incidents.md)" },
    { "Dashboard event streams (docs/dashboard.md):", T_SECTION, 0, 0, 0, NULL, NULL },
    { "max-streams", T_UINT, 1, 10000, AT(cfg.stream.max), "N",
      "event streams (GET /v1/stream) open at once; more are refused (503)" },
    { "max-streams-per-user", T_UINT, 1, 10000, AT(cfg.stream.per_principal), "N",
      "event streams of one user or token; more are refused (429)" },
    { "stream-buffer", T_UINT, 1024, 16777216, AT(cfg.stream.buffer), "BYTES",
      "bytes a stream's reader may leave untaken before it is closed" },
    { "stream-keepalive", T_UINT, 1000, 3600000, AT(cfg.stream.keepalive_ms), "MS",
      "a keep-alive comment on an idle stream this often" },
    { "History and trends (docs/history.md):", T_SECTION, 0, 0, 0, NULL, NULL },
    { "no-history", T_FLAG, 0, 0, AT(cfg.history.off), NULL,
      "keep no sensor history (no history.db, no trends)" },
    { "history-raw-step", T_DURATION, 0, 0, AT(cfg.history.raw_step_ms), "DURATION",
      "bucket of the raw tier (1s and up)" },
    { "history-raw", T_DURATION, 0, 0, AT(cfg.history.keep_ms[0]), "DURATION",
      "how long the raw tier keeps" },
    { "history-1m", T_DURATION, 0, 0, AT(cfg.history.keep_ms[1]), "DURATION",
      "how long the 1-minute tier keeps" },
    { "history-1h", T_DURATION, 0, 0, AT(cfg.history.keep_ms[2]), "DURATION",
      "how long the 1-hour tier keeps" },
    { "history-queue", T_UINT, 1, 1000000, AT(cfg.history.queue), "N",
      "snapshot pages and events waiting for the history writer (more are dropped, counted)" },
    { "history-max-series", T_UINT, 1, 100000000, AT(cfg.history.max_series), "N",
      "(device, sensor) series kept (a new one past it is dropped, counted)" },
    { "trends-within", T_DURATION, 0, 0, AT(cfg.history.trends_within_ms), "DURATION",
      "a forecast to reach its threshold within this opens a low-severity incident" },
    { "trends-window", T_DURATION, 0, 0, AT(cfg.history.trends_window_ms), "DURATION",
      "history one trend fit looks at" },
    { "trends-every", T_DURATION, 0, 0, AT(cfg.history.trends_every_ms), "DURATION",
      "how often the trends are fitted" },
    { "trend-sectors", T_UINT, 1, 1000000000, AT(cfg.history.trend_sectors), "N",
      "reallocated/pending/uncorrectable sector count trends forecast (when the device "
      "reported none)" },
    { "Accounts and audit (docs/security.md):", T_SECTION, 0, 0, 0, NULL, NULL },
    { "login-max-failures", T_UINT, 0, 1000, AT(cfg.login_max_failures), "N",
      "failed logins in a row that lock an account (0: never)" },
    { "login-lockout", T_DURATION, 0, 0, AT(cfg.login_lockout_ms), "DURATION",
      "how long a locked account stays locked" },
    { "login-source-failures", T_UINT, 0, 100000, AT(cfg.login_source_failures), "N",
      "failed logins per minute from one address before its logins are refused (0: no cap)" },
    { "session-lifetime", T_DURATION, 0, 0, AT(cfg.session_ms), "DURATION",
      "how long a login session lasts" },
    { "audit-checkpoint", T_DURATION, 0, 0, AT(cfg.audit_checkpoint_ms), "DURATION",
      "how often the audit log's head is signed into STATE/audit-checkpoints (0: at stop only)" },
    { "audit-refusals", T_UINT, 1, 100000, AT(cfg.audit_refusals), "N",
      "refusals (logins, tokens, device handshakes) audited per minute; the rest are counted "
      "into one summary entry" },
    { "min-agent-version", T_STR, 0, 0, AT(cfg.min_agent_version), "VERSION",
      "devices with an older agent are outdated (wardctl devices --outdated)" },
    { "Backups (docs/operations.md):", T_SECTION, 0, 0, 0, NULL, NULL },
    { "backup-dir", T_STR, 0, 0, AT(cfg.backup_dir), "DIR",
      "write scheduled backups of the state directory here (created 0700)" },
    { "backup-every", T_DURATION, 0, 0, AT(cfg.backup_every_ms), "DURATION",
      "time between scheduled backups (s, m, h, d)" },
    { "backup-keep", T_UINT, 1, 100000, AT(cfg.backup_keep), "N", "scheduled backups kept" },
    { "backup-key", T_STR, 0, 0, AT(cfg.backup_key), "FILE",
      "encrypt scheduled backups with AES-256-GCM under this 32-byte key file (mode 0600)" },
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
    { "commit-interval-us", T_UINT, 0, 1000000, AT(cfg.commit_interval_us), "US",
      "under load, at least this long between storage commits, so that more answers share one "
      "fsync (an idle collector commits at once; 0: after every pass)" },
    { "loops", T_UINT, 0, 64, AT(cfg.loops), "N",
      "device-port event loops, each a thread (0: one per core; 1: one thread for everything)" },
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
    { "log-level", T_LOG, 0, 0, AT(log_level), "LEVEL", "error, warn, info (default), debug" },
    { "config", T_STR, 0, 0, AT(config), "FILE",
      "options as key = value, the command line wins (default " WCOL_CONFIG_DEFAULT
      " if it exists)" },
    { "check-config", T_FLAG, 0, 0, AT(check_config), NULL,
      "check the configuration and the files it names, then exit" },
    { "version", T_VERSION, 0, 0, 0, NULL, "print the version" },
    { "help", T_HELP, 0, 0, 0, NULL, "this text" },
};

#define N_OPTS (sizeof(s_opts) / sizeof(s_opts[0]))

static const char s_usage_head[] =
    "usage: ward-collector --pki DIR --state DIR [OPTIONS]\n"
    "       ward-collector user add|passwd|totp-reset|remove|list [NAME] --state DIR\n"
    "       ward-collector audit-verify [--key FILE] --state DIR\n"
    "\n"
    "Receives ward agents' reports (HTTPS, mutual TLS) and serves the operator API.\n";

static const char s_usage_tail[] =
    "\n"
    "Signals: SIGTERM/SIGINT stop after answering what is committed; SIGHUP reads the\n"
    "configuration file again (the log level changes at once, other options are named\n"
    "as needing a restart), then the alerting file, the CRL and the operator tokens.\n";

/*
 * Owned strings: paths derived from --pki and --state, and values read from the configuration
 * file, per generation: 0 is the running configuration (kept for the process's life), 1 the one
 * a SIGHUP reload parses to compare with it (rebuilt on every reload).
 */
#define OWNED_MAX 128
static char s_paths[2][7][4096];
static char *s_owned[2][OWNED_MAX];
static unsigned s_n_owned[2];
static int s_gen;

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
    cfg->commit_interval_us = 2000;
    cfg->busy_timeout_ms = 100;
    cfg->tls.ticket_lifetime_s = 86400;
    cfg->tls.ticket_rotate_s = 86400;
    cfg->retention_ms = 90ull * 86400000u;
    wcol_history_defaults(&cfg->history);
    wcol_stream_defaults(&cfg->stream);
    cfg->login_max_failures = 5;
    cfg->login_lockout_ms = 15ull * 60000u;
    cfg->login_source_failures = 20;
    cfg->session_ms = 8ull * 3600000u;
    cfg->audit_checkpoint_ms = 3600000u;
    cfg->audit_refusals = WCOL_AUDIT_REFUSALS_PER_MIN;
    cfg->backup_every_ms = 86400000u;
    cfg->backup_keep = 14;
    cfg->enroll_days = 825;
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

/* Print text from column col, wrapped at word boundaries within HELP_COLUMNS; continuation
 * lines start at column indent. */
#define HELP_COLUMNS 80
static void print_wrapped(const char *text, size_t col, size_t indent)
{
    while (*text != '\0') {
        size_t word = strcspn(text, " ");

        if (col > indent && col + 1 + word > HELP_COLUMNS) {
            printf("\n%*s", (int)indent, "");
            col = indent;
        } else if (col > indent) {
            putchar(' ');
            col++;
        }
        printf("%.*s", (int)word, text);
        col += word;
        text += word;
        text += strspn(text, " ");
    }
    putchar('\n');
}

static void usage(void)
{
    struct args d;
    char flag[48], def[64], text[512];
    int col;

    memset(&d, 0, sizeof(d)); /* every field --help reads: unset options show no default */
    defaults(&d.cfg);
    fputs(s_usage_head, stdout);
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &s_opts[i];

        if (o->type == T_SECTION) {
            printf("\n%s\n", o->name);
            continue;
        }
        snprintf(flag, sizeof(flag), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        format_default(o, &d, def, sizeof(def));
        int n = snprintf(text, sizeof(text), "%s", o->help);

        if (def[0] != '\0' && n >= 0 && (size_t)n < sizeof(text)) {
            n += snprintf(text + n, sizeof(text) - (size_t)n, " (default %s)", def);
        }
        if (o->max > 0 && n >= 0 && (size_t)n < sizeof(text)) {
            snprintf(text + n, sizeof(text) - (size_t)n, " [%lu..%lu]", o->min, o->max);
        }
        col = printf("  %-28s ", flag);
        print_wrapped(text, (size_t)(col > 0 ? col : 0), 31);
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
        *(int *)dst = (int)lvl;
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
    snprintf(s_paths[s_gen][slot], sizeof(s_paths[s_gen][slot]), "%s/%s", dir, name);
    return s_paths[s_gen][slot];
}

/* --storage: sqlite:PATH sets the database file; postgresql:CONNINFO the server. */
static int parse_storage(struct wcol_collector_config *cfg)
{
    static const char sq[] = "sqlite:", pg[] = "postgresql:";
    const char *s = cfg->storage;

    cfg->pg_conninfo = NULL;
    if (s == NULL) {
        return 0;
    }
    if (strncmp(s, sq, sizeof(sq) - 1) == 0 && s[sizeof(sq) - 1] != '\0') {
        if (cfg->db_path != NULL && strcmp(cfg->db_path, s + sizeof(sq) - 1) != 0) {
            fprintf(stderr, "ward-collector: --storage %s and --db %s disagree; give one\n", s,
                    cfg->db_path);
            return -1;
        }
        cfg->db_path = s + sizeof(sq) - 1;
        return 0;
    }
    if (strncmp(s, pg, sizeof(pg) - 1) == 0) {
        cfg->pg_conninfo = s + sizeof(pg) - 1;
        return 0;
    }
    fprintf(stderr, "ward-collector: --storage must be sqlite:PATH or postgresql:CONNINFO\n");
    return -1;
}

/* What the options imply for each other, and what must be given. @return 0 or 2. */
static int complete(struct args *a)
{
    struct wcol_collector_config *cfg = &a->cfg;

    if (a->pki != NULL && s_gen == 0 && access(a->pki, R_OK | X_OK) != 0) {
        fprintf(stderr, "ward-collector: --pki %s: %s (make one with ward-pki --dir %s init)\n",
                a->pki, strerror(errno), a->pki);
        return 2;
    }
    if (a->pki != NULL) {
        if (s_gen == 0) { /* said once, not again on every reload */
            warn_ca_key(a->pki);
        }
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
    struct wcol_hist_tier tiers[WCOL_HIST_TIERS];

    if (cfg->history.raw_step_ms < 1000 || wcol_hist_tiers(&cfg->history, tiers) != 0 ||
        cfg->history.trends_every_ms < 1000 || cfg->history.trends_window_ms < 60000) {
        fprintf(stderr,
                "ward-collector: history-raw-step must be 1s or more and each history "
                "tier must keep at least its step (trends-every >= 1s, trends-window >= 1m)\n");
        return 2;
    }
    if (cfg->backup_dir != NULL && cfg->backup_every_ms < 1000) {
        fprintf(stderr, "ward-collector: --backup-every must be at least 1s\n");
        return 2;
    }
    if ((cfg->enroll_cert == NULL) != (cfg->enroll_key == NULL)) {
        fprintf(stderr, "ward-collector: --enroll-cert and --enroll-key go together\n");
        return 2;
    }
    if (cfg->tls.ticket_lifetime_s > cfg->tls.ticket_rotate_s) {
        fprintf(stderr, "ward-collector: --ticket-lifetime must not exceed --ticket-rotate\n");
        return 2;
    }
    /* At start only: a reload may run as --user, which the key is (rightly) not readable by. */
    for (int i = 0; i < 3 && s_gen == 0; i++) {
        const char *f = i == 0 ? cfg->tls.ca : i == 1 ? cfg->tls.cert : cfg->tls.key;

        if (access(f, R_OK) != 0) {
            fprintf(stderr, "ward-collector: cannot read %s: %s\n", f, strerror(errno));
            return 2;
        }
    }
    if (parse_storage(cfg) != 0) {
        return 2;
    }
    cfg->db_path = cfg->db_path ? cfg->db_path : join(5, cfg->state_dir, "ward.db");
    cfg->tls.ticket_keys = join(6, cfg->state_dir, "ticket-keys");
    return 0;
}

/* ---- the configuration file ---- */

struct file_ctx {
    struct args *a;
    unsigned seen[N_OPTS];
};

static int on_setting(void *ctx, const char *path, const struct ward_conf_setting *st)
{
    struct file_ctx *fc = ctx;
    const struct opt *o = NULL;
    char *v;

    for (size_t i = 0; i < N_OPTS && o == NULL; i++) {
        if (s_opts[i].type != T_SECTION && strcmp(s_opts[i].name, st->key) == 0) {
            o = &s_opts[i];
        }
    }
    if (o == NULL || o->type == T_HELP || o->type == T_VERSION || o->offset == AT(config) ||
        o->offset == AT(check_config)) {
        fprintf(stderr,
                "ward-collector: %s:%u: %s key '%s' (keys are the options without '--', "
                "see ward-collector --help)\n",
                path, st->line, o == NULL ? "unknown" : "command-line only", st->key);
        return -EINVAL;
    }
    if (fc->seen[o - s_opts] != 0) {
        fprintf(stderr, "ward-collector: %s:%u: '%s' is already set on line %u\n", path, st->line,
                st->key, fc->seen[o - s_opts]);
        return -EINVAL;
    }
    fc->seen[o - s_opts] = st->line;
    if (o->type == T_FLAG) {
        if (ward_conf_bool(st->value, (bool *)((char *)fc->a + o->offset)) != 0) {
            fprintf(stderr, "ward-collector: %s:%u: %s wants true or false, not '%s'\n", path,
                    st->line, st->key, st->value);
            return -EINVAL;
        }
        return 0;
    }
    if (s_n_owned[s_gen] >= OWNED_MAX || (v = strdup(st->value)) == NULL) {
        fprintf(stderr, "ward-collector: %s:%u: too many settings\n", path, st->line);
        return -ENOSPC;
    }
    s_owned[s_gen][s_n_owned[s_gen]++] = v;
    if (apply(o, v, fc->a) != 0) {
        fprintf(stderr, "ward-collector: %s:%u: in '%s' (above)\n", path, st->line, st->key);
        return -EINVAL;
    }
    return 0;
}

/* --config FILE or --config=FILE, before getopt: the file goes under the command line. */
static const char *config_arg(int argc, char **argv)
{
    const char *path = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            break;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        }
    }
    if (path == NULL && access(WCOL_CONFIG_DEFAULT, F_OK) == 0) {
        path = WCOL_CONFIG_DEFAULT;
    }
    return path;
}

static void free_owned(int gen)
{
    while (s_n_owned[gen] > 0) {
        free(s_owned[gen][--s_n_owned[gen]]);
    }
}

/* Defaults, then the file, then argv. @return 0, 1 done (help/version), 2 usage error. */
static int parse_args(int argc, char **argv, struct args *a)
{
    static struct option longopts[N_OPTS + 1];
    struct file_ctx fc;
    size_t n = 0;
    int idx, opt;

    memset(a, 0, sizeof(*a));
    defaults(&a->cfg);
    a->log_level = -1;
    free_owned(s_gen);
    memset(&fc, 0, sizeof(fc));
    fc.a = a;
    a->config = config_arg(argc, argv);
    if (a->config != NULL &&
        wcol_conffile_read("ward-collector", a->config, on_setting, &fc) != 0) {
        return 2;
    }
    for (size_t i = 0; i < N_OPTS; i++) {
        if (s_opts[i].type != T_SECTION) {
            longopts[n++] =
                (struct option){ s_opts[i].name, s_opts[i].arg ? required_argument : no_argument,
                                 NULL, (int)(256 + i) };
        }
    }
    longopts[n] = (struct option){ NULL, 0, NULL, 0 };
    optind = 0; /* a reload parses argv again */
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
        rc = apply(&s_opts[opt - 256], optarg, a);
        if (rc != 0) {
            return rc;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ward-collector: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return complete(a);
}

static int check_readable(const char *what, const char *path)
{
    if (path != NULL && access(path, R_OK) != 0) {
        fprintf(stderr, "ward-collector: %s %s: %s\n", what, path, strerror(errno));
        return 1;
    }
    return 0;
}

/* --check-config. @return 1 (done, all good) or 2. */
static int check_config(const struct args *a)
{
    const struct wcol_collector_config *cfg = &a->cfg;
    int bad = check_readable("CA", cfg->tls.ca) + check_readable("certificate", cfg->tls.cert) +
              check_readable("key", cfg->tls.key) +
              check_readable("operator tokens", cfg->tokens_path) +
              check_readable("enrolment CA certificate", cfg->enroll_cert) +
              check_readable("enrolment CA key", cfg->enroll_key);

    if (cfg->tls.crl != NULL && access(cfg->tls.crl, F_OK) == 0) {
        bad += check_readable("CRL", cfg->tls.crl);
    }
    if (bad != 0) {
        return 2;
    }
    printf("ward-collector: configuration ok (%s)\n",
           a->config != NULL ? a->config : "command line only");
    return 1;
}

static int s_argc;
static char **s_argv;
static struct args s_running;

int wcol_options_parse(int argc, char **argv, struct wcol_collector_config *cfg)
{
    struct args a;
    int rc;

    s_argc = argc;
    s_argv = argv;
    s_gen = 0;
    rc = parse_args(argc, argv, &a);
    if (rc == 0 && a.log_level >= 0) {
        wcol_log_set_level((enum wcol_log_level)a.log_level);
    }
    if (rc == 0 && a.check_config) {
        rc = check_config(&a);
    }
    s_running = a;
    *cfg = a.cfg;
    return rc;
}

/* Whether option o has the same value in x and y. */
static bool same(const struct opt *o, const struct args *x, const struct args *y)
{
    const char *px = (const char *)x + o->offset;
    const char *py = (const char *)y + o->offset;

    switch (o->type) {
    case T_STR: {
        const char *sx = *(const char *const *)(const void *)px;
        const char *sy = *(const char *const *)(const void *)py;

        return sx == NULL || sy == NULL ? sx == sy : strcmp(sx, sy) == 0;
    }
    case T_FLAG:
        return *(const bool *)(const void *)px == *(const bool *)(const void *)py;
    case T_UINT:
    case T_LOG:
        return memcmp(px, py, sizeof(unsigned)) == 0;
    case T_SIZE:
        return memcmp(px, py, sizeof(size_t)) == 0;
    case T_U32:
        return memcmp(px, py, sizeof(uint32_t)) == 0;
    case T_DURATION:
        return memcmp(px, py, sizeof(uint64_t)) == 0;
    default:
        return true;
    }
}

int wcol_options_reload(void)
{
    struct args a;
    unsigned changed = 0, restart = 0;
    int rc;

    s_gen = 1;
    rc = parse_args(s_argc, s_argv, &a);
    s_gen = 0;
    if (rc != 0) {
        wcol_log_error("SIGHUP: configuration %s does not load (the line above says why)",
                       s_running.config != NULL ? s_running.config : "(command line)");
        return -EINVAL;
    }
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &s_opts[i];

        if (o->type == T_SECTION || o->type == T_HELP || o->type == T_VERSION ||
            same(o, &s_running, &a)) {
            continue;
        }
        changed++;
        restart += o->type != T_LOG;
        wcol_log_info("SIGHUP: %s changed%s", o->name,
                      o->type == T_LOG ? "" : " (takes effect at the next start)");
    }
    if (a.log_level != s_running.log_level) {
        wcol_log_set_level(a.log_level >= 0 ? (enum wcol_log_level)a.log_level : WCOL_LOG_INFO);
        s_running.log_level = a.log_level;
    }
    wcol_log_info("SIGHUP: configuration %s read, %u option%s changed%s",
                  a.config != NULL ? a.config : "(command line)", changed, changed == 1 ? "" : "s",
                  restart > 0 ? "; restart for the rest" : "");
    return 0;
}
