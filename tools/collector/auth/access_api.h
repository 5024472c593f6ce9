/*
 * The access half of the operator API (docs/security.md):
 *   POST /v1/login {"user", "password", "totp"}     -> {"token", "user", "role", "expires_ms"}
 *   POST /v1/logout                                 ends the presented session
 *   GET  /v1/whoami                                 the principal of the credential
 *   GET  /v1/users, POST /v1/users {"name", "role", "password"} -> {"otpauth"} (shown once)
 *   POST /v1/users/{name}/password {"password"}, /v1/users/{name}/totp-reset,
 *        /v1/users/{name}/remove
 *   GET  /v1/tokens, POST /v1/tokens {"name", "role", "devices", "expires_s", "from"}
 *        -> {"token"} (shown once); POST /v1/tokens/{name}/revoke
 *   GET  /v1/audit?after=&since_ms=&actor=&action=&limit=, GET /v1/audit/verify
 * The roles they need are in auth/policy.c; the caller checked them.
 */
#ifndef WCOL_AUTH_ACCESS_API_H_
#define WCOL_AUTH_ACCESS_API_H_

#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"

struct wcol_conn;

/** POST /v1/login, before any credential is asked for. @return true when handled. */
bool wcol_access_login_request(struct wcol_conn *conn, const char *body, size_t len);

/** The other routes above, for an authorized principal. @return true when handled. */
bool wcol_access_request(struct wcol_conn *conn, const struct wcol_principal *p, const char *body,
                         size_t len);

#endif /* WCOL_AUTH_ACCESS_API_H_ */
