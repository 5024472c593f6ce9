/*
 * The transport's state machine against a fake network, a pass-through channel and a fake
 * clock: connect/handshake/I-O timeouts, full-jitter backoff bounds, partial writes and
 * reads, -EAGAIN everywhere, keep-alive reuse and its stale-connection replay, and that no
 * heap is touched.
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
#include "heap_count.h"

#include "fake_chan.h"
#include "fake_net.h"
#include "ward/transport/transport.h"

/* splitmix64, for test inputs */
static uint64_t test_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define MIN_MS 1000u
#define MAX_MS 60000u

struct rig {
    struct fake_net fnet;
    struct ward_net net;
    struct fake_chan fchan;
    struct ward_transport t;
    uint8_t tx[2048];
    uint8_t rx[512];
    uint64_t now;
    unsigned link_changes;
    enum ward_link last_link;
};

static void on_link(void *user, enum ward_link from, enum ward_link to, int err)
{
    struct rig *r = user;

    (void)from;
    (void)err;
    r->link_changes++;
    r->last_link = to;
}

static struct rig *rig_new(void)
{
    struct rig *r = calloc(1, sizeof(*r));
    struct ward_transport_config cfg;

    assert_non_null(r);
    fake_net_init(&r->fnet);
    r->net = fake_net_as_net(&r->fnet);
    fake_chan_init(&r->fchan, &r->net);
    ward_transport_config_defaults(&cfg);
    cfg.host = "collector.test";
    cfg.port = 8443;
    cfg.connect_timeout_ms = 5000;
    cfg.handshake_timeout_ms = 7000;
    cfg.io_timeout_ms = 9000;
    cfg.backoff_min_ms = MIN_MS;
    cfg.backoff_max_ms = MAX_MS;
    cfg.seed = 42;
    assert_int_equal(ward_transport_init(&r->t, &cfg, &r->net, fake_chan_as_chan(&r->fchan), r->tx,
                                         sizeof(r->tx), r->rx, sizeof(r->rx)),
                     0);
    r->t.on_link = on_link;
    r->t.user = r;
    r->fnet.connect_pending = 2;
    r->fchan.handshake_eagain = 2;
    r->now = 1000000;
    return r;
}

static size_t put_body(struct rig *r, const char *body)
{
    size_t cap;
    uint8_t *p = ward_transport_body(&r->t, &cap);

    assert_true(strlen(body) <= cap);
    memcpy(p, body, strlen(body));
    return strlen(body);
}

static const char *k_ok = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"acks\":[]}";

/* Poll until an event, advancing the clock by step ms per round; bounded. */
static enum ward_transport_event run(struct rig *r, unsigned step, unsigned rounds)
{
    for (unsigned i = 0; i < rounds; i++) {
        enum ward_transport_event ev = ward_transport_poll(&r->t, r->now);

        if (ev != WARD_TRANSPORT_NONE) {
            return ev;
        }
        r->now += step;
    }
    return WARD_TRANSPORT_NONE;
}

/* Poll until the request is fully on the wire (the fake server saw it). */
static void run_until_sent(struct rig *r, size_t req_len, unsigned rounds)
{
    for (unsigned i = 0; i < rounds && r->fnet.tx_len < req_len; i++) {
        assert_int_equal(ward_transport_poll(&r->t, r->now), WARD_TRANSPORT_NONE);
        r->now += 1;
    }
    assert_int_equal(r->fnet.tx_len, req_len);
}

static const char *k_head = "POST /v1/ingest HTTP/1.1\r\nHost: collector.test:8443\r\n"
                            "Content-Length: 13\r\n\r\n";

/* Bytes of the whole request for a body of len bytes. */
static size_t req_len(size_t len)
{
    char head[256];
    int n = ward_http_format_post(head, sizeof(head), "collector.test", 8443, "/v1/ingest", len);

    assert_true(n > 0);
    return (size_t)n + len;
}

static void test_request_bytes_and_response(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{\"batch\":123}");
    const uint8_t *resp;
    size_t resp_len;

    (void)state;
    assert_int_equal(len, 13);
    r->fnet.send_max = 7; /* partial writes */
    r->fnet.recv_max = 1; /* one byte per read */
    r->fnet.eagain_every = 2;
    heap_count_start();
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), -EBUSY);
    run_until_sent(r, strlen(k_head) + len, 200);
    assert_memory_equal(r->fnet.tx, k_head, strlen(k_head));
    assert_memory_equal(r->fnet.tx + strlen(k_head), "{\"batch\":123}", len);
    fake_net_push_str(&r->fnet, k_ok);
    assert_int_equal(run(r, 1, 400), WARD_TRANSPORT_RESPONSE);
    (void)heap_count_stop();
    assert_int_equal(ward_transport_response(&r->t, &resp, &resp_len), 200);
    assert_int_equal(resp_len, 11);
    assert_memory_equal(resp, "{\"acks\":[]}", 11);
    assert_int_equal(r->t.link, WARD_LINK_UP);
    assert_int_equal(r->fnet.connects, 1);
    assert_int_equal(r->t.stats.full_handshakes, 1);
    assert_int_equal(heap_count_calls(), 0);
    assert_int_equal(r->fnet.host[0], 'c');
    assert_int_equal(r->fnet.port, 8443);
    free(r);
}

static void test_keepalive_reuses_connection(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{\"n\":1}");

    (void)state;
    for (int i = 0; i < 3; i++) {
        fake_net_take_tx(&r->fnet);
        assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
        run_until_sent(r, req_len(len), 100);
        fake_net_push_str(&r->fnet, k_ok);
        assert_int_equal(run(r, 10, 100), WARD_TRANSPORT_RESPONSE);
        assert_int_equal(ward_transport_response(&r->t, NULL, NULL), 200);
    }
    assert_int_equal(r->fnet.connects, 1);
    assert_int_equal(r->fnet.closes, 0);
    assert_int_equal(r->t.stats.requests, 3);
    assert_int_equal(r->t.stats.responses, 3);
    free(r);
}

static void test_connect_timeout_then_backoff_bounds(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");
    uint64_t started;

    (void)state;
    r->fnet.connect_pending = 1000000; /* never completes */
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    started = r->now;
    assert_int_equal(run(r, 100, 100), WARD_TRANSPORT_FAILED);
    /* Failed at the first poll at or after the 5000 ms connect timeout, not before. */
    assert_true(r->now >= started + 5000 && r->now < started + 5100);
    assert_int_equal(r->t.stats.timeouts, 1);
    assert_int_equal(r->t.link, WARD_LINK_BACKOFF);
    assert_int_equal(r->t.last_error, -ETIMEDOUT);
    assert_true(r->t.deadline >= r->now && r->t.deadline <= r->now + MIN_MS);
    assert_false(ward_transport_can_send(&r->t, r->now));
    assert_true(ward_transport_can_send(&r->t, r->t.deadline));
    assert_int_equal(r->fnet.closes, 1);
    free(r);
}

static void test_backoff_full_jitter(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");
    uint64_t sum[8] = { 0 };
    const unsigned trials = 200;

    (void)state;
    r->fnet.connect_rc = -ECONNREFUSED;
    for (unsigned trial = 0; trial < trials; trial++) {
        for (unsigned k = 0; k < 8; k++) {
            uint64_t ceil = (uint64_t)MIN_MS << k;
            uint64_t delay;

            if (ceil > MAX_MS) {
                ceil = MAX_MS;
            }
            assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
            assert_int_equal(ward_transport_poll(&r->t, r->now), WARD_TRANSPORT_FAILED);
            assert_int_equal(r->t.last_error, -ECONNREFUSED);
            delay = r->t.deadline - r->now;
            assert_true(delay <= ceil);
            sum[k] += delay;
            r->now = r->t.deadline;
            assert_int_equal(ward_transport_poll(&r->t, r->now), WARD_TRANSPORT_NONE);
            assert_int_equal(r->t.link, WARD_LINK_DOWN);
        }
        ward_backoff_reset(&r->t.backoff);
    }
    /* Full jitter: the mean is about half the ceiling, not the ceiling (no fixed floor). */
    for (unsigned k = 0; k < 8; k++) {
        uint64_t ceil = ((uint64_t)MIN_MS << k) > MAX_MS ? MAX_MS : ((uint64_t)MIN_MS << k);
        uint64_t mean = sum[k] / trials;

        assert_true(mean > ceil * 35 / 100 && mean < ceil * 65 / 100);
    }
    assert_int_equal(r->t.stats.connect_failures, trials * 8);
    free(r);
}

static void test_backoff_sequence_is_deterministic_per_seed(void **state)
{
    struct ward_backoff a;
    struct ward_backoff b;
    struct ward_backoff c;
    int differs = 0;

    (void)state;
    assert_int_equal(ward_backoff_init(&a, 500, 8000, 7), 0);
    assert_int_equal(ward_backoff_init(&b, 500, 8000, 7), 0);
    assert_int_equal(ward_backoff_init(&c, 500, 8000, 8), 0);
    assert_int_equal(ward_backoff_init(&c, 0, 8000, 8), -EINVAL);
    assert_int_equal(ward_backoff_init(&c, 9000, 8000, 8), -EINVAL);
    assert_int_equal(ward_backoff_init(&c, 500, 8000, 8), 0);
    for (int i = 0; i < 40; i++) {
        uint32_t ceil = ward_backoff_ceiling(&a);
        uint32_t x = ward_backoff_next(&a);

        assert_int_equal(x, ward_backoff_next(&b));
        differs += x != ward_backoff_next(&c);
        assert_true(x <= ceil);
        assert_true(ceil <= 8000);
    }
    assert_int_equal(ward_backoff_ceiling(&a), 8000);
    assert_true(differs > 30);
    ward_backoff_reset(&a);
    assert_int_equal(ward_backoff_ceiling(&a), 500);
    assert_int_not_equal(ward_backoff_seed("dev-a", 5), ward_backoff_seed("dev-b", 5));
}

static void test_handshake_timeout(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");
    uint64_t t0 = r->now;

    (void)state;
    r->fchan.handshake_eagain = 1000000;
    r->fnet.connect_pending = 0; /* the handshake starts at t0 */
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    assert_int_equal(run(r, 50, 1000), WARD_TRANSPORT_FAILED);
    assert_true(r->now >= t0 + 7000 && r->now < t0 + 7100);
    assert_int_equal(r->t.stats.handshake_failures, 1);
    assert_int_equal(r->t.last_error, -ETIMEDOUT);
    assert_int_equal(r->fchan.finishes, 1);
    free(r);
}

static void test_handshake_rejected(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");

    (void)state;
    r->fchan.handshake_rc = -EACCES;
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    assert_int_equal(run(r, 1, 50), WARD_TRANSPORT_FAILED);
    assert_int_equal(r->t.last_error, -EACCES);
    assert_int_equal(r->t.link, WARD_LINK_BACKOFF);
    free(r);
}

static void test_io_stall_timeout_restarts_on_progress(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");
    const char *resp = k_ok;
    size_t i = 0;

    (void)state;
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    run_until_sent(r, req_len(len), 100);
    /* A slow but live link: one byte every 8.9 s against a 9 s stall timeout. */
    for (; i < 20; i++) {
        fake_net_push(&r->fnet, resp + i, 1);
        assert_int_equal(ward_transport_poll(&r->t, r->now), WARD_TRANSPORT_NONE);
        r->now += 8900;
        assert_int_equal(ward_transport_poll(&r->t, r->now), WARD_TRANSPORT_NONE);
    }
    /* Then silence: fails at the first poll 9 s after the last byte. */
    r->now += 99;
    assert_int_equal(ward_transport_poll(&r->t, r->now), WARD_TRANSPORT_NONE);
    r->now += 1;
    assert_int_equal(ward_transport_poll(&r->t, r->now), WARD_TRANSPORT_FAILED);
    assert_int_equal(r->t.last_error, -ETIMEDOUT);
    assert_int_equal(r->t.stats.timeouts, 1);
    free(r);
}

static void test_peer_closes_idle_connection_without_penalty(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");

    (void)state;
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    run_until_sent(r, req_len(len), 100);
    fake_net_push_str(&r->fnet, k_ok);
    assert_int_equal(run(r, 1, 50), WARD_TRANSPORT_RESPONSE);
    r->fnet.peer_closed = true;
    assert_int_equal(ward_transport_wants(&r->t), WARD_CHAN_WANT_READ);
    assert_int_equal(ward_transport_poll(&r->t, r->now), WARD_TRANSPORT_NONE);
    assert_int_equal(r->t.link, WARD_LINK_DOWN);
    assert_int_equal(r->t.stats.peer_closes, 1);
    assert_true(ward_transport_can_send(&r->t, r->now));
    /* The next request reconnects at once. */
    fake_net_take_tx(&r->fnet);
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    assert_int_equal(ward_transport_deadline(&r->t, r->now), r->now);
    run_until_sent(r, req_len(len), 100);
    assert_int_equal(r->fnet.connects, 2);
    free(r);
}

static void test_stale_keepalive_request_is_replayed_once(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");
    size_t req = req_len(len);

    (void)state;
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    run_until_sent(r, req, 100);
    fake_net_push_str(&r->fnet, k_ok);
    assert_int_equal(run(r, 1, 50), WARD_TRANSPORT_RESPONSE);
    /* The collector's RST arrives only after the next request was written. */
    fake_net_take_tx(&r->fnet);
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    run_until_sent(r, req, 100);
    fake_net_take_tx(&r->fnet);
    r->fnet.recv_error = -ECONNRESET;
    assert_int_equal(run(r, 1, 5), WARD_TRANSPORT_NONE);
    assert_int_equal(r->t.stats.replays, 1);
    assert_int_equal(r->fnet.connects, 2);
    run_until_sent(r, req, 100);
    fake_net_push_str(&r->fnet, k_ok);
    assert_int_equal(run(r, 1, 50), WARD_TRANSPORT_RESPONSE);
    assert_int_equal(r->t.stats.failures, 0);
    /* Replayed at most once: a second dead connection fails the request. */
    fake_net_take_tx(&r->fnet);
    r->fnet.send_error = -EPIPE;
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    assert_int_equal(run(r, 1, 50), WARD_TRANSPORT_FAILED);
    assert_int_equal(r->t.stats.replays, 2);
    assert_int_equal(r->t.last_error, -EPIPE);
    free(r);
}

static void test_fresh_connection_failure_is_not_replayed(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");

    (void)state;
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    run_until_sent(r, req_len(len), 100);
    r->fnet.peer_closed = true;
    assert_int_equal(run(r, 1, 10), WARD_TRANSPORT_FAILED);
    assert_int_equal(r->t.stats.replays, 0);
    assert_int_equal(r->t.last_error, -ECONNRESET);
    assert_int_equal(r->t.link, WARD_LINK_BACKOFF);
    free(r);
}

static void test_malformed_response_fails_and_backs_off(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");

    (void)state;
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    run_until_sent(r, req_len(len), 100);
    fake_net_push_str(&r->fnet, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_int_equal(run(r, 1, 10), WARD_TRANSPORT_FAILED);
    assert_int_equal(r->t.stats.protocol_errors, 1);
    assert_int_equal(r->t.last_error, -EPROTO);
    assert_int_equal(r->fnet.closes, 1);
    free(r);
}

static void test_http_error_status_backs_off(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");

    (void)state;
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    run_until_sent(r, req_len(len), 100);
    fake_net_push_str(&r->fnet, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(run(r, 1, 10), WARD_TRANSPORT_RESPONSE);
    assert_int_equal(ward_transport_response(&r->t, NULL, NULL), 503);
    assert_int_equal(r->t.stats.http_errors, 1);
    assert_int_equal(r->t.link, WARD_LINK_BACKOFF);
    assert_int_equal(r->fnet.closes, 1);
    free(r);
}

static void test_connection_close_header(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");

    (void)state;
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    run_until_sent(r, req_len(len), 100);
    fake_net_push_str(
        &r->fnet,
        "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\n{}");
    assert_int_equal(run(r, 1, 10), WARD_TRANSPORT_RESPONSE);
    assert_int_equal(r->t.link, WARD_LINK_DOWN);
    assert_int_equal(r->fchan.graceful_finishes, 1);
    assert_true(ward_transport_can_send(&r->t, r->now));
    free(r);
}

static void test_submit_limits(void **state)
{
    struct rig *r = rig_new();
    size_t cap;

    (void)state;
    (void)ward_transport_body(&r->t, &cap);
    assert_true(cap > 1800 && cap < sizeof(r->tx));
    assert_int_equal(ward_transport_submit(&r->t, cap + 1, r->now), -EMSGSIZE);
    assert_int_equal(ward_transport_submit(&r->t, cap, r->now), 0);
    free(r);
}

static void test_init_rejects_bad_config(void **state)
{
    struct rig *r = rig_new();
    struct ward_transport t;
    struct ward_transport_config cfg = r->t.cfg;
    uint8_t small[64];

    (void)state;
    cfg.host = "bad host";
    assert_int_equal(ward_transport_init(&t, &cfg, &r->net, fake_chan_as_chan(&r->fchan), r->tx,
                                         sizeof(r->tx), r->rx, sizeof(r->rx)),
                     -EINVAL);
    cfg = r->t.cfg;
    assert_int_equal(ward_transport_init(&t, &cfg, &r->net, fake_chan_as_chan(&r->fchan), small,
                                         sizeof(small), r->rx, sizeof(r->rx)),
                     -EINVAL);
    cfg.backoff_min_ms = 0;
    assert_int_equal(ward_transport_init(&t, &cfg, &r->net, fake_chan_as_chan(&r->fchan), r->tx,
                                         sizeof(r->tx), r->rx, sizeof(r->rx)),
                     -EINVAL);
    free(r);
}

/* -EAGAIN on a third of all calls, random chunk sizes, random clock steps: 50 requests each
 * arrive byte-exact and each gets its own response. */
static void test_chaos_eagain_everywhere(void **state)
{
    struct rig *r = rig_new();
    char body[160];
    char expect[512];
    uint64_t rnd = 99;

    (void)state;
    r->fnet.chaos_seed = 12345;
    r->fnet.connect_pending = 3;
    heap_count_start();
    for (int i = 0; i < 50; i++) {
        int blen = snprintf(body, sizeof(body), "{\"batch\":%d,\"pad\":\"%.*s\"}", i, i * 2,
                            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        int elen = snprintf(expect, sizeof(expect),
                            "POST /v1/ingest HTTP/1.1\r\nHost: collector.test:8443\r\n"
                            "Content-Length: %d\r\n\r\n%s",
                            blen, body);
        char resp[128];
        enum ward_transport_event ev = WARD_TRANSPORT_NONE;
        bool pushed = false;
        const uint8_t *rb;
        size_t rl;

        memcpy(ward_transport_body(&r->t, NULL), body, (size_t)blen);
        fake_net_take_tx(&r->fnet);
        assert_int_equal(ward_transport_submit(&r->t, (size_t)blen, r->now), 0);
        for (int round = 0; round < 5000 && ev == WARD_TRANSPORT_NONE; round++) {
            ev = ward_transport_poll(&r->t, r->now);
            if (!pushed && r->fnet.tx_len == (size_t)elen) {
                int n = snprintf(resp, sizeof(resp),
                                 "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n{\"i\":%03d}", 9, i);
                fake_net_push(&r->fnet, resp, (size_t)n);
                pushed = true;
            }
            r->now += 1 + (test_rand(&rnd) % 5u);
        }
        assert_int_equal(ev, WARD_TRANSPORT_RESPONSE);
        assert_int_equal(r->fnet.tx_len, (size_t)elen);
        assert_memory_equal(r->fnet.tx, expect, (size_t)elen);
        assert_int_equal(ward_transport_response(&r->t, &rb, &rl), 200);
        snprintf(resp, sizeof(resp), "{\"i\":%03d}", i);
        assert_int_equal(rl, 9);
        assert_memory_equal(rb, resp, 9);
    }
    (void)heap_count_stop();
    assert_int_equal(heap_count_calls(), 0);
    assert_int_equal(r->fnet.connects, 1);
    assert_int_equal(r->t.stats.failures, 0);
    free(r);
}

static void test_link_callbacks_and_wants(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");

    (void)state;
    assert_int_equal(ward_transport_wants(&r->t), 0);
    assert_int_equal(ward_transport_deadline(&r->t, r->now), WARD_TRANSPORT_NO_DEADLINE);
    assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
    assert_int_equal(ward_transport_poll(&r->t, r->now), WARD_TRANSPORT_NONE);
    assert_int_equal(r->t.link, WARD_LINK_CONNECTING);
    assert_int_equal(ward_transport_wants(&r->t), WARD_CHAN_WANT_WRITE);
    assert_int_equal(ward_transport_deadline(&r->t, r->now), r->now + 5000);
    r->fnet.connect_pending = 0;
    assert_int_equal(ward_transport_poll(&r->t, r->now), WARD_TRANSPORT_NONE);
    assert_int_equal(r->t.link, WARD_LINK_HANDSHAKING);
    assert_int_equal(ward_transport_wants(&r->t), WARD_CHAN_WANT_READ);
    r->fchan.left = 0;
    assert_int_equal(ward_transport_poll(&r->t, r->now), WARD_TRANSPORT_NONE);
    assert_int_equal(r->t.link, WARD_LINK_UP);
    assert_int_equal(r->link_changes, 3);
    assert_string_equal(ward_link_name(r->last_link), "up");
    ward_transport_shutdown(&r->t);
    assert_int_equal(r->t.link, WARD_LINK_DOWN);
    assert_int_equal(r->fchan.graceful_finishes, 1);
    assert_int_equal(r->t.stats.failures, 1);
    free(r);
}

static void test_resumed_handshakes_counted(void **state)
{
    struct rig *r = rig_new();
    size_t len = put_body(r, "{}");

    (void)state;
    for (int i = 0; i < 3; i++) {
        r->fchan.resume = i > 0;
        fake_net_take_tx(&r->fnet);
        assert_int_equal(ward_transport_submit(&r->t, len, r->now), 0);
        run_until_sent(r, req_len(len), 100);
        fake_net_push_str(&r->fnet,
                          "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        assert_int_equal(run(r, 1, 20), WARD_TRANSPORT_RESPONSE);
    }
    assert_int_equal(r->t.stats.full_handshakes, 1);
    assert_int_equal(r->t.stats.resumed_handshakes, 2);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bytes_and_response),
        cmocka_unit_test(test_keepalive_reuses_connection),
        cmocka_unit_test(test_connect_timeout_then_backoff_bounds),
        cmocka_unit_test(test_backoff_full_jitter),
        cmocka_unit_test(test_backoff_sequence_is_deterministic_per_seed),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_handshake_rejected),
        cmocka_unit_test(test_io_stall_timeout_restarts_on_progress),
        cmocka_unit_test(test_peer_closes_idle_connection_without_penalty),
        cmocka_unit_test(test_stale_keepalive_request_is_replayed_once),
        cmocka_unit_test(test_fresh_connection_failure_is_not_replayed),
        cmocka_unit_test(test_malformed_response_fails_and_backs_off),
        cmocka_unit_test(test_http_error_status_backs_off),
        cmocka_unit_test(test_connection_close_header),
        cmocka_unit_test(test_submit_limits),
        cmocka_unit_test(test_init_rejects_bad_config),
        cmocka_unit_test(test_chaos_eagain_everywhere),
        cmocka_unit_test(test_link_callbacks_and_wants),
        cmocka_unit_test(test_resumed_handshakes_counted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
