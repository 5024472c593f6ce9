/*
 * Store-and-forward glue (firmware/transport/src/outbox.c, ack.c): the event record codec,
 * the acknowledgement parser, events captured from a real agent's log into the journal,
 * acknowledgements freeing the same events in both, and a restart restoring the journal
 * into a new run's log. No heap anywhere.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "heap_count.h"
#include "ward/agent.h"
#include "ward/report.h"
#include "ward/transport/ack.h"
#include "ward/transport/outbox.h"
#include "ward/transport/store_ram.h"

static struct ward_agent s_agent;
static uint8_t s_mem[16384];
static struct ward_store_ram s_ram;
static struct ward_journal_entry s_idx[32];
static struct ward_journal s_j;
static struct ward_outbox s_ob;

static const char k_rules[] = "{\"rules\": [{\"sensor\": \"temp:cpu0\", \"upper_caution\": 80000, "
                              "\"upper_critical\": 90000}]}";

static void start_agent(uint8_t boot_byte)
{
    struct ward_agent_config cfg;
    struct ward_rules_error err;
    uint8_t boot[WARD_BOOT_ID_LEN];

    memset(boot, boot_byte, sizeof(boot));
    memset(&cfg, 0, sizeof(cfg));
    cfg.device_id = "dev-1";
    cfg.boot_id = boot;
    cfg.seed = 1;
    assert_int_equal(ward_agent_init(&s_agent, &cfg, 0), 0);
    assert_true(ward_agent_load_rules(&s_agent, k_rules, sizeof(k_rules) - 1, &err, 0) >= 0);
}

static void open_journal(void)
{
    assert_int_equal(ward_journal_open(&s_j, ward_store_ram(&s_ram), s_idx, 32, sizeof(s_mem)), 0);
    assert_int_equal(ward_outbox_init(&s_ob, &s_j), 0);
}

static void feed(int64_t value, int64_t t)
{
    struct ward_reading r = { .value = value, .status = WARD_STATUS_OK };

    assert_true(ward_agent_feed(&s_agent, "temp:cpu0", &r, t) >= 0);
}

static int ack(uint8_t boot_byte, uint32_t seq)
{
    uint8_t boot[WARD_BOOT_ID_LEN];
    char hex[WARD_BOOT_ID_HEX_LEN + 1];
    char doc[128];
    int n;

    memset(boot, boot_byte, sizeof(boot));
    ward_boot_id_hex(boot, hex);
    n = snprintf(doc, sizeof(doc), "{\"v\":1,\"acks\":[{\"boot\":\"%s\",\"seq\":%u}]}", hex,
                 (unsigned)seq);
    return ward_outbox_apply_ack(&s_ob, &s_agent, doc, (size_t)n);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(ward_store_ram_init(&s_ram, s_mem, sizeof(s_mem)), 0);
    open_journal();
    start_agent(0x11);
    return 0;
}

static void test_codec_round_trip_and_rejects(void **state)
{
    struct ward_event ev;
    struct ward_event out;
    uint8_t buf[128];
    char id[64];
    int n;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.t_ms = -5;
    ev.first_t_ms = 1234567890123;
    ev.wall_ms = INT64_MAX;
    ev.value = INT64_MIN;
    ev.count = 70000;
    ev.from = WARD_STATE_OK;
    ev.to = WARD_STATE_FATAL;
    ev.severity = WARD_SEV_HIGH;
    ev.reason = 3;
    ev.flags = WARD_EVENT_HAS_VALUE | WARD_EVENT_HAS_WALL;
    n = ward_outbox_encode("temp:a:b", &ev, buf, sizeof(buf));
    assert_int_equal(n, 45 + 8);
    assert_int_equal(ward_outbox_decode(buf, (size_t)n, id, sizeof(id), &out), 0);
    assert_string_equal(id, "temp:a:b");
    assert_true(out.t_ms == ev.t_ms && out.first_t_ms == ev.first_t_ms &&
                out.wall_ms == ev.wall_ms && out.value == ev.value && out.count == ev.count);
    assert_true(out.from == ev.from && out.to == ev.to && out.severity == ev.severity &&
                out.reason == ev.reason && out.flags == ev.flags);
    /* refusals */
    assert_int_equal(ward_outbox_encode("x", &ev, buf, 40), -ENOSPC);
    assert_int_equal(ward_outbox_decode(buf, (size_t)n - 1, id, sizeof(id), &out), -EBADMSG);
    assert_int_equal(ward_outbox_decode(buf, (size_t)n, id, 8, &out), -EBADMSG);
    buf[0] = 2;
    assert_int_equal(ward_outbox_decode(buf, (size_t)n, id, sizeof(id), &out), -EBADMSG);
    buf[0] = 1;
    buf[2] = WARD_STATE_COUNT;
    assert_int_equal(ward_outbox_decode(buf, (size_t)n, id, sizeof(id), &out), -EBADMSG);
    buf[2] = WARD_STATE_FATAL;
    buf[47] = '\0';
    assert_int_equal(ward_outbox_decode(buf, (size_t)n, id, sizeof(id), &out), -EBADMSG);
}

static void test_ack_parser(void **state)
{
    struct ward_ack acks[2];
    const char *two =
        "{\"acks\":[{\"seq\":7,\"boot\":\"000102030405060708090a0b0c0d0e0f\"},"
        "{\"boot\":\"ffffffffffffffffffffffffffffffff\",\"seq\":4294967295}],\"v\":1}";
    const char *bad[] = {
        "{\"v\":2,\"acks\":[]}",
        "{\"v\":1}",
        "{\"v\":1,\"acks\":[],\"x\":1}",
        "{\"v\":1,\"acks\":[{\"boot\":\"00\",\"seq\":1}]}",
        "{\"v\":1,\"acks\":[{\"boot\":\"000102030405060708090a0b0c0d0e0g\",\"seq\":1}]}",
        "{\"v\":1,\"acks\":[{\"boot\":\"000102030405060708090a0b0c0d0e0f\",\"seq\":-1}]}",
        "{\"v\":1,\"acks\":[{\"boot\":\"000102030405060708090a0b0c0d0e0f\",\"seq\":4294967296}]}",
        "{\"v\":1,\"acks\":[{\"boot\":\"000102030405060708090a0b0c0d0e0f\",\"seq\":1.5}]}",
        "{\"v\":1,\"acks\":[{\"boot\":\"000102030405060708090a0b0c0d0e0f\"}]}",
        "{\"v\":1,\"acks\":[{\"boot\":\"000102030405060708090a0b0c0d0e0f\",\"seq\":1,\"seq\":2}]}",
        "{\"v\":1,\"acks\":[]} x",
        "{\"v\":1,\"acks\":[",
        "",
    };

    (void)state;
    assert_int_equal(ward_ack_parse(two, strlen(two), acks, 2), 2);
    assert_int_equal(acks[0].seq, 7);
    assert_int_equal(acks[0].boot_id[15], 0x0f);
    assert_int_equal(acks[1].seq, UINT32_MAX);
    assert_int_equal(ward_ack_parse(two, strlen(two), acks, 1), -E2BIG);
    assert_int_equal(ward_ack_parse("{\"v\":1,\"acks\":[]}", 17, acks, 2), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_true(ward_ack_parse(bad[i], strlen(bad[i]), acks, 2) < 0);
    }
}

static void test_capture_ack_restart(void **state)
{
    uint8_t old_boot[WARD_BOOT_ID_LEN];

    (void)state;
    memset(old_boot, 0x11, sizeof(old_boot));
    heap_count_start();
    feed(50000, 1000);
    feed(95000, 2000); /* ok -> critical */
    feed(50000, 3000); /* critical -> ok */
    feed(85000, 4000); /* ok -> caution */
    assert_int_equal(ward_evlog_pending(&s_agent.log), 3);
    assert_int_equal(ward_outbox_capture(&s_ob, &s_agent), 3);
    assert_int_equal(ward_outbox_capture(&s_ob, &s_agent), 0); /* nothing twice */
    assert_int_equal(ward_journal_count(&s_j), 3);
    assert_int_equal(ward_outbox_sync(&s_ob), 0);
    /* the collector stored 1..2: freed in the log and the journal */
    assert_int_equal(ack(0x11, 2), 2);
    assert_int_equal(ward_evlog_pending(&s_agent.log), 1);
    assert_int_equal(ward_journal_count(&s_j), 1);
    /* a malformed acknowledgement frees nothing */
    assert_int_equal(ward_outbox_apply_ack(&s_ob, &s_agent, "{\"v\":1,\"acks\":[{", 16), -EPROTO);
    assert_int_equal(s_ob.stats.bad_acks, 1);
    assert_int_equal(ward_journal_count(&s_j), 1);

    /* restart: a new run with a new boot id finds seq 3 of the old one in the journal */
    open_journal();
    start_agent(0x22);
    assert_int_equal(ward_outbox_restore(&s_ob, &s_agent), 1);
    assert_int_equal(ward_evlog_pending(&s_agent.log), 1);
    {
        const struct ward_event *ev = ward_evlog_at(&s_agent.log, 0);

        assert_int_equal(ev->seq, 3);
        assert_int_equal(ev->to, WARD_STATE_CAUTION);
        assert_memory_equal(ward_evlog_boot_id(&s_agent.log, ev), old_boot, WARD_BOOT_ID_LEN);
    }
    /* the new run's own events go to the journal; the restored one is not written again */
    feed(50000, 5000);
    feed(95000, 6000);
    assert_int_equal(ward_outbox_capture(&s_ob, &s_agent), 1);
    assert_int_equal(ward_journal_count(&s_j), 2);
    /* acknowledging the old boot frees its event in both */
    assert_int_equal(ack(0x11, 3), 1);
    assert_int_equal(ward_journal_count(&s_j), 1);
    assert_int_equal(ack(0x22, 1), 1);
    assert_int_equal(ward_journal_count(&s_j), 0);
    assert_int_equal(ward_evlog_pending(&s_agent.log), 0);
    assert_int_equal(heap_count_stop(), 0);
}

static void test_undecodable_record_is_skipped(void **state)
{
    struct ward_journal_key key;

    (void)state;
    memset(&key, 0x33, sizeof(key));
    key.seq = 9;
    assert_int_equal(ward_journal_append(&s_j, &key, 0, "garbage", 7), 0);
    start_agent(0x44);
    assert_int_equal(ward_outbox_restore(&s_ob, &s_agent), 0);
    assert_int_equal(s_ob.stats.restore_bad, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_round_trip_and_rejects),
        cmocka_unit_test(test_ack_parser),
        cmocka_unit_test_setup(test_capture_ack_restart, setup),
        cmocka_unit_test_setup(test_undecodable_record_is_skipped, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
