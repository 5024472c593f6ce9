/*
 * ward-agent run: the agent's main loop on Linux.
 *
 *   ward-agent run --collector HOST:PORT --ca CA.pem --cert DEV.pem --key DEV.key
 *                  --state-dir DIR [--device-id ID] [--server-name NAME]
 *                  [--scenario FILE (sim backend)] [--root DIR (Linux sensors)]
 *                  [--rules RULES.json] [--for SECONDS] [--agentx unix:PATH|tcp:IP:PORT]
 *
 * Wires the portable pieces together: the agent context (sampling, health engine, event log,
 * documents), the HAL backend the board was built with, the store-and-forward journal in
 * DIR, the HTTPS transport (mutual TLS, keep-alive, backoff) and the core's reporting loop
 * (ward/transport/uplink.h), which the bare-metal board drives too. One thread, one
 * poll(): the loop sleeps until ward_uplink_next_wake() or socket readiness.
 *
 * Start-up (run_setup.c) reads the files and sets everything up; after it, mbedTLS allocates
 * only from a static pool and the loop itself never calls malloc. SIGTERM/SIGINT end the loop
 * cleanly (journal synced, close_notify sent); SIGUSR1 prints a statistics line; SIGHUP
 * reloads the configuration file and the rules (run_config.h). One line on stderr
 * per connection state change.
 */
#define _GNU_SOURCE /* ppoll() */
#include "ward/base/config.h"

#if IS_ENABLED(CONFIG_WARD_TRANSPORT)

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentx_posix.h"
#include "clock.h"
#include "commands.h"
#include "opt_table.h"
#include "run.h"
#include "run_config.h"
#include "run_log.h"
#include "run_stderr.h"

#if IS_ENABLED(CONFIG_WARD_NMS_PROM)
#define RUN_ENDPOINT_POLLFDS RUN_METRICS_POLLFDS
#else
#define RUN_ENDPOINT_POLLFDS 0
#endif
#define MAX_WAIT_MS 60000 /* the longest sleep: signals and clock jumps are noticed by then */

static struct run s_run;
static volatile sig_atomic_t s_stop;
static volatile sig_atomic_t s_stats;
static volatile sig_atomic_t s_reload;

/* ---- options ---- */

static const struct opt_spec k_opts[] = {
    { "--collector", offsetof(struct opts, collector), OPT_TEXT, "HOST:PORT",
      "the collector to report to (none: pull-only)" },
    { "--ca", offsetof(struct opts, ca), OPT_TEXT, "FILE",
      "CA certificate that signed the collector (required)" },
    { "--cert", offsetof(struct opts, cert), OPT_TEXT, "FILE",
      "this device's certificate, PEM (required)" },
    { "--key", offsetof(struct opts, key), OPT_TEXT, "FILE",
      "this device's private key, PEM (required)" },
    { "--state-dir", offsetof(struct opts, state_dir), OPT_TEXT, "DIR",
      "store-and-forward journal directory (required)" },
    { "--device-id", offsetof(struct opts, device_id), OPT_TEXT, "ID",
      "device id (default: the certificate's CN)" },
    { "--server-name", offsetof(struct opts, server_name), OPT_TEXT, "NAME",
      "collector's certificate name (default: HOST)" },
    { "--scenario", offsetof(struct opts, scenario), OPT_TEXT, "FILE",
      "scenario to play (sim backend only)" },
    { "--root", offsetof(struct opts, root), OPT_TEXT, "DIR",
      "read Linux sensors under DIR (default: /)" },
    { "--rules", offsetof(struct opts, rules), OPT_TEXT, "FILE",
      "health rules, JSON (default: built-in rules)" },
    { "--for", offsetof(struct opts, run_for_s), OPT_SECONDS, "SECONDS",
      "stop after SECONDS (default: until SIGTERM)" },
    { "--agentx", offsetof(struct opts, agentx), OPT_TEXT, "ADDRESS",
      "serve SNMP via snmpd: unix:PATH or tcp:IP:PORT" },
    { "--metrics", offsetof(struct opts, metrics), OPT_TEXT, "ADDR:PORT",
      "serve Prometheus /metrics and /health there" },
    { "--metrics-token", offsetof(struct opts, metrics_token), OPT_TEXT, "FILE",
      "bearer token (mode 0600) /metrics requires" },
    { "--metrics-tls", offsetof(struct opts, metrics_tls), OPT_FLAG, NULL,
      "mutual TLS on --metrics (--cert, --key, --ca)" },
    { "--log-level", offsetof(struct opts, log_level), OPT_TEXT, "LEVEL",
      "error, warn, info (default) or debug" },
    { "--drill-dir", offsetof(struct opts, drill_dir), OPT_TEXT, "DIR",
      "scenarios a drill may play (DIR/NAME.json)" },
    { "--drill-speed", offsetof(struct opts, drill_speed), OPT_SECONDS, "N",
      "play a drill N times faster than real time (1..100)" },
    { "--no-drills", offsetof(struct opts, no_drills), OPT_FLAG, NULL,
      "refuse every drill the collector asks for" },
    { "--config", offsetof(struct opts, config), OPT_TEXT, "FILE",
      "options as key = value (default: " RUN_CONFIG_DEFAULT ")" },
    { "--check-config", offsetof(struct opts, check_config), OPT_FLAG, NULL,
      "check the configuration and its files, then exit" },
};

void cmd_run_usage(FILE *f)
{
    opt_usage(f,
              "usage: ward-agent run --collector HOST:PORT --ca FILE --cert FILE --key FILE\n"
              "                      --state-dir DIR [OPTIONS]\n"
              "       ward-agent run --metrics ADDR:PORT [OPTIONS]   (pull-only)\n"
              "Sample, evaluate and report to a collector over mutual TLS, and/or serve\n"
              "the readings to Prometheus.\n",
              k_opts, sizeof(k_opts) / sizeof(k_opts[0]));
}

static void usage(void)
{
    cmd_run_usage(stderr);
}

/* Store one option's value. @return 0, or 2 (usage error, said on stderr). */
static int set_opt(struct opts *o, const struct opt_spec *opt, const char *v)
{
    void *field = (char *)o + opt->off;
    char *end;

    if (opt->kind == OPT_FLAG) {
        *(bool *)field = true;
        return 0;
    }
    if (v == NULL) {
        fprintf(stderr, "ward-agent: %s needs a value\n", opt->name);
        return 2;
    }
    if (opt->kind == OPT_TEXT) {
        *(const char **)field = v;
        return 0;
    }
    *(long *)field = strtol(v, &end, 10);
    if (*end != '\0' || *(long *)field <= 0) {
        fprintf(stderr, "ward-agent: %s wants a positive number of seconds, not '%s'\n", opt->name,
                v);
        return 2;
    }
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    struct opts cli;

    memset(&cli, 0, sizeof(cli));
    for (int i = 1; i < argc; i++) {
        const struct opt_spec *opt = opt_find(k_opts, sizeof(k_opts) / sizeof(k_opts[0]), argv[i]);
        int rc;

        if (opt == NULL) {
            fprintf(stderr, "ward-agent: run: unknown option '%s'\n", argv[i]);
            usage();
            return 2;
        }
        if (opt->kind == OPT_FLAG) {
            *(bool *)((char *)&cli + opt->off) = true;
            continue;
        }
        rc = set_opt(&cli, opt, i + 1 < argc ? argv[i + 1] : NULL);
        if (rc != 0) {
            return rc;
        }
        i++;
    }
    if (run_config_load(o, &cli, k_opts, sizeof(k_opts) / sizeof(k_opts[0])) != 0) {
        return 2;
    }
    /* Something to do: report (then with its credentials and journal), or serve pulls. */
    if ((o->collector == NULL && o->metrics == NULL && o->agentx == NULL) ||
        (o->collector != NULL &&
         (o->ca == NULL || o->cert == NULL || o->key == NULL || o->state_dir == NULL))) {
        usage();
        return 2;
    }
    return 0;
}

/* ---- waiting ---- */

static void wait_for_work(struct run *r, int64_t now, int64_t wake, const sigset_t *mask)
{
    struct pollfd pfds[2 + RUN_ENDPOINT_POLLFDS]; /* uplink, AgentX, metrics */
    struct pollfd pfd = { .fd = r->pull_only ? -1 : ward_net_posix_fd(&r->np) };
    unsigned wants = r->pull_only ? 0u : ward_transport_wants(&r->tp);
    unsigned n = 0;
    int64_t wait = wake - now;
    struct timespec ts;

    wait = wait < 0 ? 0 : (wait > MAX_WAIT_MS ? MAX_WAIT_MS : wait);
    ts.tv_sec = (time_t)(wait / 1000);
    ts.tv_nsec = (long)(wait % 1000) * 1000000L;
    pfd.events = (short)(((wants & WARD_CHAN_WANT_READ) ? POLLIN : 0) |
                         ((wants & WARD_CHAN_WANT_WRITE) ? POLLOUT : 0));
    if (pfd.fd < 0 || pfd.events == 0) {
        pfd.fd = -1; /* poll ignores it: the wait is only the deadline */
    }
    pfds[0] = pfd;
    agentx_posix_pollfd(&pfds[1]);
#if IS_ENABLED(CONFIG_WARD_NMS_PROM)
    n = run_metrics_pollfds(&r->metrics, pfds + 2, RUN_ENDPOINT_POLLFDS);
#endif
    (void)ppoll(pfds, 2 + n, &ts, mask);
#if IS_ENABLED(CONFIG_WARD_NMS_PROM)
    run_metrics_service(&r->metrics, r, pfds + 2, n, app_mono_ms());
#endif
}

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        s_stats = 1;
    } else if (sig == SIGHUP) {
        s_reload = 1;
    } else {
        s_stop = 1;
    }
}

/* Signals are blocked except inside ppoll(): none can slip in between check and sleep. */
static void setup_signals(sigset_t *wait_mask)
{
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, wait_mask);
    sigdelset(wait_mask, SIGTERM);
    sigdelset(wait_mask, SIGINT);
    sigdelset(wait_mask, SIGUSR1);
    sigdelset(wait_mask, SIGHUP);
}

/* ---- the loop ---- */

static void loop(struct run *r, int64_t end_ms, const sigset_t *wait_mask)
{
    while (!s_stop) {
        int64_t now = app_mono_ms();
        int64_t wake;

        if (now >= end_ms) {
            break;
        }
#if IS_ENABLED(CONFIG_WARD_HAL_SIM)
        ward_sim_set_time(&r->sim, (uint64_t)(now - r->start_ms));
#endif
        run_drill_tick(r, now);
        run_step(r, now);
        agentx_posix_step(app_mono_ms(), (uint32_t)ward_journal_count(&r->journal));
        run_log_tick(r, app_mono_ms());
        if (s_stats) {
            s_stats = 0;
            run_log_stats(r, app_mono_ms());
        }
        if (s_reload) {
            s_reload = 0;
            (void)run_config_reload(r, app_mono_ms());
        }
        now = app_mono_ms();
        wake = run_next_wake(r, now);
        if (agentx_posix_next_wake(now) < wake) {
            wake = agentx_posix_next_wake(now);
        }
        wait_for_work(r, now, end_ms < wake ? end_ms : wake, wait_mask);
    }
}

static void shutdown_cleanly(struct run *r)
{
#if IS_ENABLED(CONFIG_WARD_NMS_PROM)
    run_metrics_stop(&r->metrics);
#endif
    agentx_posix_stop();
    if (r->pull_only) {
        fprintf(stderr, "ward-agent: stopped (pull-only)\n");
        return;
    }
    ward_uplink_stop(&r->up);
    run_log_stats(r, app_mono_ms());
    fprintf(stderr, "ward-agent: stopped; %u unacknowledged events kept in the journal\n",
            (unsigned)ward_journal_count(&r->journal));
    ward_tls_free(&r->tls);
    ward_store_posix_close(&r->store);
}

int cmd_run(int argc, char **argv)
{
    struct run *r = &s_run;
    struct opts o;
    sigset_t wait_mask;
    int64_t end_ms = INT64_MAX;
    int rc = parse_opts(argc, argv, &o);

    if (rc != 0) {
        return rc;
    }
    if (o.agentx != NULL && agentx_posix_parse(o.agentx) != 0) {
        return 2;
    }
    if (o.check_config) {
        return run_config_check(&o);
    }
    (void)run_stderr_install(); /* without it, lines go out plain */
    setup_signals(&wait_mask);
    r->start_ms = app_mono_ms();
    if (run_startup(&o, r, r->start_ms) != 0) {
        ward_store_posix_close(&r->store);
        return 1;
    }
    agentx_posix_start(&r->agent, &r->log, run_reading_cache(r)); /* nothing without --agentx */
    run_stderr_default(RUN_LOG_INFO);
    if (o.run_for_s > 0) {
        end_ms = r->start_ms + (int64_t)o.run_for_s * 1000;
    }
    loop(r, end_ms, &wait_mask);
    shutdown_cleanly(r);
    return 0;
}

#else /* !CONFIG_WARD_TRANSPORT */

#include <stdio.h>

#include "commands.h"

void cmd_run_usage(FILE *f)
{
    fputs("usage: ward-agent run (this build has no transport: CONFIG_WARD_TRANSPORT=n)\n", f);
}

int cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ward-agent: this build has no transport (CONFIG_WARD_TRANSPORT=n)\n");
    return 1;
}

#endif
