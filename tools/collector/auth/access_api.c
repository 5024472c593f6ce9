#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/base/jscan.h"

#include "audit/audit.h"
#include "auth/access_api.h"
#include "auth/pwhash.h"
#include "common/clock.h"
#include "common/jw.h"
#include "server/collector.h"
#include "server/conn.h"

#define RESPONSE_LIMIT (4u * 1024u * 1024u)
#define AUDIT_DEFAULT  100
#define AUDIT_MAX      1000

struct body {
    char user[WCOL_USER_MAX + 2], password[WCOL_PW_MAX + 2], totp[16];
    char role[16], devices[WCOL_GLOB_MAX + 2], from[64];
    int64_t expires_s;
};

static const char *parse_body(const char *s, size_t len, struct body *b)
{
    struct {
        const char *key;
        char *dst;
        size_t cap;
    } const fields[] = {
        { "user", b->user, sizeof(b->user) },
        { "name", b->user, sizeof(b->user) },
        { "password", b->password, sizeof(b->password) },
        { "totp", b->totp, sizeof(b->totp) },
        { "role", b->role, sizeof(b->role) },
        { "devices", b->devices, sizeof(b->devices) },
        { "from", b->from, sizeof(b->from) },
    };
    struct ward_jscan js;
    char key[16];
    int m;

    memset(b, 0, sizeof(*b));
    if (len == 0) {
        return NULL;
    }
    ward_jscan_init(&js, s, len);
    ward_jscan_object(&js);
    while ((m = ward_jscan_member(&js, key, sizeof(key))) > 0) {
        size_t i = 0;

        while (i < sizeof(fields) / sizeof(fields[0]) && strcmp(fields[i].key, key) != 0) {
            i++;
        }
        if (i < sizeof(fields) / sizeof(fields[0])) {
            if (ward_jscan_string(&js, fields[i].dst, fields[i].cap) < 0) {
                return "a member is too long or not a string";
            }
        } else if (strcmp(key, "expires_s") == 0) {
            if (ward_jscan_int64(&js, &b->expires_s) != 0) {
                return "expires_s is a number of seconds";
            }
        } else {
            return "unknown member (user, name, password, totp, role, devices, from, expires_s)";
        }
    }
    if (m < 0 || ward_jscan_end(&js) != 0) {
        return "the body is not a JSON object";
    }
    return NULL;
}

static void answer(struct wcol_conn *conn, struct wcol_jw *w, int status)
{
    size_t len;

    if (w->failed) {
        wcol_jw_free(w);
        wcol_conn_error(conn, 500, "response too large");
        return;
    }
    char *out = wcol_jw_take(w, &len);

    wcol_conn_respond(conn, status, out, len, NULL, !wcol_conn_request(conn)->keep_alive);
    free(out);
}

static struct wcol_auth *auth_of(struct wcol_conn *conn)
{
    return wcol_conn_collector(conn)->auth;
}

static void wipe(struct body *b)
{
    explicit_bzero(b->password, sizeof(b->password));
    explicit_bzero(b->totp, sizeof(b->totp));
}

bool wcol_access_login_request(struct wcol_conn *conn, const char *body, size_t len)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    struct wcol_auth *a = auth_of(conn);
    char token[WCOL_SECRET_LEN];
    int64_t expires = 0;
    enum wcol_role role = WCOL_ROLE_NONE;
    struct body b;
    struct wcol_jw w;

    if (r->target_len != 9 || memcmp(r->target, "/v1/login", 9) != 0) {
        return false;
    }
    if (r->method != WCOL_HTTP_POST) {
        wcol_conn_wrong_method(conn, "POST");
        return true;
    }
    const char *why = parse_body(body, len, &b);

    if (why != NULL || a == NULL) {
        wcol_conn_error(conn, a == NULL ? 503 : 400, why ? why : "accounts are not available");
        wipe(&b);
        return true;
    }
    int rc = wcol_auth_login(a, b.user, b.password, b.totp, wcol_conn_addr(conn),
                             wcol_now_wall_ms(), token, &expires, &role);

    wipe(&b);
    switch (rc) {
    case 0:
        break;
    case -EAGAIN:
        wcol_conn_error(conn, 429, "too many failed logins from this address; try later");
        return true;
    case -EBUSY:
        wcol_conn_error(conn, 403, "account locked after failed logins; try later or ask an admin");
        return true;
    case -EACCES:
        wcol_conn_error(conn, 401, "wrong user, password or code");
        return true;
    default:
        wcol_conn_error(conn, 503, "storage unavailable");
        return true;
    }
    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "token", token);
    wcol_jw_kstr(&w, "user", b.user);
    wcol_jw_kstr(&w, "role", wcol_role_name(role));
    wcol_jw_kint(&w, "expires_ms", expires);
    wcol_jw_obj_end(&w);
    explicit_bzero(token, sizeof(token));
    answer(conn, &w, 200);
    return true;
}

static void whoami(struct wcol_conn *conn, const struct wcol_principal *p)
{
    static const char *const kinds[] = { "file-token", "session", "token" };
    struct wcol_jw w;

    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "name", p->name);
    wcol_jw_kstr(&w, "role", wcol_role_name(p->role));
    wcol_jw_kstr(&w, "kind", kinds[p->kind]);
    wcol_jw_kstr(&w, "devices", p->devices);
    wcol_jw_obj_end(&w);
    answer(conn, &w, 200);
}

/* Answer a change: 200 with the document, or the error rc means. */
static void changed(struct wcol_conn *conn, int rc, const char *key, const char *value,
                    const char *invalid)
{
    struct wcol_jw w;

    switch (rc) {
    case 0:
        break;
    case -EEXIST:
        wcol_conn_error(conn, 409, "the name is taken (names are never reused)");
        return;
    case -ENOENT:
        wcol_conn_error(conn, 404, "no such name (or already revoked)");
        return;
    case -EINVAL:
        wcol_conn_error(conn, 400, invalid);
        return;
    default:
        wcol_conn_error(conn, 503, "storage unavailable");
        return;
    }
    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "status", "ok");
    if (key != NULL) {
        wcol_jw_kstr(&w, key, value);
    }
    wcol_jw_obj_end(&w);
    answer(conn, &w, 200);
}

static void list(struct wcol_conn *conn, int (*fn)(struct wcol_auth *, struct wcol_jw *, int64_t))
{
    struct wcol_jw w;

    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    if (fn(auth_of(conn), &w, wcol_now_wall_ms()) != 0) {
        wcol_jw_free(&w);
        wcol_conn_error(conn, 503, "storage unavailable");
        return;
    }
    wcol_jw_obj_end(&w);
    answer(conn, &w, 200);
}

static void user_change(struct wcol_conn *conn, const struct wcol_principal *p, const char *name,
                        const char *verb, const struct body *b)
{
    struct wcol_auth *a = auth_of(conn);
    const char *src = wcol_conn_addr(conn);
    char otp[WCOL_OTPAUTH_MAX] = "";

    if (strcmp(verb, "password") == 0) {
        const char *weak = wcol_pw_weak(b->password);

        changed(conn, weak ? -EINVAL : wcol_auth_user_passwd(a, name, b->password, p->name, src),
                NULL, NULL, weak);
    } else if (strcmp(verb, "totp-reset") == 0) {
        int rc = wcol_auth_user_totp_reset(a, name, p->name, src, otp);

        changed(conn, rc, "otpauth", otp, NULL);
    } else if (strcmp(verb, "remove") == 0) {
        changed(conn, wcol_auth_user_remove(a, name, p->name, src), NULL, NULL, NULL);
    } else {
        wcol_conn_error(conn, 404, "no such action (password, totp-reset, remove)");
    }
}

static void user_add(struct wcol_conn *conn, const struct wcol_principal *p, const struct body *b)
{
    char otp[WCOL_OTPAUTH_MAX] = "";
    const char *weak = wcol_pw_weak(b->password);
    enum wcol_role role = wcol_role_parse(b->role);
    const char *why = !wcol_name_valid(b->user) ? "name: a-z first, then a-z 0-9 . _ -, 1-32"
                      : role == WCOL_ROLE_NONE  ? "role: viewer, operator or admin"
                                                : weak;

    if (why != NULL) {
        wcol_conn_error(conn, 400, why);
        return;
    }
    changed(conn,
            wcol_auth_user_add(auth_of(conn), b->user, role, b->password, p->name,
                               wcol_conn_addr(conn), otp),
            "otpauth", otp, "invalid user");
}

static void token_create(struct wcol_conn *conn, const struct wcol_principal *p,
                         const struct body *b)
{
    char token[WCOL_SECRET_LEN] = "";
    struct wcol_token_spec spec = {
        .name = b->user,
        .role = wcol_role_parse(b->role),
        .devices = b->devices[0] ? b->devices : "*",
        .from = b->from,
        .expires_ms = wcol_now_wall_ms() + b->expires_s * 1000,
    };

    if (b->expires_s <= 0 || b->expires_s > 5LL * 366 * 86400) {
        wcol_conn_error(conn, 400, "expires_s: 1 second to 5 years");
        return;
    }
    changed(conn,
            wcol_auth_token_create(auth_of(conn), &spec, p->name, wcol_conn_addr(conn), token),
            "token", token,
            "name (a-z first, a-z 0-9 . _ -), role (viewer, operator, admin), devices (a "
            "glob), from (a CIDR) invalid");
    explicit_bzero(token, sizeof(token));
}

/* after=, since_ms=, actor=, action=, limit=; values are plain (no escapes needed). */
static const char *audit_query(const char *q, size_t len, struct wcol_audit_query *out, char *actor,
                               char *action, size_t cap)
{
    memset(out, 0, sizeof(*out));
    out->limit = AUDIT_DEFAULT;
    while (len > 0) {
        const char *amp = memchr(q, '&', len);
        size_t plen = amp != NULL ? (size_t)(amp - q) : len;
        const char *eq = memchr(q, '=', plen);
        char val[80];

        if (eq == NULL || plen - (size_t)(eq - q) - 1 >= sizeof(val) ||
            memchr(q, '%', plen) != NULL) {
            return "malformed query (after, since_ms, actor, action, limit)";
        }
        size_t kl = (size_t)(eq - q);

        snprintf(val, sizeof(val), "%.*s", (int)(plen - kl - 1), eq + 1);
        if (kl == 5 && memcmp(q, "after", 5) == 0) {
            out->after = strtoll(val, NULL, 10);
        } else if (kl == 8 && memcmp(q, "since_ms", 8) == 0) {
            out->since_ms = strtoll(val, NULL, 10);
        } else if (kl == 5 && memcmp(q, "actor", 5) == 0 && strlen(val) < cap) {
            out->actor = strcpy(actor, val);
        } else if (kl == 6 && memcmp(q, "action", 6) == 0 && strlen(val) < cap) {
            out->action = strcpy(action, val);
        } else if (kl == 5 && memcmp(q, "limit", 5) == 0) {
            long n = strtol(val, NULL, 10);

            if (n < 1 || n > AUDIT_MAX) {
                return "limit must be 1..1000";
            }
            out->limit = (unsigned)n;
        } else {
            return "unknown query parameter (after, since_ms, actor, action, limit)";
        }
        q += plen + (amp != NULL);
        len -= plen + (amp != NULL);
    }
    return NULL;
}

static void audit_list(struct wcol_conn *conn, const char *qs, size_t qlen)
{
    struct wcol_audit *a = wcol_conn_collector(conn)->audit;
    struct wcol_audit_query q;
    char actor[80], action[80];
    int64_t next;
    struct wcol_jw w;
    const char *why = audit_query(qs, qlen, &q, actor, action, sizeof(actor));

    if (why != NULL || a == NULL) {
        wcol_conn_error(conn, why ? 400 : 503, why ? why : "no audit log");
        return;
    }
    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    if (wcol_audit_list(a, &q, &w, &next) != 0) {
        wcol_jw_free(&w);
        wcol_conn_error(conn, 503, "storage unavailable");
        return;
    }
    wcol_jw_kint(&w, "next", next);
    wcol_jw_obj_end(&w);
    answer(conn, &w, 200);
}

static void audit_verify(struct wcol_conn *conn)
{
    struct wcol_audit *a = wcol_conn_collector(conn)->audit;
    struct wcol_audit_verdict v;
    struct wcol_jw w;

    if (a == NULL || wcol_audit_verify_live(a, &v) != 0) {
        wcol_conn_error(conn, 503, a == NULL ? "no audit log" : "the audit log cannot be read");
        return;
    }
    wcol_jw_init(&w, RESPONSE_LIMIT);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "ok");
    wcol_jw_bool(&w, v.ok);
    wcol_jw_kint(&w, "entries", v.entries);
    wcol_jw_kuint(&w, "checkpoints", v.checkpoints);
    wcol_jw_kint(&w, "entry", v.entry);
    wcol_jw_kstr(&w, "problem", v.problem[0] ? v.problem : NULL);
    wcol_jw_obj_end(&w);
    answer(conn, &w, 200);
}

/* "/PREFIX/{name}/{verb}" -> name and verb; @return false when it is not of that shape. */
static bool split(const char *t, size_t len, size_t pl, char *name, char *verb)
{
    const char *slash = memchr(t + pl, '/', len - pl);

    if (slash == NULL || (size_t)(slash - t) - pl > WCOL_USER_MAX ||
        (size_t)(t + len - slash - 1) >= 16) {
        return false;
    }
    snprintf(name, WCOL_USER_MAX + 1, "%.*s", (int)((size_t)(slash - t) - pl), t + pl);
    snprintf(verb, 16, "%.*s", (int)(t + len - slash - 1), slash + 1);
    return wcol_name_valid(name);
}

static bool post(struct wcol_conn *conn, const struct wcol_principal *p, const char *t, size_t tl,
                 const struct body *b)
{
    char name[WCOL_USER_MAX + 1], verb[16];

    if (tl == 10 && memcmp(t, "/v1/logout", 10) == 0) {
        changed(conn, wcol_auth_logout(auth_of(conn), p, wcol_conn_addr(conn)), NULL, NULL,
                "not a session (a token is revoked with wardctl token revoke)");
    } else if (tl == 9 && memcmp(t, "/v1/users", 9) == 0) {
        user_add(conn, p, b);
    } else if (tl > 10 && memcmp(t, "/v1/users/", 10) == 0 && split(t, tl, 10, name, verb)) {
        user_change(conn, p, name, verb, b);
    } else if (tl == 10 && memcmp(t, "/v1/tokens", 10) == 0) {
        token_create(conn, p, b);
    } else if (tl > 11 && memcmp(t, "/v1/tokens/", 11) == 0 && split(t, tl, 11, name, verb) &&
               strcmp(verb, "revoke") == 0) {
        changed(conn, wcol_auth_token_revoke(auth_of(conn), name, p->name, wcol_conn_addr(conn)),
                NULL, NULL, NULL);
    } else {
        return false;
    }
    return true;
}

bool wcol_access_request(struct wcol_conn *conn, const struct wcol_principal *p, const char *body,
                         size_t len)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    const char *t = r->target;
    const char *qm = memchr(t, '?', r->target_len);
    size_t tl = qm != NULL ? (size_t)(qm - t) : r->target_len;
    struct body b;

    if (!(tl >= 9 && (memcmp(t, "/v1/users", 9) == 0 || memcmp(t, "/v1/audit", 9) == 0 ||
                      memcmp(t, "/v1/whoami", tl < 10 ? tl : 10) == 0)) &&
        !(tl >= 10 && (memcmp(t, "/v1/tokens", 10) == 0 || memcmp(t, "/v1/logout", 10) == 0))) {
        return false;
    }
    if (auth_of(conn) == NULL) {
        wcol_conn_error(conn, 503, "accounts are not available");
        return true;
    }
    if (r->method == WCOL_HTTP_GET) {
        if (tl == 10 && memcmp(t, "/v1/whoami", 10) == 0) {
            whoami(conn, p);
        } else if (tl == 9 && memcmp(t, "/v1/users", 9) == 0) {
            list(conn, wcol_auth_users_json);
        } else if (tl == 10 && memcmp(t, "/v1/tokens", 10) == 0) {
            list(conn, wcol_auth_tokens_json);
        } else if (tl == 9 && memcmp(t, "/v1/audit", 9) == 0) {
            audit_list(conn, qm ? qm + 1 : "", qm ? r->target_len - tl - 1 : 0);
        } else if (tl == 16 && memcmp(t, "/v1/audit/verify", 16) == 0 && qm == NULL) {
            audit_verify(conn);
        } else {
            return false;
        }
        return true;
    }
    /* Nothing here takes POST on /v1/audit: the log has no write route. */
    const char *why = parse_body(body, len, &b);

    if (why != NULL) {
        wipe(&b);
        wcol_conn_error(conn, 400, why);
        return true;
    }
    bool handled = post(conn, p, t, tl, &b);

    wipe(&b);
    return handled;
}
