/*
 * The device listener's requests: POST /v1/ingest (docs/protocol.md). A batch joins the
 * commit group and is answered with its acknowledgement once the group committed.
 */
#ifndef WCOL_INGEST_INGEST_H_
#define WCOL_INGEST_INGEST_H_

#include <stddef.h>

struct wcol_conn;

/** A complete request on a device connection (server/collector.h wcol_request_fn). */
void wcol_device_request(struct wcol_conn *conn, const char *body, size_t len);

#endif /* WCOL_INGEST_INGEST_H_ */
