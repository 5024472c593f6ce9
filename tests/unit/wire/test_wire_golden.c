/*
 * The wire bytes do not change: fixed agent inputs are encoded into every document (heartbeat,
 * health snapshot and page, event, batch full and compact, replay line) and the collector's
 * acknowledgement is written; each text is compared byte for byte
 * with tests/unit/wire/golden/<name>.json, captured from the encoder as it was before the
 * codec moved to firmware/wire/.
 *
 * Members whose value is the board's configuration (firmware version, board, arch, the
 * configuration digest, table sizes, sizeof the context, arena use) differ between boards;
 * their values are masked as "@member@" before comparing, so the same files hold for every
 * board. With WARD_GOLDEN_WRITE=<dir> the masked texts are written there instead (to
 * regenerate after an intended protocol change); with WARD_GOLDEN_RAW=<dir> the unmasked texts
 * are written there too (to compare two builds of one board).
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

#include "ward/report.h"
#include "ward/wire/decode.h"

static struct ward_agent s_agent;
/*
 * Larger than any board's arena: how many events fit an arena depends on the word size
 * (cJSON's nodes), so only the buffer may shrink a batch here, the same on every board.
 */
static uint8_t s_storage[256 * 1024];
static struct ward_json_arena s_arena;
static char s_buf[32 * 1024];
static char s_masked[32 * 1024];
static const uint8_t s_boot[WARD_BOOT_ID_LEN] = { 0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
                                                  5,    6,    7,    8,    9, 10, 11, 12 };

/* Members whose value depends on the board's configuration or word size. */
static const char *const s_masked_members[] = {
    "firmware",
    "board",
    "arch",
    "config",
    "config_sha256",
    "interval_ms",
    "context_bytes",
    "sensors_max",
    "rates_max",
    "events_max",
    "json_arena_high_water",
    "json_arena_bytes",
    "build", /* the inventory's build id: version and source revision */
};

/* Replace the value of every "member": in s_masked_members by "@member@". */
static void mask(const char *in, char *out, size_t cap)
{
    size_t o = 0;

    while (*in != '\0' && o + 1 < cap) {
        bool done = false;

        for (size_t k = 0; !done && k < sizeof(s_masked_members) / sizeof(s_masked_members[0]);
             k++) {
            char key[40];
            int n = snprintf(key, sizeof(key), "\"%s\":", s_masked_members[k]);

            if (strncmp(in, key, (size_t)n) != 0) {
                continue;
            }
            const char *v = in + n;

            if (*v == '"') {
                v = strchr(v + 1, '"');
                assert_non_null(v);
                v++;
            } else {
                v += strspn(v, "-0123456789");
            }
            o += (size_t)snprintf(out + o, cap - o, "%s\"@%s@\"", key, s_masked_members[k]);
            in = v;
            done = true;
        }
        if (!done) {
            out[o++] = *in++;
        }
    }
    assert_true(o + 1 < cap);
    out[o] = '\0';
}

static void golden(const char *name, const char *text)
{
    const char *dir = getenv("WARD_GOLDEN_WRITE");
    char path[1024];
    static char want[32 * 1024];
    FILE *f;
    size_t n;

    if (getenv("WARD_GOLDEN_RAW") != NULL) { /* unmasked, to compare two builds of one board */
        snprintf(path, sizeof(path), "%s/%s.json", getenv("WARD_GOLDEN_RAW"), name);
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "%s\n", text);
        fclose(f);
    }
    mask(text, s_masked, sizeof(s_masked));
    if (dir != NULL) {
        snprintf(path, sizeof(path), "%s/%s.json", dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "%s\n", s_masked);
        fclose(f);
        return;
    }
    snprintf(path, sizeof(path), "%s/%s.json", WARD_WIRE_GOLDEN_DIR, name);
    f = fopen(path, "r");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    n = fread(want, 1, sizeof(want) - 1, f);
    fclose(f);
    want[n] = '\0';
    if (n > 0 && want[n - 1] == '\n') {
        want[n - 1] = '\0';
    }
    if (strcmp(want, s_masked) != 0) {
        fail_msg("%s differs from the golden bytes:\n got: %s\nwant: %s", name, s_masked, want);
    }
}

/* The readings the agent is fed, in order: states change, two cautions, escapes, extremes. */
static const struct {
    const char *id;
    int64_t value;
    int64_t t_ms;
} s_readings[] = {
    { "temp:cpu0", 70000, 2000 },
    { "temp:cpu0", 85000, 3000 },
    { "temp:inlet", -40500, 3000 },
    { "temp:in\"let\\2", INT64_MIN, 3000 },
    { "temp:cpu0", 70000, 3500 },
    { "temp:cpu0", 85000, 3600 },
    { "c", (int64_t)(UINT64_MAX - 5u), 3000 },
};

static int setup(void **state)
{
    static const char rules[] = "{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":80000},"
                                "{\"sensor\":\"c\",\"kind\":\"rate\",\"upper_caution\":0}]}";
    struct ward_agent_config cfg = { .boot_id = s_boot, .device_id = "bmc-rack4-u12", .seed = 5 };
    struct ward_reading r;

    (void)state;
    if (ward_agent_init(&s_agent, &cfg, 1000) != 0 ||
        ward_agent_load_rules(&s_agent, rules, strlen(rules), NULL, 1000) != 2 ||
        ward_json_arena_init(&s_arena, s_storage, sizeof(s_storage)) != 0) {
        return -1;
    }
    ward_agent_set_wall_clock(&s_agent, 2000, 1700000000000LL);
    for (size_t i = 0; i < sizeof(s_readings) / sizeof(s_readings[0]); i++) {
        ward_reading_ok(&r, s_readings[i].value);
        if (ward_agent_feed(&s_agent, s_readings[i].id, &r, s_readings[i].t_ms) < 0) {
            return -1;
        }
    }
    ward_reading_unavailable(&r, WARD_REASON_PERMISSION);
    assert_int_equal(ward_agent_feed(&s_agent, "disk:sda:smart", &r, 4000), 1);
    /* From an earlier boot: no wall clock, folded repeats, never read since (null times). */
    struct ward_event restored;

    memset(&restored, 0, sizeof(restored));
    restored.seq = UINT32_MAX;
    restored.t_ms = -5;
    restored.first_t_ms = INT64_MIN;
    restored.count = 3;
    restored.to = WARD_STATE_CRITICAL;
    restored.severity = WARD_SEV_HIGH;
    restored.flags = WARD_EVENT_HAS_VALUE;
    restored.value = INT64_MAX;
    assert_int_equal(ward_agent_restore_event(&s_agent, (const uint8_t *)"0123456789abcdef",
                                              "temp:restored", &restored),
                     1);
    return 0;
}

static void test_documents(void **state)
{
    (void)state;
    assert_true(ward_report_heartbeat(&s_agent, 61000, &s_arena, s_buf, sizeof(s_buf)) > 0);
    golden("heartbeat", s_buf);
    assert_true(ward_report_health(&s_agent, 62000, 0, 0, &s_arena, s_buf, sizeof(s_buf)) > 0);
    golden("health", s_buf);
    assert_true(ward_report_health(&s_agent, 62000, 1, 2, &s_arena, s_buf, sizeof(s_buf)) > 0);
    golden("health_page", s_buf);
    for (unsigned i = 0; i < ward_evlog_pending(&s_agent.log); i++) {
        char name[32];

        assert_true(ward_report_event(&s_agent, ward_evlog_at(&s_agent.log, i), &s_arena, s_buf,
                                      sizeof(s_buf)) > 0);
        snprintf(name, sizeof(name), "event%u", i);
        golden(name, s_buf);
        assert_true(ward_report_replay_line(&s_agent, ward_evlog_at(&s_agent.log, i), &s_arena,
                                            s_buf, sizeof(s_buf)) > 0);
        snprintf(name, sizeof(name), "replay%u", i);
        golden(name, s_buf);
    }
}

static void test_batches(void **state)
{
    unsigned n = 0;

    (void)state;
    ward_report_sticky_reset(&s_agent);
    assert_true(
        ward_report_batch(&s_agent, 70000, 0, 100, true, &s_arena, s_buf, sizeof(s_buf), &n) > 0);
    assert_true(n > 0);
    golden("batch_full", s_buf);
    assert_true(
        ward_report_batch(&s_agent, 71000, 1, 1, false, &s_arena, s_buf, sizeof(s_buf), &n) > 0);
    assert_int_equal(n, 1);
    golden("batch_compact", s_buf);
    assert_true(ward_report_batch(&s_agent, 72000, 100, 100, false, &s_arena, s_buf, sizeof(s_buf),
                                  &n) > 0);
    assert_int_equal(n, 0);
    golden("batch_no_events", s_buf);
    /* A small buffer: the page halves to one sensor, events fill the rest, the heartbeat stays. */
    assert_true(ward_report_batch(&s_agent, 73000, 0, 100, true, &s_arena, s_buf, 1400, &n) > 0);
    golden("batch_small", s_buf);
}

/* A delta page (docs/protocol.md, "Delta pages"): after a full cycle, only the sensor whose
 * value moved past its dead band, marked "delta": true. */
static void test_delta(void **state)
{
    struct ward_reading r;
    unsigned n = 0;

    (void)state;
    ward_report_delta_pages(&s_agent, true);
    ward_report_sticky_reset(&s_agent);
    for (int k = 0; k < 8; k++) {
        assert_true(ward_report_batch(&s_agent, 80000, 100, 100, true, &s_arena, s_buf,
                                      sizeof(s_buf), &n) > 0);
        if (ward_report_health_done(&s_agent)) {
            break;
        }
    }
    assert_true(ward_report_health_done(&s_agent));
    ward_reading_ok(&r, 90000); /* +5000 m°C */
    assert_true(ward_agent_feed(&s_agent, "temp:cpu0", &r, 81000) >= 0);
    ward_reading_ok(&r, -40400); /* +100 m°C: inside the dead band */
    assert_true(ward_agent_feed(&s_agent, "temp:inlet", &r, 81000) >= 0);
    assert_true(
        ward_report_batch(&s_agent, 82000, 100, 100, true, &s_arena, s_buf, sizeof(s_buf), &n) > 0);
    golden("batch_delta", s_buf);
    ward_report_delta_pages(&s_agent, false);
}

static void test_ack(void **state)
{
    (void)state;
    struct ward_ingest_ack acks[3] = {
        { "deadbeef0102030405060708090a0b0c", 4294967295LL },
        { "00000000000000000000000000000000", -1 },
        { "0123456789abcdef0123456789abcdef", 0 },
    };
    int n = ward_ingest_format_ack(s_buf, sizeof(s_buf), acks, 3);

    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(s_buf));
    golden("ack", s_buf);
    assert_true(ward_ingest_format_ack(s_buf, sizeof(s_buf), acks, 0) > 0);
    golden("ack_empty", s_buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_delta),
        cmocka_unit_test(test_ack),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
