#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "commit/bus.h"
#include "common/clock.h"
#include "common/jw.h"
#include "common/log.h"
#include "dash/session.h"
#include "dash/stream.h"
#include "export/prom.h"
#include "incidents/incidents.h"
#include "server/collector.h"
#include "server/conn.h"

#define ID_MAX 64 /* a device id longer than this is not named: the event says "all" */

struct stream {
    struct wcol_conn *conn; /* NULL: a free slot */
    struct wcol_streams *owner;
    bool by_session;
    char who[WCOL_STREAM_WHO_MAX + 1];
    char sid[WCOL_STREAM_SESSION_HEX + 1];
    char cred[WCOL_STREAM_CRED_MAX + 1]; /* "Bearer X" of a stream opened with the header */
    uint64_t next_keepalive, next_check;
};

struct stream_stats {
    uint64_t opened, refused_total, refused_principal, slow, ended_session, ended_credential,
        changes, resumed, refreshed;
};

struct wcol_streams {
    struct wcol_collector *c;
    struct stream *st;
    unsigned cap, open;
    /* What changed since the last tick. */
    char ids[WCOL_STREAM_IDS_MAX][ID_MAX + 1];
    unsigned n_ids;
    bool all, dirty;
    uint64_t states, events, incidents_seen;
    /* Change events sent, for Last-Event-ID: "BOOT.SEQ", BOOT this run's start (hex ms). */
    uint64_t boot, seq;
    struct {
        uint64_t seq;
        char *text; /* the whole "id: ...\nevent: ...\ndata: ...\n\n" */
        size_t len;
    } ring[WCOL_STREAM_RING];
    struct stream_stats stats;
};

/* ---- what changed (after-commit subscriber) ---- */

static void note_device(struct wcol_streams *s, const char *id)
{
    s->dirty = true;
    if (s->all) {
        return;
    }
    for (unsigned i = 0; i < s->n_ids; i++) {
        if (strcmp(s->ids[i], id) == 0) {
            return;
        }
    }
    if (s->n_ids == WCOL_STREAM_IDS_MAX || strlen(id) > ID_MAX) {
        s->all = true;
        return;
    }
    snprintf(s->ids[s->n_ids++], ID_MAX + 1, "%s", id);
}

static void on_commit(void *ctx, const struct wcol_msg *m)
{
    struct wcol_streams *s = ctx;

    /* Noted with nobody listening too: a page reconnecting gets what it missed. */
    switch (m->topic) {
    case WCOL_TOPIC_DEVICE_STATE:
        note_device(s, m->u.state.device);
        s->states++;
        break;
    case WCOL_TOPIC_REPORT_RECEIVED:
        note_device(s, m->u.report.report->device);
        break;
    case WCOL_TOPIC_EVENT_STORED:
        note_device(s, m->u.event->device);
        s->events++;
        break;
    default:
        break;
    }
}

/* ---- streams ---- */

static void drop_slot(struct stream *x)
{
    explicit_bzero(x->cred, sizeof(x->cred));
    explicit_bzero(x->sid, sizeof(x->sid));
    x->conn = NULL;
    x->owner->open--;
}

/* The connection closed (peer gone, --write-timeout, shutdown, or us): free its slot. A write
 * timeout is counted with the collector's other timeouts. */
static void on_conn_close(struct wcol_conn *conn, void *ctx)
{
    struct stream *x = ctx;

    if (x->conn != conn) {
        return;
    }
    drop_slot(x);
}

static void end_stream(struct stream *x, uint64_t *counter, const char *why)
{
    struct wcol_conn *conn = x->conn;

    (*counter)++;
    wcol_log_info("%s: event stream of %s closed: %s", wcol_conn_addr(conn), x->who, why);
    drop_slot(x); /* first: on_conn_close then finds the slot free */
    wcol_conn_stream_end(conn);
}

static void send_to(struct stream *x, const char *text, size_t len)
{
    struct wcol_streams *s = x->owner;

    if (wcol_conn_stream_send(x->conn, text, len, s->c->cfg.stream.buffer) == -ENOBUFS) {
        end_stream(x, &s->stats.slow, "its reader is too slow (--stream-buffer full)");
    }
}

static void error_answer(struct wcol_conn *conn, int status, const char *why, const char *extra)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", why);

    wcol_conn_respond(conn, status, body, (size_t)n, extra, true);
}

static unsigned count_of(const struct wcol_streams *s, const char *who)
{
    unsigned n = 0;

    for (unsigned i = 0; i < s->cap; i++) {
        n += s->st[i].conn != NULL && strcmp(s->st[i].who, who) == 0;
    }
    return n;
}

/* Parse "BOOT.SEQ" (hex, decimal) of this run. @return the sequence, 0 when not ours. */
static uint64_t last_seq(const struct wcol_streams *s, const char *v, size_t len)
{
    char buf[48], *end;

    if (v == NULL || len == 0 || len >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    unsigned long long boot = strtoull(buf, &end, 16);

    if (*end != '.' || boot != s->boot) {
        return 0;
    }
    unsigned long long seq = strtoull(end + 1, &end, 10);

    return *end == '\0' && seq <= s->seq ? seq : 0;
}

/* A reconnecting stream gets what it missed when the ring still has all of it, else one
 * "refresh" (the page loads everything again). A new stream (no Last-Event-ID) needs neither:
 * the page has just loaded. */
static void catch_up(struct stream *x, bool resumed, uint64_t from)
{
    struct wcol_streams *s = x->owner;
    char text[96];

    if (!resumed) {
        return;
    }
    if (from != 0 && s->seq - from < WCOL_STREAM_RING) {
        s->stats.resumed++;
        for (uint64_t q = from + 1; q <= s->seq && x->conn != NULL; q++) {
            unsigned i = (unsigned)(q % WCOL_STREAM_RING);

            send_to(x, s->ring[i].text, s->ring[i].len);
        }
        return;
    }
    s->stats.refreshed++;
    int n = snprintf(text, sizeof(text),
                     "id: %" PRIx64 ".%" PRIu64 "\nevent: refresh\ndata: {}\n\n", s->boot, s->seq);

    send_to(x, text, (size_t)n);
}

/* The credential the stream re-checks: the session (by id) or the Authorization header. */
static bool take_credential(struct wcol_streams *s, struct wcol_conn *conn, struct stream *x)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);

    if (r->authorization != NULL) {
        if (r->authorization_len > WCOL_STREAM_CRED_MAX) {
            return false;
        }
        memcpy(x->cred, r->authorization, r->authorization_len);
        x->cred[r->authorization_len] = '\0';
        x->by_session = false;
        return true;
    }
    const struct wcol_session *ses =
        wcol_session_check(&s->c->sessions, r->cookie, r->cookie_len, wcol_now_mono());

    if (ses == NULL) {
        return false;
    }
    snprintf(x->sid, sizeof(x->sid), "%s", ses->id);
    x->by_session = true;
    return true;
}

static struct stream *free_slot(struct wcol_streams *s)
{
    for (unsigned i = 0; i < s->cap; i++) {
        if (s->st[i].conn == NULL) {
            return &s->st[i];
        }
    }
    return NULL;
}

static void open_stream(struct wcol_streams *s, struct wcol_conn *conn,
                        const struct wcol_principal *p)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    struct stream *x = s->open < s->c->cfg.stream.max ? free_slot(s) : NULL;
    char head[512];

    if (x == NULL) {
        s->stats.refused_total++;
        error_answer(conn, 503, "too many event streams open (--max-streams); poll instead",
                     "Retry-After: 10\r\n");
        return;
    }
    if (count_of(s, p->name) >= s->c->cfg.stream.per_principal) {
        s->stats.refused_principal++;
        error_answer(conn, 429, "too many event streams of yours (--max-streams-per-user)",
                     "Retry-After: 10\r\n");
        return;
    }
    memset(x, 0, sizeof(*x));
    x->owner = s;
    if (!take_credential(s, conn, x)) {
        error_answer(conn, 401, "no session or credential to keep the stream open with", NULL);
        return;
    }
    snprintf(x->who, sizeof(x->who), "%s", p->name);
    uint64_t now = wcol_now_mono();

    x->next_keepalive = now + s->c->cfg.stream.keepalive_ms;
    x->next_check = now + WCOL_STREAM_RECHECK_MS;
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                     "X-Accel-Buffering: no\r\n\r\n"
                     ": ward event stream of %s\nretry: %u\n\n",
                     x->who, WCOL_STREAM_RETRY_MS);

    /* Read before the stream begins: the request's bytes are released then. */
    bool resumed = r->last_event_id != NULL;
    uint64_t from = last_seq(s, r->last_event_id, r->last_event_id_len);

    x->conn = conn;
    s->open++;
    s->stats.opened++;
    if (wcol_conn_stream_begin(conn, head, (size_t)n, on_conn_close, x) != 0) {
        return; /* closed: on_conn_close freed the slot */
    }
    wcol_log_info("%s: event stream of %s opened (%u open)", wcol_conn_addr(conn), x->who, s->open);
    catch_up(x, resumed, from);
}

bool wcol_stream_request(struct wcol_conn *conn, const struct wcol_principal *p)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    static const char path[] = "/v1/stream";
    size_t n = sizeof(path) - 1;
    struct wcol_streams *s = wcol_conn_collector(conn)->streams;

    if (r->target_len < n || memcmp(r->target, path, n) != 0 ||
        (r->target_len > n && r->target[n] != '?')) {
        return false;
    }
    if (r->method != WCOL_HTTP_GET) {
        wcol_conn_wrong_method(conn, "GET");
    } else if (s == NULL) {
        error_answer(conn, 503, "event streams are off", NULL);
    } else {
        open_stream(s, conn, p);
    }
    return true;
}

/* ---- the tick ---- */

/* The change event of what the bus said since the last tick, into the ring. */
static const char *make_change(struct wcol_streams *s, size_t *len, bool incidents)
{
    struct wcol_jw w;
    char head[96];
    size_t blen;

    wcol_jw_init(&w, 8192);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "devices");
    wcol_jw_arr_begin(&w);
    for (unsigned i = 0; i < s->n_ids && !s->all; i++) {
        wcol_jw_str(&w, s->ids[i]);
    }
    wcol_jw_arr_end(&w);
    wcol_jw_key(&w, "all");
    wcol_jw_bool(&w, s->all);
    wcol_jw_kuint(&w, "states", s->states);
    wcol_jw_kuint(&w, "events", s->events);
    wcol_jw_key(&w, "incidents");
    wcol_jw_bool(&w, incidents);
    wcol_jw_obj_end(&w);
    if (w.failed) {
        wcol_jw_free(&w);
        return NULL;
    }
    char *body = wcol_jw_take(&w, &blen);
    int hn = snprintf(head, sizeof(head),
                      "id: %" PRIx64 ".%" PRIu64 "\nevent: change\ndata: ", s->boot, s->seq + 1);
    char *text = malloc((size_t)hn + blen + 3);

    if (text == NULL) {
        free(body);
        return NULL;
    }
    memcpy(text, head, (size_t)hn);
    memcpy(text + hn, body, blen);
    memcpy(text + hn + blen, "\n\n", 3);
    free(body);
    s->seq++;
    unsigned i = (unsigned)(s->seq % WCOL_STREAM_RING);

    free(s->ring[i].text);
    s->ring[i].seq = s->seq;
    s->ring[i].text = text;
    s->ring[i].len = (size_t)hn + blen + 2;
    *len = s->ring[i].len;
    return text;
}

/* Does the stream's credential still authorize? Its session must be live (not logged out,
 * not expired: looked up without refreshing it), and the credential valid. */
static const char *still_valid(struct wcol_streams *s, struct stream *x)
{
    struct wcol_collector *c = s->c;
    const char *cred = x->cred;
    struct wcol_principal p;
    const char *why = NULL;

    if (x->by_session) {
        const struct wcol_session *ses = wcol_session_find(&c->sessions, x->sid, wcol_now_mono());

        if (ses == NULL) {
            return "its dashboard session ended";
        }
        cred = ses->bearer;
    }
    int rc = wcol_auth_bearer(c->auth, &c->tokens, cred, strlen(cred), wcol_conn_addr(x->conn),
                              wcol_now_wall_ms(), &p, &why);

    if (rc != 0 && rc != -EAGAIN) { /* -EAGAIN: the database away, checked again later */
        return "its credential no longer authorizes";
    }
    return NULL;
}

void wcol_streams_tick(struct wcol_streams *s, uint64_t now_ms)
{
    const char *text = NULL;
    size_t len = 0;

    if (s == NULL) {
        return;
    }
    uint64_t inc = wcol_incidents_changes();
    bool incidents = inc != s->incidents_seen;

    s->incidents_seen = inc;
    if ((s->dirty || incidents) && (text = make_change(s, &len, incidents)) != NULL) {
        s->stats.changes++;
    }
    s->n_ids = 0;
    s->all = s->dirty = false;
    s->states = s->events = 0;
    for (unsigned i = 0; i < s->cap; i++) {
        struct stream *x = &s->st[i];
        const char *why;

        if (x->conn != NULL && now_ms >= x->next_check) {
            x->next_check = now_ms + WCOL_STREAM_RECHECK_MS;
            if ((why = still_valid(s, x)) != NULL) {
                end_stream(x, &s->stats.ended_credential, why);
                continue;
            }
        }
        if (x->conn != NULL && text != NULL) {
            send_to(x, text, len);
            x->next_keepalive = now_ms + s->c->cfg.stream.keepalive_ms;
        }
        if (x->conn != NULL && now_ms >= x->next_keepalive) {
            x->next_keepalive = now_ms + s->c->cfg.stream.keepalive_ms;
            send_to(x, ": keep-alive\n\n", 14);
        }
    }
}

void wcol_streams_session_ended(struct wcol_streams *s, const char *session_id)
{
    if (s == NULL) {
        return;
    }
    for (unsigned i = 0; i < s->cap; i++) {
        struct stream *x = &s->st[i];

        if (x->conn != NULL && x->by_session && strcmp(x->sid, session_id) == 0) {
            end_stream(x, &s->stats.ended_session, "logged out");
        }
    }
}

/* ---- open, close, numbers ---- */

int wcol_streams_open(struct wcol_streams **out, struct wcol_collector *c)
{
    struct wcol_streams *s = calloc(1, sizeof(*s));
    int rc;

    *out = NULL;
    if (s == NULL || (s->st = calloc(c->cfg.stream.max, sizeof(*s->st))) == NULL) {
        free(s);
        return -ENOMEM;
    }
    s->c = c;
    s->cap = c->cfg.stream.max;
    s->boot = (uint64_t)wcol_now_wall_ms();
    s->incidents_seen = wcol_incidents_changes();
    for (int t = 0; t < WCOL_TOPIC_COUNT; t++) {
        if ((rc = wcol_bus_subscribe(&c->bus, (enum wcol_topic)t, on_commit, s)) != 0) {
            wcol_streams_close(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

void wcol_streams_close(struct wcol_streams *s)
{
    if (s == NULL) {
        return;
    }
    for (unsigned i = 0; i < WCOL_STREAM_RING; i++) {
        free(s->ring[i].text);
    }
    free(s->st);
    free(s);
}

void wcol_streams_health(struct wcol_streams *s, struct wcol_jw *w)
{
    struct stream_stats z = { 0 };
    const struct stream_stats *st = s != NULL ? &s->stats : &z;

    wcol_jw_key(w, "streams");
    wcol_jw_obj_begin(w);
    wcol_jw_kuint(w, "open", s != NULL ? s->open : 0);
    wcol_jw_kuint(w, "opened", st->opened);
    wcol_jw_kuint(w, "refused", st->refused_total + st->refused_principal);
    wcol_jw_kuint(w, "slow_closed", st->slow);
    wcol_jw_kuint(w, "changes", st->changes);
    wcol_jw_obj_end(w);
}

/* One counter family with one label, a sample per value. */
static void counter_by(struct wcol_prom *w, const char *name, const char *help, const char *label,
                       const char *const *values, const uint64_t *counts, size_t n)
{
    wcol_prom_family(w, name, "counter", help);
    for (size_t i = 0; i < n; i++) {
        struct wcol_prom_label l = { label, values[i] };

        wcol_prom_sample_u64(w, name, &l, 1, counts[i]);
    }
}

void wcol_streams_metrics(struct wcol_streams *s, struct wcol_prom *w)
{
    struct stream_stats z = { 0 };
    const struct stream_stats *st = s != NULL ? &s->stats : &z;
    static const char *const why[] = { "total", "per_user" };
    const uint64_t refused[] = { st->refused_total, st->refused_principal };
    static const char *const how[] = { "slow_reader", "session_ended", "credential" };
    const uint64_t ended[] = { st->slow, st->ended_session, st->ended_credential };

    wcol_prom_family(w, "ward_dashboard_streams", "gauge", "Event streams (/v1/stream) open now.");
    wcol_prom_sample_u64(w, "ward_dashboard_streams", NULL, 0, s != NULL ? s->open : 0);
    wcol_prom_family(w, "ward_dashboard_streams_opened_total", "counter", "Event streams opened.");
    wcol_prom_sample_u64(w, "ward_dashboard_streams_opened_total", NULL, 0, st->opened);
    counter_by(w, "ward_dashboard_streams_refused_total",
               "Event streams refused, by the limit reached.", "limit", why, refused, 2);
    counter_by(w, "ward_dashboard_streams_closed_total",
               "Event streams the collector closed, by why.", "why", how, ended, 3);
    wcol_prom_family(w, "ward_dashboard_stream_changes_total", "counter",
                     "Change events sent to the open streams.");
    wcol_prom_sample_u64(w, "ward_dashboard_stream_changes_total", NULL, 0, st->changes);
}
