/*
 * Which role each operator request needs, and what a device-scoped principal may see
 * (docs/security.md, "Roles"). One table, first match wins; a path no row names needs
 * viewer for GET and admin for anything else, and is closed to device-scoped principals:
 * a new endpoint is refused until someone decides otherwise.
 */
#ifndef WCOL_AUTH_POLICY_H_
#define WCOL_AUTH_POLICY_H_

#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"

enum wcol_scope {
    WCOL_SCOPE_CLOSED, /* device-scoped principals are refused (403) */
    WCOL_SCOPE_NONE,   /* not about devices: anyone with the role */
    WCOL_SCOPE_FILTER, /* the handler shows only the principal's devices */
    WCOL_SCOPE_PATH,   /* the device id is the path segment after the prefix */
};

struct wcol_access_rule {
    int method;       /* enum wcol_http_method; 0 any */
    const char *path; /* exact, or a prefix when it ends with '/' */
    enum wcol_role role;
    enum wcol_scope scope;
};

/** The rule for a request (path: the target without its query). Never NULL. */
const struct wcol_access_rule *wcol_access_rule(int method, const char *path, size_t len);

/**
 * May p make this request? @return NULL, or why not (the 403 answer). A scope of
 * WCOL_SCOPE_PATH checks the device id in the path.
 */
const char *wcol_access_check(const struct wcol_principal *p, int method, const char *path,
                              size_t len);

/** The table (tests walk it). */
const struct wcol_access_rule *wcol_access_rules(size_t *n);

#endif /* WCOL_AUTH_POLICY_H_ */
