/*
 * Severity-first backlog drain (issue 10 defect 4, docs/protocol.md "Backlog").
 *
 * After an outage a full event log of mixed severities is pending, the urgent failures
 * recorded last. Draining it through ward_report_batch() (severity first, as the reporting
 * loop sets it) and the outbox's acknowledgement, against a simulated collector that stores,
 * deduplicates on (boot, seq) and acknowledges the highest sequence it stored per boot (as
 * tools/collector does):
 *   - the first batch holds every high-severity event;
 *   - no sensor's transition ever reaches the collector before an earlier one of that sensor;
 *   - every event is stored once, none lost, none sent twice without a restart;
 *   - after a restart mid-drain (the journal restored into a new run's log) the collector's
 *     watermark, now past events never sent, frees none of them: nothing is lost, and what
 *     is sent again is only what the journal kept on purpose (deduplicated).
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
#include "ward/agent.h"
#include "ward/report.h"
#include "ward/transport/outbox.h"
#include "ward/transport/store_ram.h"

#define URGENT     8u    /* sensors that fail (high) at the end of the outage */
#define BATCH_BUF  3900u /* a 4 KiB request buffer less the request head */
#define MAX_EVENTS 64u   /* CONFIG_WARD_UPLINK_BATCH_EVENTS-like: the buffer binds first */
#define SEQ_CAP    4096u

static struct ward_agent s_agent;
static uint8_t s_mem[96 * 1024];
static struct ward_store_ram s_ram;
static struct ward_journal_entry s_idx[WARD_EVLOG_SIZE + 16];
static struct ward_journal s_j;
static struct ward_outbox s_ob;
static uint8_t s_arena_mem[WARD_JSON_ARENA_SIZE];
static struct ward_json_arena s_arena;
static uint8_t s_parse_mem[256 * 1024];
static struct ward_json_arena s_parse;
static char s_buf[BATCH_BUF];

static const char k_rules[] =
    "{\"rules\": [{\"sensor\": \"temp:flap*\", \"upper_caution\": 80000, \"upper_critical\": "
    "90000},"
    " {\"sensor\": \"temp:urgent*\", \"upper_caution\": 80000, \"upper_fatal\": 100000}]}";

/* The collector: what it stored, per sensor the last seq stored, its watermark. */
static struct {
    bool stored[SEQ_CAP];
    char boot[WARD_BOOT_ID_HEX_LEN + 1];
    char sensors[32][24];
    uint32_t last[32];
    unsigned n_sensors;
    unsigned n_stored;
    unsigned dups;
    uint32_t max_seq;
    unsigned high_seen;
} s_col;

static void start_agent(uint8_t boot_byte)
{
    struct ward_agent_config cfg;
    uint8_t boot[WARD_BOOT_ID_LEN];

    memset(boot, boot_byte, sizeof(boot));
    memset(&cfg, 0, sizeof(cfg));
    cfg.device_id = "dev-backlog";
    cfg.boot_id = boot;
    cfg.seed = 1;
    assert_int_equal(ward_agent_init(&s_agent, &cfg, 0), 0);
    assert_true(ward_agent_load_rules(&s_agent, k_rules, sizeof(k_rules) - 1, NULL, 0) >= 0);
    ward_report_severity_first(&s_agent, true);
}

static void open_journal(void)
{
    assert_int_equal(ward_journal_open(&s_j, ward_store_ram(&s_ram), s_idx,
                                       sizeof(s_idx) / sizeof(s_idx[0]), sizeof(s_mem)),
                     0);
    assert_int_equal(ward_outbox_init(&s_ob, &s_j), 0);
}

static void feed(const char *id, int64_t v, int64_t t)
{
    struct ward_reading r = { .value = v, .status = WARD_STATUS_OK };

    assert_true(ward_agent_feed(&s_agent, id, &r, t) >= 0);
}

/*
 * The outage: 16 sensors flap through caution and critical (low and medium events) until the
 * log is full but for the urgent failures; urgent0 went to caution early (a low event that
 * must precede its failure), then every urgent sensor fails (high) last.
 * @return the number of high events.
 */
static unsigned outage(void)
{
    static const int64_t cycle[] = { 85000, 95000, 40000 };
    const unsigned room = WARD_EVLOG_SIZE - URGENT;
    char id[24];
    int64_t t = 1000;
    unsigned k = 0;

    feed("temp:urgent0", 85000, t++);
    for (unsigned u = 0; u < URGENT; u++) {
        snprintf(id, sizeof(id), "temp:urgent%u", u);
        feed(id, u == 0 ? 85000 : 40000, t++);
    }
    while (ward_evlog_pending(&s_agent.log) < room) {
        snprintf(id, sizeof(id), "temp:flap%u", k % 16u);
        feed(id, cycle[(k / 16u) % 3u], t++);
        k++;
    }
    for (unsigned u = 0; u < URGENT; u++) {
        snprintf(id, sizeof(id), "temp:urgent%u", u);
        feed(id, 105000, t++);
    }
    assert_int_equal(ward_evlog_pending(&s_agent.log), WARD_EVLOG_SIZE);
    assert_int_equal(ward_evlog_dropped_total(&s_agent.log), 0);
    assert_int_equal(ward_outbox_capture(&s_ob, &s_agent), WARD_EVLOG_SIZE);
    assert_int_equal(ward_outbox_sync(&s_ob), 0);
    return URGENT;
}

static uint32_t *sensor_last(const char *sensor)
{
    for (unsigned i = 0; i < s_col.n_sensors; i++) {
        if (strcmp(s_col.sensors[i], sensor) == 0) {
            return &s_col.last[i];
        }
    }
    assert_true(s_col.n_sensors < 32);
    snprintf(s_col.sensors[s_col.n_sensors], sizeof(s_col.sensors[0]), "%s", sensor);
    s_col.last[s_col.n_sensors] = 0;
    return &s_col.last[s_col.n_sensors++];
}

/* The collector stores a batch (all of it: it commits before it answers). */
static unsigned collect(const char *body, unsigned *high)
{
    const cJSON *ev;
    cJSON *d;
    unsigned n = 0;

    ward_json_arena_enter(&s_parse);
    d = cJSON_Parse(body);
    assert_non_null(d);
    *high = 0;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(d, "events"))
    {
        const char *boot = cJSON_GetObjectItem(ev, "boot")->valuestring;
        const char *sensor = cJSON_GetObjectItem(ev, "sensor")->valuestring;
        uint32_t seq = (uint32_t)cJSON_GetObjectItem(ev, "seq")->valuedouble;
        uint32_t *last = sensor_last(sensor);

        assert_string_equal(boot, s_col.boot);
        assert_true(seq > 0 && seq < SEQ_CAP);
        *high += strcmp(cJSON_GetObjectItem(ev, "severity")->valuestring, "high") == 0;
        n++;
        if (s_col.stored[seq]) {
            s_col.dups++;
            continue;
        }
        /* A sensor's transitions arrive in order: never one before an earlier one. */
        if (seq < *last) {
            fail_msg("%s: seq %u arrived after seq %u", sensor, (unsigned)seq, (unsigned)*last);
        }
        *last = seq;
        s_col.stored[seq] = true;
        s_col.n_stored++;
        s_col.max_seq = seq > s_col.max_seq ? seq : s_col.max_seq;
    }
    ward_json_arena_leave(&s_parse);
    return n;
}

/* One round trip: build, store, acknowledge the collector's watermark for the boot. */
static unsigned round_trip(int64_t now, unsigned *high)
{
    char ack[160];
    unsigned n = 0;
    int len =
        ward_report_batch(&s_agent, now, 0, MAX_EVENTS, false, &s_arena, s_buf, sizeof(s_buf), &n);

    assert_true(len > 0);
    assert_int_equal(collect(s_buf, high), n);
    snprintf(ack, sizeof(ack), "{\"v\":1,\"acks\":[{\"boot\":\"%s\",\"seq\":%u}]}", s_col.boot,
             (unsigned)s_col.max_seq);
    assert_true(ward_outbox_apply_ack(&s_ob, &s_agent, ack, strlen(ack)) >= 0);
    return n;
}

static int setup(void **state)
{
    (void)state;
    memset(&s_col, 0, sizeof(s_col));
    memset(s_col.boot, 'a', WARD_BOOT_ID_HEX_LEN); /* boot 0xaa.. */
    assert_int_equal(ward_store_ram_init(&s_ram, s_mem, sizeof(s_mem)), 0);
    assert_int_equal(ward_json_arena_init(&s_arena, s_arena_mem, sizeof(s_arena_mem)), 0);
    assert_int_equal(ward_json_arena_init(&s_parse, s_parse_mem, sizeof(s_parse_mem)), 0);
    open_journal();
    start_agent(0xaa);
    return 0;
}

static void drain(int64_t now, unsigned *batches)
{
    unsigned high;

    while (ward_evlog_pending(&s_agent.log) > 0 && *batches < 4 * WARD_EVLOG_SIZE) {
        (void)round_trip(now + (int64_t)*batches, &high);
        (*batches)++;
    }
    assert_int_equal(ward_evlog_pending(&s_agent.log), 0);
}

static void test_first_batch_holds_every_high_event(void **state)
{
    unsigned high_total;
    unsigned high = 0;
    unsigned batches = 1;
    unsigned n;

    (void)state;
    high_total = outage();
    heap_count_start();
    n = round_trip(100000, &high);
    print_message("first batch: %u events, %u of %u high\n", n, high, high_total);
    assert_int_equal(high, high_total);
    assert_true(n < WARD_EVLOG_SIZE); /* a backlog, not one batch */
    drain(100001, &batches);
    print_message("%u events in %u batches, %u sent twice\n", s_col.n_stored, batches, s_col.dups);
    assert_int_equal(s_col.n_stored, WARD_EVLOG_SIZE);
    assert_int_equal(s_col.dups, 0);
    assert_int_equal(ward_journal_count(&s_j), 0);
    assert_int_equal(heap_count_stop(), 0);
}

static void test_restart_mid_drain_loses_nothing(void **state)
{
    unsigned high;
    unsigned batches = 0;
    unsigned unstored;
    int restored;

    (void)state;
    (void)outage();
    for (int i = 0; i < 3; i++) {
        (void)round_trip(100000 + i, &high);
    }
    /* The urgent events are stored: the collector's watermark passed events never sent. */
    assert_true(s_col.max_seq == ward_evlog_last_seq(&s_agent.log));
    assert_true(s_col.n_stored < WARD_EVLOG_SIZE);
    /* Power cut: a new run opens the journal and restores it under the old boot id. */
    assert_int_equal(ward_outbox_sync(&s_ob), 0);
    open_journal();
    start_agent(0xbb);
    restored = ward_outbox_restore(&s_ob, &s_agent);
    unstored = WARD_EVLOG_SIZE - s_col.n_stored;
    print_message("restored %d: %u never stored, %d stored already (sent ahead of older ones)\n",
                  restored, unstored, restored - (int)unstored);
    assert_true(restored >= (int)unstored);
    assert_true(restored - (int)unstored <= (int)URGENT + 1);
    drain(200000, &batches);
    print_message("%u events stored once; %u sent again after the restart (deduplicated)\n",
                  s_col.n_stored, s_col.dups);
    assert_int_equal(s_col.n_stored, WARD_EVLOG_SIZE);
    assert_int_equal(s_col.dups, (unsigned)restored - unstored);
    assert_int_equal(ward_journal_count(&s_j), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_first_batch_holds_every_high_event, setup),
        cmocka_unit_test_setup(test_restart_mid_drain_loses_nothing, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
