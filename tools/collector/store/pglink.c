/* A PostgreSQL connection's state and its reconnect off the event loop (store/pglink.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/jw.h"
#include "common/log.h"
#include "store/pglink.h"

static struct wcol_pglink *s_links[WCOL_PGLINK_MAX];
/* Guards s_links, and the state of the links used from threads of their own (own_thread):
 * the event loop reads every link's state for /v1/health and /metrics. */
static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;

/* The connection's error as one line into l->last_error. */
static void set_error(struct wcol_pglink *l, const char *msg)
{
    size_t o = 0;

    for (const char *m = msg != NULL ? msg : ""; *m != '\0' && o + 1 < sizeof(l->last_error); m++) {
        if (*m == '\n' || *m == '\t' || *m == '\r') {
            if (o > 0 && l->last_error[o - 1] != ' ' && m[1] != '\0') {
                l->last_error[o++] = ' ';
            }
        } else {
            l->last_error[o++] = *m;
        }
    }
    while (o > 0 && l->last_error[o - 1] == ' ') {
        o--;
    }
    l->last_error[o] = '\0';
}

/* A numeric setting of c's conninfo (0 when not set). */
static long setting(PGconn *c, const char *key)
{
    PQconninfoOption *opts = PQconninfo(c);
    long v = 0;

    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (strcmp(o->keyword, key) == 0 && o->val != NULL) {
            v = strtol(o->val, NULL, 10);
        }
    }
    PQconninfoFree(opts);
    return v;
}

/*
 * How long an attempt may stay on one host, in ms: the conninfo's connect_timeout (libpq: 0 or
 * none waits forever; under 2 s means 2 s), but longer than tcp_user_timeout, so that a host
 * that drops the SYN is given up by the kernel first and libpq goes on to the next host of the
 * conninfo (libpq moves on after connect_timeout only when it connects blocking).
 */
static uint32_t attempt_timeout_ms(PGconn *c)
{
    long s = setting(c, "connect_timeout");
    long user_ms = setting(c, "tcp_user_timeout");

    if (s <= 0 || s > 3600) {
        s = 60; /* an attempt that never ends would keep the link from the next one */
    }
    uint32_t ms = (uint32_t)(s < 2 ? 2 : s) * 1000u;

    if (user_ms > 0 && user_ms < 3600000 && (uint32_t)user_ms + 1000u > ms) {
        ms = (uint32_t)user_ms + 1000u;
    }
    return ms;
}

/* The host and port the attempt under way is at: a change restarts its clock. */
static void host_key(PGconn *c, char *out, size_t cap)
{
    const char *h = PQhost(c);
    const char *p = PQport(c);

    snprintf(out, cap, "%s:%s", h != NULL ? h : "", p != NULL ? p : "");
}

/* Whether a registered link other than l is called who (s_mu held). */
static bool name_taken(const struct wcol_pglink *l, const char *who)
{
    for (unsigned i = 0; i < WCOL_PGLINK_MAX; i++) {
        if (s_links[i] != NULL && s_links[i] != l && strcmp(s_links[i]->who, who) == 0) {
            return true;
        }
    }
    return false;
}

int wcol_pglink_init(struct wcol_pglink *l, PGconn *c, const char *who)
{
    int rc = -ENOSPC;

    memset(l, 0, sizeof(*l));
    l->c = c;
    l->state = WCOL_PGLINK_CONNECTED;
    l->timeout_ms = attempt_timeout_ms(c);
    l->jitter = 0x9e3779b97f4a7c15u ^ (uint64_t)(uintptr_t)l;
    pthread_mutex_lock(&s_mu);
    /* A feature with two connections (a writer's and the API's): the second is "who-2", so
     * every name in /v1/health and every label set in /metrics is unique. */
    snprintf(l->who, sizeof(l->who), "%s", who);
    for (unsigned k = 2; k <= WCOL_PGLINK_MAX && name_taken(l, l->who); k++) {
        snprintf(l->who, sizeof(l->who), "%.20s-%u", who, k);
    }
    for (unsigned i = 0; i < WCOL_PGLINK_MAX; i++) {
        if (s_links[i] == NULL) {
            s_links[i] = l;
            l->registered = true;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&s_mu);
    return rc;
}

void wcol_pglink_fini(struct wcol_pglink *l)
{
    pthread_mutex_lock(&s_mu);
    for (unsigned i = 0; l->registered && i < WCOL_PGLINK_MAX; i++) {
        if (s_links[i] == l) {
            s_links[i] = NULL;
        }
    }
    l->registered = false;
    pthread_mutex_unlock(&s_mu);
}

void wcol_pglink_own_thread(struct wcol_pglink *l)
{
    pthread_mutex_lock(&s_mu);
    l->own_thread = true;
    pthread_mutex_unlock(&s_mu);
}

/* The next attempt after a failure: twice the last wait up to the bound, a random half off. */
static void back_off(struct wcol_pglink *l, uint64_t now)
{
    uint32_t b = l->backoff_ms == 0 ? WCOL_PGLINK_BACKOFF_MIN_MS : l->backoff_ms * 2;

    l->backoff_ms = b > WCOL_PGLINK_BACKOFF_MAX_MS ? WCOL_PGLINK_BACKOFF_MAX_MS : b;
    l->jitter ^= l->jitter << 13;
    l->jitter ^= l->jitter >> 7;
    l->jitter ^= l->jitter << 17;
    l->next_try = now + l->backoff_ms / 2 + l->jitter % (l->backoff_ms / 2 + 1);
    l->state = WCOL_PGLINK_DOWN;
}

static void attempt_failed(struct wcol_pglink *l, uint64_t now, const char *msg)
{
    char before[sizeof(l->last_error)];

    memcpy(before, l->last_error, sizeof(before));
    set_error(l, msg);
    l->attempts_failed++;
    back_off(l, now);
    /* One line when the reason changes, not one per attempt while the server stays away. */
    if (l->attempts == 1 || strcmp(before, l->last_error) != 0) {
        wcol_log_error("%s: cannot reconnect to PostgreSQL (attempt %llu, retrying every %u s "
                       "at most, in the background): %s",
                       l->who, (unsigned long long)l->attempts, WCOL_PGLINK_BACKOFF_MAX_MS / 1000u,
                       l->last_error);
    }
}

static void lost(struct wcol_pglink *l, uint64_t now, const char *why)
{
    set_error(l, why);
    wcol_log_error("%s: lost the connection to PostgreSQL database %s on %s (%s); reconnecting "
                   "in the background, requests that need it fail meanwhile",
                   l->who, PQdb(l->c), PQhost(l->c), l->last_error);
    l->state = WCOL_PGLINK_DOWN;
    l->down_since = now > 0 ? now : 1;
    l->next_try = now; /* the first attempt at once */
    l->backoff_ms = 0;
    l->attempts = 0;
    l->losses++;
}

void wcol_pglink_drop(struct wcol_pglink *l, uint64_t now, const char *why)
{
    pthread_mutex_lock(&s_mu);
    if (l->state == WCOL_PGLINK_CONNECTED) {
        lost(l, now, why);
    }
    pthread_mutex_unlock(&s_mu);
}

static void connected(struct wcol_pglink *l, uint64_t now)
{
    wcol_log_info("%s: reconnected to PostgreSQL database %s on %s after %llu ms (%llu "
                  "attempts)",
                  l->who, PQdb(l->c), PQhost(l->c), (unsigned long long)(now - l->down_since),
                  (unsigned long long)l->attempts);
    l->state = WCOL_PGLINK_CONNECTED;
    l->down_since = 0;
    l->backoff_ms = 0;
    l->reconnects++;
    l->fresh = true;
}

/* Whether the connection's socket is ready for what libpq waits on, within ms. */
static bool socket_ready(struct wcol_pglink *l, int ms)
{
    struct pollfd p = { .fd = PQsocket(l->c),
                        .events = l->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT };

    return p.fd >= 0 && poll(&p, 1, ms) > 0;
}

/* Abandon an attempt that has stayed on one host longer than its limit (its clock restarts
 * when libpq goes on to the next host of the conninfo). */
static void over_time(struct wcol_pglink *l, uint64_t now)
{
    char at[sizeof(l->host_at)];

    host_key(l->c, at, sizeof(at));
    if (strcmp(at, l->host_at) != 0) {
        memcpy(l->host_at, at, sizeof(at));
        l->attempt_start = now;
    } else if (now - l->attempt_start >= l->timeout_ms) {
        char msg[sizeof(at) + 96];

        snprintf(msg, sizeof(msg),
                 "no answer from %s within %u s (connect_timeout, "
                 "tcp_user_timeout)",
                 at, l->timeout_ms / 1000u);
        attempt_failed(l, now, msg);
    }
}

/*
 * Start an attempt when one is due, or take the one under way as far as its socket allows.
 * An attempt a caller starts may wait up to wait_ms in all: a server that answers (restarted
 * a while ago) is connected again for that caller, one that does not costs it no more.
 */
static void step(struct wcol_pglink *l, uint64_t now, unsigned wait_ms)
{
    uint64_t until = now;

    if (l->state == WCOL_PGLINK_DOWN) {
        if (now < l->next_try) {
            return;
        }
        l->attempts++;
        l->attempt_start = now;
        if (PQresetStart(l->c) != 1) {
            attempt_failed(l, now, PQerrorMessage(l->c));
            return;
        }
        l->state = WCOL_PGLINK_CONNECTING;
        l->polling = PGRES_POLLING_WRITING; /* as libpq says to begin */
        host_key(l->c, l->host_at, sizeof(l->host_at));
        until = now + wait_ms;
    }
    for (int i = 0; i < 32 && l->state == WCOL_PGLINK_CONNECTING; i++) {
        uint64_t t = wcol_now_mono();
        int left = until > t ? (int)(until - t) : 0;

        if (l->polling == PGRES_POLLING_OK) {
            connected(l, now);
        } else if (l->polling == PGRES_POLLING_FAILED) {
            attempt_failed(l, now, PQerrorMessage(l->c));
        } else if (l->polling == PGRES_POLLING_ACTIVE || socket_ready(l, left)) {
            l->polling = PQresetPoll(l->c);
        } else {
            break;
        }
    }
    if (l->state == WCOL_PGLINK_CONNECTING) {
        over_time(l, now);
    }
}

/*
 * The kernel gave l's connection up (ETIMEDOUT: its keepalives or tcp_user_timeout), so its
 * host has not answered for seconds: take the loop's other connections to that host down too,
 * before each of them holds the loop another tcp_user_timeout on a query of its own. One that
 * was in fact fine costs a reconnect in the background. Links of threads of their own wait in
 * their own thread and find out themselves. The main loop, s_mu not held.
 */
static void host_gone(struct wcol_pglink *l, uint64_t now)
{
    char at[sizeof(l->host_at)];
    char other[sizeof(at)];
    char why[sizeof(l->who) + 64];

    if (l->own_thread || strstr(l->last_error, strerror(ETIMEDOUT)) == NULL) {
        return;
    }
    host_key(l->c, at, sizeof(at));
    snprintf(why, sizeof(why), "the %s connection to the same server timed out", l->who);
    pthread_mutex_lock(&s_mu);
    for (unsigned i = 0; i < WCOL_PGLINK_MAX; i++) {
        struct wcol_pglink *o = s_links[i];

        if (o == NULL || o == l || o->own_thread || o->state != WCOL_PGLINK_CONNECTED) {
            continue;
        }
        host_key(o->c, other, sizeof(other));
        if (strcmp(at, other) == 0) {
            lost(o, now, why);
        }
    }
    pthread_mutex_unlock(&s_mu);
}

/* A connection libpq says is broken is lost (the caller holds s_mu for an own-thread link). */
static void notice_broken(struct wcol_pglink *l, uint64_t now)
{
    if (l->state == WCOL_PGLINK_CONNECTED && PQstatus(l->c) != CONNECTION_OK) {
        lost(l, now, PQerrorMessage(l->c));
        if (!l->own_thread) {
            host_gone(l, now);
        }
    }
}

void wcol_pglink_query_failed(struct wcol_pglink *l, uint64_t now)
{
    if (l->own_thread) {
        pthread_mutex_lock(&s_mu);
        notice_broken(l, now);
        pthread_mutex_unlock(&s_mu);
    } else {
        notice_broken(l, now);
    }
}

void wcol_pglink_statements(struct wcol_pglink *l, unsigned n, unsigned unprepared)
{
    pthread_mutex_lock(&s_mu); /* wcol_pglink_list() copies the link under it */
    l->prepared = n;
    l->unprepared_runs += unprepared;
    pthread_mutex_unlock(&s_mu);
}

static int ready(struct wcol_pglink *l, uint64_t now, unsigned wait_ms)
{
    notice_broken(l, now);
    if (l->state != WCOL_PGLINK_CONNECTED) {
        step(l, now, wait_ms);
    }
    if (l->state != WCOL_PGLINK_CONNECTED) {
        return -EAGAIN;
    }
    if (l->fresh) {
        l->fresh = false;
        return 1;
    }
    return 0;
}

int wcol_pglink_ready(struct wcol_pglink *l, uint64_t now)
{
    int rc;

    if (!l->own_thread) {
        return ready(l, now, WCOL_PGLINK_WAIT_MS);
    }
    /* A thread of its own (the history writer, the inventory's): its state changes under s_mu
     * for the loop's readers, and its wait for an attempt it started happens outside it. */
    pthread_mutex_lock(&s_mu);
    rc = ready(l, now, 0);
    pthread_mutex_unlock(&s_mu);
    if (rc == -EAGAIN && l->state == WCOL_PGLINK_CONNECTING && l->attempts > 0 &&
        l->attempt_start == now && socket_ready(l, (int)WCOL_PGLINK_WAIT_MS)) {
        uint64_t t = wcol_now_mono();

        pthread_mutex_lock(&s_mu);
        rc = ready(l, t, 0);
        pthread_mutex_unlock(&s_mu);
    }
    return rc;
}

void wcol_pglink_tick_all(uint64_t now)
{
    for (unsigned i = 0; i < WCOL_PGLINK_MAX; i++) {
        struct wcol_pglink *l = s_links[i];

        /* a link of another thread is driven by that thread's own calls */
        if (l != NULL && !l->own_thread && l->state != WCOL_PGLINK_CONNECTED) {
            step(l, now, 0);
        }
    }
}

int wcol_pglink_due_in(uint64_t now)
{
    uint64_t due = UINT64_MAX;

    for (unsigned i = 0; i < WCOL_PGLINK_MAX; i++) {
        const struct wcol_pglink *l = s_links[i];

        if (l == NULL || l->own_thread || l->state == WCOL_PGLINK_CONNECTED) {
            continue;
        }
        uint64_t at = l->state == WCOL_PGLINK_DOWN ? l->next_try : now + WCOL_PGLINK_STEP_MS;

        due = at < due ? at : due;
    }
    if (due == UINT64_MAX) {
        return -1;
    }
    return due <= now ? 0 : (int)(due - now);
}

const char *wcol_pglink_state_name(enum wcol_pglink_state s)
{
    switch (s) {
    case WCOL_PGLINK_CONNECTED:
        return "connected";
    case WCOL_PGLINK_CONNECTING:
        return "connecting";
    default:
        return "down";
    }
}

const struct wcol_pglink *wcol_pglink_find(const char *who)
{
    const struct wcol_pglink *l = NULL;

    pthread_mutex_lock(&s_mu);
    for (unsigned i = 0; l == NULL && i < WCOL_PGLINK_MAX; i++) {
        if (s_links[i] != NULL && strcmp(s_links[i]->who, who) == 0) {
            l = s_links[i];
        }
    }
    pthread_mutex_unlock(&s_mu);
    return l;
}

unsigned wcol_pglink_list(struct wcol_pglink *out, unsigned cap)
{
    unsigned n = 0;

    pthread_mutex_lock(&s_mu);
    for (unsigned i = 0; i < WCOL_PGLINK_MAX && n < cap; i++) {
        if (s_links[i] != NULL) {
            out[n++] = *s_links[i];
        }
    }
    pthread_mutex_unlock(&s_mu);
    return n;
}

void wcol_pglink_fields(const struct wcol_pglink *l, struct wcol_jw *w, uint64_t now)
{
    wcol_jw_kstr(w, "state", wcol_pglink_state_name(l->state));
    wcol_jw_kuint(w, "down_for_s", l->down_since != 0 ? (now - l->down_since) / 1000u : 0);
    wcol_jw_kuint(w, "reconnects", l->reconnects);
    wcol_jw_kuint(w, "connections_lost", l->losses);
    wcol_jw_kuint(w, "attempts", l->attempts);
    wcol_jw_kuint(w, "attempts_failed", l->attempts_failed);
    wcol_jw_kstr(w, "last_error", l->last_error);
    wcol_jw_kuint(w, "statements_prepared", l->prepared);
    wcol_jw_kuint(w, "statements_unprepared", l->unprepared_runs);
}

void wcol_pglink_health(struct wcol_jw *w, uint64_t now)
{
    struct wcol_pglink list[WCOL_PGLINK_MAX];
    unsigned n = wcol_pglink_list(list, WCOL_PGLINK_MAX);

    if (n == 0) {
        return;
    }
    wcol_jw_key(w, "postgresql");
    wcol_jw_obj_begin(w);
    for (unsigned i = 0; i < n; i++) {
        wcol_jw_key(w, list[i].who);
        wcol_jw_obj_begin(w);
        wcol_pglink_fields(&list[i], w, now);
        wcol_jw_obj_end(w);
    }
    wcol_jw_obj_end(w);
}
