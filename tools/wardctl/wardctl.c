/*
 * wardctl: the operator's view of the fleet, over the collector's operator API (TLS, the
 * collector's certificate verified against the ward CA, a bearer token).
 *
 *   wardctl [OPTIONS] devices | device ID | events [FILTERS] | health | watch [--for S]
 *
 * Every command takes --json and then prints the collector's documents unchanged (watch:
 * one JSON line per refresh). Errors are one line on stderr and exit status 1; usage errors
 * exit 2.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/asn1.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "table.h"
#include "ward_version_gen.h"

#include "wardctl.h"

static const char s_usage[] =
    "usage: wardctl [OPTIONS] COMMAND\n"
    "       wardctl --version\n"
    "       wardctl COMMAND --help\n"
    "\n"
    "commands:\n"
    "  devices       every device: state, health, last heartbeat\n"
    "  device ID     one device: heartbeat, sensors, recent events\n"
    "      (device revoke|remove ID [--reason T], device enroll ID --csr FILE,\n"
    "       device enroll-token ID [--expires DURATION])\n"
    "  events        events, oldest first (filters: wardctl events --help)\n"
    "  health        the collector's own health\n"
    "  watch         live fleet table until Ctrl-C (or for S seconds)\n"
    "  incidents     incidents, newest first (wardctl incidents --help)\n"
    "  incident ID   one incident: timeline, notifications\n"
    "  ack ID | assign ID WHO | note ID TEXT | resolve ID [--cause T] | close ID\n"
    "  report ID     fault report [--format md|json]\n"
    "  silence [DEVICE|GLOB --for DURATION --reason TEXT]   hold notifications\n"
    "  history ID SENSOR [--since 7d] [--step 1h] [--csv]   a sensor's history\n"
    "  trends [--within 90d]   sensors forecast to reach their threshold\n"
    "  login USER    log in with a password and a TOTP code; later commands use it\n"
    "  logout        end the session\n"
    "  user          accounts: list, add, passwd, remove, totp-reset (admin)\n"
    "  token         API tokens: list, create, revoke (admin)\n"
    "  audit         the audit log, and audit verify (admin)\n"
    "  inventory ID  a device's inventory and its changes\n"
    "  changes       inventory and configuration changes [ID] [--since D]\n"
    "  change        change windows: open TITLE --devices GLOB, close ID, list\n"
    "  backups       scheduled backups: last result, files kept\n"
    "  (devices --outdated: devices below the collector's min-agent-version)\n"
    "  drill list|start|show|stop|report   incident drills through a live agent\n"
    "\n"
    "options:\n"
    "  --config FILE      settings: url, ca, token-file, pki, timeout (default\n"
    "                     ~/.config/ward/wardctl.conf, else /etc/ward/wardctl.conf)\n"
    "  --url URL          operator API (default $WARD_URL, else\n"
    "                     " DEFAULT_URL ")\n"
    "  --ca FILE          CA that signed the collector (default $WARD_CA, else\n"
    "                     PKI/ca.crt)\n"
    "  --token-file FILE  bearer token (default: the token in $WARD_TOKEN, else\n"
    "                     the session of wardctl login, else the one token in\n"
    "                     PKI/tokens/)\n"
    "  --pki DIR          a ward-pki directory (default $WARD_PKI_DIR, else var/pki)\n"
    "  --json             machine-readable output\n"
    "  --timeout S        network timeout in seconds (default 10)\n"
    "  --version          print wardctl's version\n"
    "  -h, --help         this text (after a command: that command's usage)\n"
    "The command line wins over the environment, which wins over the file.\n"
    "VALUE columns are in the sensor's unit (\u00b0C, RPM, %, bytes); --json is raw.\n";

/* Each command's own usage (`wardctl COMMAND --help`); the options above apply to all. */
static const char s_usage_devices[] =
    "usage: wardctl [OPTIONS] devices [--outdated] [--json]\n"
    "Every device the collector knows: state, health, last heartbeat.\n"
    "  --outdated     only devices whose agent is older than min-agent-version\n";
static const char s_usage_device[] =
    "usage: wardctl [OPTIONS] device ID [--json]\n"
    "       wardctl [OPTIONS] device revoke|remove ID [--reason TEXT]\n"
    "       wardctl [OPTIONS] device enroll ID --csr FILE [--out FILE]\n"
    "       wardctl [OPTIONS] device enroll-token ID [--expires DURATION]\n"
    "One device: its heartbeat, sensors and recent events. revoke: its live\n"
    "connections are closed and its certificates refused; remove: revoked and\n"
    "decommissioned (kept with its history, never silent); enroll: sign the\n"
    "request ward-agent enroll made (certificate to --out FILE, else stdout);\n"
    "enroll-token: a one-time token (default 1h) for ward-agent enroll --token.\n";
static const char s_usage_events[] =
    "usage: wardctl [OPTIONS] events [--device ID] [--since ID] [--severity S]\n"
    "                                [--limit N] [--json]\n"
    "Events, oldest first.\n"
    "  --device ID    only this device's events\n"
    "  --since ID     events after event ID (default: the latest N)\n"
    "  --severity S   at least S: none, low, medium or high\n"
    "  --limit N      at most N events\n";
static const char s_usage_health[] = "usage: wardctl [OPTIONS] health [--json]\n"
                                     "The collector's own health.\n";
static const char s_usage_incidents[] =
    "usage: wardctl [OPTIONS] incidents [--state S] [--severity S] [--device ID]\n"
    "                                   [--json]\n"
    "Incidents, newest first.\n"
    "  --state S      open, reopened, acknowledged, resolved, closed or live\n"
    "  --severity S   at least low, medium or high\n"
    "  --device ID    only this device's incidents\n";
static const char s_usage_incident[] =
    "usage: wardctl [OPTIONS] incident|ack|close ID [--json]\n"
    "       wardctl [OPTIONS] assign ID WHO | note ID TEXT\n"
    "       wardctl [OPTIONS] resolve ID [--cause TEXT]\n"
    "Show or change an incident; every change goes on its timeline under the token's\n"
    "name.\n";
static const char s_usage_report[] =
    "usage: wardctl [OPTIONS] report ID [--format md|json]\n"
    "The fault report: timeline, readings, times to detect, acknowledge and resolve.\n";
static const char s_usage_drill[] =
    "usage: wardctl [OPTIONS] drill list | start SCENARIO --device ID [--for D]\n"
    "                         | show ID | stop ID | report ID   [--json]\n"
    "Ask a live agent to play a scenario of its --drill-dir beside its real\n"
    "readings (default 10 minutes); everything it causes is marked drill.\n"
    "report: times to detect, acknowledge and resolve each of its incidents\n"
    "against the alerting file's drill-target values.\n";
static const char s_usage_silence[] =
    "usage: wardctl [OPTIONS] silence [DEVICE|GLOB --for DURATION --reason TEXT]\n"
    "Hold notifications of matching devices (incidents are still recorded);\n"
    "DURATION is seconds or N with s, m, h, d. Without arguments: active silences.\n";
static const char s_usage_history[] =
    "usage: wardctl [OPTIONS] history ID SENSOR [--since 7d] [--step 1h]\n"
    "                                            [--json|--csv]\n"
    "A sensor's history (SENSOR may be a glob: 'temp:*') as a sparkline with min,\n"
    "mean and max; an ASCII sparkline when the locale is not UTF-8.\n"
    "  --since D      from D ago: N with s, m, h or d (default 7d)\n"
    "  --step D       bucket width (default: what fits; the collector picks the tier)\n"
    "  --csv          sensor,unit,tier,t_ms,min,mean,max lines\n";
static const char s_usage_trends[] =
    "usage: wardctl [OPTIONS] trends [--within 90d] [--json]\n"
    "Sensors forecast (Theil-Sen over their history) to reach their threshold\n"
    "within the horizon, soonest first, with the fit's confidence.\n";
static const char s_usage_inventory[] =
    "usage: wardctl [OPTIONS] inventory ID [--json]\n"
    "       wardctl [OPTIONS] changes [ID] [--since DURATION] [--json]\n"
    "       wardctl [OPTIONS] change open TITLE --devices GLOB [--for DURATION]\n"
    "       wardctl [OPTIONS] change close ID | change list\n"
    "A device's inventory (agent version, board, digests, boot, hardware items) and\n"
    "every change with its time; changes inside an open change window are linked to\n"
    "it, other changes (but reboots and first sightings) are UNPLANNED.\n"
    "  --since D       changes in the last D: 90s, 30m, 2h, 7d\n"
    "  --devices GLOB  the devices a change window covers\n"
    "  --for D         how long the window stays open (default 1h)\n";
static const char s_usage_backups[] =
    "usage: wardctl [OPTIONS] backups [--json]\n"
    "The collector's scheduled backups: schedule, last result, the files kept.\n";
static const char s_usage_watch[] =
    "usage: wardctl [OPTIONS] watch [--interval S] [--for S] [--json]\n"
    "A live fleet table until Ctrl-C.\n"
    "  --interval S   seconds between refreshes (default 2)\n"
    "  --for S        stop after S seconds (default: until Ctrl-C)\n";

static const char s_usage_login[] =
    "usage: wardctl [OPTIONS] login USER [--password-file FILE] [--totp CODE]\n"
    "       wardctl [OPTIONS] logout\n"
    "Log in with a password and a TOTP code (asked for on the terminal unless given);\n"
    "the session token goes to $WARD_SESSION_FILE, else ~/.config/ward/session (mode\n"
    "0600), which later commands use. logout ends the session.\n"
    "  --password-file FILE  the password (first line), not asked for\n"
    "  --totp CODE           the 6-digit TOTP code, not asked for\n";
static const char s_usage_user[] =
    "usage: wardctl [OPTIONS] user [list] [--json]\n"
    "       wardctl [OPTIONS] user add NAME --role viewer|operator|admin\n"
    "                                  [--password-file FILE]\n"
    "       wardctl [OPTIONS] user passwd NAME [--password-file FILE]\n"
    "       wardctl [OPTIONS] user remove|totp-reset NAME\n"
    "Accounts (admin). add and totp-reset print the TOTP enrolment (otpauth://) once.\n"
    "  --role ROLE           viewer, operator or admin\n"
    "  --password-file FILE  the new password (first line), not asked for\n";
static const char s_usage_token[] =
    "usage: wardctl [OPTIONS] token [list] [--json]\n"
    "       wardctl [OPTIONS] token create NAME --role viewer|operator|admin\n"
    "                 --expires DURATION [--devices GLOB] [--from CIDR] [--json]\n"
    "       wardctl [OPTIONS] token revoke NAME\n"
    "API tokens (admin): scoped to a role, the devices a glob matches and optionally\n"
    "a network; the token is printed once, the collector keeps only its hash.\n"
    "  --role ROLE       viewer, operator or admin\n"
    "  --expires D       lifetime: seconds or N with s, m, h, d (30d)\n"
    "  --devices GLOB    only devices whose id matches (default: all)\n"
    "  --from CIDR       only from this network (default: anywhere)\n";
static const char s_usage_audit[] =
    "usage: wardctl [OPTIONS] audit [--since DURATION] [--actor NAME]\n"
    "                               [--action NOUN.VERB] [--limit N] [--json]\n"
    "       wardctl [OPTIONS] audit verify [--json]\n"
    "The audit log (admin), oldest first; verify recomputes its hash chain and checks\n"
    "the signed checkpoints, naming the first entry edited, deleted, reordered or\n"
    "inserted (exit status 1 when it finds one).\n"
    "  --since D      entries of the last D (90s, 30m, 12h, 7d)\n"
    "  --actor NAME   only this actor's entries\n"
    "  --action A     only action A (noun.verb) and its sub-actions (user.login:\n"
    "                 user.login.failed too), old names included (docs/security.md)\n"
    "  --limit N      at most N entries (default 1000)\n";

volatile sig_atomic_t g_wardctl_stop;

static void on_stop(int sig)
{
    (void)sig;
    g_wardctl_stop = 1;
}

void die_usage(const char *msg)
{
    fprintf(stderr, "wardctl: %s (run 'wardctl --help')\n", msg);
    exit(2);
}

/* ---- options: one table (name, kind, destination) ---- */

enum opt_kind { K_STR, K_FLAG, K_SECONDS_MS, K_SECONDS, K_HELP, K_VERSION };

struct opt {
    const char *name;
    enum opt_kind kind;
    size_t offset; /* into struct opts */
};

static const struct opt s_opts[] = {
    { "config", K_STR, offsetof(struct opts, config) },
    { "url", K_STR, offsetof(struct opts, url) },
    { "ca", K_STR, offsetof(struct opts, ca) },
    { "token-file", K_STR, offsetof(struct opts, token_file) },
    { "pki", K_STR, offsetof(struct opts, pki) },
    { "json", K_FLAG, offsetof(struct opts, json) },
    { "timeout", K_SECONDS_MS, offsetof(struct opts, timeout_ms) },
    { "device", K_STR, offsetof(struct opts, device) },
    { "since", K_STR, offsetof(struct opts, since) },
    { "severity", K_STR, offsetof(struct opts, severity) },
    { "limit", K_STR, offsetof(struct opts, limit) },
    { "interval", K_SECONDS, offsetof(struct opts, interval_s) },
    { "for", K_SECONDS, offsetof(struct opts, for_s) },
    { "state", K_STR, offsetof(struct opts, state) },
    { "cause", K_STR, offsetof(struct opts, cause) },
    { "format", K_STR, offsetof(struct opts, format) },
    { "reason", K_STR, offsetof(struct opts, reason) },
    { "step", K_STR, offsetof(struct opts, step) },
    { "within", K_STR, offsetof(struct opts, within) },
    { "csv", K_FLAG, offsetof(struct opts, csv) },
    { "password-file", K_STR, offsetof(struct opts, password_file) },
    { "totp", K_STR, offsetof(struct opts, totp) },
    { "role", K_STR, offsetof(struct opts, role) },
    { "devices", K_STR, offsetof(struct opts, devices) },
    { "expires", K_STR, offsetof(struct opts, expires) },
    { "from", K_STR, offsetof(struct opts, from) },
    { "actor", K_STR, offsetof(struct opts, actor) },
    { "action", K_STR, offsetof(struct opts, action) },
    { "outdated", K_FLAG, offsetof(struct opts, outdated) },
    { "csr", K_STR, offsetof(struct opts, csr) },
    { "out", K_STR, offsetof(struct opts, out) },
    { "help", K_HELP, 0 },
    { "version", K_VERSION, 0 },
};

#define N_OPTS (sizeof(s_opts) / sizeof(s_opts[0]))

static double seconds_arg(const char *name, const char *arg)
{
    char *end;
    double v = strtod(arg, &end);

    /* 90, 90s, 30m, 2h, 1d */
    if (*end != '\0' && end[1] == '\0' && strchr("smhd", *end) != NULL) {
        v *= *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 1;
        end++;
    }
    if (*arg == '\0' || *end != '\0' || v <= 0 || v > 31536000) {
        fprintf(stderr, "wardctl: --%s needs a positive number of seconds, not '%s'\n", name, arg);
        exit(2);
    }
    return v;
}

static void apply(const struct opt *op, const char *arg, struct opts *o)
{
    void *dst = (char *)o + op->offset;

    switch (op->kind) {
    case K_STR:
        *(const char **)dst = arg;
        break;
    case K_FLAG:
        *(bool *)dst = true;
        break;
    case K_SECONDS_MS: {
        double v = seconds_arg(op->name, arg);

        if (v > INT_MAX / 1000) { /* milliseconds in an int */
            fprintf(stderr, "wardctl: --%s is at most %d seconds, not '%s'\n", op->name,
                    INT_MAX / 1000, arg);
            exit(2);
        }
        *(int *)dst = (int)(v * 1000);
        break;
    }
    case K_SECONDS:
        *(double *)dst = seconds_arg(op->name, arg);
        break;
    case K_VERSION:
        printf("wardctl %s\n", WARD_VERSION_STRING);
        exit(0);
    default:
        fputs(s_usage, stdout);
        exit(0);
    }
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    static struct option lo[N_OPTS + 1];
    int opt;

    for (size_t i = 0; i < N_OPTS; i++) {
        bool has_arg = s_opts[i].kind == K_STR || s_opts[i].kind == K_SECONDS_MS ||
                       s_opts[i].kind == K_SECONDS;

        lo[i] = (struct option){ s_opts[i].name, has_arg ? required_argument : no_argument, NULL,
                                 (int)(256 + i) };
    }
    while ((opt = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
        if (opt == 'h') {
            fputs(s_usage, stdout);
            exit(0);
        }
        if (opt < 256 || opt >= 256 + (int)N_OPTS) {
            die_usage("unknown option");
        }
        apply(&s_opts[opt - 256], optarg, o);
    }
}

/* ---- commands ---- */

static const struct command {
    const char *name;
    int takes_id; /* operands: 1 "device ID", 2 "assign ID WHO", 3 optional one,
                   * 4 up to two ("user add NAME", "user list", "change open TITLE") */
    int (*run)(struct client *c, const struct opts *o, const char *arg);
    const char *usage;
} s_commands[] = {
    { "devices", false, cmd_devices, s_usage_devices },
    { "device", true, cmd_device, s_usage_device },
    { "events", false, cmd_events, s_usage_events },
    { "health", false, cmd_health, s_usage_health },
    { "watch", false, cmd_watch, s_usage_watch },
    { "incidents", 0, cmd_incidents, s_usage_incidents },
    { "incident", 1, cmd_incident, s_usage_incident },
    { "ack", 1, cmd_ack, s_usage_incident },
    { "assign", 2, cmd_assign, s_usage_incident },
    { "note", 2, cmd_note, s_usage_incident },
    { "resolve", 1, cmd_resolve, s_usage_incident },
    { "close", 1, cmd_close, s_usage_incident },
    { "report", 1, cmd_report, s_usage_report },
    { "silence", 3, cmd_silence, s_usage_silence },
    { "history", 2, cmd_history, s_usage_history },
    { "trends", 0, cmd_trends, s_usage_trends },
    { "login", 1, cmd_login, s_usage_login },
    { "logout", 0, cmd_logout, s_usage_login },
    { "user", 4, cmd_user, s_usage_user },
    { "token", 4, cmd_token, s_usage_token },
    { "audit", 3, cmd_audit, s_usage_audit },
    { "inventory", 1, cmd_inventory, s_usage_inventory },
    { "changes", 3, cmd_changes, s_usage_inventory },
    { "change", 4, cmd_change, s_usage_inventory },
    { "backups", 0, cmd_backups, s_usage_backups },
    { "drill", 4, cmd_drill, s_usage_drill },
};

/* `COMMAND --help` (or -h) anywhere after the command: its usage, and nothing else happens. */
static void help_if_asked(const struct command *cmd, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(cmd->usage, stdout);
            exit(0);
        }
    }
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(s_commands) / sizeof(s_commands[0]); i++) {
        if (strcmp(s_commands[i].name, name) == 0) {
            return &s_commands[i];
        }
    }
    return NULL;
}

static void catch_signals(void)
{
    struct sigaction sa = { .sa_handler = on_stop };

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    static struct client c;
    struct opts o = { .interval_s = 2.0 }; /* timeout: resolve_defaults() */
    const char *arg = NULL;

    /* Global options, the command, then its options (getopt stops at the command). */
    parse_args(argc, argv, &o);
    if (optind >= argc) {
        fputs(s_usage, stderr);
        return 2;
    }
    const struct command *cmd = find_command(argv[optind]);

    if (cmd != NULL) {
        help_if_asked(cmd, argc - optind, argv + optind);
    }
    if (cmd != NULL && cmd->takes_id) {
        bool have = optind + 1 < argc && argv[optind + 1][0] != '-';

        if (!have && cmd->takes_id < 3) {
            die_usage(cmd->takes_id == 2                 ? "this command needs two operands"
                      : strcmp(cmd->name, "device") == 0 ? "device needs an ID"
                      : strcmp(cmd->name, "login") == 0  ? "login needs a USER"
                                                         : "this command needs an incident ID");
        }
        arg = have ? argv[++optind] : NULL;
        /* 4: a verb and its operand (user add NAME); device revoke|remove|enroll ID */
        if (((cmd->takes_id == 4 && have) || (cmd->run == cmd_device && device_verb(arg))) &&
            optind + 1 < argc && argv[optind + 1][0] != '-') {
            o.arg2 = argv[++optind];
        }
        if (cmd->takes_id == 2) {
            if (optind + 1 >= argc) {
                die_usage("this command needs two operands (ID and WHO or TEXT)");
            }
            o.arg2 = argv[++optind];
        }
    }
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;

    optind = 1;
    parse_args(sub_argc, sub_argv, &o);
    if (optind < sub_argc) {
        die_usage("unexpected argument");
    }
    o.anonymous = cmd != NULL && cmd->run == cmd_login;
    if (resolve_defaults(&o, c.token, sizeof(c.token)) != 0) {
        return 2;
    }
    catch_signals();
    c.timeout_ms = o.timeout_ms;
    if (parse_url(o.url, &c) != 0 ||
        client_init(&c, o.ca, c.token[0] != '\0' ? NULL : o.token_file) != 0) {
        return 1;
    }
    int rc = 2;

    if (cmd != NULL) {
        rc = cmd->run(&c, &o, arg);
    } else {
        fprintf(stderr,
                "wardctl: unknown command '%s' (devices, device, events, health, watch, "
                "incidents, incident, ack, assign, note, resolve, close, report, silence, history, "
                "trends, login, logout, user, token, audit, drill)\n",
                sub_argv[0]);
    }
    client_drop(&c);
    return rc;
}
