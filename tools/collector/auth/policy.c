#include <stdio.h>
#include <string.h>

#include "auth/policy.h"
#include "http/http.h"

static const struct wcol_access_rule s_rules[] = {
    { WCOL_HTTP_POST, "/v1/login", WCOL_ROLE_NONE, WCOL_SCOPE_NONE },
    { WCOL_HTTP_POST, "/v1/logout", WCOL_ROLE_VIEWER, WCOL_SCOPE_NONE },
    { WCOL_HTTP_GET, "/v1/whoami", WCOL_ROLE_VIEWER, WCOL_SCOPE_NONE },
    { WCOL_HTTP_GET, "/v1/health", WCOL_ROLE_VIEWER, WCOL_SCOPE_NONE },
    { WCOL_HTTP_GET, "/v1/stream", WCOL_ROLE_VIEWER, WCOL_SCOPE_CLOSED },
    { WCOL_HTTP_GET, "/v1/devices", WCOL_ROLE_VIEWER, WCOL_SCOPE_FILTER },
    { WCOL_HTTP_GET, "/v1/devices/", WCOL_ROLE_VIEWER, WCOL_SCOPE_PATH },
    { WCOL_HTTP_GET, "/v1/events", WCOL_ROLE_VIEWER, WCOL_SCOPE_FILTER },
    { WCOL_HTTP_GET, "/metrics", WCOL_ROLE_VIEWER, WCOL_SCOPE_CLOSED },
    { WCOL_HTTP_GET, "/v1/incidents", WCOL_ROLE_VIEWER, WCOL_SCOPE_CLOSED },
    { WCOL_HTTP_GET, "/v1/incidents/", WCOL_ROLE_VIEWER, WCOL_SCOPE_CLOSED },
    { WCOL_HTTP_POST, "/v1/incidents/", WCOL_ROLE_OPERATOR, WCOL_SCOPE_CLOSED },
    { WCOL_HTTP_GET, "/v1/silences", WCOL_ROLE_VIEWER, WCOL_SCOPE_CLOSED },
    { WCOL_HTTP_POST, "/v1/silences", WCOL_ROLE_OPERATOR, WCOL_SCOPE_CLOSED },
    { WCOL_HTTP_POST, "/v1/drills", WCOL_ROLE_OPERATOR, WCOL_SCOPE_CLOSED },
    { WCOL_HTTP_POST, "/v1/drills/", WCOL_ROLE_OPERATOR, WCOL_SCOPE_CLOSED },
    { WCOL_HTTP_POST, "/v1/change-windows", WCOL_ROLE_OPERATOR, WCOL_SCOPE_CLOSED },
    { WCOL_HTTP_POST, "/v1/change-windows/", WCOL_ROLE_OPERATOR, WCOL_SCOPE_CLOSED },
    { 0, "/v1/users", WCOL_ROLE_ADMIN, WCOL_SCOPE_CLOSED },
    { 0, "/v1/users/", WCOL_ROLE_ADMIN, WCOL_SCOPE_CLOSED },
    { 0, "/v1/tokens", WCOL_ROLE_ADMIN, WCOL_SCOPE_CLOSED },
    { 0, "/v1/tokens/", WCOL_ROLE_ADMIN, WCOL_SCOPE_CLOSED },
    { 0, "/v1/audit", WCOL_ROLE_ADMIN, WCOL_SCOPE_CLOSED },
    { 0, "/v1/audit/", WCOL_ROLE_ADMIN, WCOL_SCOPE_CLOSED },
};

static const struct wcol_access_rule s_default_get = { WCOL_HTTP_GET, "", WCOL_ROLE_VIEWER,
                                                       WCOL_SCOPE_CLOSED };
static const struct wcol_access_rule s_default_other = { 0, "", WCOL_ROLE_ADMIN,
                                                         WCOL_SCOPE_CLOSED };

const struct wcol_access_rule *wcol_access_rules(size_t *n)
{
    *n = sizeof(s_rules) / sizeof(s_rules[0]);
    return s_rules;
}

const struct wcol_access_rule *wcol_access_rule(int method, const char *path, size_t len)
{
    for (size_t i = 0; i < sizeof(s_rules) / sizeof(s_rules[0]); i++) {
        const struct wcol_access_rule *r = &s_rules[i];
        size_t pl = strlen(r->path);
        bool prefix = r->path[pl - 1] == '/';

        if (r->method != 0 && r->method != method) {
            continue;
        }
        if (prefix ? (len > pl && memcmp(path, r->path, pl) == 0)
                   : (len == pl && memcmp(path, r->path, pl) == 0)) {
            return r;
        }
    }
    return method == WCOL_HTTP_GET ? &s_default_get : &s_default_other;
}

const char *wcol_access_check(const struct wcol_principal *p, int method, const char *path,
                              size_t len)
{
    static char why[96];
    const struct wcol_access_rule *r = wcol_access_rule(method, path, len);

    if (p->role < r->role) {
        snprintf(why, sizeof(why), "this needs the %s role (yours: %s)", wcol_role_name(r->role),
                 wcol_role_name(p->role));
        return why;
    }
    if (!wcol_principal_scoped(p)) {
        return NULL;
    }
    if (r->scope == WCOL_SCOPE_CLOSED) {
        return "not open to a device-scoped token";
    }
    if (r->scope == WCOL_SCOPE_PATH) {
        char id[WCOL_GLOB_MAX + 1];
        size_t pl = strlen(r->path);
        const char *end = memchr(path + pl, '/', len - pl);
        size_t n = (end != NULL ? (size_t)(end - path) : len) - pl;

        /* percent-escapes are not decoded: an escaped id matches no glob of plain ids */
        snprintf(id, sizeof(id), "%.*s", (int)(n < sizeof(id) ? n : sizeof(id) - 1), path + pl);
        if (n >= sizeof(id) || memchr(id, '%', strlen(id)) != NULL || !wcol_principal_sees(p, id)) {
            return "device out of this token's scope";
        }
    }
    return NULL;
}
