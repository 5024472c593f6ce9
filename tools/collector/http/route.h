/*
 * Request routing by table: method + path pattern -> handler. A listener's routes are a
 * const array; adding an endpoint is one line in it.
 *
 * A pattern is an exact path ("/v1/devices") or a prefix followed by "{}" ("/v1/devices/{}"),
 * which matches one non-empty rest of the path, handed to the handler undecoded. Whether a
 * query string is accepted is part of the route: a route without WCOL_ROUTE_QUERY does not
 * match a request that has one.
 */
#ifndef WCOL_HTTP_ROUTE_H_
#define WCOL_HTTP_ROUTE_H_

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

struct wcol_conn;

enum wcol_route_query {
    WCOL_ROUTE_NO_QUERY = 0,    /* the target is the path alone: not even a '?' */
    WCOL_ROUTE_EMPTY_QUERY = 1, /* a '?' with nothing after it is allowed */
    WCOL_ROUTE_QUERY = 2,       /* any query string */
};

/* What the matched route's handler gets besides the connection. */
struct wcol_route_args {
    const char *param; /* the "{}" part of the path, NULL for an exact route */
    size_t param_len;
    const char *query; /* after the '?', "" when none */
    size_t query_len;
    const char *body;
    size_t body_len;
};

struct wcol_route {
    enum wcol_http_method method;
    const char *pattern;
    enum wcol_route_query query;
    void (*handler)(struct wcol_conn *conn, const struct wcol_route_args *args);
};

enum wcol_route_result {
    WCOL_ROUTE_FOUND = 0,
    WCOL_ROUTE_NOT_FOUND,    /* 404 */
    WCOL_ROUTE_WRONG_METHOD, /* 405: a route has the path, with another method */
};

/**
 * Find the route of a request. On WCOL_ROUTE_FOUND *route and args (without the body) are
 * set; on WCOL_ROUTE_WRONG_METHOD *route is the route that has the path.
 */
enum wcol_route_result wcol_route_find(const struct wcol_route *table, size_t n,
                                       const struct wcol_http_request *req,
                                       const struct wcol_route **route,
                                       struct wcol_route_args *args);

/** Wire name of a method ("GET", "POST"). */
const char *wcol_http_method_name(enum wcol_http_method m);

#endif /* WCOL_HTTP_ROUTE_H_ */
