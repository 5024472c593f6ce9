/*
 * The reporting loop (firmware/transport/src/uplink.c) over a real agent, the RAM journal,
 * the real transport on a fake network and a pass-through channel, with the test as the
 * collector: the first batch and the first after every reconnect carry the sticky heartbeat
 * fields (interval_ms), a health snapshot pages over a cycle one batch gap apart, events
 * alone wait the batch gap, acknowledgements free events (a malformed one frees nothing),
 * and no heap is touched.
 */
#define _GNU_SOURCE /* memmem() */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fake_chan.h"
#include "fake_net.h"
#include "heap_count.h"
#include "ward/agent.h"
#include "ward/report.h"
#include "ward/transport/config.h"
#include "ward/transport/store_ram.h"
#include "ward/transport/uplink.h"

#define MAX_REQ   64
#define BODY_MAX  4096
#define T0        1000000
#define GAP_MS    1000
#define N_SENSORS 40

struct rig {
    struct fake_net fnet;
    struct ward_net net;
    struct fake_chan fchan;
    struct ward_transport tp;
    struct ward_agent agent;
    struct ward_store_ram ram;
    struct ward_journal journal;
    struct ward_outbox outbox;
    struct ward_json_arena arena;
    struct ward_uplink up;
    uint8_t tx[4096];
    uint8_t rx[512];
    uint8_t arena_mem[WARD_JSON_ARENA_SIZE];
    uint8_t journal_mem[65536];
    struct ward_journal_entry idx[WARD_EVLOG_SIZE];
    int64_t now;
    /* the fake collector */
    const char *status; /* status line of the next answers ("200 OK") */
    uint32_t ack_seq;   /* acknowledge this run's events up to here (0: none) */
    bool bad_ack;       /* answer with a malformed acknowledgement */
    bool ack_received;  /* acknowledge up to the highest seq the collector was sent so far */
    unsigned n_req;
    int64_t req_at[MAX_REQ];
    char body[MAX_REQ][BODY_MAX];
    unsigned faults;
};

static struct rig s_rig;

static void on_fault(void *user, enum ward_uplink_fault f, int err)
{
    (void)f;
    (void)err;
    ((struct rig *)user)->faults++;
}

static void start_agent(struct rig *r)
{
    struct ward_agent_config cfg;
    uint8_t boot[WARD_BOOT_ID_LEN];

    memset(boot, 0x5a, sizeof(boot));
    memset(&cfg, 0, sizeof(cfg));
    cfg.device_id = "dev-uplink";
    cfg.boot_id = boot;
    cfg.seed = 7;
    cfg.hooks.heartbeat = ward_uplink_on_heartbeat;
    cfg.hooks.user = &r->up;
    assert_int_equal(ward_agent_init(&r->agent, &cfg, r->now), 0);
    assert_int_equal(ward_json_arena_init(&r->arena, r->arena_mem, sizeof(r->arena_mem)), 0);
    assert_int_equal(ward_store_ram_init(&r->ram, r->journal_mem, sizeof(r->journal_mem)), 0);
    assert_int_equal(ward_journal_open(&r->journal, ward_store_ram(&r->ram), r->idx,
                                       WARD_EVLOG_SIZE, sizeof(r->journal_mem)),
                     0);
    assert_int_equal(ward_outbox_init(&r->outbox, &r->journal), 0);
}

static void start_transport(struct rig *r)
{
    struct ward_transport_config cfg;

    ward_transport_config_defaults(&cfg);
    cfg.host = "collector.test";
    cfg.port = 8443;
    cfg.seed = 1;
    fake_net_init(&r->fnet);
    r->net = fake_net_as_net(&r->fnet);
    fake_chan_init(&r->fchan, &r->net);
    assert_int_equal(ward_transport_init(&r->tp, &cfg, &r->net, fake_chan_as_chan(&r->fchan), r->tx,
                                         sizeof(r->tx), r->rx, sizeof(r->rx)),
                     0);
}

static int setup(void **state)
{
    struct rig *r = &s_rig;
    struct ward_uplink_config cfg;
    struct ward_uplink_parts parts;

    memset(r, 0, sizeof(*r));
    r->now = T0;
    r->status = "200 OK";
    start_agent(r);
    start_transport(r);
    ward_uplink_config_defaults(&cfg);
    cfg.batch_gap_ms = GAP_MS;
    parts = (struct ward_uplink_parts){ &r->agent, &r->outbox, &r->tp, &r->arena };
    assert_int_equal(ward_uplink_init(&r->up, &cfg, &parts, r->now), 0);
    r->up.on_fault = on_fault;
    r->up.user = r;
    *state = r;
    return 0;
}

/* The highest event seq a body carries ("seq" members after "events"), or `seen`. */
static uint32_t max_event_seq(const char *body, uint32_t seen)
{
    const char *p = strstr(body, "\"events\":[");

    while (p != NULL && (p = strstr(p, "\"seq\":")) != NULL) {
        uint32_t seq = (uint32_t)strtoul(p + 6, NULL, 10);

        seen = seq > seen ? seq : seen;
        p += 6;
    }
    return seen;
}

/* A complete request in what the client sent: keep its body, answer it. */
static bool serve(struct rig *r)
{
    const char *tx = (const char *)r->fnet.tx;
    const char *end = memmem(tx, r->fnet.tx_len, "\r\n\r\n", 4);
    const char *cl = memmem(tx, r->fnet.tx_len, "Content-Length: ", 16);
    char reply[512];
    char ack[160] = "";
    char hex[WARD_BOOT_ID_HEX_LEN + 1];
    size_t head, len;

    if (end == NULL || cl == NULL || cl > end) {
        return false;
    }
    head = (size_t)(end + 4 - tx);
    len = strtoul(cl + 16, NULL, 10);
    if (r->fnet.tx_len < head + len) {
        return false;
    }
    assert_true(len < BODY_MAX && r->n_req < MAX_REQ);
    memcpy(r->body[r->n_req], tx + head, len);
    r->body[r->n_req][len] = '\0';
    r->req_at[r->n_req++] = r->now;
    fake_net_take_tx(&r->fnet);
    if (r->ack_received) {
        r->ack_seq = max_event_seq(r->body[r->n_req - 1], r->ack_seq);
    }
    ward_boot_id_hex(r->agent.boot_id, hex);
    if (r->bad_ack) {
        snprintf(ack, sizeof(ack), "{\"v\":1,\"acks\":[{");
    } else if (r->ack_seq > 0) {
        snprintf(ack, sizeof(ack), "{\"v\":1,\"acks\":[{\"boot\":\"%s\",\"seq\":%u}]}", hex,
                 (unsigned)r->ack_seq);
    } else {
        snprintf(ack, sizeof(ack), "{\"v\":1,\"acks\":[]}");
    }
    snprintf(reply, sizeof(reply), "HTTP/1.1 %s\r\nContent-Length: %zu\r\n\r\n%s", r->status,
             strlen(ack), ack);
    fake_net_push_str(&r->fnet, reply);
    return true;
}

/*
 * Drive the loop as an application would until `until` (bounded): step, answer requests,
 * then sleep until ward_uplink_next_wake(), or 1 ms while the socket has work.
 */
static void run_until(struct rig *r, int64_t until)
{
    for (unsigned guard = 0; guard < 200000 && r->now <= until; guard++) {
        int64_t next;

        ward_uplink_step(&r->up, r->now);
        if (serve(r)) {
            continue; /* the answer is readable now: step again at once */
        }
        next = ward_uplink_next_wake(&r->up, r->now);
        if (ward_transport_wants(&r->tp) != 0 || next <= r->now) {
            next = r->now + 1;
        }
        r->now = next < until + 1 ? next : until + 1;
    }
    assert_true(r->now > until);
}

static bool has(const char *body, const char *what)
{
    return strstr(body, what) != NULL;
}

static uint32_t heartbeat_ms(const struct rig *r)
{
    return r->agent.sched.task[WARD_CLASS_HEARTBEAT].interval_ms;
}

static bool full(const char *body)
{
    return has(body, "\"interval_ms\":");
}

/* The full heartbeat's sticky object `key` ("memory":{...}) of a body, for comparison. */
static void sticky_part(const char *body, const char *key, char *out, size_t cap)
{
    const char *p = strstr(body, key);
    const char *end = p != NULL ? strchr(p, '}') : NULL;

    assert_non_null(end);
    assert_true((size_t)(end - p) < cap);
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
}

/* Run heartbeat after heartbeat (bounded) until one goes out compact. @return its index. */
static unsigned until_compact(struct rig *r)
{
    for (unsigned beat = 0; beat < 8; beat++) {
        unsigned seen = r->n_req;

        run_until(r, r->now + heartbeat_ms(r));
        for (unsigned i = seen; i < r->n_req; i++) {
            if (!full(r->body[i])) {
                return i;
            }
        }
    }
    fail_msg("no compact heartbeat in 8 intervals");
    return 0;
}

static void feed(struct rig *r, const char *id, int64_t value)
{
    struct ward_reading rd = { .value = value, .status = WARD_STATUS_OK };

    assert_true(ward_agent_feed(&r->agent, id, &rd, r->now) >= 0);
}

/* First batch at once and full; compact once the sticky values settle; acks applied. */
static void test_first_batch_full_then_compact(void **state)
{
    struct rig *r = *state;
    unsigned compact;

    heap_count_start();
    run_until(r, T0 + 100);
    assert_int_equal(r->n_req, 1);
    assert_true(r->req_at[0] < T0 + 10);
    assert_true(full(r->body[0]));
    assert_true(has(r->body[0], "\"type\":\"health\"")); /* a snapshot with the first batch */
    assert_int_equal(r->up.stats.acks, 1);
    compact = until_compact(r);
    assert_true(compact >= 1);
    assert_int_equal(r->tp.stats.connects, 1); /* one connection all along */
    assert_int_equal(r->up.stats.batches, r->n_req);
    assert_int_equal(r->up.stats.acks, r->n_req);
    assert_int_equal(r->faults, 0);
    assert_int_equal(heap_count_stop(), 0);
}

/*
 * A collector restart closes the connection: the first batch on the next one is full again,
 * though no sticky value changed (the same memory and loop objects as the last full one).
 */
static void test_sticky_fields_resent_after_reconnect(void **state)
{
    struct rig *r = *state;
    char before[512], after[512], loop_before[128], loop_after[128];
    unsigned last_full = 0;
    unsigned compact;

    heap_count_start();
    run_until(r, T0 + 100);
    compact = until_compact(r);
    for (unsigned i = 0; i < compact; i++) {
        last_full = full(r->body[i]) ? i : last_full;
    }
    r->fnet.peer_closed = true; /* the collector went away while the link was idle */
    run_until(r, r->now + 100);
    assert_int_equal(r->tp.stats.peer_closes, 1);
    run_until(r, r->req_at[compact] + heartbeat_ms(r) + heartbeat_ms(r) / 2);
    assert_int_equal(r->n_req, compact + 2);
    assert_int_equal(r->tp.stats.connects, 2);
    assert_true(full(r->body[compact + 1]));
    sticky_part(r->body[last_full], "\"memory\":{", before, sizeof(before));
    sticky_part(r->body[compact + 1], "\"memory\":{", after, sizeof(after));
    assert_string_equal(before, after);
    sticky_part(r->body[last_full], "\"loop\":{", loop_before, sizeof(loop_before));
    sticky_part(r->body[compact + 1], "\"loop\":{", loop_after, sizeof(loop_after));
    assert_string_equal(loop_before, loop_after);
    assert_int_equal(heap_count_stop(), 0);
}

/* "first":N of each page; the cycle covers every sensor once, one batch gap apart. */
static void test_snapshot_pages_over_a_cycle(void **state)
{
    struct rig *r = *state;
    char id[48];
    unsigned next_first = 0;
    unsigned pages = 0;

    for (int i = 0; i < N_SENSORS; i++) {
        snprintf(id, sizeof(id), "temp:board%02d_sensor_with_a_long_name", i);
        feed(r, id, 40000 + i);
    }
    heap_count_start();
    run_until(r, T0 + 30 * GAP_MS);
    assert_true(r->n_req > 2); /* 40 long sensors do not fit one batch */
    for (unsigned i = 0; i < r->n_req && next_first < N_SENSORS; i++) {
        char want[32];
        const char *total = strstr(r->body[i], "\"sensors_total\":");

        assert_non_null(total);
        snprintf(want, sizeof(want), "\"first\":%u", next_first);
        assert_true(has(r->body[i], want));
        for (const char *p = r->body[i]; (p = strstr(p, "\"id\":\"temp:board")) != NULL; p++) {
            next_first++;
        }
        if (i > 0) { /* the next page waits only the batch gap, not a heartbeat interval */
            assert_true(r->req_at[i] - r->req_at[i - 1] >= GAP_MS);
            assert_true(r->req_at[i] - r->req_at[i - 1] < GAP_MS + 50);
        }
        pages++;
    }
    assert_int_equal(next_first, N_SENSORS);
    if (pages < r->n_req) { /* after the cycle, only the next heartbeat */
        assert_true(r->req_at[pages] - r->req_at[pages - 1] > 5 * GAP_MS);
        assert_false(has(r->body[pages], "\"type\":\"health\""));
    }
    assert_false(r->up.pages_left);
    assert_int_equal(heap_count_stop(), 0);
}

/* temp:cpu0 is critical above 90 degrees C. */
static void cpu_rule(struct rig *r)
{
    struct ward_rules_error err;
    static const char k_rules[] = "{\"rules\": [{\"sensor\": \"temp:cpu0\", \"upper_critical\": "
                                  "90000}]}";

    assert_true(ward_agent_load_rules(&r->agent, k_rules, sizeof(k_rules) - 1, &err, r->now) >= 0);
}

/* An event alone waits the batch gap after the last batch; its ack frees it in log and journal. */
static void test_event_waits_batch_gap_and_is_acked(void **state)
{
    struct rig *r = *state;

    cpu_rule(r);
    feed(r, "temp:cpu0", 50000);
    heap_count_start();
    run_until(r, T0 + 100);
    assert_int_equal(r->n_req, 1);
    r->now = r->req_at[0] + 200;
    feed(r, "temp:cpu0", 95000); /* ok -> critical: event seq 1 */
    r->ack_seq = 1;
    run_until(r, r->req_at[0] + GAP_MS - 1);
    assert_int_equal(r->n_req, 1); /* not before the gap */
    assert_int_equal(ward_journal_count(&r->journal), 1);
    run_until(r, r->req_at[0] + GAP_MS + 50);
    assert_int_equal(r->n_req, 2);
    assert_true(r->req_at[1] >= r->req_at[0] + GAP_MS);
    assert_true(has(r->body[1], "\"events\":[{"));
    assert_true(has(r->body[1], "\"type\":\"health\"")); /* new events bring a snapshot */
    assert_int_equal(ward_evlog_pending(&r->agent.log), 0);
    assert_int_equal(ward_journal_count(&r->journal), 0);
    assert_int_equal(heap_count_stop(), 0);
}

/* A malformed acknowledgement or an HTTP error frees nothing; the next good ack does. */
static void test_bad_ack_and_http_error_keep_events(void **state)
{
    struct rig *r = *state;

    cpu_rule(r);
    feed(r, "temp:cpu0", 95000); /* event seq 1, in the first batch */
    heap_count_start();
    r->bad_ack = true;
    run_until(r, T0 + 100);
    assert_int_equal(r->n_req, 1);
    assert_int_equal(r->up.stats.bad_acks, 1);
    assert_int_equal(r->faults, 1);
    assert_int_equal(ward_evlog_pending(&r->agent.log), 1);
    r->bad_ack = false;
    r->ack_seq = 1;
    r->status = "503 Service Unavailable";
    run_until(r, T0 + heartbeat_ms(r) + 100);
    assert_int_equal(r->n_req, 2);
    assert_int_equal(r->up.stats.acks, 0);
    assert_int_equal(ward_evlog_pending(&r->agent.log), 1);
    r->status = "200 OK";
    run_until(r, T0 + 2 * (int64_t)heartbeat_ms(r) + 100);
    assert_true(r->n_req >= 3);
    assert_true(full(r->body[r->n_req - 1])); /* after the backoff: a new connection */
    assert_int_equal(r->up.stats.acks, 1);
    assert_int_equal(ward_evlog_pending(&r->agent.log), 0);
    assert_int_equal(ward_journal_count(&r->journal), 0);
    assert_int_equal(heap_count_stop(), 0);
}

/* The loop again, with at most batch_events per batch. */
static void restart_uplink(struct rig *r, uint32_t batch_events)
{
    struct ward_uplink_config cfg;
    struct ward_uplink_parts parts = { &r->agent, &r->outbox, &r->tp, &r->arena };

    ward_uplink_config_defaults(&cfg);
    cfg.batch_gap_ms = GAP_MS;
    cfg.batch_events = batch_events;
    assert_int_equal(ward_uplink_init(&r->up, &cfg, &parts, r->now), 0);
    r->up.on_fault = on_fault;
    r->up.user = r;
}

/* A full event log, as an outage leaves it: n events of temp:cpu0 flapping. */
static void fill_log(struct rig *r, unsigned n)
{
    cpu_rule(r);
    for (unsigned i = 0; ward_evlog_pending(&r->agent.log) < n && i < 4 * n; i++) {
        feed(r, "temp:cpu0", i % 2 == 0 ? 95000 : 20000);
    }
    assert_int_equal(ward_evlog_pending(&r->agent.log), n);
}

static unsigned events_in(const char *body)
{
    unsigned n = 0;

    for (const char *p = body; (p = strstr(p, "\"sensor\":\"temp:cpu0\"")) != NULL; p++) {
        n++;
    }
    return n;
}

/*
 * A backlog drains back to back: each batch full (batch_events), the next one as soon as the
 * previous is acknowledged, so N events take ceil(N / batch_events) round trips, well within
 * one batch gap and without waiting for a heartbeat.
 */
static void test_backlog_drains_back_to_back(void **state)
{
    struct rig *r = *state;
    const unsigned batch = 16;
    const unsigned n = WARD_EVLOG_SIZE;

    restart_uplink(r, batch);
    fill_log(r, n);
    r->ack_received = true;
    heap_count_start();
    run_until(r, T0 + GAP_MS / 2);
    assert_int_equal(ward_evlog_pending(&r->agent.log), 0);
    assert_int_equal(ward_journal_count(&r->journal), 0);
    assert_int_equal(r->n_req, (n + batch - 1) / batch);
    for (unsigned i = 0; i < r->n_req; i++) {
        assert_int_equal(events_in(r->body[i]), i + 1 < r->n_req ? batch : n - i * batch);
    }
    assert_int_equal(r->up.stats.acks, r->n_req);
    assert_int_equal(r->faults, 0);
    assert_int_equal(heap_count_stop(), 0);
    /* The snapshot the new events asked for follows the backlog, one batch gap later. */
    run_until(r, r->req_at[r->n_req - 1] + GAP_MS + 50);
    assert_true(has(r->body[r->n_req - 1], "\"type\":\"health\""));
}

/*
 * With Kconfig's batch size the request buffer bounds a batch: every batch but the last is
 * filled to within one event of it (the arena holds one event at a time, never the batch).
 */
static void test_backlog_batches_fill_the_buffer(void **state)
{
    struct rig *r = *state;
    const unsigned n = WARD_EVLOG_SIZE;
    unsigned sent = 0;

    fill_log(r, n);
    r->ack_received = true;
    heap_count_start();
    run_until(r, T0 + GAP_MS / 2);
    assert_int_equal(ward_evlog_pending(&r->agent.log), 0);
    for (unsigned i = 0; i < r->n_req; i++) {
        size_t len = strlen(r->body[i]);

        sent += events_in(r->body[i]);
        print_message("batch %u: %u events, %zu bytes\n", i, events_in(r->body[i]), len);
        /* head (< 80 bytes) + body + one more event (< 200 bytes) would not have fitted */
        assert_true(i + 1 == r->n_req || len + 80 + 200 > sizeof(r->tx));
    }
    assert_int_equal(sent, n);
    assert_int_equal(heap_count_stop(), 0);
}

static void test_init_checks_its_arguments(void **state)
{
    struct rig *r = *state;
    struct ward_uplink_config cfg;
    struct ward_uplink_parts parts = { &r->agent, &r->outbox, &r->tp, &r->arena };

    ward_uplink_config_defaults(&cfg);
    assert_true(cfg.batch_gap_ms > 0 && cfg.health_every > 0 && cfg.batch_events > 0);
    parts.tp = NULL;
    assert_int_equal(ward_uplink_init(&r->up, &cfg, &parts, 0), -EINVAL);
    parts.tp = &r->tp;
    cfg.health_every = 0;
    assert_int_equal(ward_uplink_init(&r->up, &cfg, &parts, 0), -EINVAL);
    assert_int_equal(ward_uplink_init(&r->up, NULL, &parts, 0), 0); /* Kconfig's values */
    assert_int_equal(r->up.cfg.batch_events, WARD_UPLINK_BATCH_EVENTS);
    assert_int_equal(r->up.cfg.batch_gap_ms, WARD_UPLINK_BATCH_GAP_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_first_batch_full_then_compact, setup),
        cmocka_unit_test_setup(test_sticky_fields_resent_after_reconnect, setup),
        cmocka_unit_test_setup(test_snapshot_pages_over_a_cycle, setup),
        cmocka_unit_test_setup(test_event_waits_batch_gap_and_is_acked, setup),
        cmocka_unit_test_setup(test_bad_ack_and_http_error_keep_events, setup),
        cmocka_unit_test_setup(test_backlog_drains_back_to_back, setup),
        cmocka_unit_test_setup(test_backlog_batches_fill_the_buffer, setup),
        cmocka_unit_test_setup(test_init_checks_its_arguments, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
