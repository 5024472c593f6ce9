/*
 * Bytes on the wire per heartbeat interval (issue 14: <= 320 B) and thresholds on the wire.
 *
 * The budget: a steady-state heartbeat-only batch of a real agent context, measured as the
 * encoder prints it (ward_report_batch()) plus the request head the transport writes for it
 * (ward_http_format_post()) plus one TLS record's overhead, must stay within 320 bytes.
 * Steady state: the sticky members went out, events happened and were acknowledged, the
 * loop's worst lag keeps creeping up within its power of two, lateness under the floor.
 *
 * The same with two sensors not ok: the heartbeat's health summary goes only when it changed
 * since the last acknowledged heartbeat (and with every full one).
 *
 * Thresholds: full snapshot pages carry each threshold-judged sensor's effective thresholds
 * ("thr" above, "thr_below" below, keyed by the state a reading past them enters); delta
 * pages and heartbeats never do; pages split to fit a small buffer still carry them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cJSON.h>

#include "heap_count.h"
#include "ward/report.h"
#include "ward/transport/http.h"

/* The TLS record around a request: 5-byte header, 16-byte tag, TLS 1.3's inner content type
 * (the agent offers TLS 1.3 with ChaCha20-Poly1305 first; TLS 1.2 ChaCha20 is 21). */
#define TLS_RECORD_OVERHEAD 22u
#define WIRE_BUDGET         320u
/* A production-like collector address and device name (the bench uses 127.0.0.1, wire-1). */
#define COLLECTOR_HOST "collector.example.net"
#define COLLECTOR_PORT 8443
#define INGEST_PATH    "/v1/ingest"

static struct ward_agent s_agent;
static uint8_t s_storage[WARD_JSON_ARENA_SIZE];
static uint8_t s_parse_storage[256 * 1024];
static struct ward_json_arena s_arena;
static struct ward_json_arena s_parse_arena;
static char s_buf[32 * 1024];
static const uint8_t s_boot[WARD_BOOT_ID_LEN] = { 0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
                                                  5,    6,    7,    8,    9, 10, 11, 12 };
static const char k_rules[] =
    "{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":80000,\"upper_critical\":90000,"
    "\"lower_caution\":5000},{\"sensor\":\"fan:*\",\"lower_critical\":300},"
    "{\"sensor\":\"c\",\"kind\":\"rate\",\"upper_caution\":1000}]}";

static void feed(const char *id, int64_t v, int64_t t)
{
    struct ward_reading r;

    ward_reading_ok(&r, v);
    assert_true(ward_agent_feed(&s_agent, id, &r, t) >= 0);
}

/* 21 sensors, like the bench's --root / agent: 16 temperatures, 4 fans, a counter. */
static void feed_all(int64_t t, int64_t temp)
{
    char id[32];

    for (int i = 0; i < 16; i++) {
        snprintf(id, sizeof(id), "temp:chip%d:t%d", i / 4, i % 4);
        feed(id, temp + i * 1000, t);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof(id), "fan:chip0:f%d", i);
        feed(id, 2400 + i * 100, t);
    }
    feed("c", 1000, t);
}

static void start(void)
{
    struct ward_agent_config cfg = { .boot_id = s_boot, .device_id = "bmc-rack4-u12", .seed = 5 };

    assert_int_equal(ward_agent_init(&s_agent, &cfg, 1000), 0);
    assert_int_equal(ward_agent_load_rules(&s_agent, k_rules, strlen(k_rules), NULL, 1000), 3);
    assert_int_equal(ward_json_arena_init(&s_arena, s_storage, sizeof(s_storage)), 0);
    assert_int_equal(ward_json_arena_init(&s_parse_arena, s_parse_storage, sizeof(s_parse_storage)),
                     0);
    ward_agent_set_wall_clock(&s_agent, 2000, 1700000000000LL);
    feed_all(2000, 40000);
}

/* The printed document back as a tree on the parse arena (left by the caller). */
static cJSON *parse(const char *text)
{
    cJSON *doc = (ward_json_arena_enter(&s_parse_arena), cJSON_ParseWithLength(text, strlen(text)));

    assert_non_null(doc);
    return doc;
}

/* A heartbeat-only batch at now: its bytes on the wire (body, request head, TLS record). */
static size_t wire_bytes(int64_t now)
{
    char head[WARD_HTTP_POST_HEAD_FIXED + sizeof(COLLECTOR_HOST) + sizeof(INGEST_PATH)];
    unsigned n = 1;
    int body = ward_report_batch(&s_agent, now, 0, 0, false, &s_arena, s_buf, sizeof(s_buf), &n);
    int hlen;

    assert_true(body > 0);
    assert_int_equal(n, 0);
    hlen = ward_http_format_post(head, sizeof(head), COLLECTOR_HOST, COLLECTOR_PORT, INGEST_PATH,
                                 (size_t)body);
    assert_true(hlen > 0);
    return (size_t)body + (size_t)hlen + TLS_RECORD_OVERHEAD;
}

static bool is_full(void)
{
    return strstr(s_buf, "\"memory\"") != NULL;
}

/* Events happened (a temperature went to caution and back) and were all acknowledged. */
static void events_acknowledged(int64_t t)
{
    char ack[160];

    feed("temp:chip0:t0", 85000, t);
    feed("temp:chip0:t0", 40000, t + 1000);
    assert_true(ward_evlog_pending(&s_agent.log) > 0);
    snprintf(ack, sizeof(ack),
             "{\"v\":1,\"acks\":[{\"boot\":\"deadbeef0102030405060708090a0b0c\",\"seq\":%u}]}",
             (unsigned)ward_evlog_last_seq(&s_agent.log));
    assert_true(ward_report_apply_ack(&s_agent, ack, strlen(ack)) > 0);
    assert_int_equal(ward_evlog_pending(&s_agent.log), 0);
}

static void test_steady_heartbeat_within_budget(void **state)
{
    const int64_t t0 = 6000000000LL; /* 69 days of uptime: ten digits of t_ms */
    size_t worst = 0;
    int fulls = 0;

    (void)state;
    start();
    events_acknowledged(3000);
    s_agent.hb_seq = 99999; /* six digits of seq */
    heap_count_start();
    /* The first batch of a connection is full; the events counters settle once after it. */
    s_agent.sched.lag_ever_ms = 64;
    assert_true(wire_bytes(t0) > WIRE_BUDGET);
    assert_true(is_full());
    for (int i = 1; i <= 3; i++) {
        (void)wire_bytes(t0 + i * 60000);
    }
    /* Steady: the worst lag creeps up within its power of two, lateness under the floor. */
    for (int i = 0; i < 20; i++) {
        size_t b;

        s_agent.sched.lag_ever_ms = 64 + i * 3;
        s_agent.lag_hb_ms = 9;
        b = wire_bytes(t0 + (4 + i) * 60000);
        fulls += is_full();
        worst = b > worst ? b : worst;
        print_message("steady heartbeat %d: %zu bytes on the wire: %s\n", i, b, s_buf);
    }
    assert_int_equal(fulls, 0);
    print_message("worst steady heartbeat-only batch: %zu bytes (budget %u)\n", worst, WIRE_BUDGET);
    assert_true(worst <= WIRE_BUDGET);
    /* The worst lag reaching its next power of two sends the sticky members, exactly. */
    s_agent.sched.lag_ever_ms = 128;
    (void)wire_bytes(t0 + 30 * 60000);
    assert_true(is_full());
    assert_non_null(strstr(s_buf, "\"lag_max_ms\":128"));
    /* Lateness past the floor is reported (20 bytes more for that interval). */
    s_agent.lag_hb_ms = 25;
    (void)wire_bytes(t0 + 31 * 60000);
    assert_non_null(strstr(s_buf, "\"lag_ms\":25"));
    /* New events: the heartbeat carries the counters while they are pending. */
    feed("temp:chip0:t1", 86000, t0 + 32 * 60000);
    (void)wire_bytes(t0 + 32 * 60000);
    assert_false(is_full());
    assert_non_null(strstr(s_buf, "\"pending\":1"));
    assert_int_equal(heap_count_stop(), 0);
}

/* The collector acknowledged the batch last built (what its answer to every batch says). */
static void ack_batch(void)
{
    char ack[160];

    snprintf(ack, sizeof(ack),
             "{\"v\":1,\"acks\":[{\"boot\":\"deadbeef0102030405060708090a0b0c\",\"seq\":%u}]}",
             (unsigned)ward_evlog_last_seq(&s_agent.log));
    assert_true(ward_report_apply_ack(&s_agent, ack, strlen(ack)) >= 0);
}

static bool has_health(void)
{
    return strstr(s_buf, "\"health\":{") != NULL;
}

/*
 * Two of the 20 sensors not ok (a fan unavailable, a temperature in caution): the health
 * summary is sent when it changed since the last acknowledged heartbeat, so the steady
 * heartbeat-only batch stays within the budget; a changed summary goes out until a batch
 * carrying it is acknowledged, and again on a new connection.
 */
static void test_steady_not_ok_within_budget(void **state)
{
    const int64_t t0 = 6000000000LL;
    struct ward_reading r;
    size_t worst = 0;
    size_t with_health;

    (void)state;
    start();
    ward_reading_unavailable(&r, WARD_REASON_MISSING);
    assert_true(ward_agent_feed(&s_agent, "fan:chip0:f2", &r, 2500) >= 0);
    feed("temp:chip3:t1", 84000, 2500);
    events_acknowledged(3000);
    s_agent.hb_seq = 99999;
    s_agent.sched.lag_ever_ms = 64;
    heap_count_start();
    assert_true(wire_bytes(t0) > WIRE_BUDGET);
    assert_true(is_full() && has_health());
    assert_non_null(strstr(s_buf, "\"not_ok\":2"));
    ack_batch();
    for (int i = 1; i <= 3; i++) {
        (void)wire_bytes(t0 + i * 60000);
        ack_batch();
    }
    for (int i = 0; i < 20; i++) {
        size_t b;

        s_agent.sched.lag_ever_ms = 64 + i * 3;
        s_agent.lag_hb_ms = 9;
        b = wire_bytes(t0 + (4 + i) * 60000);
        assert_false(is_full());
        assert_false(has_health()); /* unchanged since the last acknowledged heartbeat */
        worst = b > worst ? b : worst;
        ack_batch();
    }
    print_message("worst steady heartbeat-only batch, 2 of 21 sensors not ok: %zu bytes "
                  "(budget %u): %s\n",
                  worst, WIRE_BUDGET, s_buf);
    assert_true(worst <= WIRE_BUDGET);
    /* A third sensor in caution (its event acknowledged): the summary changed. */
    feed("temp:chip3:t2", 85000, t0 + 25 * 60000);
    events_acknowledged(t0 + 25 * 60000 + 10);
    with_health = wire_bytes(t0 + 26 * 60000);
    assert_true(has_health());
    assert_non_null(strstr(s_buf, "\"not_ok\":3"));
    print_message("the next, full (the events counters moved): %zu bytes\n", with_health);
    /* Not acknowledged (the connection dropped before the answer): sent again. */
    with_health = wire_bytes(t0 + 27 * 60000);
    assert_false(is_full());
    assert_true(has_health());
    print_message("a compact one carrying the summary: %zu bytes: %s\n", with_health, s_buf);
    assert_non_null(strstr(s_buf, "\"not_ok\":3"));
    ack_batch();
    (void)wire_bytes(t0 + 28 * 60000);
    assert_false(has_health());
    ack_batch();
    /* A new connection: full, with the summary. */
    ward_report_sticky_reset(&s_agent);
    (void)wire_bytes(t0 + 29 * 60000);
    assert_true(is_full() && has_health());
    (void)wire_bytes(t0 + 30 * 60000); /* no ack for it yet: the summary goes again */
    assert_true(has_health());
    assert_int_equal(heap_count_stop(), 0);
}

static const cJSON *sensor(const cJSON *sensors, const char *id)
{
    const cJSON *s;

    cJSON_ArrayForEach(s, sensors)
    {
        const cJSON *sid = cJSON_GetObjectItemCaseSensitive(s, "id");

        if (cJSON_IsString(sid) && strcmp(sid->valuestring, id) == 0) {
            return s;
        }
    }
    return NULL;
}

static int64_t level(const cJSON *s, const char *member, const char *name)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(s, member);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    assert_true(cJSON_IsObject(o));
    assert_true(cJSON_IsNumber(v));
    return (int64_t)v->valuedouble;
}

static void test_full_pages_carry_thresholds(void **state)
{
    const cJSON *sensors;
    const cJSON *s;
    cJSON *d;

    (void)state;
    start();
    /* The whole snapshot at once: its tree needs a larger arena than a batch's page. */
    assert_true(ward_report_health(&s_agent, 5000, 0, 0, &s_parse_arena, s_buf, sizeof(s_buf)) > 0);
    d = parse(s_buf);
    sensors = cJSON_GetObjectItemCaseSensitive(d, "sensors");
    s = sensor(sensors, "temp:chip1:t2");
    assert_non_null(s);
    assert_int_equal(level(s, "thr", "caution"), 80000);
    assert_int_equal(level(s, "thr", "critical"), 90000);
    assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(s, "thr"), "fatal"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "thr")), 2);
    assert_int_equal(level(s, "thr_below", "caution"), 5000);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "thr_below")), 1);
    s = sensor(sensors, "fan:chip0:f1"); /* a lower limit only */
    assert_non_null(s);
    assert_null(cJSON_GetObjectItem(s, "thr"));
    assert_int_equal(level(s, "thr_below", "critical"), 300);
    s = sensor(sensors, "c"); /* a rate rule: its thresholds are not in the value's unit */
    assert_non_null(s);
    assert_null(cJSON_GetObjectItem(s, "thr"));
    assert_null(cJSON_GetObjectItem(s, "thr_below"));
    ward_json_arena_leave(&s_parse_arena);
    /* Never in a heartbeat. */
    assert_true(ward_report_heartbeat(&s_agent, 5000, &s_arena, s_buf, sizeof(s_buf)) > 0);
    assert_null(strstr(s_buf, "\"thr\":"));
    assert_null(strstr(s_buf, "\"thr_below\":"));
}

static void test_delta_pages_leave_thresholds_out(void **state)
{
    unsigned n;
    int delta_pages = 0;

    (void)state;
    if (!IS_ENABLED(CONFIG_WARD_REPORT_DELTA)) {
        skip();
    }
    start();
    ward_report_delta_pages(&s_agent, true);
    ward_report_sticky_reset(&s_agent);
    /* The first cycle is full (pages as the arena allows): thresholds. */
    for (int i = 0; i < 32 && !ward_report_health_done(&s_agent); i++) {
        assert_true(ward_report_batch(&s_agent, 5000 + i, 0, 0, true, &s_arena, s_buf,
                                      sizeof(s_buf), &n) > 0);
        assert_null(strstr(s_buf, "\"delta\""));
        assert_non_null(strstr(s_buf, "\"thr\":{\"caution\":80000,\"critical\":90000}"));
    }
    assert_true(ward_report_health_done(&s_agent));
    /* A value moves past its dead band: the delta page lists it, without thresholds. */
    feed("temp:chip2:t1", 60000, 6000);
    for (int i = 0; i < 4 && delta_pages == 0; i++) {
        assert_true(ward_report_batch(&s_agent, 7000 + i, 0, 0, true, &s_arena, s_buf,
                                      sizeof(s_buf), &n) > 0);
        if (strstr(s_buf, "\"delta\":true") != NULL) {
            delta_pages++;
            assert_non_null(strstr(s_buf, "\"id\":\"temp:chip2:t1\""));
            assert_null(strstr(s_buf, "\"thr\":"));
            assert_null(strstr(s_buf, "\"thr_below\":"));
        }
    }
    assert_int_equal(delta_pages, 1);
    ward_report_delta_pages(&s_agent, false);
}

/* A full cycle into a small buffer: the pages split, each fits, every sensor goes once with
 * its thresholds. */
static void test_split_pages_keep_thresholds(void **state)
{
    const size_t cap = 1200;
    unsigned seen = 0;
    unsigned with_thr = 0;
    unsigned n;
    int pages = 0;

    (void)state;
    start();
    ward_report_sticky_reset(&s_agent);
    (void)ward_report_batch(&s_agent, 5000, 0, 0, false, &s_arena, s_buf, sizeof(s_buf), &n);
    do {
        int len = ward_report_batch(&s_agent, 6000 + pages, 0, 0, true, &s_arena, s_buf, cap, &n);
        const cJSON *s;
        cJSON *d;

        assert_true(len > 0 && (size_t)len < cap);
        d = parse(s_buf);
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(cJSON_GetObjectItem(d, "health"), "sensors"))
        {
            seen++;
            with_thr += cJSON_GetObjectItem(s, "thr") != NULL ||
                        cJSON_GetObjectItem(s, "thr_below") != NULL;
        }
        ward_json_arena_leave(&s_parse_arena);
        pages++;
    } while (!ward_report_health_done(&s_agent) && pages < 64);
    print_message("%d pages for %u sensors in %zu-byte batches\n", pages, seen, cap);
    assert_true(pages > 1);
    assert_int_equal(seen, ward_health_count(&s_agent.health));
    assert_int_equal(with_thr, 20); /* every temperature and fan; not the counter */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_heartbeat_within_budget),
        cmocka_unit_test(test_steady_not_ok_within_budget),
        cmocka_unit_test(test_full_pages_carry_thresholds),
        cmocka_unit_test(test_delta_pages_leave_thresholds_out),
        cmocka_unit_test(test_split_pages_keep_thresholds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
