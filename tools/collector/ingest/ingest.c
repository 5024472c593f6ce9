/*
 * POST /v1/ingest: decode the batch, check it comes from the device the certificate names,
 * add it to the commit group (commit/group.h), and hold the answer until the commit.
 *
 * The acknowledgement ({"v":1,"acks":[{"boot":..,"seq":..}]}, docs/protocol.md) names, for
 * every boot the batch mentions, the highest sequence stored for (device, boot). It is read
 * inside the transaction that stored the batch and sent only after that transaction
 * committed, so the agent frees nothing that is not durably stored. A duplicate (already
 * stored) event is not stored again, and is acknowledged like the rest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commit/group.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "devices/devices.h"
#include "http/route.h"
#include "incidents/incidents.h"
#include "ingest/ingest.h"
#include "ward/wire/decode.h"
#include "server/collector.h"
#include "server/conn.h"

#define WCOL_ACK_MAX 8 /* boots per request: the agent keeps at most a few */

/*
 * A request in the commit group: the decoded batch copied out of the decoder's buffers
 * (documents stay spans of the request body, which the held connection keeps), and the rows
 * the store is given. One allocation, freed when the request is answered.
 */
struct wcol_ingest_pending {
    struct wcol_group_item item; /* first: the group hands it back */
    struct wcol_conn *conn;
    char device[WARD_WIRE_DEVICE_MAX + 1];
    char boot[WARD_WIRE_BOOT_HEX_LEN + 1];
    char health[WARD_WIRE_NAME_MAX + 1];
    struct wcol_store_report report;
    struct wcol_store_ack acks[WCOL_ACK_MAX];
    char ack_boots[WCOL_ACK_MAX][WARD_WIRE_BOOT_HEX_LEN + 1];
    struct ward_ingest_event *decoded; /* n_events, after this struct */
    struct wcol_store_event events[];
};

static bool json_content_type(const struct wcol_http_request *r)
{
    static const char want[] = "application/json";
    size_t n = sizeof(want) - 1;

    /* Absent is JSON: agents leave the header out to save wire bytes (docs/protocol.md). */
    if (r->content_type == NULL) {
        return true;
    }
    if (r->content_type_len < n || strncasecmp(r->content_type, want, n) != 0) {
        return false;
    }
    return r->content_type_len == n || r->content_type[n] == ';' || r->content_type[n] == ' ';
}

/* The boots to acknowledge: the batch's own and every event's, at most WCOL_ACK_MAX. */
static int collect_boots(const struct ward_ingest_batch *b, struct wcol_ingest_pending *p)
{
    unsigned n = 0;

    for (int i = -1; i < (int)b->n_events; i++) {
        const char *boot = i < 0 ? b->boot : b->events[i].boot;
        unsigned k;

        for (k = 0; k < n && strcmp(p->ack_boots[k], boot) != 0; k++) {
        }
        if (k < n) {
            continue;
        }
        if (n == WCOL_ACK_MAX) {
            return -E2BIG;
        }
        wcol_copy_str(p->ack_boots[n], sizeof(p->ack_boots[0]), boot);
        p->acks[n].boot_id = p->ack_boots[n];
        p->acks[n].seq = -1;
        n++;
    }
    p->item.put.acks = p->acks;
    p->item.put.n_acks = n;
    return 0;
}

static void fill_events(struct wcol_ingest_pending *p, const struct ward_ingest_batch *b,
                        int64_t now_ms)
{
    memcpy(p->decoded, b->events, b->n_events * sizeof(*b->events));
    for (unsigned i = 0; i < b->n_events; i++) {
        const struct ward_ingest_event *e = &p->decoded[i];

        p->events[i] = (struct wcol_store_event){
            .device = p->device,
            .boot_id = e->boot,
            .seq = e->seq,
            .received_ms = now_ms,
            .time_ms = e->wall_ms,
            .sensor = e->sensor,
            .from_state = e->from,
            .to_state = e->to,
            .severity = e->severity,
            .severity_rank = e->reading.severity, /* decoded: none 0 .. high 3 */
            .doc = e->doc,
            .doc_len = e->doc_len,
        };
    }
    p->item.put.events = p->events;
    p->item.put.n_events = b->n_events;
}

/* Copy a decoded batch into a request of the commit group. @return it, or NULL (no memory). */
static struct wcol_ingest_pending *pending_new(const struct ward_ingest_batch *b)
{
    size_t n = b->n_events;
    struct wcol_ingest_pending *p = calloc(
        1, sizeof(*p) + n * (sizeof(struct wcol_store_event) + sizeof(struct ward_ingest_event)));
    int64_t now_ms = wcol_now_wall_ms();

    if (p == NULL) {
        return NULL;
    }
    p->decoded = (struct ward_ingest_event *)(void *)(p->events + n);
    wcol_copy_str(p->device, sizeof(p->device), b->device);
    wcol_copy_str(p->boot, sizeof(p->boot), b->boot);
    wcol_copy_str(p->health, sizeof(p->health), b->health);
    p->report = (struct wcol_store_report){
        .device = p->device,
        .received_ms = now_ms,
        .has_heartbeat = b->has_heartbeat,
        .boot_id = p->boot,
        .health = p->health[0] != '\0' ? p->health : NULL,
        .interval_ms = b->interval_ms,
        .heartbeat = b->heartbeat,
        .heartbeat_len = b->heartbeat_len,
        .snapshot = b->snapshot,
        .snapshot_len = b->snapshot_len,
    };
    p->item.put.device = p->device;
    p->item.put.report = &p->report;
    fill_events(p, b, now_ms);
    return p;
}

/*
 * The acknowledgement's body, written in this one place (the wire codec's writer).
 * @return its length, or a negative errno when it does not fit.
 */
static int write_ack(char *out, size_t cap, const struct wcol_ingest_pending *p)
{
    struct ward_ingest_ack acks[WCOL_ACK_MAX];
    unsigned n = p->item.put.n_acks;

    for (unsigned i = 0; i < n; i++) {
        wcol_copy_str(acks[i].boot, sizeof(acks[i].boot), p->acks[i].boot_id);
        acks[i].seq = p->acks[i].seq;
    }
    return ward_ingest_format_ack(out, cap, acks, n);
}

static void refuse(struct wcol_conn *conn, enum wcol_refusal reason, int status, const char *what,
                   const char *why)
{
    wcol_conn_collector(conn)->stats.rejected_http++;
    wcol_conn_collector(conn)->stats.ingest_refused[reason]++;
    wcol_log_warn("%s CN=%s: refused batch (%d): %s%s%s", wcol_conn_addr(conn),
                  wcol_conn_peer_cn(conn), status, what, why != NULL ? ": " : "",
                  why != NULL ? why : "");
    wcol_conn_error(conn, status, why != NULL ? why : what);
}

/* The store refused the request's snapshot page: the device would pass --max-sensors. */
static void refuse_sensors(struct wcol_conn *conn, unsigned max)
{
    char why[160];

    wcol_conn_collector(conn)->stats.ingest_refused[WCOL_REFUSE_SENSORS]++;
    snprintf(why, sizeof(why),
             "health snapshot refused: more than %u sensors for this device (--max-sensors); "
             "nothing of the request was stored",
             max);
    wcol_log_warn("%s CN=%s: refused batch (422): its snapshot page would take the device past "
                  "--max-sensors %u",
                  wcol_conn_addr(conn), wcol_conn_peer_cn(conn), max);
    wcol_conn_error(conn, 422, why);
}

/* After the commit (commit/group.h): answer with the acknowledgement, or 503. */
static void finish(struct wcol_group_item *item, bool committed)
{
    struct wcol_ingest_pending *p = (struct wcol_ingest_pending *)item;
    struct wcol_conn *conn = p->conn;
    struct wcol_collector *c = wcol_conn_collector(conn);
    char body[64 + WCOL_ACK_MAX * (WARD_WIRE_BOOT_HEX_LEN + 40) + 128]; /* + a drill request */
    int n;

    wcol_conn_resume(conn);
    wcol_fleet_unreserve(&c->fleet);
    if (item->put.status == -E2BIG) {
        refuse_sensors(conn, c->cfg.max_sensors);
        free(p);
        return;
    }
    if (item->put.status != 0 || !committed) {
        c->stats.ingest_refused[WCOL_REFUSE_STORAGE]++;
    }
    if (item->put.status != 0) {
        free(p);
        WCOL_CONN_RESPOND_LIT(conn, 503, "{\"error\":\"storage unavailable; nothing was stored\"}",
                              "Retry-After: 5\r\n", false);
        return;
    }
    if (!committed) {
        free(p);
        WCOL_CONN_RESPOND_LIT(conn, 503,
                              "{\"error\":\"storage commit failed; nothing was stored\"}",
                              "Retry-After: 5\r\n", false);
        return;
    }
    n = write_ack(body, sizeof(body), p);
    n = wcol_incidents_drill_ack(c->incidents, p->device, body, sizeof(body), n);
    if (n < 0) { /* cannot happen: the buffer holds WCOL_ACK_MAX entries */
        free(p);
        wcol_conn_error(conn, 500, "acknowledgement too large");
        return;
    }
    wcol_log_debug("%s CN=%s: stored %u events (%u duplicates)", wcol_conn_addr(conn),
                   wcol_conn_peer_cn(conn), item->put.stored, item->put.duplicates);
    free(p);
    wcol_conn_respond(conn, 200, body, (size_t)n, NULL, !wcol_conn_request(conn)->keep_alive);
}

/* The batch is decoded and is the certificate's device: copy it out of the decoder's buffers
 * and hand it on (server/conn.h: into the commit group, through the owner with device loops). */
static void prepare(struct wcol_conn *conn, const struct ward_ingest_batch *b)
{
    struct wcol_ingest_pending *p = pending_new(b);

    if (p == NULL) {
        wcol_conn_error(conn, 503, "out of memory");
        return;
    }
    if (collect_boots(b, p) != 0) {
        free(p);
        refuse(conn, WCOL_REFUSE_MALFORMED, 400, "malformed batch",
               "more boots in one batch than the collector takes");
        return;
    }
    wcol_conn_submit(conn, p);
}

void wcol_ingest_enqueue(struct wcol_conn *conn, struct wcol_ingest_pending *p)
{
    struct wcol_collector *c = wcol_conn_collector(conn);

    p->conn = conn;
    p->report.peer = wcol_conn_addr(conn);
    wcol_incidents_drill_heard(c->incidents, p->device, p->report.heartbeat,
                               p->report.heartbeat_len);
    if (wcol_fleet_reserve(&c->fleet, p->device) != 0) {
        c->stats.ingest_refused[WCOL_REFUSE_DEVICE_CAPACITY]++;
        wcol_log_error("fleet is full (%zu devices, --max-devices); refusing %s", c->fleet.max,
                       p->device);
        free(p);
        WCOL_CONN_RESPOND_LIT(conn, 503, "{\"error\":\"collector at device capacity\"}",
                              "Retry-After: 60\r\n", false);
        return;
    }
    p->item.finish = finish;
    wcol_conn_hold(conn);
    wcol_group_add(&c->group, &p->item);
}

static void post_ingest(struct wcol_conn *conn, const struct wcol_route_args *a)
{
    struct wcol_collector *c = wcol_conn_collector(conn);
    struct ward_ingest_batch *b = &c->batch;
    const char *why = NULL;

    if (!json_content_type(wcol_conn_request(conn))) {
        refuse(conn, WCOL_REFUSE_CONTENT_TYPE, 415, "Content-Type must be application/json", NULL);
        return;
    }
    int rc = ward_ingest_decode(a->body, a->body_len, b, c->scratch, c->scratch_cap, &why);

    if (rc == -E2BIG) {
        refuse(conn, WCOL_REFUSE_TOO_MANY_EVENTS, 413, "too many events in one batch", why);
        return;
    }
    if (rc != 0) {
        refuse(conn, WCOL_REFUSE_MALFORMED, 400, "malformed batch", why);
        return;
    }
    if (strcmp(b->device, wcol_conn_peer_cn(conn)) != 0) {
        c->stats.forbidden++;
        c->stats.ingest_refused[WCOL_REFUSE_FORBIDDEN]++;
        wcol_log_warn("%s: device %s (certificate CN) posted a batch as device '%s'; refused",
                      wcol_conn_addr(conn), wcol_conn_peer_cn(conn), b->device);
        wcol_conn_error(conn, 403, "the batch's device is not the certificate's subject");
        return;
    }
    prepare(conn, b);
}

/* Certificate renewal over the device's own mutual TLS (devices/dev_api.c). */
static void post_renew(struct wcol_conn *conn, const struct wcol_route_args *a)
{
    wcol_devices_renew(conn, a->body, a->body_len);
}

static const struct wcol_route s_device_routes[] = {
    { WCOL_HTTP_POST, "/v1/ingest", WCOL_ROUTE_NO_QUERY, post_ingest },
    { WCOL_HTTP_POST, "/v1/renew", WCOL_ROUTE_NO_QUERY, post_renew },
};

bool wcol_ingest_is_batch(const struct wcol_http_request *r)
{
    const struct wcol_route *route = NULL;
    struct wcol_route_args args;

    return wcol_route_find(s_device_routes, sizeof(s_device_routes) / sizeof(s_device_routes[0]), r,
                           &route, &args) == WCOL_ROUTE_FOUND &&
           route->handler == post_ingest;
}

void wcol_device_request(struct wcol_conn *conn, const char *body, size_t len)
{
    const struct wcol_route *route = NULL;
    struct wcol_route_args args;

    switch (wcol_route_find(s_device_routes, sizeof(s_device_routes) / sizeof(s_device_routes[0]),
                            wcol_conn_request(conn), &route, &args)) {
    case WCOL_ROUTE_FOUND:
        args.body = body;
        args.body_len = len;
        route->handler(conn, &args);
        break;
    case WCOL_ROUTE_WRONG_METHOD:
        wcol_conn_collector(conn)->stats.ingest_refused[WCOL_REFUSE_ROUTE]++;
        wcol_conn_wrong_method(conn, wcol_http_method_name(route->method));
        break;
    default:
        wcol_conn_collector(conn)->stats.ingest_refused[WCOL_REFUSE_ROUTE]++;
        wcol_conn_error(conn, 404, "no such resource; devices POST /v1/ingest");
        break;
    }
}
