/*
 * ward-agent run: its stderr lines (run_log.h).
 */
#include "ward/base/config.h"

#if IS_ENABLED(CONFIG_WARD_TRANSPORT)

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "clock.h"
#include "run_config.h"
#include "run_log.h"
#include "run_stderr.h"

static enum run_log_level s_level = RUN_LOG_INFO;

void run_log_set_level(enum run_log_level level)
{
    s_level = level;
}

void run_log_banner_level(void)
{
    run_stderr_default(RUN_LOG_INFO);
}

/* log_repeat_printf() at a level (the prefix run_stderr.h writes). */
#define LOG_AT(level, ...)                                                                         \
    do {                                                                                           \
        run_stderr_mark(level);                                                                    \
        log_repeat_printf(__VA_ARGS__);                                                            \
        run_stderr_unmark();                                                                       \
    } while (0)

/*
 * The connection attempt's resolution failed (-EHOSTUNREACH as the link went from down to
 * connecting: net.h's "name not resolved"); the backoff that follows says it in words.
 */
static bool s_unresolved;

/*
 * The collector refused this device during or right after the handshake: a fatal alert, or,
 * in TLS 1.3, a record that does not decrypt (mbedTLS's server sends its alert under the
 * handshake keys once the client has switched). The alert's name when it could be read;
 * otherwise what the device can tell about its own certificate (expiry, signer). NULL when
 * the failure was something else.
 */
static const char *refusal_words(const struct run *r)
{
    uint32_t flags = 0;

    if (r->tls.last_error == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
        switch (r->tls.last_alert) {
        case MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED:
            return "the collector says this device's certificate is revoked";
        case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED:
            return "the collector says this device's certificate has expired";
        case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
            return "the collector does not know the CA of this device's certificate";
        case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
        case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
            return "no TLS version or cipher suite in common with the collector";
        default:
            break;
        }
    } else if (r->tls.last_error != MBEDTLS_ERR_SSL_INVALID_MAC) {
        return NULL;
    }
    if (mbedtls_x509_time_is_past(&r->tls.cert.valid_to)) {
        return "the collector refused this device's certificate: it has expired";
    }
    if (mbedtls_x509_time_is_future(&r->tls.cert.valid_from)) {
        return "the collector refused this device's certificate: it is not valid yet";
    }
    if (mbedtls_x509_crt_verify((mbedtls_x509_crt *)&r->tls.cert, (mbedtls_x509_crt *)&r->tls.ca,
                                NULL, NULL, &flags, NULL, NULL) != 0 &&
        (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) != 0) {
        return "the collector does not know the CA of this device's certificate (it is not "
               "signed by the CA in --ca)";
    }
    return "the collector refused this device's certificate (revoked? its log says why)";
}

/* Why the link went to backoff, as ": reason" (empty when there is nothing to add). */
static void backoff_reason(const struct run *r, enum ward_link from, int err, char *why, size_t len)
{
    if (s_unresolved && err == -EHOSTUNREACH) {
        snprintf(why, len, ": cannot resolve %.150s", r->host);
    } else if ((from == WARD_LINK_HANDSHAKING || from == WARD_LINK_UP) &&
               refusal_words(r) != NULL) {
        snprintf(why, len, ": %s", refusal_words(r));
    } else if (err == -EACCES) {
        char info[160];

        mbedtls_x509_crt_verify_info(info, sizeof(info), "", r->tls.verify_flags);
        info[strcspn(info, "\n")] = '\0';
        snprintf(why, len, ": collector certificate rejected (%s)", info);
    } else if (err == -EPROTO && r->tls.last_error != 0 && from == WARD_LINK_HANDSHAKING) {
        char e[32];

        snprintf(why, len, ": TLS handshake failed (%s)", ward_tls_strerror(&r->tls, e, sizeof(e)));
    } else if (from == WARD_LINK_UP && r->tp.resp.phase == WARD_HTTP_DONE &&
               (r->tp.resp.status < 200 || r->tp.resp.status > 299)) {
        snprintf(why, len, ": collector answered HTTP %u, events kept", r->tp.resp.status);
    } else if (err != 0) {
        snprintf(why, len, ": %s", strerror(-err));
    }
}

void run_log_link(void *user, enum ward_link from, enum ward_link to, int err)
{
    struct run *r = user;
    int64_t now = app_mono_ms();
    char why[200] = "";

    if (s_level < (to == WARD_LINK_BACKOFF ? RUN_LOG_WARN : RUN_LOG_INFO)) {
        return;
    }
    if (from == WARD_LINK_DOWN && to == WARD_LINK_CONNECTING) {
        s_unresolved = err == -EHOSTUNREACH;
    }
    if (to == WARD_LINK_BACKOFF) {
        int64_t wait = (int64_t)r->tp.deadline - now;

        backoff_reason(r, from, err, why, sizeof(why));
        LOG_AT(RUN_LOG_WARN, &r->log, now,
               "ward-agent: collector %s:%u: %s -> backoff%s; retry in %.1f s", r->host, r->port,
               ward_link_name(from), why, wait > 0 ? (double)wait / 1000.0 : 0.0);
        return;
    }
    if (to == WARD_LINK_UP) {
        snprintf(why, sizeof(why), " (%s handshake, %s)", r->tls.resumed ? "resumed" : "full",
                 mbedtls_ssl_get_ciphersuite(&r->tls.ssl));
    } else if (err != 0) {
        snprintf(why, sizeof(why), ": %s",
                 s_unresolved ? "cannot resolve the name" : strerror(-err));
    }
    LOG_AT(RUN_LOG_INFO, &r->log, now, "ward-agent: collector %s:%u: %s -> %s%s", r->host, r->port,
           ward_link_name(from), ward_link_name(to), why);
}

void run_log_fault(void *user, enum ward_uplink_fault fault, int err)
{
    struct run *r = user;
    int64_t now = app_mono_ms();

    if (s_level < RUN_LOG_WARN) {
        return;
    }
    switch (fault) {
    case WARD_UPLINK_BUILD_FAILED:
        LOG_AT(RUN_LOG_WARN, &r->log, now, "ward-agent: cannot build the report batch: %s",
               strerror(-err));
        break;
    case WARD_UPLINK_CAPTURE_FAILED:
        LOG_AT(RUN_LOG_WARN, &r->log, now, "ward-agent: cannot write the journal: %s",
               strerror(-err));
        break;
    case WARD_UPLINK_SYNC_FAILED:
        LOG_AT(RUN_LOG_WARN, &r->log, now,
               "ward-agent: journal sync failed: events since the last sync may not "
               "survive a power loss");
        break;
    case WARD_UPLINK_BAD_ACK:
        LOG_AT(RUN_LOG_WARN, &r->log, now,
               "ward-agent: the collector's acknowledgement is malformed (%s); events kept",
               strerror(-err));
        break;
    }
}

void run_log_tick(struct run *r, int64_t now)
{
    log_repeat_tick(&r->log, now);
}

void run_log_journal_recovery(const struct opts *o, const struct run *r, int restored)
{
    const struct ward_journal_stats *js = &r->journal.stats;

    run_stderr_mark(RUN_LOG_WARN);
    if (js->torn_bytes != 0 || js->corrupt_bytes != 0) {
        fprintf(stderr,
                "ward-agent: journal %s/journal: cut %" PRIu64
                " torn bytes at the end, skipped %" PRIu64 " damaged bytes\n",
                o->state_dir, js->torn_bytes, js->corrupt_bytes);
    }
    if (restored > 0 || r->outbox.stats.restore_deferred > 0) {
        fprintf(
            stderr, "ward-agent: journal: %d unacknowledged events restored from earlier runs%s\n",
            restored,
            r->outbox.stats.restore_deferred > 0 ? " (some kept for later: the event log is full)"
                                                 : "");
    }
    run_stderr_unmark();
}

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

void run_log_stats(struct run *r, int64_t now)
{
    long rss = resident_pages();

    log_repeat_flush(&r->log, now);
    run_stderr_mark(RUN_LOG_INFO);
    fprintf(stderr,
            "ward-agent: stats {\"uptime_ms\":%" PRId64 ",\"heartbeats\":%" PRIu32
            ",\"requests\":%" PRIu32 ",\"responses\":%" PRIu32 ",\"failures\":%" PRIu32
            ",\"connects\":%" PRIu32 ",\"full_handshakes\":%" PRIu32
            ",\"resumed_handshakes\":%" PRIu32 ",\"tx_bytes\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
            ",\"tls_pool_peak\":%zu,\"tls_pool_in_use\":%zu,\"pending_events\":%u"
            ",\"journal_events\":%" PRIu32 ",\"journal_dropped\":%" PRIu32
            ",\"journal_syncs\":%" PRIu32 ",\"rss_kib\":%ld}\n",
            now - r->start_ms, r->up.stats.batches, r->tp.stats.requests, r->tp.stats.responses,
            r->tp.stats.failures, r->tp.stats.connects, r->tp.stats.full_handshakes,
            r->tp.stats.resumed_handshakes, r->net.stats.tx_bytes, r->net.stats.rx_bytes,
            r->pool.stats.peak, r->pool.stats.used, ward_evlog_pending(&r->agent.log),
            ward_journal_count(&r->journal), ward_journal_dropped(&r->journal),
            r->journal.stats.syncs, rss * (sysconf(_SC_PAGESIZE) / 1024));
    run_stderr_unmark();
}

#endif /* CONFIG_WARD_TRANSPORT */
