/*
 * The wire codec end to end, without the agent: every document the batch carries
 * (heartbeat full and compact, health snapshot page, events) and the acknowledgement are
 * encoded from fixed values, decoded, and compared member by member, at the edges (the
 * longest ids, escapes, INT64_MIN/MAX, sequences 1 and 2^32-1, null values and times, empty
 * members left out). Both ends hold the limits of ward/wire/protocol.h. Encoding and
 * decoding never touch the heap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <cJSON.h>

#include "heap_count.h"
#include "ward/base/json_arena.h"
#include "ward/wire/state.h"
#include "ward/wire/ack.h"
#include "ward/wire/boot.h"
#include "ward/wire/decode.h"
#include "ward/wire/encode.h"

#define BOOT_HEX "0123456789abcdef0123456789abcdef"

static uint8_t s_storage[16 * 1024];
static struct ward_json_arena s_arena;
static char s_buf[16 * 1024];
static char s_scratch[sizeof(s_buf)];
static struct ward_ingest_event s_events[4];
static struct ward_ingest_sensor s_sensors[4];
static char s_device[WARD_WIRE_DEVICE_MAX + 2];
static char s_sensor[WARD_WIRE_SENSOR_MAX + 2];

static int setup(void **state)
{
    (void)state;
    /* The longest ids the wire takes; the sensor's has a quote and a backslash to escape. */
    memset(s_device, 'd', WARD_WIRE_DEVICE_MAX);
    s_device[WARD_WIRE_DEVICE_MAX] = '\0';
    memset(s_sensor, 's', WARD_WIRE_SENSOR_MAX);
    s_sensor[3] = '"';
    s_sensor[7] = '\\';
    s_sensor[WARD_WIRE_SENSOR_MAX] = '\0';
    return ward_json_arena_init(&s_arena, s_storage, sizeof(s_storage));
}

static const struct ward_wire_event s_in_events[] = {
    { .boot = BOOT_HEX,
      .seq = 1,
      .t_ms = INT64_MIN,
      .has_wall = true,
      .wall_ms = 1,
      .sensor = "temp:cpu0",
      .from = WARD_STATE_OK,
      .to = WARD_STATE_FATAL,
      .severity = WARD_SEV_HIGH,
      .has_value = true,
      .value = INT64_MIN,
      .count = 1 },
    { .boot = "ffffffffffffffffffffffffffffffff",
      .seq = WARD_WIRE_SEQ_MAX,
      .t_ms = INT64_MAX,
      .sensor = NULL /* s_sensor */,
      .from = WARD_STATE_UNAVAILABLE,
      .to = WARD_STATE_OK,
      .severity = WARD_SEV_LOW,
      .has_value = false,
      .reason = "permission",
      .count = WARD_WIRE_SEQ_MAX,
      .first_t_ms = -1 },
};

static const struct ward_wire_sensor s_in_sensors[] = {
    { .id = "fan:1",
      .state = WARD_STATE_CAUTION,
      .severity = WARD_SEV_LOW,
      .kind = "threshold",
      .has_value = true,
      .value = INT64_MAX,
      .since_ms = -5,
      .last_ms = 0 },
    { .id = NULL /* s_sensor */,
      .state = WARD_STATE_UNAVAILABLE,
      .severity = WARD_SEV_MEDIUM,
      .kind = "smart",
      .since_ms = WARD_WIRE_TIME_NONE,
      .last_ms = WARD_WIRE_TIME_NONE,
      .reason = "standby",
      .standby = true },
};

static void heartbeat(struct ward_wire_heartbeat *h, bool full)
{
    memset(h, 0, sizeof(*h));
    h->seq = UINT32_MAX;
    h->t_ms = -1;
    h->config = "0123456789abcdef";
    h->rules = "";
    h->full = full;
    h->uptime_ms = INT64_MAX;
    h->interval_ms = (uint32_t)WARD_WIRE_INTERVAL_MAX_MS;
    h->firmware = "0.1.0";
    h->board = "b";
    h->arch = "a";
    h->config_sha256 = "";
    h->rules_sha256 = "";
    h->state = WARD_STATE_CRITICAL;
    h->severity = WARD_SEV_MEDIUM;
    h->sensors = 2;
    if (full) { /* a compact one here has no counters: its "events" and "loop" are left out */
        h->events[WARD_WIRE_EV_DROPPED_HIGH] = UINT32_MAX;
        h->memory[WARD_WIRE_MEM_JSON_BYTES] = 1;
    }
}

/* Encode a batch on the arena into s_buf; n_events events and, unless n_sensors < 0, a page. */
static int encode_batch(const char *device, bool full, unsigned n_events, int n_sensors)
{
    struct ward_wire_ident id = { device, BOOT_HEX };
    struct ward_wire_heartbeat h;
    struct ward_wire_event ev[2];
    struct ward_wire_sensor sn[2];
    cJSON *events = cJSON_CreateArray();
    cJSON *b = ward_wire_batch_json(&id);
    bool ok;
    int rc = -ENOSPC;

    memcpy(ev, s_in_events, sizeof(ev));
    memcpy(sn, s_in_sensors, sizeof(sn));
    ev[1].sensor = s_sensor;
    sn[1].id = s_sensor;
    heartbeat(&h, full);
    ok = ward_wire_put(b, WARD_WIRE_M_HEARTBEAT, ward_wire_heartbeat_json(&h, NULL));
    if (n_sensors >= 0) {
        struct ward_wire_health hh = { 7, WARD_STATE_CAUTION, WARD_SEV_LOW, 9, 3 };
        cJSON *sensors;
        cJSON *page = ward_wire_health_json(&hh, &id, &sensors);

        for (int i = 0; i < n_sensors; i++) {
            ok = ok && ward_wire_health_add(sensors, &sn[i]);
        }
        ok = ok && ward_wire_put(b, WARD_WIRE_M_HEALTH, page);
    }
    for (unsigned i = 0; i < n_events; i++) {
        ok = ok && cJSON_AddItemToArray(events, ward_wire_event_json(&ev[i]));
    }
    ok = ok && ward_wire_put_unless_empty(b, WARD_WIRE_M_EVENTS, events);
    if (ok && cJSON_PrintPreallocated(b, s_buf, (int)sizeof(s_buf), 0)) {
        rc = (int)strlen(s_buf);
    }
    return rc;
}

static int decode(struct ward_ingest_batch *b, const char **why)
{
    memset(b, 0, sizeof(*b));
    b->events = s_events;
    b->max_events = 2;
    b->sensors = s_sensors;
    b->max_sensors = 4;
    return ward_ingest_decode(s_buf, strlen(s_buf), b, s_scratch, sizeof(s_scratch), why);
}

static void check_event(const struct ward_ingest_event *out, const struct ward_wire_event *in,
                        const char *sensor)
{
    assert_string_equal(out->boot, in->boot);
    assert_true(out->seq == (int64_t)in->seq);
    assert_true(out->t_ms == in->t_ms);
    assert_true(out->wall_ms == (in->has_wall ? in->wall_ms : 0));
    assert_string_equal(out->sensor, sensor);
    assert_int_equal(out->from_state, in->from);
    assert_int_equal(out->reading.state, in->to);
    assert_int_equal(out->reading.severity, in->severity);
    assert_string_equal(out->to, ward_state_name((enum ward_state)in->to));
    assert_int_equal(out->reading.has_value, in->has_value);
    assert_true(out->reading.value == (in->has_value ? in->value : 0));
    assert_string_equal(out->reading.kind, "");
    assert_true(out->count == in->count);
}

static void check_sensor(const struct ward_ingest_sensor *out, const struct ward_wire_sensor *in,
                         const char *id)
{
    assert_string_equal(out->id, id);
    assert_int_equal(out->reading.state, in->state);
    assert_int_equal(out->reading.severity, in->severity);
    assert_string_equal(out->reading.kind, in->kind);
    assert_int_equal(out->reading.has_value, in->has_value);
    assert_true(out->reading.value == (in->has_value ? in->value : 0));
    assert_true(out->since_ms == in->since_ms);
    assert_true(out->last_ms == in->last_ms);
    assert_int_equal(out->standby, in->standby);
}

static void test_batch_round_trip(void **state)
{
    struct ward_ingest_batch b;
    const char *why = NULL;

    (void)state;
    heap_count_start();
    ward_json_arena_enter(&s_arena);
    assert_true(encode_batch(s_device, true, 2, 2) > 0);
    ward_json_arena_leave(&s_arena);
    assert_int_equal(decode(&b, &why), 0);
    assert_int_equal(heap_count_stop(), 0);
    assert_string_equal(b.device, s_device);
    assert_string_equal(b.boot, BOOT_HEX);
    assert_true(b.has_heartbeat);
    assert_true(b.hb_seq == UINT32_MAX);
    assert_true(b.hb_t_ms == -1);
    assert_true(b.interval_ms == WARD_WIRE_INTERVAL_MAX_MS);
    assert_string_equal(b.health, "critical");
    assert_int_equal(b.n_events, 2);
    check_event(&b.events[0], &s_in_events[0], "temp:cpu0");
    check_event(&b.events[1], &s_in_events[1], s_sensor);
    assert_non_null(b.snapshot);
    assert_int_equal(b.n_sensors, 2);
    assert_int_equal(b.sensors_seen, 2);
    check_sensor(&b.sensors[0], &s_in_sensors[0], "fan:1");
    check_sensor(&b.sensors[1], &s_in_sensors[1], s_sensor);
    /* The spans are the documents as sent: the first event's is exactly its encoding. */
    assert_memory_equal(b.events[0].doc, strstr(s_buf, "{\"boot\":\"" BOOT_HEX "\",\"seq\":1,"),
                        b.events[0].doc_len);
}

/* The batch with 1 sensor and no event in s_buf, then ev[0] and ev[1] appended; cap: s_buf's. */
static bool append_two(const struct ward_wire_event *ev, size_t cap, size_t *len)
{
    bool ok = true;

    ward_json_arena_enter(&s_arena);
    assert_true(encode_batch("d", true, 0, 1) > 0);
    ward_json_arena_leave(&s_arena);
    *len = strlen(s_buf);
    for (unsigned i = 0; ok && i < 2; i++) {
        static char before[sizeof(s_buf)];

        memcpy(before, s_buf, *len + 1);
        ward_json_arena_enter(&s_arena);
        ok = ward_wire_batch_append(s_buf, cap, len, i == 0, ward_wire_event_json(&ev[i]));
        ward_json_arena_leave(&s_arena);
        if (!ok) {
            assert_string_equal(s_buf, before); /* still the complete batch it was */
            assert_int_equal(*len, strlen(before));
        }
    }
    assert_int_equal(*len, strlen(s_buf));
    return ok;
}

/*
 * Events printed one at a time after a printed batch (ward_wire_batch_append) give the bytes
 * of the batch built as one tree; an event that does not fit leaves the batch as it was, and
 * the buffer is used to within a few bytes (cJSON reserves a little while it prints).
 */
static void test_batch_append_streams_events(void **state)
{
    static char whole[sizeof(s_buf)];
    struct ward_wire_event ev[2];
    size_t len;
    size_t cap;

    (void)state;
    memcpy(ev, s_in_events, sizeof(ev));
    ev[1].sensor = s_sensor;
    heap_count_start();
    ward_json_arena_enter(&s_arena);
    assert_true(encode_batch("d", true, 2, 1) > 0);
    ward_json_arena_leave(&s_arena);
    memcpy(whole, s_buf, sizeof(whole));
    assert_false(append_two(ev, strlen(whole), &len)); /* no room for the NUL */
    for (cap = strlen(whole) + 1; cap < strlen(whole) + 8 && !append_two(ev, cap, &len); cap++) {
    }
    assert_true(append_two(ev, cap, &len));
    assert_string_equal(s_buf, whole);
    assert_false(ward_wire_batch_append(s_buf, sizeof(s_buf), &len, false, NULL));
    assert_int_equal(heap_count_stop(), 0);
}

static void test_empty_members_left_out(void **state)
{
    struct ward_ingest_batch b;
    const char *why = NULL;

    (void)state;
    ward_json_arena_enter(&s_arena);
    assert_true(encode_batch("d", false, 0, 0) > 0);
    ward_json_arena_leave(&s_arena);
    /* A compact heartbeat without counters: no "events" or "loop" object, no events array. */
    assert_null(strstr(s_buf, "\"events\""));
    assert_null(strstr(s_buf, "\"loop\""));
    assert_null(strstr(s_buf, "\"uptime_ms\""));
    assert_non_null(strstr(s_buf, "\"sensors\":[]"));
    assert_int_equal(decode(&b, &why), 0);
    assert_int_equal(b.n_events, 0);
    assert_int_equal(b.n_sensors, 0);
    assert_int_equal(b.sensors_seen, 0);
    assert_true(b.interval_ms == 0);
    ward_json_arena_enter(&s_arena);
    assert_true(encode_batch("d", true, 0, -1) > 0);
    ward_json_arena_leave(&s_arena);
    assert_int_equal(decode(&b, &why), 0);
    assert_null(b.snapshot);
}

static void test_decoder_limits(void **state)
{
    char longer[WARD_WIRE_DEVICE_MAX + 2];
    struct ward_ingest_batch b;
    const char *why = NULL;
    char *p;

    (void)state;
    memset(longer, 'd', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    ward_json_arena_enter(&s_arena);
    assert_true(encode_batch(longer, true, 0, -1) > 0);
    ward_json_arena_leave(&s_arena);
    assert_int_equal(decode(&b, &why), -EPROTO);
    assert_string_equal(why, "device id too long");
    /* A sensor id one longer than the limit. */
    ward_json_arena_enter(&s_arena);
    assert_true(encode_batch("d", true, 2, -1) > 0);
    ward_json_arena_leave(&s_arena);
    p = strstr(s_buf, "\"sensor\":\"sss");
    assert_non_null(p);
    memmove(p + 11, p + 10, strlen(p + 10) + 1);
    assert_int_equal(decode(&b, &why), -EPROTO);
    assert_string_equal(why, "sensor id too long");
    /* More events than the caller has room for. */
    ward_json_arena_enter(&s_arena);
    assert_true(encode_batch("d", true, 2, -1) > 0);
    ward_json_arena_leave(&s_arena);
    memset(&b, 0, sizeof(b));
    b.events = s_events;
    b.max_events = 1;
    assert_int_equal(
        ward_ingest_decode(s_buf, strlen(s_buf), &b, s_scratch, sizeof(s_scratch), &why), -E2BIG);
    /* Sequence 2^32 and an interval past 7 days. */
    p = strstr(s_buf, "\"seq\":4294967295");
    assert_non_null(p);
    memcpy(p + 6, "4294967296", 10);
    assert_int_equal(decode(&b, &why), -EPROTO);
    ward_json_arena_enter(&s_arena);
    assert_true(encode_batch("d", true, 0, -1) > 0);
    ward_json_arena_leave(&s_arena);
    p = strstr(s_buf, "\"interval_ms\":604800000");
    assert_non_null(p);
    p[22] = '1';
    assert_int_equal(decode(&b, &why), -EPROTO);
    assert_string_equal(why, "interval_ms must be 1 ms .. 7 days");
}

/* A batch with a compact heartbeat; hb_extra and extra are spliced into it (may be ""). */
static int escape_case(const char *device, const char *hb_extra, const char *extra,
                       struct ward_ingest_batch *b, const char **why)
{
    snprintf(s_buf, sizeof(s_buf),
             "{\"v\":2,\"type\":\"batch\",\"device\":\"%s\",\"boot\":\"" BOOT_HEX "\","
             "\"heartbeat\":{\"v\":2,\"seq\":1,\"t_ms\":1,\"health\":{\"state\":\"ok\"}%s}%s}",
             device, hb_extra, extra);
    return decode(b, why);
}

/* Member names are told apart by length and bytes: a name that extends a known one, or is a
 * prefix of one, is an unknown member (skipped), never taken for the known one. */
static void test_decoder_near_names(void **state)
{
    struct ward_ingest_batch b;
    const char *why = NULL;

    (void)state;
    assert_int_equal(escape_case("d", ",\"seqq\":\"x\",\"se\":7,\"t_m\":[1],\"\":0",
                                 ",\"heartbeat_\":{},\"event\":[]", &b, &why),
                     0);
    assert_true(b.hb_seq == 1 && b.hb_t_ms == 1);
    assert_int_equal(b.n_events, 0);
    snprintf(s_buf, sizeof(s_buf),
             "{\"v\":2,\"type\":\"batch\",\"device\":\"d\",\"boot\":\"" BOOT_HEX "\","
             "\"heartbeat\":{\"v\":2,\"seq\":1,\"t_msx\":1}}");
    assert_int_equal(decode(&b, &why), -EPROTO);
    assert_string_equal(why, "a heartbeat needs v, seq and t_ms");
    snprintf(s_buf, sizeof(s_buf),
             "{\"v\":2,\"typ\":\"batch\",\"devicE\":\"d\",\"boot\":\"" BOOT_HEX "\","
             "\"heartbeat\":{\"v\":2,\"seq\":1,\"t_ms\":1}}");
    assert_int_equal(decode(&b, &why), -EPROTO);
    assert_string_equal(why, "a batch needs device and boot");
}

/*
 * Device-supplied text reaches operators' terminals (wardctl): control characters (C0, DEL,
 * C1) are refused in every string of a batch, member names included, and the heartbeat's
 * firmware, board and arch are 1-63 printable ASCII (docs/protocol.md, "Strings").
 */
static void test_decoder_refuses_terminal_escapes(void **state)
{
    static const struct {
        const char *device, *hb, *extra, *why;
    } refused[] = {
        { "d", ",\"firmware\":\"\\u001b]0;PWNED\\u0007\\u001b[2J\"", "",
          "firmware: 1-63 printable ASCII characters" },
        { "d", ",\"board\":\"\\u001b[2J\"", "", "board: 1-63 printable ASCII characters" },
        { "d", ",\"arch\":\"x86\\u009b31m\"", "", "arch: 1-63 printable ASCII characters" },
        { "d", ",\"arch\":\"x86\\u007f\"", "", "arch: 1-63 printable ASCII characters" },
        { "d", ",\"firmware\":\"caf\\u00e9\"", "", "firmware: 1-63 printable ASCII characters" },
        { "d", ",\"firmware\":\"\"", "", "firmware: 1-63 printable ASCII characters" },
        { "d", ",\"firmware\":\"0123456789012345678901234567890123456789012345678901234567890123\"",
          "", "firmware: 1-63 printable ASCII characters" },
        { "d", ",\"note\":\"\\u001b[2J\"", "", "a string holds a control character" },
        { "d", ",\"memory\":{\"x\\u001bx\":1}", "", "a member name holds a control character" },
        { "d", "", ",\"x\":[\"\\u001f\"]", "a string holds a control character" },
        { "d", "",
          ",\"events\":[{\"boot\":\"" BOOT_HEX "\",\"seq\":1,\"t_ms\":1,\"sensor\":\"s\","
          "\"from\":\"ok\",\"to\":\"failed\",\"severity\":\"high\",\"value\":null,\"count\":1,"
          "\"reason\":\"\\u0007\"}]",
          "a string holds a control character" },
        { "d", "",
          ",\"events\":[{\"boot\":\"" BOOT_HEX "\",\"seq\":1,\"t_ms\":1,\"sensor\":\"s\\u001b\","
          "\"from\":\"ok\",\"to\":\"failed\",\"severity\":\"high\",\"value\":null,\"count\":1}]",
          "sensor id: 1-63 printable ASCII" },
        { "d", "",
          ",\"health\":{\"v\":1,\"type\":\"health\",\"sensors\":[{\"id\":\"\\u001b[2J\"}]}",
          "a string holds a control character" },
        { "d\\u001b[2J", "", "", "device id: 1-63 printable ASCII" },
    };
    struct ward_ingest_batch b;
    const char *why = NULL;

    (void)state;
    heap_count_start();
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        int rc = escape_case(refused[i].device, refused[i].hb, refused[i].extra, &b, &why);

        if (rc != -EPROTO || why == NULL || strcmp(why, refused[i].why) != 0) {
            fail_msg("case %zu: rc %d, why \"%s\", want \"%s\"", i, rc, why ? why : "(null)",
                     refused[i].why);
        }
        assert_int_equal(b.n_events, 0);
    }
    /* Printable ASCII in the named fields, and other text (UTF-8) elsewhere, are accepted. */
    assert_int_equal(escape_case("bmc rack4/u12",
                                 ",\"firmware\":\"0.1.0-rc1+g1234 (debug)\",\"board\":\"sim\","
                                 "\"arch\":\"x86_64\",\"note\":\"caf\\u00e9 \\\"q\\\" \\\\\"",
                                 "", &b, &why),
                     0);
    assert_int_equal(heap_count_stop(), 0);
}

struct pairs {
    uint8_t boot[3][WARD_WIRE_BOOT_LEN];
    uint32_t seq[3];
    unsigned n;
};

static int collect(void *ctx, const uint8_t boot[WARD_WIRE_BOOT_LEN], uint32_t seq)
{
    struct pairs *p = ctx;

    assert_true(p->n < 3);
    memcpy(p->boot[p->n], boot, WARD_WIRE_BOOT_LEN);
    p->seq[p->n++] = seq;
    return 0;
}

static void test_ack_round_trip(void **state)
{
    const struct ward_ingest_ack acks[] = {
        { BOOT_HEX, 0 },
        { "00000000000000000000000000000000", -1 }, /* nothing stored: left out */
        { "ffffffffffffffffffffffffffffffff", WARD_WIRE_SEQ_MAX },
    };
    struct pairs got = { .n = 0 };
    uint8_t want[WARD_WIRE_BOOT_LEN];
    int n;

    (void)state;
    heap_count_start();
    n = ward_ingest_format_ack(s_buf, sizeof(s_buf), acks, 3);
    assert_true(n > 0);
    assert_int_equal(ward_wire_ack_each(s_buf, (size_t)n, collect, &got), 2);
    assert_int_equal(heap_count_stop(), 0);
    assert_int_equal(got.n, 2);
    assert_int_equal(ward_boot_id_parse(BOOT_HEX, want), 0);
    assert_memory_equal(got.boot[0], want, WARD_WIRE_BOOT_LEN);
    assert_true(got.seq[0] == 0);
    memset(want, 0xff, sizeof(want));
    assert_memory_equal(got.boot[1], want, WARD_WIRE_BOOT_LEN);
    assert_true(got.seq[1] == UINT32_MAX);
    /* No entry: an empty list, still a valid document. */
    n = ward_ingest_format_ack(s_buf, sizeof(s_buf), acks, 0);
    assert_string_equal(s_buf, "{\"v\":1,\"acks\":[]}");
    assert_int_equal(ward_wire_ack_each(s_buf, (size_t)n, NULL, NULL), 0);
    /* The writer's bound: exactly the length plus its NUL fits, one byte less does not. */
    n = ward_ingest_format_ack(s_buf, sizeof(s_buf), acks, 3);
    assert_int_equal(ward_ingest_format_ack(s_scratch, (size_t)n, acks, 3), -ENOSPC);
    assert_int_equal(ward_ingest_format_ack(s_buf, (size_t)n + 1, acks, 3), n);
    assert_int_equal(ward_ingest_format_ack(NULL, 8, acks, 1), -EINVAL);
}

static void test_ack_reader_limits(void **state)
{
    static const struct {
        const char *text;
        int rc;
    } cases[] = {
        { "{\"v\":1,\"acks\":[{\"boot\":\"" BOOT_HEX "\",\"seq\":4294967296}]}", -ERANGE },
        { "{\"v\":1,\"acks\":[{\"boot\":\"" BOOT_HEX "\",\"seq\":-1}]}", -ERANGE },
        { "{\"v\":1,\"acks\":[{\"boot\":\"" BOOT_HEX "0\",\"seq\":1}]}", -ENAMETOOLONG },
        { "{\"v\":1,\"acks\":[{\"boot\":\"0123\",\"seq\":1}]}", -EINVAL },
        { "{\"v\":2,\"acks\":[]}", -EINVAL },
        { "{\"v\":1}", -EINVAL },
        { "{\"v\":1,\"acks\":[],\"x\":0}", -EINVAL },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(ward_wire_ack_each(cases[i].text, strlen(cases[i].text), NULL, NULL),
                         cases[i].rc);
    }
}

/* The drill member (docs/incidents.md, "Drills"): written by the collector, read by the agent,
 * validated like the rest of the document, ignored by ward_wire_ack_each()'s pairs. */
static void test_ack_drill(void **state)
{
    const struct ward_ingest_ack acks[] = { { BOOT_HEX, 5 } };
    struct ward_wire_drill d = { .id = 7, .for_s = 600, .scenario = "failing-fan" };
    struct ward_wire_drill got;
    int n;

    (void)state;
    heap_count_start();
    n = ward_ingest_format_ack(s_buf, sizeof(s_buf), acks, 1);
    assert_int_equal(ward_wire_ack_drill(s_buf, (size_t)n, &got), 0); /* none */
    n = ward_ingest_ack_add_drill(s_buf, sizeof(s_buf), (size_t)n, &d);
    assert_true(n > 0);
    assert_string_equal(s_buf, "{\"v\":1,\"acks\":[{\"boot\":\"" BOOT_HEX "\",\"seq\":5}],"
                               "\"drill\":{\"id\":7,\"scenario\":\"failing-fan\",\"for_s\":600}}");
    assert_int_equal(ward_wire_ack_each(s_buf, (size_t)n, NULL, NULL), 1);
    assert_int_equal(ward_wire_ack_drill(s_buf, (size_t)n, &got), 1);
    assert_int_equal(heap_count_stop(), 0);
    assert_true(got.id == 7 && got.for_s == 600 && !got.stop);
    assert_string_equal(got.scenario, "failing-fan");
    /* A stop. */
    d = (struct ward_wire_drill){ .id = 9, .stop = true };
    n = ward_ingest_format_ack(s_buf, sizeof(s_buf), acks, 1);
    n = ward_ingest_ack_add_drill(s_buf, sizeof(s_buf), (size_t)n, &d);
    assert_int_equal(ward_wire_ack_drill(s_buf, (size_t)n, &got), 1);
    assert_true(got.id == 9 && got.stop && got.scenario[0] == '\0');
    /* The writer's bound and its refusals. */
    assert_int_equal(ward_ingest_ack_add_drill(s_buf, (size_t)n, (size_t)n, &d), -ENOSPC);
    d = (struct ward_wire_drill){ .id = 1, .for_s = 1, .scenario = "../x" };
    assert_int_equal(ward_ingest_ack_add_drill(s_buf, sizeof(s_buf), (size_t)n, &d), -EINVAL);
}

static void test_ack_drill_limits(void **state)
{
    static const char *const bad[] = {
        "{\"v\":1,\"acks\":[],\"drill\":{\"id\":0,\"scenario\":\"a\",\"for_s\":1}}",
        "{\"v\":1,\"acks\":[],\"drill\":{\"id\":1,\"scenario\":\"a/b\",\"for_s\":1}}",
        "{\"v\":1,\"acks\":[],\"drill\":{\"id\":1,\"scenario\":\"-a\",\"for_s\":1}}",
        "{\"v\":1,\"acks\":[],\"drill\":{\"id\":1,\"scenario\":\"a\",\"for_s\":0}}",
        "{\"v\":1,\"acks\":[],\"drill\":{\"id\":1,\"scenario\":\"a\",\"for_s\":86401}}",
        "{\"v\":1,\"acks\":[],\"drill\":{\"id\":1,\"scenario\":\"a\"}}",
        "{\"v\":1,\"acks\":[],\"drill\":{\"id\":1,\"stop\":false}}",
        "{\"v\":1,\"acks\":[],\"drill\":{\"id\":1,\"stop\":true,\"scenario\":\"a\"}}",
        "{\"v\":1,\"acks\":[],\"drill\":{\"id\":1,\"stop\":true,\"x\":1}}",
        "{\"v\":1,\"acks\":[],\"drill\":{\"id\":1,\"stop\":true},\"drill\":{\"id\":1,"
        "\"stop\":true}}",
        "{\"v\":1,\"acks\":[],\"drill\":[]}",
    };
    struct ward_wire_drill got;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* A malformed request makes the whole acknowledgement malformed: nothing is freed. */
        assert_true(ward_wire_ack_each(bad[i], strlen(bad[i]), NULL, NULL) < 0);
        assert_true(ward_wire_ack_drill(bad[i], strlen(bad[i]), &got) < 0);
    }
}

/* A snapshot sensor of unexpected shape is kept untyped, never refused (as before). */
static void test_sensors_lenient(void **state)
{
    static const char body[] =
        "{\"v\":2,\"type\":\"batch\",\"device\":\"d\",\"boot\":\"" BOOT_HEX "\","
        "\"heartbeat\":{\"v\":2,\"seq\":1,\"t_ms\":1,\"health\":{\"state\":\"ok\"}},"
        "\"health\":{\"v\":1,\"type\":\"health\",\"sensors\":[1,{\"id\":7,\"state\":\"odd\","
        "\"value\":\"x\",\"kind\":\"much-too-long-kind-name\",\"since_ms\":null},"
        "{\"id\":\"a\",\"value\":18446744073709551615},{},{},{}]}}";
    struct ward_ingest_batch b;
    const char *why = NULL;

    (void)state;
    strcpy(s_buf, body);
    assert_int_equal(decode(&b, &why), 0);
    assert_int_equal(b.sensors_seen, 6);
    assert_int_equal(b.n_sensors, 4); /* the number is skipped; room for 4 */
    assert_string_equal(b.sensors[0].id, "");
    assert_int_equal(b.sensors[0].reading.state, WARD_WIRE_UNKNOWN);
    assert_false(b.sensors[0].reading.has_value);
    assert_string_equal(b.sensors[0].reading.kind, "");
    assert_true(b.sensors[0].since_ms == WARD_WIRE_TIME_NONE);
    assert_string_equal(b.sensors[1].id, "a");
    assert_true(b.sensors[1].reading.has_value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_round_trip),
        cmocka_unit_test(test_batch_append_streams_events),
        cmocka_unit_test(test_empty_members_left_out),
        cmocka_unit_test(test_decoder_limits),
        cmocka_unit_test(test_decoder_near_names),
        cmocka_unit_test(test_decoder_refuses_terminal_escapes),
        cmocka_unit_test(test_ack_round_trip),
        cmocka_unit_test(test_ack_reader_limits),
        cmocka_unit_test(test_ack_drill),
        cmocka_unit_test(test_ack_drill_limits),
        cmocka_unit_test(test_sensors_lenient),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
