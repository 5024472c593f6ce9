/*
 * The operator dashboard on the operator listener: static pages under /ui/ (dash/assets.h)
 * that call the /v1 API with a session cookie, the login/logout/session endpoints, and the
 * session check the API uses besides bearer tokens (dash/session.h).
 *
 *   GET  /ui/, /ui/FILE        the embedded files (no login needed: they hold no data)
 *   POST /ui/login             {"token": "..."}: an operator bearer token -> session cookie
 *   POST /ui/logout            ends the session (X-CSRF-Token)
 *   GET  /ui/session           {"who", "csrf", "idle_timeout_s"} of the cookie's session
 */
#ifndef WCOL_DASH_DASH_H_
#define WCOL_DASH_DASH_H_

#include <stdbool.h>
#include <stddef.h>

struct wcol_conn;
struct wcol_collector;
struct wcol_prom;
struct wcol_jw;
struct wcol_session;

/** Answer the request when it is the dashboard's (/, /favicon.ico, /ui/...). @return false
 *  when it is not, and the API goes on with it. */
bool wcol_dash_request(struct wcol_conn *conn, const char *body, size_t len);

/**
 * The session of the request's cookie, for the /v1 API, which authorizes the request with the
 * session's credential (s->bearer) as if it were the Authorization header. A POST also needs
 * the session's X-CSRF-Token and an Origin equal to https://HOST.
 * @return the session, or NULL with *status 401 (no valid session) or 403 (CSRF or Origin
 *         refused; counted).
 */
const struct wcol_session *wcol_dash_session(struct wcol_conn *conn, int *status);

/** End a session whose credential no longer authorizes (a token removed, an account
 *  disabled): counted as expired. */
void wcol_dash_session_end(struct wcol_conn *conn, const struct wcol_session *s);

/** The "dashboard" member of GET /v1/health (sessions now, logins, refusals). */
void wcol_dash_health(struct wcol_collector *c, struct wcol_jw *w);

/** ward_dashboard_* families for /metrics. */
void wcol_dash_metrics(struct wcol_collector *c, struct wcol_prom *w);

#endif /* WCOL_DASH_DASH_H_ */
