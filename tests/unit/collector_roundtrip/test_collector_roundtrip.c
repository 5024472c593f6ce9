/*
 * The agent's documents through the collector's decoder and back: every batch the agent
 * builds (with and without the health snapshot, events of an earlier boot restored from
 * storage, negative and 64-bit values, small buffers that cut the batch short) decodes with
 * the same device, boot, events and spans; the collector's acknowledgement, applied by the
 * agent's own parser, frees exactly the acknowledged events.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ward/report.h"

#include "ward/wire/decode.h"

static struct ward_agent s_agent;
static uint8_t s_arena_mem[WARD_JSON_ARENA_SIZE];
static struct ward_json_arena s_arena;
static char s_buf[16 * 1024];
static char s_scratch[sizeof(s_buf)];
static struct ward_ingest_event s_events[256];
static const uint8_t s_boot[WARD_BOOT_ID_LEN] = { 0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
                                                  5,    6,    7,    8,    9, 10, 11, 12 };
static const uint8_t s_old_boot[WARD_BOOT_ID_LEN] = { 0xaa, 0xbb, 0xcc, 0, 0, 0, 0, 0,
                                                      0,    0,    0,    0, 0, 0, 0, 7 };

static void feed(const char *id, int64_t v, int64_t t)
{
    struct ward_reading r;

    ward_reading_ok(&r, v);
    assert_true(ward_agent_feed(&s_agent, id, &r, t) >= 0);
}

static int setup(void **state)
{
    static const char rules[] = "{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":80000,"
                                "\"upper_critical\":90000}]}";
    struct ward_agent_config cfg = { .boot_id = s_boot, .device_id = "bmc-rack4-u12", .seed = 9 };
    struct ward_event old = { .t_ms = 5,
                              .seq = 41,
                              .count = 1,
                              .from = WARD_STATE_OK,
                              .to = WARD_STATE_FAILED,
                              .severity = WARD_SEV_HIGH };

    (void)state;
    assert_int_equal(ward_agent_init(&s_agent, &cfg, 1000), 0);
    assert_int_equal(ward_agent_load_rules(&s_agent, rules, strlen(rules), NULL, 1000), 1);
    assert_int_equal(ward_json_arena_init(&s_arena, s_arena_mem, sizeof(s_arena_mem)), 0);
    ward_agent_set_wall_clock(&s_agent, 2000, 1700000000000LL);
    /* An event an earlier run stored in its journal, not yet acknowledged. */
    assert_int_equal(ward_agent_restore_event(&s_agent, s_old_boot, "disk:ST4000_Z1:smart", &old),
                     1);
    for (int i = 0; i < 40; i++) {
        feed("temp:cpu0", i % 3 == 0 ? 95000 : (i % 3 == 1 ? 85000 : 70000), 3000 + i);
    }
    feed("temp:inlet", -40500, 4000);
    feed("temp:inlet", 99000, 4001);
    return 0;
}

static int decode(int len, struct ward_ingest_batch *b)
{
    const char *why = NULL;
    int rc;

    memset(b, 0, sizeof(*b));
    b->events = s_events;
    b->max_events = 256;
    rc = ward_ingest_decode(s_buf, (size_t)len, b, s_scratch, sizeof(s_scratch), &why);
    if (rc != 0) {
        fail_msg("the collector refused the agent's batch: %s\n%s", why, s_buf);
    }
    return rc;
}

static void check_events(const struct ward_ingest_batch *b, unsigned n)
{
    char hex[WARD_BOOT_ID_HEX_LEN + 1];

    assert_int_equal(b->n_events, n);
    for (unsigned i = 0; i < n; i++) {
        const struct ward_event *ev = ward_evlog_at(&s_agent.log, i);

        ward_boot_id_hex(ward_evlog_boot_id(&s_agent.log, ev), hex);
        assert_string_equal(s_events[i].boot, hex);
        assert_int_equal(s_events[i].seq, ev->seq);
        assert_string_equal(s_events[i].from, ward_state_name((enum ward_state)ev->from));
        assert_string_equal(s_events[i].to, ward_state_name((enum ward_state)ev->to));
        assert_string_equal(s_events[i].severity,
                            ward_severity_name((enum ward_severity)ev->severity));
        assert_true(s_events[i].doc[0] == '{' && s_events[i].doc[s_events[i].doc_len - 1] == '}');
    }
}

static void test_batches_decode(void **state)
{
    struct ward_ingest_batch b;
    unsigned n = 0;
    char hex[WARD_BOOT_ID_HEX_LEN + 1];

    (void)state;
    ward_boot_id_hex(s_boot, hex);
    unsigned pending = ward_evlog_pending(&s_agent.log);

    assert_true(pending > 20);
    for (int with_health = 0; with_health < 2; with_health++) {
        int len = ward_report_batch(&s_agent, 9000, 0, 256, with_health, &s_arena, s_buf,
                                    sizeof(s_buf), &n);

        assert_true(len > 0);
        assert_int_equal(decode(len, &b), 0);
        assert_string_equal(b.device, "bmc-rack4-u12");
        assert_string_equal(b.boot, hex);
        assert_true(b.has_heartbeat);
        assert_int_equal(b.hb_seq, s_agent.hb_seq);
        assert_string_equal(b.health, "critical");
        assert_true((b.snapshot != NULL) == (with_health != 0));
        check_events(&b, n);
    }
    /* Small buffers: fewer events, still a valid batch. */
    for (size_t cap = 1200; cap < sizeof(s_buf); cap += 1500) {
        int len = ward_report_batch(&s_agent, 9000, 0, 256, false, &s_arena, s_buf, cap, &n);

        assert_true(len > 0 && (size_t)len < cap);
        assert_int_equal(decode(len, &b), 0);
        check_events(&b, n);
    }
}

static void test_ack_frees_what_was_stored(void **state)
{
    struct ward_ingest_batch b;
    struct ward_ingest_ack acks[2];
    char body[512];
    unsigned n = 0;

    (void)state;
    /* As many events as the agent's arena fits (the restored one first). */
    int len = ward_report_batch(&s_agent, 9000, 0, 256, false, &s_arena, s_buf, sizeof(s_buf), &n);

    assert_true(len > 0 && n >= 2);
    assert_int_equal(decode(len, &b), 0);
    unsigned before = ward_evlog_pending(&s_agent.log);

    /* The collector stored them all: it acknowledges the highest seq of each boot. */
    unsigned k = 0;

    for (unsigned i = 0; i < b.n_events; i++) {
        unsigned j;

        for (j = 0; j < k && strcmp(acks[j].boot, s_events[i].boot) != 0; j++) {
        }
        if (j == k) {
            assert_true(k < 2);
            memcpy(acks[k].boot, s_events[i].boot, sizeof(acks[k].boot));
            acks[k++].seq = -1;
        }
        if (s_events[i].seq > acks[j].seq) {
            acks[j].seq = s_events[i].seq;
        }
    }
    assert_int_equal(k, 2); /* the restored boot and this one */
    int blen = ward_ingest_format_ack(body, sizeof(body), acks, k);

    assert_true(blen > 0);
    assert_int_equal(ward_report_apply_ack(&s_agent, body, (size_t)blen), (int)n);
    assert_int_equal(ward_evlog_pending(&s_agent.log), before - n);
    /* An entry with nothing stored is left out; the document is still valid for the agent. */
    acks[0].seq = -1;
    acks[1].seq = -1;
    blen = ward_ingest_format_ack(body, sizeof(body), acks, 2);
    assert_string_equal(body, "{\"v\":1,\"acks\":[]}");
    assert_int_equal(ward_report_apply_ack(&s_agent, body, (size_t)blen), 0);
    assert_int_equal(ward_ingest_format_ack(body, 10, acks, 2), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_decode),
        cmocka_unit_test(test_ack_frees_what_was_stored),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
