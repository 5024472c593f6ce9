/*
 * ward-agent run: the agent's main loop on Linux.
 *
 *   ward-agent run --collector HOST:PORT --ca CA.pem --cert DEV.pem --key DEV.key
 *                  --state-dir DIR [--device-id ID] [--server-name NAME]
 *                  [--scenario FILE (sim board)] [--root DIR (Linux sensors)]
 *                  [--rules RULES.json] [--for SECONDS]
 *
 * Wires the portable pieces together: the agent context (sampling, health engine, event log,
 * documents), the HAL backend the board was built with, the store-and-forward journal in
 * DIR, and the HTTPS transport (mutual TLS, keep-alive, backoff). One thread, one poll():
 * the loop sleeps until the next sample, the transport's deadline, or socket readiness.
 *
 * Start-up (run_setup.c) reads the files and sets everything up; after it, mbedTLS allocates
 * only from a static pool and the loop itself never calls malloc. SIGTERM/SIGINT end the loop
 * cleanly (journal synced, close_notify sent); SIGUSR1 prints a statistics line. One line on stderr
 * per connection state change.
 */
#define _GNU_SOURCE /* ppoll() */
#include "ward/base/config.h"

#if IS_ENABLED(CONFIG_WARD_TRANSPORT)

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "run.h"
#include "ward/report.h"

#define MIN_BATCH_GAP 1000 /* ms between event-driven batches */
#define SYNC_DELAY_MS 1000 /* an event is on disk at most this long after it */
#define HEALTH_EVERY  10u  /* heartbeats between health snapshots */
#define MAX_WAIT_MS   60000
#define BATCH_EVENTS  64u

static struct run s_run;
static volatile sig_atomic_t s_stop;
static volatile sig_atomic_t s_stats;

static void usage(void)
{
    fprintf(stderr,
            "ward-agent: usage: ward-agent run --collector HOST:PORT --ca CA.pem --cert DEV.pem "
            "--key DEV.key --state-dir DIR [--device-id ID] [--server-name NAME] "
            "[--scenario FILE] [--root DIR] [--rules RULES.json] [--for SECONDS]\n");
}

int64_t run_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- options and start-up ---- */

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct {
        const char *name;
        size_t off;
    } k_opts[] = {
        { "--collector", offsetof(struct opts, collector) },
        { "--ca", offsetof(struct opts, ca) },
        { "--cert", offsetof(struct opts, cert) },
        { "--key", offsetof(struct opts, key) },
        { "--state-dir", offsetof(struct opts, state_dir) },
        { "--device-id", offsetof(struct opts, device_id) },
        { "--server-name", offsetof(struct opts, server_name) },
        { "--scenario", offsetof(struct opts, scenario) },
        { "--root", offsetof(struct opts, root) },
        { "--rules", offsetof(struct opts, rules) },
    };

    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool known = false;

        if (strcmp(argv[i], "--for") == 0 && v != NULL) {
            char *end;

            o->run_for_s = strtol(v, &end, 10);
            if (*end != '\0' || o->run_for_s <= 0) {
                fprintf(stderr, "ward-agent: --for wants a positive number of seconds, not '%s'\n",
                        v);
                return 2;
            }
            i++;
            continue;
        }
        for (size_t k = 0; k < sizeof(k_opts) / sizeof(k_opts[0]); k++) {
            if (strcmp(argv[i], k_opts[k].name) == 0) {
                if (v == NULL) {
                    fprintf(stderr, "ward-agent: %s needs a value\n", argv[i]);
                    return 2;
                }
                *(const char **)(void *)((char *)o + k_opts[k].off) = v;
                known = true;
                i++;
                break;
            }
        }
        if (!known) {
            fprintf(stderr, "ward-agent: run: unknown option '%s'\n", argv[i]);
            usage();
            return 2;
        }
    }
    if (o->collector == NULL || o->ca == NULL || o->cert == NULL || o->key == NULL ||
        o->state_dir == NULL) {
        usage();
        return 2;
    }
    return 0;
}

/* ---- the loop ---- */

/* Resident pages from /proc/self/statm, read without stdio (fopen would allocate). */
static long resident_pages(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    char *p;

    if (fd >= 0) {
        close(fd);
    }
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    p = strchr(buf, ' ');
    return p != NULL ? strtol(p + 1, NULL, 10) : 0;
}

static void print_stats(struct run *r)
{
    long rss = resident_pages();
    fprintf(stderr,
            "ward-agent: stats {\"uptime_ms\":%" PRId64 ",\"heartbeats\":%" PRIu32
            ",\"requests\":%" PRIu32 ",\"responses\":%" PRIu32 ",\"failures\":%" PRIu32
            ",\"connects\":%" PRIu32 ",\"full_handshakes\":%" PRIu32
            ",\"resumed_handshakes\":%" PRIu32 ",\"tx_bytes\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
            ",\"tls_pool_peak\":%zu,\"tls_pool_in_use\":%zu,\"pending_events\":%u"
            ",\"journal_events\":%" PRIu32 ",\"journal_dropped\":%" PRIu32
            ",\"journal_syncs\":%" PRIu32 ",\"rss_kib\":%ld}\n",
            run_mono_ms() - r->start_ms, r->heartbeats_sent, r->tp.stats.requests,
            r->tp.stats.responses, r->tp.stats.failures, r->tp.stats.connects,
            r->tp.stats.full_handshakes, r->tp.stats.resumed_handshakes, r->net.stats.tx_bytes,
            r->net.stats.rx_bytes, r->pool.stats.peak, r->pool.stats.used,
            ward_evlog_pending(&r->agent.log), ward_journal_count(&r->journal),
            ward_journal_dropped(&r->journal), r->journal.stats.syncs,
            rss * (sysconf(_SC_PAGESIZE) / 1024));
}

static void sync_journal(struct run *r)
{
    if (ward_outbox_sync(&r->outbox) != 0) {
        fprintf(stderr, "ward-agent: journal sync failed: events since the last sync may not "
                        "survive a power loss\n");
    }
    r->sync_at_ms = INT64_MAX;
}

/* Build a batch (heartbeat, pending events, sometimes a health snapshot page) and send it. */
static void maybe_send(struct run *r, int64_t now)
{
    bool events = (r->events_new || r->pages_left) && now - r->last_send_ms >= MIN_BATCH_GAP;
    size_t cap;
    uint8_t *body;
    unsigned n = 0;
    int len;

    if (!(r->hb_due || events) || !ward_transport_can_send(&r->tp, (uint64_t)now)) {
        return;
    }
    /* A new connection may reach a collector that lost the sticky heartbeat fields
     * (restarted, or another instance): the first batch on it carries them all. */
    if (r->tp.phase != WARD_TP_READY || r->tp.stats.connects != r->sticky_connects) {
        ward_report_sticky_reset(&r->agent);
        /* Built while down: it opens the next connection (counted when it connects). */
        r->sticky_connects = r->tp.stats.connects + (r->tp.phase != WARD_TP_READY ? 1u : 0u);
    }
    body = ward_transport_body(&r->tp, &cap);
    len = ward_report_batch(&r->agent, now, 0, BATCH_EVENTS, r->health_due, &r->arena, (char *)body,
                            cap, &n);
    if (len < 0) {
        fprintf(stderr, "ward-agent: cannot build the report batch: %s\n", strerror(-len));
        r->hb_due = false;
        r->last_send_ms = now; /* the next try waits the batch gap: no busy loop */
        return;
    }
    /* What is about to be sent is on disk first: an ack can never outrun the journal. */
    sync_journal(r);
    if (ward_transport_submit(&r->tp, (size_t)len, (uint64_t)now) == 0) {
        r->heartbeats_sent++;
        r->hb_due = false;
        r->events_new = false;
        /* A snapshot cycle spans as many batches as it has pages (ward_report_batch()):
         * the next page goes after the batch gap, not a heartbeat interval later. */
        r->pages_left = r->health_due && !ward_report_health_done(&r->agent);
        r->health_due = r->pages_left || r->heartbeats_sent % HEALTH_EVERY == 0;
        r->last_send_ms = now;
    }
}

static void handle_response(struct run *r)
{
    const uint8_t *body;
    size_t len;
    uint16_t status = ward_transport_response(&r->tp, &body, &len);
    int rc;

    if (status < 200 || status > 299) {
        return; /* reported with the backoff it causes (on_link) */
    }
    rc = ward_outbox_apply_ack(&r->outbox, &r->agent, (const char *)body, len);
    if (rc < 0) {
        fprintf(stderr,
                "ward-agent: the collector's acknowledgement is malformed (%s); events kept\n",
                strerror(-rc));
    }
}

static void step(struct run *r, int64_t now)
{
    enum ward_transport_event ev;
    int rc;

#if IS_ENABLED(CONFIG_WARD_HAL_SIM)
    ward_sim_set_time(&r->sim, (uint64_t)(now - r->start_ms));
#endif
    (void)ward_agent_poll(&r->agent, now);
    rc = ward_outbox_capture(&r->outbox, &r->agent);
    if (rc > 0) {
        r->events_new = true;
        r->health_due = true;
        if (r->sync_at_ms == INT64_MAX) {
            r->sync_at_ms = now + SYNC_DELAY_MS;
        }
    } else if (rc < 0) {
        fprintf(stderr, "ward-agent: cannot write the journal: %s\n", strerror(-rc));
    }
    maybe_send(r, now);
    ev = ward_transport_poll(&r->tp, (uint64_t)now);
    if (ev == WARD_TRANSPORT_RESPONSE) {
        handle_response(r);
    }
    if (ev != WARD_TRANSPORT_NONE) {
        maybe_send(r, now); /* a heartbeat may have waited for the request in flight */
        (void)ward_transport_poll(&r->tp, (uint64_t)now);
    }
    if (now >= r->sync_at_ms) {
        sync_journal(r);
    }
}

static int64_t next_wake(struct run *r, int64_t now, int64_t end_ms)
{
    int64_t next = ward_sched_next_due(&r->agent.sched);
    uint64_t td = ward_transport_deadline(&r->tp, (uint64_t)now);

    if (td != WARD_TRANSPORT_NO_DEADLINE && (int64_t)td < next) {
        next = (int64_t)td;
    }
    /* New events (and a snapshot's next page) go out after the batch gap, but only if the
     * transport can take them now: during a backoff its deadline (above) is the wake-up, and
     * a request in flight wakes us with its response. */
    if ((r->events_new || r->pages_left) && ward_transport_can_send(&r->tp, (uint64_t)now) &&
        r->last_send_ms + MIN_BATCH_GAP < next) {
        next = r->last_send_ms + MIN_BATCH_GAP;
    }
    next = r->sync_at_ms < next ? r->sync_at_ms : next;
    next = end_ms < next ? end_ms : next;
    return next;
}

static void wait_for_work(struct run *r, int64_t now, int64_t wake, const sigset_t *mask)
{
    struct pollfd pfd = { .fd = ward_net_posix_fd(&r->np) };
    unsigned wants = ward_transport_wants(&r->tp);
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
    (void)ppoll(&pfd, 1, &ts, mask);
}

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        s_stats = 1;
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
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, wait_mask);
    sigdelset(wait_mask, SIGTERM);
    sigdelset(wait_mask, SIGINT);
    sigdelset(wait_mask, SIGUSR1);
}

static void shutdown_cleanly(struct run *r)
{
    (void)ward_outbox_capture(&r->outbox, &r->agent);
    sync_journal(r);
    ward_transport_shutdown(&r->tp);
    print_stats(r);
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
    setup_signals(&wait_mask);
    r->start_ms = run_mono_ms();
    r->sync_at_ms = INT64_MAX;
    r->health_due = true;
    r->hb_due = true; /* the collector hears of this agent at once, not an interval later */
    r->last_send_ms = r->start_ms - MIN_BATCH_GAP;
    if (run_startup(&o, r, r->start_ms) != 0) {
        ward_store_posix_close(&r->store);
        return 1;
    }
    if (o.run_for_s > 0) {
        end_ms = r->start_ms + (int64_t)o.run_for_s * 1000;
    }
    while (!s_stop) {
        int64_t now = run_mono_ms();

        if (now >= end_ms) {
            break;
        }
        step(r, now);
        if (s_stats) {
            s_stats = 0;
            print_stats(r);
        }
        wait_for_work(r, run_mono_ms(), next_wake(r, run_mono_ms(), end_ms), &wait_mask);
    }
    shutdown_cleanly(r);
    return 0;
}

#else /* !CONFIG_WARD_TRANSPORT */

#include <stdio.h>

#include "commands.h"

int cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "ward-agent: this build has no transport (CONFIG_WARD_TRANSPORT=n)\n");
    return 1;
}

#endif
