/*
 * Live updates for the dashboard: GET /v1/stream, server-sent events on the operator listener
 * (docs/dashboard.md, "Live updates").
 *
 * An after-commit subscriber (commit/bus.h) notes which devices reported or changed state and
 * how many events were stored; the incidents' timeline count says whether an incident moved.
 * Once per check interval (server.c's periodic tick) what changed becomes one "change" event,
 * kept in a short ring for Last-Event-ID, and is queued on every open stream:
 *
 *   id: 18c3f0a2b4d.42
 *   event: change
 *   data: {"devices":["bmc-7"],"all":false,"states":1,"events":3,"incidents":false}
 *
 * Bounded everywhere: streams in all and per principal (503, 429), the bytes a stream's peer
 * has not taken (a slow reader is closed, counted), the ids in one event ("all": true beyond
 * them). A stream is authorized again every few seconds with the credential it opened with,
 * and closed when its dashboard session ended (logout, expiry) or its token no longer
 * authorizes. Everything runs on the operator listener's loop; nothing here blocks.
 */
#ifndef WCOL_DASH_STREAM_H_
#define WCOL_DASH_STREAM_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WCOL_STREAM_IDS_MAX     32u /* device ids in one change event */
#define WCOL_STREAM_RING        64u /* change events kept for Last-Event-ID */
#define WCOL_STREAM_RECHECK_MS  5000u
#define WCOL_STREAM_RETRY_MS    3000u /* the retry: hint */
#define WCOL_STREAM_CRED_MAX    (7 + 512)
#define WCOL_STREAM_WHO_MAX     64u
#define WCOL_STREAM_SESSION_HEX 64u

struct wcol_stream_config {
    unsigned max;           /* --max-streams: open streams in all */
    unsigned per_principal; /* --max-streams-per-user */
    unsigned buffer;        /* --stream-buffer: bytes a peer may leave untaken */
    unsigned keepalive_ms;  /* --stream-keepalive: a comment line this often */
};

/** The defaults: 32 streams, 4 per principal, 64 KiB, 15 s. (Inline: options.c, which the
 *  config fuzzer links alone, sets them.) */
static inline void wcol_stream_defaults(struct wcol_stream_config *cfg)
{
    cfg->max = 32;
    cfg->per_principal = 4;
    cfg->buffer = 64 * 1024;
    cfg->keepalive_ms = 15000;
}

struct wcol_streams;
struct wcol_collector;
struct wcol_conn;
struct wcol_principal;
struct wcol_jw;
struct wcol_prom;

/** Allocate the table and subscribe to c->bus. @return 0, -ENOMEM, -ENOSPC (bus full). */
int wcol_streams_open(struct wcol_streams **out, struct wcol_collector *c);

/** Free (every stream must be closed: the server closes all connections first). NULL ok. */
void wcol_streams_close(struct wcol_streams *s);

/** GET /v1/stream of an authorized principal. @return false when it is another route. */
bool wcol_stream_request(struct wcol_conn *conn, const struct wcol_principal *p);

/** The periodic tick: send what changed, keep-alives, authorize open streams again. */
void wcol_streams_tick(struct wcol_streams *s, uint64_t now_ms);

/** A dashboard session ended (logout): close its streams now. */
void wcol_streams_session_ended(struct wcol_streams *s, const char *session_id);

/** "streams" in the dashboard member of /v1/health, and the ward_dashboard_stream* families. */
void wcol_streams_health(struct wcol_streams *s, struct wcol_jw *w);
void wcol_streams_metrics(struct wcol_streams *s, struct wcol_prom *w);

#endif /* WCOL_DASH_STREAM_H_ */
