/*
 * POST /v1/ingest: decode the batch, check it comes from the device the certificate names,
 * stage it in the open transaction, and hold the answer until the commit.
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

#include "collector.h"
#include "ward/wire/decode.h"

static bool json_content_type(const struct ward_http_request *r)
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

/* The boots to acknowledge: the batch's own and every event's, at most WARD_ACK_MAX. */
static int collect_boots(const struct ward_ingest_batch *b, struct ward_pending *p)
{
    p->n_acks = 0;
    for (int i = -1; i < (int)b->n_events; i++) {
        const char *boot = i < 0 ? b->boot : b->events[i].boot;
        unsigned k;

        for (k = 0; k < p->n_acks && strcmp(p->acks[k].boot, boot) != 0; k++) {
        }
        if (k < p->n_acks) {
            continue;
        }
        if (p->n_acks == WARD_ACK_MAX) {
            return -E2BIG;
        }
        snprintf(p->acks[p->n_acks].boot, sizeof(p->acks[0].boot), "%s", boot);
        p->acks[p->n_acks].seq = -1;
        p->n_acks++;
    }
    return 0;
}

static int stage_events(struct ward_collector *c, const struct ward_ingest_batch *b,
                        struct ward_pending *p, int64_t now_ms)
{
    for (unsigned i = 0; i < b->n_events; i++) {
        const struct ward_ingest_event *e = &b->events[i];
        struct ward_store_event ev = {
            .device = b->device,
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
        bool inserted = false;
        int rc = c->store.ops->put_event(c->store.impl, &ev, &inserted);

        if (rc != 0) {
            return rc;
        }
        if (inserted) {
            p->stored++;
        } else {
            p->duplicates++;
        }
    }
    return 0;
}

static int stage(struct ward_conn *conn, const struct ward_ingest_batch *b, struct ward_pending *p)
{
    struct ward_collector *c = conn->c;
    const struct ward_store_ops *ops = c->store.ops;
    int64_t now_ms = ward_now_wall_ms();
    struct ward_store_report r = {
        .device = b->device,
        .received_ms = now_ms,
        .peer = conn->addr,
        .has_heartbeat = b->has_heartbeat,
        .boot_id = b->boot,
        .health = b->health[0] != '\0' ? b->health : NULL,
        .interval_ms = b->interval_ms,
        .heartbeat = b->heartbeat,
        .heartbeat_len = b->heartbeat_len,
        .snapshot = b->snapshot,
        .snapshot_len = b->snapshot_len,
    };
    int rc;

    if (!c->txn_open) {
        rc = ops->begin(c->store.impl);
        if (rc != 0) {
            return rc;
        }
        c->txn_open = true;
    }
    rc = ops->savepoint(c->store.impl);
    if (rc != 0) {
        return rc;
    }
    rc = stage_events(c, b, p, now_ms);
    rc = rc ?: ops->put_report(c->store.impl, &r);
    for (unsigned i = 0; rc == 0 && i < p->n_acks; i++) {
        bool found = false;

        rc = ops->max_seq(c->store.impl, b->device, p->acks[i].boot, &p->acks[i].seq, &found);
        if (!found) {
            p->acks[i].seq = -1;
        }
    }
    int rc2 = ops->release(c->store.impl, rc == 0);

    return rc != 0 ? rc : rc2;
}

static void refuse(struct ward_conn *conn, int status, const char *what, const char *why)
{
    conn->c->stats.rejected_http++;
    ward_log_warn("%s CN=%s: refused batch (%d): %s%s%s", conn->addr, conn->peer.ident.cn, status,
                  what, why != NULL ? ": " : "", why != NULL ? why : "");
    ward_conn_error(conn, status, why != NULL ? why : what);
}

void ward_ingest_request(struct ward_conn *conn, const char *body, size_t len)
{
    struct ward_collector *c = conn->c;
    struct ward_ingest_batch *b = &c->batch;
    struct ward_pending *p;
    const char *why = NULL;

    if (!json_content_type(&conn->req)) {
        refuse(conn, 415, "Content-Type must be application/json", NULL);
        return;
    }
    int rc = ward_ingest_decode(body, len, b, c->scratch, c->scratch_cap, &why);

    if (rc == -E2BIG) {
        refuse(conn, 413, "too many events in one batch", why);
        return;
    }
    if (rc != 0) {
        refuse(conn, 400, "malformed batch", why);
        return;
    }
    if (strcmp(b->device, conn->peer.ident.cn) != 0) {
        c->stats.forbidden++;
        ward_log_warn("%s: device %s (certificate CN) posted a batch as device '%s'; refused",
                      conn->addr, conn->peer.ident.cn, b->device);
        ward_conn_error(conn, 403, "the batch's device is not the certificate's subject");
        return;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        ward_conn_error(conn, 503, "out of memory");
        return;
    }
    if (collect_boots(b, p) != 0) {
        free(p);
        refuse(conn, 400, "malformed batch", "more boots in one batch than the collector takes");
        return;
    }
    if (ward_fleet_reserve(&c->fleet, b->device) != 0) {
        free(p);
        ward_log_error("fleet is full (%zu devices, --max-devices); refusing %s", c->fleet.max,
                       b->device);
        ward_conn_respond(conn, 503, "{\"error\":\"collector at device capacity\"}", 41,
                          "Retry-After: 60\r\n", false);
        return;
    }
    rc = stage(conn, b, p);
    if (rc != 0) {
        ward_fleet_unreserve(&c->fleet);
        free(p);
        c->stats.stage_failures++;
        ward_conn_respond(conn, 503, "{\"error\":\"storage unavailable; nothing was stored\"}", 51,
                          "Retry-After: 5\r\n", false);
        return;
    }
    p->report.has_heartbeat = b->has_heartbeat;
    p->report.interval_ms = b->interval_ms;
    p->report.events_stored = p->stored;
    snprintf(p->report.boot_id, sizeof(p->report.boot_id), "%s", b->boot);
    snprintf(p->report.health, sizeof(p->report.health), "%s", b->health);
    conn->pending = p;
    conn->state = WARD_CS_WAIT_COMMIT;
    ward_conn_timer(conn, WARD_TC_NONE);
    conn->in_group = true;
    conn->gnext = NULL;
    *c->group_tail = conn;
    c->group_tail = &conn->gnext;
    c->group_n++;
}

void ward_ingest_finish(struct ward_conn *conn, bool committed)
{
    struct ward_collector *c = conn->c;
    struct ward_pending *p = conn->pending;
    char body[64 + WARD_ACK_MAX * (WARD_WIRE_BOOT_HEX_LEN + 40)];
    int n;

    conn->pending = NULL;
    conn->state = WARD_CS_READ; /* no longer held back: responses go out at once */
    ward_fleet_unreserve(&c->fleet);
    if (!committed) {
        free(p);
        ward_conn_respond(conn, 503, "{\"error\":\"storage commit failed; nothing was stored\"}",
                          53, "Retry-After: 5\r\n", false);
        return;
    }
    ward_fleet_heard(&c->fleet, conn->peer.ident.cn, &p->report, ward_now_wall_ms(),
                     ward_now_mono());
    c->stats.events_stored += p->stored;
    c->stats.events_duplicate += p->duplicates;
    n = ward_ingest_format_ack(body, sizeof(body), p->acks, p->n_acks);
    if (n < 0) { /* cannot happen: the buffer holds WARD_ACK_MAX entries */
        free(p);
        ward_conn_error(conn, 500, "acknowledgement too large");
        return;
    }
    ward_log_debug("%s CN=%s: stored %u events (%u duplicates)", conn->addr, conn->peer.ident.cn,
                   p->stored, p->duplicates);
    free(p);
    ward_conn_respond(conn, 200, body, (size_t)n, NULL, !conn->req.keep_alive);
}
