/*
 * The device listener's requests: POST /v1/ingest (docs/protocol.md). A batch joins the
 * commit group and is answered with its acknowledgement once the group committed.
 */
#ifndef WCOL_INGEST_INGEST_H_
#define WCOL_INGEST_INGEST_H_

#include <stdbool.h>
#include <stddef.h>

struct wcol_conn;
struct wcol_http_request;
struct wcol_ingest_pending;

/** A complete request on a device connection (server/collector.h wcol_request_fn). */
void wcol_device_request(struct wcol_conn *conn, const char *body, size_t len);

/** Is this request a batch (POST /v1/ingest), which a device loop decodes itself? */
bool wcol_ingest_is_batch(const struct wcol_http_request *r);

/** A decoded batch joins the commit group; answered after the commit (the owner's thread). */
void wcol_ingest_enqueue(struct wcol_conn *conn, struct wcol_ingest_pending *p);

#endif /* WCOL_INGEST_INGEST_H_ */
