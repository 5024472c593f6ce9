#include <string.h>

#include "http/route.h"

const char *wcol_http_method_name(enum wcol_http_method m)
{
    return m == WCOL_HTTP_POST ? "POST" : "GET";
}

/* Does the path match the pattern? Sets the "{}" parameter. */
static bool path_matches(const char *pattern, const char *path, size_t plen,
                         struct wcol_route_args *a)
{
    size_t n = strlen(pattern);

    a->param = NULL;
    a->param_len = 0;
    if (n >= 2 && strcmp(pattern + n - 2, "{}") == 0) {
        n -= 2;
        if (plen <= n || memcmp(path, pattern, n) != 0) {
            return false;
        }
        a->param = path + n;
        a->param_len = plen - n;
        return true;
    }
    return plen == n && memcmp(path, pattern, n) == 0;
}

static bool query_fits(enum wcol_route_query q, bool has_qmark, size_t qlen)
{
    switch (q) {
    case WCOL_ROUTE_NO_QUERY:
        return !has_qmark;
    case WCOL_ROUTE_EMPTY_QUERY:
        return qlen == 0;
    default:
        return true;
    }
}

enum wcol_route_result wcol_route_find(const struct wcol_route *table, size_t n,
                                       const struct wcol_http_request *req,
                                       const struct wcol_route **route,
                                       struct wcol_route_args *args)
{
    const char *t = req->target;
    const char *qmark = memchr(t, '?', req->target_len);
    size_t plen = qmark != NULL ? (size_t)(qmark - t) : req->target_len;
    enum wcol_route_result res = WCOL_ROUTE_NOT_FOUND;

    memset(args, 0, sizeof(*args));
    args->query = qmark != NULL ? qmark + 1 : "";
    args->query_len = qmark != NULL ? req->target_len - plen - 1 : 0;
    for (size_t i = 0; i < n; i++) {
        const struct wcol_route *r = &table[i];

        if (!path_matches(r->pattern, t, plen, args) ||
            !query_fits(r->query, qmark != NULL, args->query_len)) {
            continue;
        }
        *route = r;
        if (r->method == req->method) {
            return WCOL_ROUTE_FOUND;
        }
        res = WCOL_ROUTE_WRONG_METHOD;
    }
    return res;
}
