/*
 * Fuzz the wire codec (firmware/wire) from both ends with one input:
 *  - as an ingest batch, through the collector's decoder with room for typed sensors: an
 *    accepted batch names a valid device (printable ASCII, as its events' sensor ids; no
 *    control character in a typed sensor's id or kind) and boot, its events carry valid boot ids,
 *    sequences and counts in 1..2^32-1, and typed states and severities that agree with
 *    their names, its spans lie inside the body and are objects; a refusal has a reason
 *    and leaves nothing behind; decoding is deterministic; the one-pass decode gives exactly
 *    what the two passes give (ward_ingest_decode_two_pass(): result, reason, batch);
 *  - an accepted batch is then answered as the collector does (the highest sequence per
 *    boot through the ack writer) and that answer read back by the agent's ack reader:
 *    the pairs must come back exactly;
 *  - its events are encoded again by the agent's encoder from their typed values and
 *    decoded once more: the typed values must survive the round trip;
 *  - as an acknowledgement, through the agent's reader: never more pairs than it counted,
 *    the same pairs every time.
 * A failed invariant abort()s.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "ward/wire/state.h"
#include "ward/wire/ack.h"
#include "ward/wire/boot.h"
#include "ward/wire/decode.h"
#include "ward/wire/encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS  16
#define MAX_SENSORS 16
#define MAX_ACKS    (MAX_EVENTS + 1)

static struct ward_ingest_event s_events[MAX_EVENTS];
static struct ward_ingest_event s_again[MAX_EVENTS];
static struct ward_ingest_sensor s_sensors[MAX_SENSORS];
static struct ward_ingest_event s_events2[MAX_EVENTS];
static struct ward_ingest_sensor s_sensors2[MAX_SENSORS];

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

static int span_ok(const char *p, size_t n, const char *buf, size_t size)
{
    return p >= buf && n >= 2 && p + n <= buf + size && p[0] == '{' && p[n - 1] == '}';
}

static int boot_ok(const char *b)
{
    return strlen(b) == WARD_WIRE_BOOT_HEX_LEN &&
           strspn(b, "0123456789abcdef") == WARD_WIRE_BOOT_HEX_LEN;
}

/* 0x20-0x7e only (ids), or (text) no C0, DEL or C1 control character. */
static int clean(const char *s, int ascii)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f || (ascii && *p > 0x7e) || (*p == 0xc2 && p[1] < 0xa0)) {
            return 0;
        }
    }
    return 1;
}

static void check_batch(const struct ward_ingest_batch *b, const char *buf, size_t size)
{
    check(clean(b->device, 1));
    for (unsigned i = 0; i < b->n_sensors; i++) {
        check(clean(b->sensors[i].id, 0) && clean(b->sensors[i].reading.kind, 0));
    }
    check(boot_ok(b->boot) && b->device[0] != '\0' && b->n_events <= MAX_EVENTS &&
          b->has_heartbeat && span_ok(b->heartbeat, b->heartbeat_len, buf, size) &&
          (b->snapshot == NULL || span_ok(b->snapshot, b->snapshot_len, buf, size)) &&
          b->n_sensors <= MAX_SENSORS && b->n_sensors <= b->sensors_seen);
    for (unsigned i = 0; i < b->n_events; i++) {
        const struct ward_ingest_event *e = &b->events[i];

        check(boot_ok(e->boot) && e->seq >= 1 && e->seq <= WARD_WIRE_SEQ_MAX && e->count >= 1 &&
              e->from_state == ward_state_parse(e->from) &&
              e->reading.state == ward_state_parse(e->to) &&
              e->reading.severity == ward_severity_parse(e->severity) &&
              e->reading.severity > WARD_SEV_NONE && e->sensor[0] != '\0' && clean(e->sensor, 1) &&
              span_ok(e->doc, e->doc_len, buf, size));
    }
}

/* The collector's answer: per boot, the highest sequence of this batch. */
static unsigned answer(const struct ward_ingest_batch *b, struct ward_ingest_ack *acks)
{
    unsigned n = 0;

    for (int i = -1; i < (int)b->n_events; i++) {
        const char *boot = i < 0 ? b->boot : b->events[i].boot;
        int64_t seq = i < 0 ? 0 : b->events[i].seq;
        unsigned k = 0;

        while (k < n && strcmp(acks[k].boot, boot) != 0) {
            k++;
        }
        if (k == n) {
            memcpy(acks[n].boot, boot, sizeof(acks[n].boot));
            acks[n++].seq = seq;
        } else if (seq > acks[k].seq) {
            acks[k].seq = seq;
        }
    }
    return n;
}

struct read_back {
    const struct ward_ingest_ack *acks;
    unsigned n;
};

static int compare_pair(void *ctx, const uint8_t boot[WARD_WIRE_BOOT_LEN], uint32_t seq)
{
    struct read_back *r = ctx;
    char hex[WARD_WIRE_BOOT_HEX_LEN + 1];

    ward_boot_id_hex(boot, hex);
    check(strcmp(hex, r->acks[r->n].boot) == 0 && seq == r->acks[r->n].seq);
    r->n++;
    return 0;
}

static void ack_round_trip(const struct ward_ingest_batch *b)
{
    struct ward_ingest_ack acks[MAX_ACKS];
    char text[64 + MAX_ACKS * (WARD_WIRE_BOOT_HEX_LEN + 40)];
    unsigned n = answer(b, acks);
    int len = ward_ingest_format_ack(text, sizeof(text), acks, n);
    struct read_back r = { acks, 0 };

    check(len > 0 && ward_wire_ack_each(text, (size_t)len, compare_pair, &r) == (int)n && r.n == n);
}

/* Encode the decoded events again from their typed values and decode that batch. */
static void encode_round_trip(const struct ward_ingest_batch *b)
{
    struct ward_wire_ident id = { b->device, b->boot };
    struct ward_wire_heartbeat h;
    struct ward_ingest_batch again = { .events = s_again, .max_events = MAX_EVENTS };
    const char *why;
    cJSON *doc = ward_wire_batch_json(&id);
    cJSON *events = cJSON_CreateArray();
    char *text;

    memset(&h, 0, sizeof(h));
    h.seq = 1;
    h.config = h.rules = "";
    check(ward_wire_put(doc, WARD_WIRE_M_HEARTBEAT, ward_wire_heartbeat_json(&h, NULL)));
    for (unsigned i = 0; i < b->n_events; i++) {
        const struct ward_ingest_event *e = &b->events[i];
        struct ward_wire_event w = {
            .boot = e->boot,
            .seq = (uint32_t)e->seq,
            .t_ms = e->t_ms,
            .has_wall = e->wall_ms != 0,
            .wall_ms = e->wall_ms,
            .sensor = e->sensor,
            .from = e->from_state,
            .to = e->reading.state,
            .severity = e->reading.severity,
            .has_value = e->reading.has_value,
            .value = e->reading.value,
            .count = e->count,
        };

        check(cJSON_AddItemToArray(events, ward_wire_event_json(&w)));
    }
    check(ward_wire_put_unless_empty(doc, WARD_WIRE_M_EVENTS, events));
    text = cJSON_PrintUnformatted(doc);
    check(text != NULL);
    char *scratch = malloc(strlen(text) + 1);

    check(scratch != NULL &&
          ward_ingest_decode(text, strlen(text), &again, scratch, strlen(text) + 1, &why) == 0 &&
          again.n_events == b->n_events);
    for (unsigned i = 0; i < b->n_events; i++) {
        const struct ward_ingest_event *x = &b->events[i];
        const struct ward_ingest_event *y = &again.events[i];

        check(strcmp(x->boot, y->boot) == 0 && x->seq == y->seq && x->t_ms == y->t_ms &&
              x->wall_ms == y->wall_ms && strcmp(x->sensor, y->sensor) == 0 &&
              x->from_state == y->from_state && x->reading.state == y->reading.state &&
              x->reading.severity == y->reading.severity &&
              x->reading.has_value == y->reading.has_value &&
              x->reading.value == y->reading.value && x->count == y->count);
    }
    free(scratch);
    free(text);
    cJSON_Delete(doc);
}

/* The same input through the two passes: the same result, reason and batch as b (rc, why). */
static void same_as_two_pass(const char *buf, size_t size, char *scratch, int rc, const char *why,
                             const struct ward_ingest_batch *b)
{
    struct ward_ingest_batch t = { .events = s_events2,
                                   .max_events = MAX_EVENTS,
                                   .sensors = s_sensors2,
                                   .max_sensors = MAX_SENSORS };
    const char *why2 = NULL;

    check(ward_ingest_decode_two_pass(buf, size, &t, scratch, size + 1, &why2) == rc);
    check((why == NULL) == (why2 == NULL) && (why == NULL || strcmp(why, why2) == 0));
    t.events = b->events;
    t.sensors = b->sensors;
    check(memcmp(&t, b, sizeof(t)) == 0);
    check(memcmp(s_events2, b->events, b->n_events * sizeof(*b->events)) == 0);
    check(memcmp(s_sensors2, b->sensors, b->n_sensors * sizeof(*b->sensors)) == 0);
}

static void as_batch(const char *buf, size_t size)
{
    char *scratch = malloc(size + 1);
    struct ward_ingest_batch b = { .events = s_events,
                                   .max_events = MAX_EVENTS,
                                   .sensors = s_sensors,
                                   .max_sensors = MAX_SENSORS };
    const char *why = NULL;

    check(scratch != NULL);
    int rc = ward_ingest_decode(buf, size, &b, scratch, size + 1, &why);

    same_as_two_pass(buf, size, scratch, rc, why, &b);
    if (rc == 0) {
        check_batch(&b, buf, size);
    } else {
        check((rc == -EPROTO || rc == -E2BIG) && why != NULL && b.n_events == 0 &&
              b.n_sensors == 0);
    }
    unsigned n = b.n_events;
    unsigned ns = b.n_sensors;

    check(ward_ingest_decode(buf, size, &b, scratch, size + 1, &why) == rc && b.n_events == n &&
          b.n_sensors == ns);
    free(scratch);
    if (rc == 0) {
        ack_round_trip(&b);
        encode_round_trip(&b);
    }
}

struct pairs {
    uint8_t boot[4][WARD_WIRE_BOOT_LEN];
    uint32_t seq[4];
    unsigned n;
};

static int collect(void *ctx, const uint8_t boot[WARD_WIRE_BOOT_LEN], uint32_t seq)
{
    struct pairs *p = ctx;

    if (p->n < 4) {
        memcpy(p->boot[p->n], boot, WARD_WIRE_BOOT_LEN);
        p->seq[p->n] = seq;
    }
    p->n++;
    return 0;
}

static void as_ack(const char *buf, size_t size)
{
    struct pairs a = { .n = 0 };
    struct pairs b = { .n = 0 };
    int n = ward_wire_ack_each(buf, size, NULL, NULL);

    if (n < 0) {
        check(ward_wire_ack_each(buf, size, collect, &a) == n && a.n == 0);
        return;
    }
    check(ward_wire_ack_each(buf, size, collect, &a) == n && a.n == (unsigned)n);
    check(ward_wire_ack_each(buf, size, collect, &b) == n && memcmp(&a, &b, sizeof(a)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly the input's size, so reading past it is caught by the sanitizer. */
    char *buf = malloc(size ? size : 1);

    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    as_batch(buf, size);
    as_ack(buf, size);
    free(buf);
    return 0;
}
