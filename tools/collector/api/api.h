/*
 * The operator API: a route table of read-only resources over the fleet and the store,
 * behind bearer tokens (api/tokens.h). Responses are JSON (common/jw.h), bounded.
 */
#ifndef WCOL_API_API_H_
#define WCOL_API_API_H_

#include <stddef.h>

struct wcol_conn;
struct wcol_jw;

/** A complete request on an operator connection (server/collector.h wcol_request_fn). */
void wcol_api_request(struct wcol_conn *conn, const char *body, size_t len);

struct wcol_jw;

/** Answer 200 with the document w (freed); 500 when it failed (too large). */
void wcol_api_send_doc(struct wcol_conn *conn, struct wcol_jw *w);

#endif /* WCOL_API_API_H_ */
