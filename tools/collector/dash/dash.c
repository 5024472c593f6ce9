#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/base/jscan.h"

#include "api/tokens.h"
#include "common/clock.h"
#include "common/jw.h"
#include "common/log.h"
#include "dash/assets.h"
#include "auth/auth.h"
#include "dash/dash.h"
#include "audit/audit.h"
#include "dash/session.h"
#include "dash/stream.h"
#include "export/prom.h"
#include "http/route.h"
#include "server/collector.h"
#include "server/conn.h"

#define TOKEN_MAX 512 /* api/tokens.c takes no longer token */

/* Every dashboard answer: scripts and styles from this origin only, never framed, no
 * referrer, no type sniffing. The pages carry no inline script or style attribute. */
#define SECURITY_HEADERS                                                                           \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "           \
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "               \
    "form-action 'self'; frame-ancestors 'none'\r\n"                                               \
    "X-Content-Type-Options: nosniff\r\n"                                                          \
    "X-Frame-Options: DENY\r\n"                                                                    \
    "Referrer-Policy: no-referrer\r\n"                                                             \
    "Cross-Origin-Opener-Policy: same-origin\r\n"                                                  \
    "Cross-Origin-Resource-Policy: same-origin\r\n"

#define COOKIE_ATTRS "; Path=/; Secure; HttpOnly; SameSite=Strict"

static struct wcol_sessions *sessions(struct wcol_conn *conn)
{
    return &wcol_conn_collector(conn)->sessions;
}

static bool keep(struct wcol_conn *conn)
{
    return wcol_conn_request(conn)->keep_alive;
}

static void json_answer(struct wcol_conn *conn, int status, struct wcol_jw *w, const char *extra)
{
    char headers[1024];
    size_t len;

    if (w->failed) {
        wcol_jw_free(w);
        wcol_conn_error(conn, 500, "response too large");
        return;
    }
    int n =
        snprintf(headers, sizeof(headers), "%s%s", SECURITY_HEADERS, extra != NULL ? extra : "");

    if (n < 0 || (size_t)n >= sizeof(headers)) { /* a cut header would end the head early */
        wcol_jw_free(w);
        wcol_conn_error(conn, 500, "response headers too long");
        return;
    }
    char *body = wcol_jw_take(w, &len);

    wcol_conn_respond_cached(conn, status, "application/json", "no-store", body, len, headers,
                             !keep(conn));
    free(body);
}

static void error_answer(struct wcol_conn *conn, int status, const char *reason)
{
    struct wcol_jw w;

    wcol_jw_init(&w, 1024);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "error", reason);
    wcol_jw_obj_end(&w);
    json_answer(conn, status, &w, NULL);
}

/* ---- static files ---- */

static const struct wcol_dash_asset *find_asset(const char *path, size_t len)
{
    for (size_t i = 0; i < wcol_dash_assets_count; i++) {
        const struct wcol_dash_asset *a = &wcol_dash_assets[i];

        if (strlen(a->path) == len && memcmp(a->path, path, len) == 0) {
            return a;
        }
    }
    return NULL;
}

static bool etag_matches(const struct wcol_http_request *r, const char *etag)
{
    size_t n = strlen(etag);

    /* One tag is what this server ever hands out; a list or a weak tag simply misses. */
    return r->if_none_match != NULL && r->if_none_match_len == n &&
           memcmp(r->if_none_match, etag, n) == 0;
}

static void serve_asset(struct wcol_conn *conn, const char *path, size_t len)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    const struct wcol_dash_asset *a = find_asset(path, len);
    char headers[1024];

    if (a == NULL) {
        error_answer(conn, 404, "no such page");
        return;
    }
    snprintf(headers, sizeof(headers), "%sETag: %s\r\n", SECURITY_HEADERS, a->etag);
    /* no-cache: the browser keeps the file and asks each time with If-None-Match, so a new
     * collector's pages are used at once and an unchanged file costs one short answer. */
    if (etag_matches(r, a->etag)) {
        wcol_conn_respond_cached(conn, 304, a->type, "no-cache", NULL, 0, headers, !keep(conn));
        return;
    }
    wcol_conn_respond_cached(conn, 200, a->type, "no-cache", (const char *)a->data, a->len, headers,
                             !keep(conn));
}

/* ---- login, logout, session ---- */

/* A state change from a browser: its Origin must be this server (https://HOST). */
static bool same_origin(const struct wcol_http_request *r)
{
    static const char scheme[] = "https://";
    size_t sl = sizeof(scheme) - 1;

    return r->origin != NULL && r->host != NULL && r->origin_len == sl + r->host_len &&
           memcmp(r->origin, scheme, sl) == 0 && memcmp(r->origin + sl, r->host, r->host_len) == 0;
}

static int login_token(const char *body, size_t len, char *token, size_t cap)
{
    struct ward_jscan js;
    char key[16];
    int m;
    bool have = false;

    ward_jscan_init(&js, body, len);
    ward_jscan_object(&js);
    while ((m = ward_jscan_member(&js, key, sizeof(key))) > 0) {
        if (strcmp(key, "token") != 0 || ward_jscan_string(&js, token, cap) < 0) {
            return -EINVAL;
        }
        have = true;
    }
    return m < 0 || ward_jscan_end(&js) != 0 || !have ? -EINVAL : 0;
}

static void session_doc(struct wcol_jw *w, const struct wcol_session *s)
{
    wcol_jw_init(w, 1024);
    wcol_jw_obj_begin(w);
    wcol_jw_kstr(w, "who", s->who);
    wcol_jw_kstr(w, "csrf", s->csrf);
    wcol_jw_kuint(w, "idle_timeout_s", WCOL_SESSION_IDLE_MS / 1000u);
    wcol_jw_obj_end(w);
}

static void post_login(struct wcol_conn *conn, const char *body, size_t len)
{
    struct wcol_collector *c = wcol_conn_collector(conn);
    char token[TOKEN_MAX + 1], bearer[TOKEN_MAX + 8], cookie[256];
    struct wcol_jw w;

    if (!same_origin(wcol_conn_request(conn))) {
        sessions(conn)->stats.csrf_refused++;
        error_answer(conn, 403, "login only from the dashboard's own page (Origin)");
        return;
    }
    if (login_token(body, len, token, sizeof(token)) != 0) {
        explicit_bzero(token, sizeof(token));
        error_answer(conn, 400, "the body is {\"token\": \"...\"}");
        return;
    }
    snprintf(bearer, sizeof(bearer), "Bearer %s", token);
    /* Any credential the API takes (auth/auth.h): the session token of a password + TOTP
     * login (POST /v1/login, which the login page makes first), an API token, or a token of
     * the tokens file. */
    struct wcol_principal p;
    const char *why = NULL;
    const char *who = wcol_auth_bearer(c->auth, &c->tokens, bearer, strlen(bearer),
                                       wcol_conn_addr(conn), wcol_now_wall_ms(), &p, &why) == 0
                          ? p.name
                          : NULL;

    explicit_bzero(token, sizeof(token));
    if (who == NULL) {
        explicit_bzero(bearer, sizeof(bearer));
        sessions(conn)->stats.login_failures++;
        wcol_log_warn("%s: dashboard login refused: %s", wcol_conn_addr(conn),
                      why != NULL ? why : "not a valid credential");
        error_answer(conn, 401, "not a valid operator token or login session");
        return;
    }
    /* The session keeps the credential: each of its requests is authorized with it again. */
    const struct wcol_session *s =
        wcol_session_create(sessions(conn), who, bearer, wcol_now_mono());

    explicit_bzero(bearer, sizeof(bearer));
    if (s == NULL) {
        error_answer(conn, 503, "no session: no random bytes, or the database refused it");
        return;
    }
    wcol_conn_authenticated(conn);
    WCOL_AUDIT(c, who, "user.login", "dashboard", wcol_conn_addr(conn));
    snprintf(cookie, sizeof(cookie), "Set-Cookie: %s=%s%s; Max-Age=%u\r\n", WCOL_SESSION_COOKIE,
             s->id, COOKIE_ATTRS, WCOL_SESSION_LIFETIME_MS / 1000u);
    session_doc(&w, s);
    json_answer(conn, 200, &w, cookie);
}

static void post_logout(struct wcol_conn *conn)
{
    int status = 401;
    const struct wcol_session *s = wcol_dash_session(conn, &status);
    struct wcol_jw w;

    if (s == NULL) {
        error_answer(conn, status,
                     status == 403 ? "X-CSRF-Token or Origin refused" : "not logged in");
        return;
    }
    char who[WCOL_SESSION_WHO_MAX + 1];

    snprintf(who, sizeof(who), "%s", s->who);
    wcol_streams_session_ended(wcol_conn_collector(conn)->streams, s->id);
    if (wcol_session_destroy(sessions(conn), s) != 0) {
        error_answer(conn, 503, "the session could not be ended in the database: log out again");
        return;
    }
    WCOL_AUDIT(wcol_conn_collector(conn), who, "user.logout", "dashboard", wcol_conn_addr(conn));
    sessions(conn)->stats.logouts++;
    wcol_jw_init(&w, 64);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "status", "logged out");
    wcol_jw_obj_end(&w);
    json_answer(conn, 200, &w,
                "Set-Cookie: " WCOL_SESSION_COOKIE "=" COOKIE_ATTRS "; Max-Age=0\r\n");
}

static void get_session(struct wcol_conn *conn)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    const struct wcol_session *s =
        wcol_session_check(sessions(conn), r->cookie, r->cookie_len, wcol_now_mono());
    struct wcol_jw w;

    if (s == NULL) {
        error_answer(conn, 401, "not logged in");
        return;
    }
    wcol_conn_authenticated(conn);
    session_doc(&w, s);
    json_answer(conn, 200, &w, NULL);
}

const struct wcol_session *wcol_dash_session(struct wcol_conn *conn, int *status)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    struct wcol_sessions *t = sessions(conn);
    const struct wcol_session *s = wcol_session_check(t, r->cookie, r->cookie_len, wcol_now_mono());

    *status = 401;
    if (s == NULL) {
        return NULL;
    }
    if (r->method != WCOL_HTTP_GET &&
        (!same_origin(r) || !wcol_session_csrf_ok(s, r->csrf, r->csrf_len))) {
        t->stats.csrf_refused++;
        wcol_log_warn("%s: session of %s: %s refused (X-CSRF-Token or Origin)",
                      wcol_conn_addr(conn), s->who, wcol_http_method_name(r->method));
        *status = 403;
        return NULL;
    }
    return s;
}

void wcol_dash_session_end(struct wcol_conn *conn, const struct wcol_session *s)
{
    wcol_log_warn("%s: session of %s ended: its credential is no longer valid",
                  wcol_conn_addr(conn), s->who);
    sessions(conn)->stats.expired++;
    wcol_session_destroy(sessions(conn), s);
}

/* ---- routing ---- */

static bool is_prefix(const struct wcol_http_request *r, const char *p)
{
    size_t n = strlen(p);

    return r->target_len >= n && memcmp(r->target, p, n) == 0;
}

bool wcol_dash_request(struct wcol_conn *conn, const char *body, size_t len)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    const char *q = memchr(r->target, '?', r->target_len);
    size_t plen = q != NULL ? (size_t)(q - r->target) : r->target_len;
    bool get = r->method == WCOL_HTTP_GET;

    if (plen == 1 || (plen == 12 && memcmp(r->target, "/favicon.ico", 12) == 0)) {
        if (plen == 1 && get) {
            wcol_conn_respond_cached(conn, 302, "text/plain", "no-store", NULL, 0,
                                     SECURITY_HEADERS "Location: /ui/\r\n", !keep(conn));
        } else {
            error_answer(conn, 404, "no such page (the dashboard is under /ui/)");
        }
        return true;
    }
    if (plen < 3 || !is_prefix(r, "/ui") || (plen > 3 && r->target[3] != '/')) {
        return false;
    }
    if (plen == 9 && is_prefix(r, "/ui/login") && !get) {
        post_login(conn, body, len);
    } else if (plen == 10 && is_prefix(r, "/ui/logout") && !get) {
        post_logout(conn);
    } else if (plen == 11 && is_prefix(r, "/ui/session") && get) {
        get_session(conn);
    } else if (!get) {
        wcol_conn_wrong_method(conn, "GET");
    } else if (plen <= 4) {
        serve_asset(conn, "/ui/index.html", 14);
    } else {
        serve_asset(conn, r->target, plen);
    }
    return true;
}

void wcol_dash_health(struct wcol_collector *c, struct wcol_jw *w)
{
    const struct wcol_session_stats *s = &c->sessions.stats;

    wcol_jw_key(w, "dashboard");
    wcol_jw_obj_begin(w);
    wcol_jw_kuint(w, "sessions", wcol_sessions_active(&c->sessions, wcol_now_mono()));
    wcol_jw_kuint(w, "logins", s->logins);
    wcol_jw_kuint(w, "logins_refused", s->login_failures);
    wcol_jw_kuint(w, "csrf_refused", s->csrf_refused);
    wcol_jw_kstr(w, "sessions_in", c->sessions.pg != NULL ? "postgresql" : "memory");
    wcol_jw_kuint(w, "session_store_errors", s->store_errors);
    wcol_streams_health(c->streams, w);
    wcol_jw_obj_end(w);
}

void wcol_dash_metrics(struct wcol_collector *c, struct wcol_prom *w)
{
    const struct wcol_session_stats *s = &c->sessions.stats;
    static const char *const results[] = { "ok", "refused" };
    const uint64_t logins[] = { s->logins, s->login_failures };

    wcol_prom_family(w, "ward_dashboard_sessions", "gauge", "Dashboard sessions logged in now.");
    wcol_prom_sample_u64(w, "ward_dashboard_sessions", NULL, 0,
                         wcol_sessions_active(&c->sessions, wcol_now_mono()));
    wcol_prom_family(w, "ward_dashboard_logins_total", "counter", "Dashboard logins, by result.");
    for (size_t i = 0; i < 2; i++) {
        struct wcol_prom_label l = { "result", results[i] };

        wcol_prom_sample_u64(w, "ward_dashboard_logins_total", &l, 1, logins[i]);
    }
    wcol_prom_family(w, "ward_dashboard_csrf_refused_total", "counter",
                     "Dashboard requests refused for a missing or wrong X-CSRF-Token or Origin.");
    wcol_prom_sample_u64(w, "ward_dashboard_csrf_refused_total", NULL, 0, s->csrf_refused);
    wcol_prom_family(w, "ward_dashboard_sessions_ended_total", "counter",
                     "Dashboard sessions ended, by how.");
    static const char *const how[] = { "logout", "expired", "evicted" };
    const uint64_t ended[] = { s->logouts, s->expired, s->evicted };

    for (size_t i = 0; i < 3; i++) {
        struct wcol_prom_label l = { "how", how[i] };

        wcol_prom_sample_u64(w, "ward_dashboard_sessions_ended_total", &l, 1, ended[i]);
    }
    wcol_prom_family(w, "ward_dashboard_session_store_errors_total", "counter",
                     "Dashboard sessions not created, checked or ended for a database error.");
    wcol_prom_sample_u64(w, "ward_dashboard_session_store_errors_total", NULL, 0, s->store_errors);
    wcol_streams_metrics(c->streams, w);
}
