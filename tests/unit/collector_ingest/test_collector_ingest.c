/*
 * The collector's batch decoder: fields and document spans of a valid batch, every refusal
 * with its reason, and the event limit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ward/wire/decode.h"

#define A "0123456789abcdef0123456789abcdef"
#define B "fedcba9876543210fedcba9876543210"

#define HB                                                                                         \
    "{\"v\":1,\"type\":\"heartbeat\",\"device\":\"dev-a\",\"boot\":\"" A "\",\"seq\":7,"           \
    "\"t_ms\":60000,\"uptime_ms\":1,\"firmware\":\"0.1.0\",\"health\":{\"state\":\"caution\","     \
    "\"severity\":\"low\",\"sensors\":2,\"not_ok\":1},\"events\":{\"pending\":1}}"

#define EV(boot, seq)                                                                              \
    "{\"boot\":\"" boot "\",\"seq\":" #seq ",\"t_ms\":5,\"sensor\":\"temp:cpu0\",\"from\":\"ok\"," \
    "\"to\":\"caution\",\"severity\":\"low\",\"value\":81000,\"count\":1}"

static struct ward_ingest_event s_ev[4];
static char s_scratch[4096];

static int decode(const char *text, struct ward_ingest_batch *b, const char **why)
{
    memset(b, 0, sizeof(*b));
    b->events = s_ev;
    b->max_events = 4;
    return ward_ingest_decode(text, strlen(text), b, s_scratch, sizeof(s_scratch), why);
}

static void expect_refused(const char *text, const char *why_part)
{
    struct ward_ingest_batch b;
    const char *why = NULL;

    assert_int_equal(decode(text, &b, &why), -EPROTO);
    assert_non_null(why);
    if (strstr(why, why_part) == NULL) {
        fail_msg("reason '%s' does not mention '%s' for %s", why, why_part, text);
    }
    assert_int_equal(b.n_events, 0);
}

static void test_valid_batch(void **state)
{
    static const char text[] =
        "{\"v\":1,\"type\":\"batch\",\"device\":\"dev-a\",\"boot\":\"" A "\",\"heartbeat\":" HB
        ",\"health\":{\"v\":1,\"type\":\"health\",\"device\":\"dev-a\",\"boot\":\"" A "\","
        "\"sensors\":[{\"id\":\"temp:cpu0\",\"value\":null}]},"
        "\"events\":[" EV(A, 1) "," EV(B, 4294967295) "]}";
    struct ward_ingest_batch b;
    const char *why = NULL;

    (void)state;
    assert_int_equal(decode(text, &b, &why), 0);
    assert_string_equal(b.device, "dev-a");
    assert_string_equal(b.boot, A);
    assert_true(b.has_heartbeat);
    assert_int_equal(b.hb_seq, 7);
    assert_int_equal(b.hb_t_ms, 60000);
    assert_string_equal(b.health, "caution");
    assert_int_equal(b.heartbeat_len, strlen(HB));
    assert_memory_equal(b.heartbeat, HB, strlen(HB));
    assert_non_null(b.snapshot);
    assert_true(b.snapshot[0] == '{' && b.snapshot[b.snapshot_len - 1] == '}');
    assert_int_equal(b.n_events, 2);
    assert_string_equal(s_ev[0].boot, A);
    assert_int_equal(s_ev[0].seq, 1);
    assert_string_equal(s_ev[0].sensor, "temp:cpu0");
    assert_string_equal(s_ev[0].to, "caution");
    assert_string_equal(s_ev[0].severity, "low");
    assert_int_equal(s_ev[0].doc_len, strlen(EV(A, 1)));
    assert_memory_equal(s_ev[0].doc, EV(A, 1), s_ev[0].doc_len);
    assert_string_equal(s_ev[1].boot, B);
    assert_int_equal(s_ev[1].seq, 4294967295LL);
}

static void test_members_any_order_and_unknown_skipped(void **state)
{
    /* device and boot after the documents that must match them; an unknown member with
     * nested values; whitespace everywhere. */
    static const char text[] = " { \"events\" : [ ] , \"x\" : {\"a\":[1,-2,true,null,\"s\"]} ,"
                               " \"heartbeat\":" HB ", \"type\":\"batch\", \"v\":1,"
                               " \"boot\":\"" A "\", \"device\":\"dev-a\" } ";
    struct ward_ingest_batch b;
    const char *why = NULL;

    (void)state;
    assert_int_equal(decode(text, &b, &why), 0);
    assert_int_equal(b.n_events, 0);
    assert_int_equal(b.interval_ms, 0);
}

/* Protocol 2: a compact heartbeat inherits device and boot from the batch; no events. */
static void test_v2_compact_batch(void **state)
{
    static const char text[] =
        "{\"v\":2,\"type\":\"batch\",\"device\":\"dev-a\",\"boot\":\"" A "\","
        "\"heartbeat\":{\"v\":2,\"seq\":9,\"t_ms\":70000,\"config\":\"0123456789abcdef\","
        "\"health\":{\"state\":\"ok\",\"sensors\":2}}}";
    struct ward_ingest_batch b;
    const char *why = NULL;

    (void)state;
    assert_int_equal(decode(text, &b, &why), 0);
    assert_true(b.has_heartbeat);
    assert_int_equal(b.hb_seq, 9);
    assert_string_equal(b.health, "ok");
    assert_int_equal(b.interval_ms, 0); /* sticky: the collector keeps the last one */
    assert_int_equal(b.n_events, 0);
}

#define BATCH(members)                                                                             \
    "{\"v\":1,\"type\":\"batch\",\"device\":\"dev-a\",\"boot\":\"" A "\"" members "}"

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("", "expected an object");
    expect_refused("[]", "expected an object");
    expect_refused(BATCH(""), "needs");
    expect_refused(BATCH(",\"events\":[]"), "needs"); /* no heartbeat */
    expect_refused("{\"v\":3,\"type\":\"batch\",\"device\":\"dev-a\",\"boot\":\"" A
                   "\",\"heartbeat\":" HB ",\"events\":[]}",
                   "version");
    expect_refused("{\"v\":1,\"type\":\"heartbeat\",\"device\":\"dev-a\",\"boot\":\"" A
                   "\",\"heartbeat\":" HB ",\"events\":[]}",
                   "wrong type");
    expect_refused("{\"v\":1,\"type\":\"batch\",\"device\":\"dev-a\",\"boot\":\"" A
                   "\",\"boot\":\"" A "\",\"heartbeat\":" HB ",\"events\":[]}",
                   "duplicate");
    expect_refused("{\"v\":1,\"type\":\"batch\",\"device\":\"dev-a\",\"boot\":\"0123\","
                   "\"heartbeat\":" HB ",\"events\":[]}",
                   "hex");
    expect_refused("{\"v\":1,\"type\":\"batch\",\"device\":\"dev-b\",\"boot\":\"" A
                   "\",\"heartbeat\":" HB ",\"events\":[]}",
                   "another device");
    expect_refused("{\"v\":1,\"type\":\"batch\",\"device\":\"dev-a\",\"boot\":\"" B
                   "\",\"heartbeat\":" HB ",\"events\":[]}",
                   "another boot");
    expect_refused(BATCH(",\"heartbeat\":" HB ",\"events\":[{\"boot\":\"" A "\",\"seq\":0,"
                         "\"t_ms\":1,\"sensor\":\"s\",\"from\":\"ok\",\"to\":\"ok\","
                         "\"severity\":\"low\",\"value\":null,\"count\":1}]"),
                   "seq");
    expect_refused(BATCH(",\"heartbeat\":" HB ",\"events\":[{\"boot\":\"" A "\",\"seq\":1,"
                         "\"t_ms\":1,\"sensor\":\"s\",\"from\":\"ok\",\"to\":\"purple\","
                         "\"severity\":\"low\",\"value\":null,\"count\":1}]"),
                   "unknown state");
    expect_refused(BATCH(",\"heartbeat\":" HB ",\"events\":[{\"boot\":\"" A "\",\"seq\":1,"
                         "\"t_ms\":1,\"sensor\":\"s\",\"from\":\"ok\",\"to\":\"ok\","
                         "\"severity\":\"none\",\"value\":null,\"count\":1}]"),
                   "severity");
    expect_refused(BATCH(",\"heartbeat\":" HB ",\"events\":[{\"boot\":\"" A "\",\"seq\":1,"
                         "\"t_ms\":1.5,\"sensor\":\"s\",\"from\":\"ok\",\"to\":\"ok\","
                         "\"severity\":\"low\",\"value\":null,\"count\":1}]"),
                   "integer");
    expect_refused(BATCH(",\"heartbeat\":" HB ",\"events\":[{\"boot\":\"" A "\",\"seq\":1,"
                         "\"t_ms\":1,\"sensor\":\"s\",\"from\":\"ok\",\"to\":\"ok\","
                         "\"severity\":\"low\"}]"),
                   "needs");
    expect_refused(BATCH(",\"heartbeat\":" HB ",\"events\":[{\"boot\":\"" A "\",\"seq\":1,"
                         "\"t_ms\":1,\"sensor\":\"tab\\there\",\"from\":\"ok\",\"to\":\"ok\","
                         "\"severity\":\"low\",\"value\":null,\"count\":1}]"),
                   "printable");
    expect_refused(BATCH(",\"heartbeat\":" HB ",\"events\":[]} trailing"), "after the value");
    expect_refused(BATCH(",\"heartbeat\":{\"v\":1,\"seq\":1},\"events\":[]"), "needs");
    expect_refused(BATCH(",\"x\":\"\xc3\x28\",\"heartbeat\":" HB ",\"events\":[]"), "UTF-8");
    expect_refused(BATCH(",\"x\":\"\xed\xa0\x80\",\"heartbeat\":" HB ",\"events\":[]"), "UTF-8");
    expect_refused(BATCH(",\"x\":[[[[[[[[[[]]]]]]]]]],\"heartbeat\":" HB ",\"events\":[]"),
                   "deeply");
}

static void test_too_many_events(void **state)
{
    static const char text[] = BATCH(",\"heartbeat\":" HB ",\"events\":[" EV(A, 1) "," EV(
        A, 2) "," EV(A, 3) "," EV(A, 4) "," EV(A, 5) "]");
    struct ward_ingest_batch b;
    const char *why = NULL;

    (void)state;
    assert_int_equal(decode(text, &b, &why), -E2BIG);
    assert_int_equal(b.n_events, 0);
    assert_null(strstr(why, "UTF")); /* the reason names the limit, not something else */
    assert_non_null(strstr(why, "too many"));
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(ward_utf8_valid("plain", 5));
    assert_true(ward_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    assert_false(ward_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(ward_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    assert_false(ward_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_false(ward_utf8_valid("\xc3", 1));             /* truncated */
    assert_false(ward_utf8_valid("\x80", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_batch),
        cmocka_unit_test(test_members_any_order_and_unknown_skipped),
        cmocka_unit_test(test_v2_compact_batch),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_too_many_events),
        cmocka_unit_test(test_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
