/*
 * The JSON documents: heartbeat, health snapshot, event, batch, replay line and the
 * acknowledgement, built on a fixed arena into caller buffers with exact integers.
 *
 * With WARD_REPORT_SAMPLES=<dir> in the environment the test also writes one document of
 * each kind there, which tests/unit/report/validate.py checks against docs/schemas/.
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
#include "ward/inventory.h"
#include "ward/report.h"
#include "ward/version.h"

static struct ward_agent s_agent;
static uint8_t s_storage[WARD_JSON_ARENA_SIZE];
static uint8_t s_parse_storage[256 * 1024];
static struct ward_json_arena s_arena;
static struct ward_json_arena s_parse_arena;
static char s_buf[32 * 1024];
static const uint8_t s_boot[WARD_BOOT_ID_LEN] = { 0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
                                                  5,    6,    7,    8,    9, 10, 11, 12 };

static void save(const char *name, const char *text)
{
    const char *dir = getenv("WARD_REPORT_SAMPLES");
    char path[512];
    FILE *f;

    if (dir == NULL) {
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void feed(const char *id, int64_t v, int64_t t)
{
    struct ward_reading r;

    ward_reading_ok(&r, v);
    assert_true(ward_agent_feed(&s_agent, id, &r, t) >= 0);
}

static int setup(void **state)
{
    static const char rules[] = "{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":80000},"
                                "{\"sensor\":\"c\",\"kind\":\"rate\",\"upper_caution\":0}]}";
    struct ward_agent_config cfg = { .boot_id = s_boot, .device_id = "bmc-rack4-u12", .seed = 5 };
    struct ward_reading gone;

    (void)state;
    assert_int_equal(ward_agent_init(&s_agent, &cfg, 1000), 0);
    assert_int_equal(ward_agent_load_rules(&s_agent, rules, strlen(rules), NULL, 1000), 2);
    assert_int_equal(ward_json_arena_init(&s_arena, s_storage, sizeof(s_storage)), 0);
    assert_int_equal(ward_json_arena_init(&s_parse_arena, s_parse_storage, sizeof(s_parse_storage)),
                     0);
    ward_agent_set_wall_clock(&s_agent, 2000, 1700000000000LL);
    feed("temp:cpu0", 70000, 2000);
    feed("temp:cpu0", 85000, 3000);
    feed("temp:inlet", -40500, 3000);
    feed("c", (int64_t)(UINT64_MAX - 5u), 3000);
    ward_reading_unavailable(&gone, WARD_REASON_PERMISSION);
    assert_int_equal(ward_agent_feed(&s_agent, "disk:sda:smart", &gone, 4000), 1);
    return 0;
}

/* Parse a printed document back with cJSON (on its own arena). */
static cJSON *parse(const char *text)
{
    cJSON *doc;

    ward_json_arena_enter(&s_parse_arena);
    doc = cJSON_Parse(text);
    assert_non_null(doc);
    return doc;
}

static void done(void)
{
    ward_json_arena_leave(&s_parse_arena);
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

    assert_true(cJSON_IsString(it));
    return it->valuestring;
}

/* Numbers as int64 (a negative double converted to an unsigned type is undefined). */
static int64_t num(const cJSON *o, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

    assert_true(cJSON_IsNumber(it));
    return (int64_t)it->valuedouble;
}

static void test_heartbeat(void **state)
{
    int n;

    (void)state;
    n = ward_report_heartbeat(&s_agent, 61000, &s_arena, s_buf, sizeof(s_buf));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(s_buf));
    save("heartbeat.json", s_buf);
    cJSON *d = parse(s_buf);

    assert_int_equal(num(d, "v"), 2);
    assert_string_equal(str(d, "type"), "heartbeat");
    assert_string_equal(str(d, "device"), "bmc-rack4-u12");
    assert_string_equal(str(d, "boot"), "deadbeef0102030405060708090a0b0c");
    assert_int_equal(num(d, "seq"), 1);
    assert_int_equal(num(d, "uptime_ms"), 60000);
    assert_true(num(d, "wall_ms") == 1700000059000LL);
    assert_int_equal(strlen(str(d, "config_sha256")), 64);
    assert_int_equal(strlen(str(d, "rules_sha256")), 64);
    assert_int_equal(strncmp(str(d, "config"), str(d, "config_sha256"), 16), 0);
    assert_int_equal(strlen(str(d, "config")), 16);
    assert_int_equal(num(d, "interval_ms"), WARD_INTERVAL_HEARTBEAT_MS);
    const cJSON *health = cJSON_GetObjectItem(d, "health");

    assert_string_equal(str(health, "state"), "unavailable");
    assert_string_equal(str(health, "severity"), "medium");
    assert_int_equal(num(health, "not_ok"), 2);
    const cJSON *ev = cJSON_GetObjectItem(d, "events");

    assert_int_equal(num(ev, "pending"), 2);
    assert_int_equal(num(ev, "last_seq"), 2);
    assert_null(cJSON_GetObjectItem(ev, "dropped")); /* a zero counter is left out */
    const cJSON *mem = cJSON_GetObjectItem(d, "memory");

    assert_int_equal(num(mem, "context_bytes"), sizeof(struct ward_agent));
    assert_int_equal(num(mem, "sensors_used"), 4);
    assert_int_equal(num(mem, "json_arena_bytes"), s_arena.size);
    assert_true(num(mem, "json_arena_high_water") > 0);
    done();
    /* The next heartbeat is numbered 2. */
    assert_true(ward_report_heartbeat(&s_agent, 121000, &s_arena, s_buf, sizeof(s_buf)) > 0);
    assert_non_null(strstr(s_buf, "\"seq\":2,"));
}

/* The first batch carries every sticky field, the next ones only the per-beat fields and
 * the digest prefixes; a reset or a changed sticky value brings the full heartbeat back. */
static void test_batch_sticky(void **state)
{
    unsigned n;
    const cJSON *hb;
    cJSON *d;

    (void)state;
    ward_report_sticky_reset(&s_agent); /* earlier tests built batches already */
    assert_true(
        ward_report_batch(&s_agent, 20000, 0, 0, false, &s_arena, s_buf, sizeof(s_buf), &n) > 0);
    d = parse(s_buf);
    assert_int_equal(num(d, "v"), 2);
    assert_null(cJSON_GetObjectItem(d, "events")); /* none asked for: no empty array */
    hb = cJSON_GetObjectItem(d, "heartbeat");
    assert_null(cJSON_GetObjectItem(hb, "device")); /* the batch's */
    assert_non_null(cJSON_GetObjectItem(hb, "memory"));
    assert_int_equal(num(hb, "interval_ms"), WARD_INTERVAL_HEARTBEAT_MS);
    assert_int_equal(strlen(str(hb, "config_sha256")), 64);
    done();
    /* The arena high-water mark of the full one may still rise once: settle. */
    for (int i = 0; i < 3; i++) {
        assert_true(ward_report_batch(&s_agent, 21000 + i, 0, 0, false, &s_arena, s_buf,
                                      sizeof(s_buf), &n) > 0);
    }
    size_t full_len = 0;
    d = parse(s_buf);
    hb = cJSON_GetObjectItem(d, "heartbeat");
    assert_null(cJSON_GetObjectItem(hb, "memory"));
    assert_null(cJSON_GetObjectItem(hb, "firmware"));
    assert_null(cJSON_GetObjectItem(hb, "interval_ms"));
    assert_null(cJSON_GetObjectItem(hb, "config_sha256"));
    assert_int_equal(strlen(str(hb, "config")), 16);
    assert_non_null(cJSON_GetObjectItem(hb, "health"));
    done();
    size_t compact_len = strlen(s_buf);
    ward_report_sticky_reset(&s_agent);
    assert_true(
        ward_report_batch(&s_agent, 25000, 0, 0, false, &s_arena, s_buf, sizeof(s_buf), &n) > 0);
    full_len = strlen(s_buf);
    assert_true(full_len > compact_len + 300);
    /* A sticky value changes (the heartbeat interval): full again, with the new value. */
    assert_int_equal(ward_sched_set_interval(&s_agent.sched, WARD_CLASS_HEARTBEAT, 5000, 26000), 0);
    assert_true(
        ward_report_batch(&s_agent, 26000, 0, 0, false, &s_arena, s_buf, sizeof(s_buf), &n) > 0);
    d = parse(s_buf);
    assert_int_equal(num(cJSON_GetObjectItem(d, "heartbeat"), "interval_ms"), 5000);
    done();
}

static void test_health_snapshot(void **state)
{
    (void)state;
    assert_true(ward_report_health(&s_agent, 5000, 0, 0, &s_arena, s_buf, sizeof(s_buf)) > 0);
    save("health.json", s_buf);
    cJSON *d = parse(s_buf);
    const cJSON *sensors = cJSON_GetObjectItem(d, "sensors");

    assert_int_equal(num(d, "sensors_total"), 4);
    assert_int_equal(cJSON_GetArraySize(sensors), 4);
    const cJSON *cpu = cJSON_GetArrayItem(sensors, 0);

    assert_string_equal(str(cpu, "id"), "temp:cpu0");
    assert_string_equal(str(cpu, "state"), "caution");
    assert_string_equal(str(cpu, "severity"), "low");
    assert_string_equal(str(cpu, "kind"), "threshold");
    assert_int_equal(num(cpu, "value"), 85000);
    assert_int_equal(num(cpu, "since_ms"), 3000);
    assert_int_equal(num(cJSON_GetArrayItem(sensors, 1), "value"), -40500);
    const cJSON *disk = cJSON_GetArrayItem(sensors, 3);

    assert_true(cJSON_IsNull(cJSON_GetObjectItem(disk, "value")));
    assert_string_equal(str(disk, "reason"), "permission");
    done();
    /* A sensor known only from a restored event has never been read: null times. */
    struct ward_event restored;

    memset(&restored, 0, sizeof(restored));
    restored.seq = 7;
    restored.to = WARD_STATE_CRITICAL;
    restored.severity = WARD_SEV_MEDIUM;
    assert_int_equal(ward_agent_restore_event(&s_agent, (const uint8_t *)"0123456789abcdef",
                                              "temp:restored", &restored),
                     1);
    assert_true(ward_report_health(&s_agent, 5000, 4, 1, &s_arena, s_buf, sizeof(s_buf)) > 0);
    assert_non_null(strstr(s_buf, "\"id\":\"temp:restored\",\"state\":\"ok\""));
    assert_non_null(strstr(s_buf, "\"since_ms\":null,\"last_ms\":null"));
    save("health.restored.json", s_buf);
    assert_int_equal(ward_evlog_ack(&s_agent.log, (const uint8_t *)"0123456789abcdef", 7), 1);
    /* Paging: sensors 1 and 2 only. */
    assert_true(ward_report_health(&s_agent, 5000, 1, 2, &s_arena, s_buf, sizeof(s_buf)) > 0);
    d = parse(s_buf);
    assert_int_equal(num(d, "first"), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "sensors")), 2);
    done();
}

static void test_event_and_replay_line(void **state)
{
    const struct ward_event *e = ward_evlog_at(&s_agent.log, 0);

    (void)state;
    assert_true(ward_report_event(&s_agent, e, &s_arena, s_buf, sizeof(s_buf)) > 0);
    save("event.json", s_buf);
    assert_string_equal(s_buf, "{\"boot\":\"deadbeef0102030405060708090a0b0c\",\"seq\":1,"
                               "\"t_ms\":3000,\"wall_ms\":1700000001000,\"sensor\":\"temp:cpu0\","
                               "\"from\":\"ok\",\"to\":\"caution\",\"severity\":\"low\","
                               "\"value\":85000,\"count\":1}");
    assert_true(ward_report_replay_line(&s_agent, e, &s_arena, s_buf, sizeof(s_buf)) > 0);
    assert_string_equal(s_buf, "{\"t_ms\":3000,\"seq\":1,\"sensor\":\"temp:cpu0\",\"from\":\"ok\","
                               "\"to\":\"caution\",\"severity\":\"low\",\"value\":85000}");
    char lines[512];

    int n = snprintf(lines, sizeof(lines), "%s\n", s_buf);

    assert_true(n > 0 && (size_t)n < sizeof(lines));
    e = ward_evlog_at(&s_agent.log, 1);
    assert_true(ward_report_replay_line(&s_agent, e, &s_arena, s_buf, sizeof(s_buf)) > 0);
    strncat(lines, s_buf, sizeof(lines) - strlen(lines) - 1);
    save("replay-line.jsonl", lines);
    assert_string_equal(s_buf, "{\"t_ms\":4000,\"seq\":2,\"sensor\":\"disk:sda:smart\","
                               "\"from\":\"ok\",\"to\":\"unavailable\",\"severity\":\"medium\","
                               "\"value\":null,\"reason\":\"permission\"}");
}

static void test_exact_64bit_numbers(void **state)
{
    struct ward_event e;

    (void)state;
    memset(&e, 0, sizeof(e));
    e.value = INT64_MIN;
    e.t_ms = INT64_MAX;
    e.seq = UINT32_MAX;
    e.count = 3;
    e.first_t_ms = -1;
    e.flags = WARD_EVENT_HAS_VALUE;
    e.severity = WARD_SEV_HIGH;
    e.to = WARD_STATE_FAILED;
    assert_true(ward_report_event(&s_agent, &e, &s_arena, s_buf, sizeof(s_buf)) > 0);
    assert_non_null(strstr(s_buf, "\"seq\":4294967295,"));
    assert_non_null(strstr(s_buf, "\"t_ms\":9223372036854775807,"));
    assert_non_null(strstr(s_buf, "\"value\":-9223372036854775808,"));
    assert_non_null(strstr(s_buf, "\"count\":3,\"first_t_ms\":-1}"));
}

static void test_limits(void **state)
{
    static uint8_t tiny_storage[256];
    struct ward_json_arena tiny;
    char small[40];

    (void)state;
    assert_int_equal(ward_json_arena_init(&tiny, tiny_storage, sizeof(tiny_storage)), 0);
    assert_int_equal(ward_report_heartbeat(&s_agent, 1, &tiny, s_buf, sizeof(s_buf)), -ENOMEM);
    assert_true(tiny.failures > 0);
    assert_int_equal(ward_report_heartbeat(&s_agent, 1, &s_arena, small, sizeof(small)), -ENOSPC);
    assert_string_equal(small, "");
    assert_int_equal(ward_report_heartbeat(NULL, 1, &s_arena, small, sizeof(small)), -EINVAL);
    assert_true(s_agent.json_failures > 0);
}

static void test_batch_and_ack(void **state)
{
    unsigned n = 0;
    char ack[256];

    (void)state;
    /* Fill the log with more events than one batch holds. */
    for (int i = 0; i < 60; i++) {
        feed("temp:cpu0", i % 2 ? 85000 : 70000, 10000 + i);
    }
    unsigned pending = ward_evlog_pending(&s_agent.log);

    assert_true(pending > 20);
    int len = ward_report_batch(&s_agent, 20000, 0, 1000, true, &s_arena, s_buf, sizeof(s_buf), &n);

    assert_true(len > 0);
    assert_true(n > 0 && n <= pending);
    save("batch.json", s_buf);
    cJSON *d = parse(s_buf);

    assert_string_equal(str(d, "type"), "batch");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "events")), (int)n);
    assert_non_null(cJSON_GetObjectItem(d, "heartbeat"));
    assert_non_null(cJSON_GetObjectItem(d, "health"));
    done();
    /* A small buffer takes fewer events rather than failing. */
    unsigned n_all = 0;
    unsigned n_small = 0;

    assert_true(ward_report_batch(&s_agent, 20000, 0, 1000, false, &s_arena, s_buf, sizeof(s_buf),
                                  &n_all) > 0);
    assert_true(
        ward_report_batch(&s_agent, 20000, 0, 1000, false, &s_arena, s_buf, 1500, &n_small) > 0);
    assert_true(n_small > 0 && n_small < n_all);
    assert_true(strlen(s_buf) < 1500);
    /* The collector stored the first n_small: acknowledge them. */
    const struct ward_event *last = ward_evlog_at(&s_agent.log, n_small - 1);

    snprintf(ack, sizeof(ack),
             "{\"v\":1,\"acks\":[{\"boot\":\"deadbeef0102030405060708090a0b0c\","
             "\"seq\":%u},{\"boot\":\"00000000000000000000000000000000\",\"seq\":9}]}",
             (unsigned)last->seq);
    save("ack.json", ack);
    assert_int_equal(ward_report_apply_ack(&s_agent, ack, strlen(ack)), (int)n_small);
    assert_int_equal(ward_evlog_pending(&s_agent.log), pending - n_small);
    /* Malformed acknowledgements free nothing. */
    static const char *const bad[] = {
        "{\"v\":1,\"acks\":[{\"boot\":\"deadbeef0102030405060708090a0b0c\",\"seq\":99},{}]}",
        "{\"v\":2,\"acks\":[]}",
        "{\"v\":1,\"acks\":[{\"boot\":\"xyz\",\"seq\":1}]}",
        "{\"v\":1,\"acks\":[{\"boot\":\"deadbeef0102030405060708090a0b0c\",\"seq\":-1}]}",
        "{\"v\":1}",
        "{\"v\":1,\"acks\":[],\"extra\":1}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_true(ward_report_apply_ack(&s_agent, bad[i], strlen(bad[i])) < 0);
        assert_int_equal(ward_evlog_pending(&s_agent.log), pending - n_small);
    }
}

/* A machine with 40 sensors (the sim scenarios' size) and some pending events. */
static struct ward_agent s_many;
static uint8_t s_small_storage[WARD_JSON_ARENA_SIZE * 3 / 4];

static void many_setup(void)
{
    struct ward_agent_config cfg = { .boot_id = s_boot, .device_id = "sim-many", .seed = 3 };
    struct ward_reading r;
    char id[48];

    assert_int_equal(ward_agent_init(&s_many, &cfg, 1000), 0);
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "temp:board%02d_sensor_with_a_long_name", i);
        ward_reading_ok(&r, 40000 + i);
        assert_true(ward_agent_feed(&s_many, id, &r, 2000) >= 0);
    }
    ward_reading_unavailable(&r, WARD_REASON_PERMISSION);
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "temp:board%02d_sensor_with_a_long_name", i);
        assert_int_equal(ward_agent_feed(&s_many, id, &r, 3000 + i), 1);
    }
    assert_int_equal(ward_health_count(&s_many.health), 40);
}

/*
 * One snapshot cycle of batches: every page starts where the last ended, every sensor goes
 * out exactly once, events go with every page. @return pages.
 */
static unsigned cycle(struct ward_json_arena *arena, size_t cap, unsigned *largest)
{
    unsigned seen[40] = { 0 };
    unsigned pages = 0;
    unsigned expect_first = 0;

    *largest = 0;
    while (pages < 64) {
        unsigned n = 0;
        int len = ward_report_batch(&s_many, 5000, 0, 100, true, arena, s_buf, cap, &n);

        assert_true(len > 0 && (size_t)len < cap);
        if (n == 0) {
            fail_msg("no event (cap %zu, arena %zu, pending %u): %s", cap, arena->size,
                     ward_evlog_pending(&s_many.log), s_buf);
        }
        cJSON *d = parse(s_buf);
        const cJSON *h = cJSON_GetObjectItem(d, "health");
        const cJSON *sensors = cJSON_GetObjectItem(h, "sensors");
        const cJSON *it;

        if (h == NULL) {
            fail_msg("no page (cap %zu, arena %zu, len %d): %s", cap, arena->size, len, s_buf);
        }
        assert_int_equal(num(h, "sensors_total"), 40);
        assert_int_equal(num(h, "first"), expect_first);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "events")), (int)n);
        cJSON_ArrayForEach(it, sensors)
        {
            unsigned k = 0;

            assert_int_equal(sscanf(str(it, "id"), "temp:board%2u", &k), 1);
            assert_true(k < 40);
            assert_int_equal(k, expect_first); /* in the agent's order */
            seen[k]++;
            expect_first++;
        }
        unsigned size = (unsigned)cJSON_GetArraySize(sensors);

        assert_true(size > 0);
        *largest = size > *largest ? size : *largest;
        done();
        pages++;
        if (ward_report_health_done(&s_many)) {
            break;
        }
        assert_true(expect_first < 40);
    }
    assert_int_equal(expect_first, 40);
    for (unsigned k = 0; k < 40; k++) {
        assert_int_equal(seen[k], 1);
    }
    return pages;
}

static void test_health_pages(void **state)
{
    struct ward_json_arena small;
    unsigned n = 0;
    unsigned largest_big;
    unsigned largest_small;
    unsigned largest_buf;

    (void)state;
    many_setup();
    assert_int_equal(ward_json_arena_init(&small, s_small_storage, sizeof(s_small_storage)), 0);
    /* The whole snapshot does not fit the arena: that is why it pages. */
    assert_int_equal(ward_report_health(&s_many, 5000, 0, 0, &s_arena, s_buf, sizeof(s_buf)),
                     -ENOMEM);
    heap_count_start();
    unsigned big = cycle(&s_arena, sizeof(s_buf), &largest_big);
    /* A second cycle starts over at sensor 0. */
    unsigned again = cycle(&s_arena, sizeof(s_buf), &largest_big);
    /* A smaller arena, or a smaller buffer, makes smaller pages and more of them. */
    unsigned more = cycle(&small, sizeof(s_buf), &largest_small);
    unsigned buf_pages = cycle(&s_arena, 1800, &largest_buf);

    assert_int_equal(heap_count_stop(), 0);
    print_message("pages: arena %u (largest %u), small arena %u (%u), buffer 1800: %u (%u)\n", big,
                  largest_big, more, largest_small, buf_pages, largest_buf);
    assert_true(big >= 2);
    assert_int_equal(again, big);
    assert_true(more > big && largest_small < largest_big);
    assert_true(buf_pages > big && largest_buf < largest_big);
    /* Without health: no page, the cycle does not move on. */
    assert_true(
        ward_report_batch(&s_many, 5000, 0, 100, false, &s_arena, s_buf, sizeof(s_buf), &n) > 0);
    assert_null(strstr(s_buf, "\"health\":{\"v\""));
    assert_false(ward_report_health_done(&s_many));
    assert_int_equal(s_many.health_cursor, 0);
    /* A buffer that holds the heartbeat and one event but no sensor: the page goes first. */
    int hb_only = ward_report_batch(&s_many, 5000, 0, 0, false, &s_arena, s_buf, sizeof(s_buf), &n);
    int one = ward_report_batch(&s_many, 5000, 0, 1, false, &s_arena, s_buf, sizeof(s_buf), &n);

    assert_true(hb_only > 0 && one > hb_only);
    assert_true(
        ward_report_batch(&s_many, 5000, 0, 100, true, &s_arena, s_buf, (size_t)one + 60, &n) > 0);
    assert_int_equal(n, 1);
    assert_null(strstr(s_buf, "\"sensors\":["));
    assert_false(ward_report_health_done(&s_many));
    assert_int_equal(s_many.health_cursor, 0);
    /* Only room for the heartbeat: the last event goes too, the heartbeat always goes. */
    assert_true(ward_report_batch(&s_many, 5000, 0, 100, true, &s_arena, s_buf, (size_t)hb_only + 8,
                                  &n) > 0);
    assert_int_equal(n, 0);
}

static void test_documents_use_no_heap(void **state)
{
    unsigned n;

    (void)state;
    heap_count_start();
    assert_true(ward_report_heartbeat(&s_agent, 1, &s_arena, s_buf, sizeof(s_buf)) > 0);
    assert_true(ward_report_health(&s_agent, 1, 0, 0, &s_arena, s_buf, sizeof(s_buf)) > 0);
    assert_true(ward_report_batch(&s_agent, 1, 0, 10, true, &s_arena, s_buf, sizeof(s_buf), &n) >
                0);
    assert_int_equal(ward_report_apply_ack(&s_agent, "{\"v\":1,\"acks\":[]}", 17), 0);
    assert_int_equal(heap_count_stop(), 0);
}

/* One batch with health (no events); @return its "health" member's sensor ids, "" for none. */
static const char *delta_ids(int64_t now, char *ids, size_t cap)
{
    unsigned n = 0;
    const cJSON *it;

    ids[0] = '\0';
    assert_true(
        ward_report_batch(&s_agent, now, 1000, 0, true, &s_arena, s_buf, sizeof(s_buf), &n) > 0);
    cJSON *d = parse(s_buf);
    const cJSON *h = cJSON_GetObjectItem(d, "health");

    if (h != NULL) {
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(h, "delta")));
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(h, "sensors"))
        {
            strncat(ids, str(it, "id"), cap - strlen(ids) - 2);
            strcat(ids, " ");
        }
    }
    done();
    return ids;
}

/* Delta pages: each kind of sensor goes out again only past its own dead band (Kconfig
 * defaults), or on a change of state; a full cycle first and after a new connection. */
static void test_delta_pages(void **state)
{
    static const struct {
        const char *id;
        int64_t v0, inside, past; /* first value, a move inside the band, one past it */
    } k[] = {
        { "temp:chip:t1", 40000, 40499, 40500 }, /* 500 m°C */
        { "fan:chip:fan1", 2000, 2039, 2040 },   /* 2 % of 2000 */
        { "host:mem_used_pct", 50, 51, 52 },     /* 2 points */
        { "agent:loop_lag_ms", 5, 24, 25 },      /* 20 ms */
        { "psu:1:watts", 100, 104, 105 },        /* 5 % of 100 */
    };
    char ids[512];
    unsigned n = 0;

    (void)state;
    for (unsigned i = 0; i < 5; i++) {
        feed(k[i].id, k[i].v0, 2000);
    }
    ward_report_delta_pages(&s_agent, true);
    heap_count_start();
    for (int guard = 0; guard < 16 && !ward_report_health_done(&s_agent); guard++) {
        assert_true(ward_report_batch(&s_agent, 3000, 1000, 0, true, &s_arena, s_buf, sizeof(s_buf),
                                      &n) > 0);
        assert_null(strstr(s_buf, "\"delta\"")); /* the first cycle is full */
    }
    for (unsigned i = 0; i < 5; i++) {
        feed(k[i].id, k[i].inside, 4000);
    }
    assert_string_equal(delta_ids(5000, ids, sizeof(ids)), "");
    assert_true(ward_report_health_done(&s_agent));
    for (unsigned i = 0; i < 5; i++) {
        feed(k[i].id, k[i].past, 6000);
        delta_ids(7000, ids, sizeof(ids));
        assert_non_null(strstr(ids, k[i].id));
        assert_int_equal(strlen(ids), strlen(k[i].id) + 1);
    }
    save("batch.delta.json", s_buf);
    /* A change of state goes out whatever the value: above the 80000 rule's caution. */
    feed("temp:chip:t1", 80100, 8000);
    feed("temp:chip:t1", 80200, 8100);
    assert_string_equal(delta_ids(9000, ids, sizeof(ids)), "temp:chip:t1 ");
    /* A new connection: the next cycle is full. */
    ward_report_sticky_reset(&s_agent);
    assert_true(
        ward_report_batch(&s_agent, 10000, 1000, 0, true, &s_arena, s_buf, sizeof(s_buf), &n) > 0);
    assert_non_null(strstr(s_buf, "\"health\":{\"v\""));
    assert_null(strstr(s_buf, "\"delta\""));
    assert_int_equal(heap_count_stop(), 0);
    ward_report_delta_pages(&s_agent, false);
}

/* A drill's sensor (ward/drill.h): judged by the rule of the sensor it imitates, its event
 * marked "drill", the drill's state in the heartbeat; a real sensor's event is not marked. */
static void test_drill_marks(void **state)
{
    unsigned n = 0;
    char ack[160];
    const cJSON *e;
    int drill_events = 0, real_events = 0;

    (void)state;
    /* Start from an empty log: the collector stored everything so far. */
    snprintf(ack, sizeof(ack),
             "{\"v\":1,\"acks\":[{\"boot\":\"deadbeef0102030405060708090a0b0c\",\"seq\":%u}]}",
             (unsigned)ward_evlog_last_seq(&s_agent.log));
    assert_true(ward_report_apply_ack(&s_agent, ack, strlen(ack)) >= 0);
    assert_int_equal(ward_evlog_pending(&s_agent.log), 0);
    s_agent.drill = (struct ward_drill_status){ .id = 7,
                                                .state = WARD_DRILL_RUNNING,
                                                .scenario = "failing-fan" };
    feed("drill:temp:cpu9", 70000, 30000);
    feed("drill:temp:cpu9", 85000, 31000); /* temp:* upper_caution 80000 applies */
    feed("temp:cpu9", 70000, 31000);
    feed("temp:cpu9", 85000, 32000);
    assert_true(
        ward_report_batch(&s_agent, 33000, 0, 100, false, &s_arena, s_buf, sizeof(s_buf), &n) > 0);
    save("batch.drill.json", s_buf);
    cJSON *d = parse(s_buf);
    const cJSON *hd = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "heartbeat"), "drill");

    assert_non_null(hd);
    assert_string_equal(str(hd, "state"), "running");
    assert_string_equal(str(hd, "scenario"), "failing-fan");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(d, "events"))
    {
        bool marked = cJSON_IsTrue(cJSON_GetObjectItem(e, "drill"));

        if (strncmp(str(e, "sensor"), "drill:", 6) == 0) {
            assert_true(marked);
            drill_events++;
        } else {
            assert_null(cJSON_GetObjectItem(e, "drill"));
            real_events++;
        }
    }
    assert_int_equal(drill_events, 1);
    assert_int_equal(real_events, 1);
    done();
    s_agent.drill = (struct ward_drill_status){ 0 };
}

/* ---- the inventory: a fake HAL inventory device (ward/hal/inventory.h) ---- */

static char s_fake_serial[WARD_INV_SERIAL_LEN] = "S1";
static unsigned s_fake_disks = 1;

static int fake_disk(const struct ward_device *dev, unsigned i, struct ward_inv_disk *out)
{
    (void)dev;
    if (i >= s_fake_disks) {
        return -ENOENT;
    }
    *out = (struct ward_inv_disk){ .name = "sda", .model = "Disk\001\"X\"", .firmware = "F1" };
    memcpy(out->serial, s_fake_serial, sizeof(out->serial));
    return 0;
}

static int fake_nic(const struct ward_device *dev, unsigned i, struct ward_inv_nic *out)
{
    static const struct ward_inv_nic nics[] = {
        { .name = "eth0", .mac = "02:AB:cd:00:00:01", .driver = "igb" },
        { .name = "eth1", .mac = "02:ab:cd:00:00", .driver = "" }, /* not a MAC: left out */
        { .name = "", .mac = "02:ab:cd:00:00:03" },                /* no name: left out */
    };

    (void)dev;
    if (i >= sizeof(nics) / sizeof(nics[0])) {
        return -ENOENT;
    }
    *out = nics[i];
    return 0;
}

static const struct ward_inventory_ops s_fake_inventory_ops = { .disk = fake_disk,
                                                                .nic = fake_nic };

/* The inventory's heartbeat member in the batch in s_buf, or NULL (parsed: call done()). */
static const cJSON *batch_inventory(int64_t now)
{
    unsigned n;

    assert_true(ward_report_batch(&s_agent, now, 0, 0, false, &s_arena, s_buf, sizeof(s_buf), &n) >
                0);
    return cJSON_GetObjectItem(cJSON_GetObjectItem(parse(s_buf), "heartbeat"), "inventory");
}

/* Sent with the sticky fields only; strings made printable; a change read at the refresh
 * makes the next heartbeat full; without an inventory device, chips are the HAL's. */
static void test_inventory(void **state)
{
    static const struct ward_device inv_dev = { .name = "fake-inventory",
                                                .api = &s_fake_inventory_ops };
    static struct ward_hal hal = { .inventory = &inv_dev };
    const cJSON *inv, *disk, *nics;
    int64_t t = 100000;

    (void)state;
    s_agent.hal = &hal;
    ward_report_sticky_reset(&s_agent);
    inv = batch_inventory(t);
    assert_non_null(inv);
    assert_string_equal(str(inv, "build"), ward_inventory_build());
    assert_non_null(strstr(ward_inventory_build(), ward_version()));
    disk = cJSON_GetArrayItem(cJSON_GetObjectItem(inv, "disks"), 0);
    assert_string_equal(str(disk, "name"), "sda");
    assert_string_equal(str(disk, "model"), "Disk?\"X\""); /* escaped by cJSON */
    assert_string_equal(str(disk, "serial"), "S1");
    nics = cJSON_GetObjectItem(inv, "nics");
    assert_int_equal(cJSON_GetArraySize(nics), 2);
    assert_string_equal(str(cJSON_GetArrayItem(nics, 0), "mac"), "02:ab:cd:00:00:01");
    assert_string_equal(str(cJSON_GetArrayItem(nics, 0), "driver"), "igb");
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(nics, 1), "mac"));
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(nics, 1), "driver"));
    assert_null(cJSON_GetObjectItem(inv, "chips")); /* none, and no temperature devices */
    save("batch.inventory.json", s_buf);
    done();
    /* Settle (the arena's high-water mark), then compact: no inventory. */
    for (int i = 1; i <= 3; i++) {
        (void)batch_inventory(t + i * 1000);
        done();
    }
    assert_null(batch_inventory(t + 4000));
    done();
    /* The disk is replaced: not read again before the refresh, then a full heartbeat. */
    memcpy(s_fake_serial, "S2", 3);
    assert_null(batch_inventory(t + 5000));
    done();
    inv = batch_inventory(t + 5000 + WARD_INVENTORY_REFRESH_MS);
    assert_non_null(inv);
    assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(inv, "disks"), 0), "serial"),
                        "S2");
    done();
    /* A new connection reads it again and sends it again. */
    ward_report_sticky_reset(&s_agent);
    assert_non_null(batch_inventory(t + 6000 + WARD_INVENTORY_REFRESH_MS));
    done();
    /* More hardware than the text holds: whole items left out, the batch still built. */
    s_fake_disks = 60;
    ward_report_sticky_reset(&s_agent);
    inv = batch_inventory(t + 7000 + WARD_INVENTORY_REFRESH_MS);
    assert_non_null(inv);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(inv, "disks")) > 5);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(inv, "disks")) < 60);
    assert_true(s_agent.inv.left_out > 0);
    assert_true(strlen(s_agent.inv.text) < WARD_INVENTORY_TEXT_SIZE);
    done();
    s_fake_disks = 1;
    memcpy(s_fake_serial, "S1", 3);
    s_agent.hal = NULL;
    ward_report_sticky_reset(&s_agent);
}

/* Bare metal without an inventory device: the build and the sensor devices as chips. */
static int two_channels(const struct ward_device *dev)
{
    (void)dev;
    return 2;
}

static void test_inventory_chips_of_devices(void **state)
{
    static const struct ward_temp_ops temp_ops = { .count = two_channels };
    static const struct ward_device temp = { .name = "lm75", .api = &temp_ops };
    static struct ward_hal hal = { .temp = { &temp }, .n_temp = 1 };
    const cJSON *inv, *chip;

    (void)state;
    s_agent.hal = &hal;
    ward_report_sticky_reset(&s_agent);
    inv = batch_inventory(300000);
    assert_non_null(inv);
    assert_null(cJSON_GetObjectItem(inv, "disks"));
    chip = cJSON_GetArrayItem(cJSON_GetObjectItem(inv, "chips"), 0);
    assert_string_equal(str(chip, "name"), "lm75");
    assert_int_equal(num(chip, "sensors"), 2);
    done();
    s_agent.hal = NULL;
    ward_report_sticky_reset(&s_agent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_health_snapshot),
        cmocka_unit_test(test_event_and_replay_line),
        cmocka_unit_test(test_exact_64bit_numbers),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_batch_and_ack),
        cmocka_unit_test(test_documents_use_no_heap),
        cmocka_unit_test(test_batch_sticky),
        cmocka_unit_test(test_health_pages),
        cmocka_unit_test(test_delta_pages),
        cmocka_unit_test(test_drill_marks),
        cmocka_unit_test(test_inventory),
        cmocka_unit_test(test_inventory_chips_of_devices),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
