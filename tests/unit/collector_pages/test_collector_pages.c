/*
 * The health snapshot in pages, agent to collector store: an agent with 40 sensors (more
 * than one batch's JSON arena holds) sends its snapshot over several batches; the
 * collector merges every page into the device's stored sensor state, which ends with all
 * 40 sensors in the agent's order and their latest values. A page of a new boot replaces
 * the state (sensors the agent no longer has go).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <cJSON.h>

#include "ward/report.h"

#include "ward/wire/decode.h"
#include "store/store.h"

#define SENSORS 40

static struct ward_agent s_agent;
static uint8_t s_arena_mem[WARD_JSON_ARENA_SIZE];
static struct ward_json_arena s_arena;
static char s_buf[16 * 1024];
static char s_scratch[sizeof(s_buf)];
static struct ward_ingest_event s_events[256];
static struct wcol_store s_store;
static char s_db[64];
static char *s_snapshot; /* the stored snapshot, copied out of get_device */
static uint8_t s_parse_mem[64 * 1024];
static struct ward_json_arena s_parse_arena; /* cJSON allocates from an entered arena */
static const uint8_t s_boot[WARD_BOOT_ID_LEN] = { 0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
                                                  5,    6,    7,    8,    9, 10, 11, 12 };
static const uint8_t s_boot2[WARD_BOOT_ID_LEN] = { 0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
                                                   5,    6,    7,    8,    9, 10, 11, 13 };

static void init_agent(const uint8_t *boot, int sensors, int64_t base)
{
    struct ward_agent_config cfg = { .boot_id = boot, .device_id = "sim-fleet-07", .seed = 4 };
    char id[48];

    assert_int_equal(ward_agent_init(&s_agent, &cfg, 1000), 0);
    for (int i = 0; i < sensors; i++) {
        struct ward_reading r;

        snprintf(id, sizeof(id), "temp:board%02d_sensor_with_a_long_name", i);
        ward_reading_ok(&r, base + i);
        assert_true(ward_agent_feed(&s_agent, id, &r, 2000) >= 0);
    }
}

static int setup(void **state)
{
    struct wcol_store_sqlite_opts opts = { .path = s_db, .busy_timeout_ms = 1000 };

    (void)state;
    snprintf(s_db, sizeof(s_db), "/tmp/ward-pages-%ld.db", (long)getpid());
    assert_int_equal(ward_json_arena_init(&s_arena, s_arena_mem, sizeof(s_arena_mem)), 0);
    assert_int_equal(ward_json_arena_init(&s_parse_arena, s_parse_mem, sizeof(s_parse_mem)), 0);
    assert_int_equal(wcol_store_sqlite_open(&s_store, &opts), 0);
    return 0;
}

static int teardown(void **state)
{
    char path[80];

    (void)state;
    s_store.ops->close(s_store.impl);
    free(s_snapshot);
    unlink(s_db);
    snprintf(path, sizeof(path), "%s-wal", s_db);
    unlink(path);
    snprintf(path, sizeof(path), "%s-shm", s_db);
    unlink(path);
    return 0;
}

/* Build one batch with health, decode it and store it as the collector's ingest does. */
static void send_batch(int64_t now)
{
    struct ward_ingest_batch b;
    const char *why = NULL;
    unsigned n = 0;
    int len = ward_report_batch(&s_agent, now, 0, 64, true, &s_arena, s_buf, sizeof(s_buf), &n);

    assert_true(len > 0);
    memset(&b, 0, sizeof(b));
    b.events = s_events;
    b.max_events = 256;
    if (ward_ingest_decode(s_buf, (size_t)len, &b, s_scratch, sizeof(s_scratch), &why) != 0) {
        fail_msg("the collector refused the agent's batch: %s", why);
    }
    assert_non_null(b.snapshot);
    const struct wcol_store_report r = {
        .device = b.device,
        .received_ms = now,
        .peer = "127.0.0.1",
        .has_heartbeat = b.has_heartbeat,
        .boot_id = b.boot,
        .health = b.health,
        .heartbeat = b.heartbeat,
        .heartbeat_len = b.heartbeat_len,
        .snapshot = b.snapshot,
        .snapshot_len = b.snapshot_len,
    };

    struct wcol_store_put put = { .device = b.device, .report = &r };
    struct wcol_store_batch batch = { .puts = &put, .n_puts = 1 };

    /* The store takes whole batches: one request, its report only, in one transaction. */
    assert_int_equal(wcol_store_commit_batch(&s_store, &batch), 0);
    assert_int_equal(put.status, 0);
}

static int got_device(void *ctx, const struct wcol_store_device *dev)
{
    (void)ctx;
    free(s_snapshot);
    s_snapshot = dev->snapshot != NULL ? strndup(dev->snapshot, dev->snapshot_len) : NULL;
    return 0;
}

/* The stored sensors must be exactly sensors [0, count) in order, with value base + i. */
static void check_stored(int count, int64_t base)
{
    char id[48];

    assert_int_equal(s_store.ops->get_device(s_store.impl, "sim-fleet-07", got_device, NULL), 0);
    assert_non_null(s_snapshot);
    ward_json_arena_enter(&s_parse_arena);
    cJSON *d = cJSON_Parse(s_snapshot);

    assert_non_null(d);
    const cJSON *sensors = cJSON_GetObjectItem(d, "sensors");

    assert_int_equal(cJSON_GetArraySize(sensors), count);
    assert_int_equal(cJSON_GetObjectItem(d, "first")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(d, "sensors_total")->valueint, count);
    for (int i = 0; i < count; i++) {
        const cJSON *s = cJSON_GetArrayItem(sensors, i);

        snprintf(id, sizeof(id), "temp:board%02d_sensor_with_a_long_name", i);
        assert_string_equal(cJSON_GetObjectItem(s, "id")->valuestring, id);
        assert_int_equal((int64_t)cJSON_GetObjectItem(s, "value")->valuedouble, base + i);
    }
    ward_json_arena_leave(&s_parse_arena);
}

static void test_pages_merge(void **state)
{
    unsigned pages = 0;

    (void)state;
    init_agent(s_boot, SENSORS, 40000);
    do {
        send_batch(5000 + pages);
        pages++;
        assert_true(pages < 40);
    } while (!ward_report_health_done(&s_agent));
    assert_true(pages >= 2);
    check_stored(SENSORS, 40000);
    /* New readings: the next cycle updates every sensor in place, none is duplicated. */
    for (int i = 0; i < SENSORS; i++) {
        char id[48];
        struct ward_reading r;

        snprintf(id, sizeof(id), "temp:board%02d_sensor_with_a_long_name", i);
        ward_reading_ok(&r, 50000 + i);
        assert_true(ward_agent_feed(&s_agent, id, &r, 6000) >= 0);
    }
    send_batch(7000); /* the first page only: the rest keeps its older values */
    assert_false(ward_report_health_done(&s_agent));
    assert_int_equal(s_store.ops->get_device(s_store.impl, "sim-fleet-07", got_device, NULL), 0);
    assert_non_null(strstr(s_snapshot, "\"value\":50000"));
    assert_non_null(strstr(s_snapshot, "\"value\":40039"));
    while (!ward_report_health_done(&s_agent)) {
        send_batch(7001);
        assert_true(++pages < 80);
    }
    check_stored(SENSORS, 50000);
    /* A new boot with fewer sensors: its snapshot replaces the old boot's. */
    init_agent(s_boot2, 5, 1000);
    send_batch(9000);
    assert_true(ward_report_health_done(&s_agent));
    check_stored(5, 1000);
}

/* Build one batch that must carry no snapshot page (a quiet delta cycle). */
static void send_quiet(int64_t now)
{
    unsigned n = 0;
    int len = ward_report_batch(&s_agent, now, 0, 64, true, &s_arena, s_buf, sizeof(s_buf), &n);

    assert_true(len > 0);
    assert_null(strstr(s_buf, "\"health\":{\"v\""));
    assert_true(ward_report_health_done(&s_agent));
}

static void feed_one(int i, int64_t v, int64_t t)
{
    char id[48];
    struct ward_reading r;

    snprintf(id, sizeof(id), "temp:board%02d_sensor_with_a_long_name", i);
    ward_reading_ok(&r, v);
    assert_true(ward_agent_feed(&s_agent, id, &r, t) >= 0);
}

/* Stored sensors [0, SENSORS) in order, sensor i with value want[i]. */
static void check_values(const int64_t *want)
{
    char id[48];

    assert_int_equal(s_store.ops->get_device(s_store.impl, "sim-fleet-07", got_device, NULL), 0);
    assert_null(strstr(s_snapshot, "\"delta\"")); /* a page's flag, not the snapshot's */
    ward_json_arena_enter(&s_parse_arena);
    cJSON *d = cJSON_Parse(s_snapshot);
    const cJSON *sensors = cJSON_GetObjectItem(d, "sensors");

    assert_int_equal(cJSON_GetArraySize(sensors), SENSORS);
    for (int i = 0; i < SENSORS; i++) {
        const cJSON *s = cJSON_GetArrayItem(sensors, i);

        snprintf(id, sizeof(id), "temp:board%02d_sensor_with_a_long_name", i);
        assert_string_equal(cJSON_GetObjectItem(s, "id")->valuestring, id);
        assert_int_equal((int64_t)cJSON_GetObjectItem(s, "value")->valuedouble, want[i]);
    }
    ward_json_arena_leave(&s_parse_arena);
}

/* Delta pages (docs/protocol.md): after a full cycle only sensors that moved past their dead
 * band go out, marked "delta"; the collector merges them in place; a quiet cycle sends no
 * page; a new connection and the full-cycle period bring a full cycle back. */
static void test_delta_merge(void **state)
{
    int64_t want[SENSORS];
    unsigned pages = 0;

    (void)state;
    init_agent(s_boot, SENSORS, 40000);
    ward_report_delta_pages(&s_agent, true);
    do {
        send_batch(5000 + pages);
        assert_null(strstr(s_buf, "\"delta\""));
        assert_true(++pages < 40);
    } while (!ward_report_health_done(&s_agent));
    for (int i = 0; i < SENSORS; i++) {
        want[i] = 40000 + i;
    }
    feed_one(5, 41005, 6000);  /* +1000 m°C: past the 500 m°C band */
    feed_one(20, 40120, 6000); /* +100: inside it, stays out */
    feed_one(33, 40633, 6000); /* +600 */
    want[5] = 41005, want[33] = 40633;
    send_batch(7000);
    assert_true(ward_report_health_done(&s_agent)); /* one page holds the delta */
    assert_non_null(
        strstr(s_buf, "\"first\":0,\"delta\":true,\"sensors\":[{\"id\":\"temp:board05"));
    assert_non_null(strstr(s_buf, "board33"));
    assert_null(strstr(s_buf, "board20"));
    assert_null(strstr(s_buf, "board06"));
    {
        struct ward_ingest_batch b;
        const char *why = NULL;

        memset(&b, 0, sizeof(b));
        b.events = s_events;
        b.max_events = 256;
        assert_int_equal(
            ward_ingest_decode(s_buf, strlen(s_buf), &b, s_scratch, sizeof(s_scratch), &why), 0);
        assert_true(b.snapshot_delta); /* the collector tells a delta from a full page */
    }
    check_values(want);
    /* Nothing moved since: the cycle is done without a page. */
    feed_one(33, 40700, 7500); /* +67 since it went out */
    send_quiet(8000);
    /* A new connection: full again, every current value. */
    ward_report_sticky_reset(&s_agent);
    pages = 0;
    do {
        send_batch(9000 + pages);
        assert_null(strstr(s_buf, "\"delta\""));
        assert_true(++pages < 40);
    } while (!ward_report_health_done(&s_agent));
    want[20] = 40120, want[33] = 40700;
    check_values(want);
    /* Quiet again, until the full-cycle period has passed since the last full cycle began. */
    send_quiet(9000 + (int64_t)WARD_REPORT_FULL_EVERY_S * 1000 - 1);
    send_batch(9000 + (int64_t)WARD_REPORT_FULL_EVERY_S * 1000);
    assert_non_null(strstr(s_buf, "\"health\":{\"v\""));
    assert_null(strstr(s_buf, "\"delta\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_merge),
        cmocka_unit_test(test_delta_merge),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
