#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "ward/agent.h"
#include "ward/base/config.h"
#include "ward/digest.h"
#include "ward/base/fmt.h"
#include "ward/base/json_arena.h"
#include "ward/report.h"
#include "ward/selftest.h"
#include "ward/version.h"
#include "config_digest.h"

/* A failing check returns a static reason; NULL means pass. */
typedef const char *(*selftest_fn)(void);

static const char *st_sha256_known_answer(void)
{
    /* FIPS 180-2, appendix B.1: SHA-256("abc"). */
    static const char expect[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    uint8_t d[WARD_DIGEST_LEN];
    char hex[WARD_DIGEST_HEX_LEN + 1];

    if (ward_sha256("abc", 3, d) != 0 || ward_digest_hex(d, sizeof(d), hex, sizeof(hex)) != 0) {
        return "hash engine failed";
    }
    return strcmp(hex, expect) == 0 ? NULL : "wrong digest of \"abc\"";
}

static const char *st_config_digest(void)
{
    uint8_t d[WARD_DIGEST_LEN];
    char hex[WARD_DIGEST_HEX_LEN + 1];

    if (ward_config_digest(d) != 0 || ward_digest_hex(d, sizeof(d), hex, sizeof(hex)) != 0) {
        return "hash engine failed";
    }
    /* The build computed the same digest independently (tools/kconfig/kconfig.py). */
    return strcmp(hex, WARD_CONFIG_SHA256_HEX) == 0 ? NULL : "differs from the build's digest";
}

static const char *st_banner(void)
{
    char buf[128];
    char tiny[8];
    int n = ward_banner_format(buf, sizeof(buf));

    if (n <= 0 || strstr(buf, "board=" WARD_BOARD_NAME " ") == NULL ||
        strncmp(buf, "ward ", 5) != 0) {
        return "banner malformed";
    }
    if (ward_banner_format(tiny, sizeof(tiny)) != -ENOSPC || tiny[sizeof(tiny) - 1] != '\0') {
        return "short buffer not reported";
    }
    return NULL;
}

static const char *st_int64_format(void)
{
    char buf[WARD_FMT_INT64_MAX];

    if (ward_fmt_u64(buf, sizeof(buf), UINT64_MAX) != 20 ||
        strcmp(buf, "18446744073709551615") != 0) {
        return "UINT64_MAX";
    }
    if (ward_fmt_i64(buf, sizeof(buf), INT64_MIN) != 20 ||
        strcmp(buf, "-9223372036854775808") != 0) {
        return "INT64_MIN";
    }
    if (ward_fmt_i64(buf, sizeof(buf), -40000) != 6 || strcmp(buf, "-40000") != 0) {
        return "negative milli-degrees";
    }
    if (ward_fmt_u64(buf, 3, 1000) != -ENOSPC) {
        return "overflow not reported";
    }
    return NULL;
}

static const char *json_roundtrip(void)
{
    static const char expect[] = "{\"board\":\"" WARD_BOARD_NAME "\",\"temp_mc\":-40500,"
                                 "\"bytes\":18446744073709551615,\"fans\":[1200,0]}";
    char out[160];
    char num[WARD_FMT_INT64_MAX];
    cJSON *doc = cJSON_CreateObject();

    ward_fmt_u64(num, sizeof(num), UINT64_MAX);
    if (doc == NULL || cJSON_AddStringToObject(doc, "board", WARD_BOARD_NAME) == NULL ||
        cJSON_AddNumberToObject(doc, "temp_mc", -40500) == NULL ||
        cJSON_AddRawToObject(doc, "bytes", num) == NULL) {
        return "arena too small to build";
    }
    cJSON *fans = cJSON_AddArrayToObject(doc, "fans");

    if (fans == NULL) {
        return "arena too small to build";
    }
    cJSON_AddItemToArray(fans, cJSON_CreateNumber(1200));
    cJSON_AddItemToArray(fans, cJSON_CreateNumber(0));
    if (!cJSON_PrintPreallocated(doc, out, (int)sizeof(out), 0)) {
        return "print failed";
    }
    if (strcmp(out, expect) != 0) {
        return "printed text differs";
    }
    cJSON *back = cJSON_Parse(out);

    if (back == NULL || cJSON_GetObjectItem(back, "temp_mc") == NULL ||
        cJSON_GetObjectItem(back, "temp_mc")->valueint != -40500) {
        return "parse back failed";
    }
    return NULL;
}

static const char *st_json_arena(void)
{
    static uint8_t storage[2048];
    static uint8_t small_storage[96];
    struct ward_json_arena arena;
    struct ward_json_arena small;
    const char *why;

    if (ward_json_arena_init(&arena, storage, sizeof(storage)) != 0 ||
        ward_json_arena_init(&small, small_storage, sizeof(small_storage)) != 0) {
        return "init";
    }
    ward_json_arena_enter(&arena);
    why = json_roundtrip();
    size_t used = arena.used;

    ward_json_arena_leave(&arena);
    if (why != NULL) {
        return why;
    }
    if (used == 0 || arena.used != 0 || arena.failures != 0) {
        return "arena accounting";
    }
    /* A full arena makes cJSON fail cleanly, and the failure is counted. */
    ward_json_arena_enter(&small);
    why = json_roundtrip();
    ward_json_arena_leave(&small);
    if (why == NULL || small.failures == 0) {
        return "overflow not refused";
    }
    return NULL;
}

/*
 * The agent core on the target: engine, rates (64-bit division), event log and documents.
 * One static agent serves every test in turn (bare metal has no heap); its size is the
 * board's Kconfig-sized context, so this also proves the pools fit the image.
 */
static struct ward_agent s_core;
static uint8_t s_doc_arena[3072];
static char s_doc[1024];

static int load(const char *rules)
{
    int n;

    if (ward_health_init(&s_core.health, NULL, 0) != 0) {
        return -1;
    }
    n = ward_rules_parse(rules, strlen(rules), s_core.health.rule, WARD_HEALTH_MAX_RULES, NULL,
                         NULL);
    return n < 0 ? n : ward_health_set_rules(&s_core.health, s_core.health.rule, (size_t)n);
}

static int feed(const char *id, int64_t v, int64_t t, struct ward_transition *tr)
{
    struct ward_reading r;

    ward_reading_ok(&r, v);
    return ward_health_feed(&s_core.health, id, &r, t, tr);
}

static const char *st_health_hysteresis(void)
{
    struct ward_transition tr;
    unsigned events = 0;
    int64_t first = -1;

    if (load("{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":80000,"
             "\"hysteresis\":2000,\"dwell_ms\":3000}]}") != 0) {
        return "rules";
    }
    /* Above for the dwell, then oscillating around the threshold: exactly one event. */
    for (int64_t t = 0; t < 40000; t += 1000) {
        int64_t v = t <= 3000 ? 80500 : ((t / 1000) % 2 ? 79900 : 80100);

        if (feed("temp:cpu0", v, t, &tr) == 1) {
            events++;
            first = first < 0 ? t : first;
        }
    }
    if (events != 1 || first != 3000 || tr.to != WARD_STATE_CAUTION ||
        tr.severity != WARD_SEV_LOW) {
        return "oscillation gave other than one event after the dwell";
    }
    if (feed("temp:cpu0", 78000, 50000, &tr) != 1 || tr.to != WARD_STATE_OK) {
        return "did not clear past the hysteresis";
    }
    return NULL;
}

static const char *st_health_rates(void)
{
    struct ward_transition tr;
    int i;

    if (load("{\"rules\":[{\"sensor\":\"c32\",\"kind\":\"rate\",\"window_ms\":60000,"
             "\"counter_bits\":32,\"upper_caution\":100},{\"sensor\":\"c64\",\"kind\":\"rate\","
             "\"window_ms\":60000}]}") != 0) {
        return "rules";
    }
    feed("c32", 4294967290LL, 0, &tr);
    feed("c32", 5, 60000, &tr); /* wrapped: +11 */
    i = ward_health_find(&s_core.health, "c32");
    if (i < 0 || s_core.health.sensor[i].value != 11) {
        return "32-bit wrap";
    }
    feed("c32", 2, 120000, &tr); /* backwards far from the top: a reset, +2 */
    if (s_core.health.sensor[i].value != 2 || s_core.health.rate[0].resets != 1) {
        return "counter reset";
    }
    /* Exact 64-bit arithmetic: 10^15 in one window is 10^15 per minute. */
    feed("c64", (int64_t)(UINT64_MAX - 999u), 0, &tr);
    feed("c64", 1000000000000000LL - 1000, 60000, &tr);
    i = ward_health_find(&s_core.health, "c64");
    if (i < 0 || s_core.health.sensor[i].value != 1000000000000000LL) {
        return "64-bit wrap and division";
    }
    return NULL;
}

static const char *st_evlog_pressure(void)
{
    static const uint8_t boot[WARD_BOOT_ID_LEN] = { 1 };
    struct ward_evlog *log = &s_core.log;
    struct ward_event e;

    memset(&e, 0, sizeof(e));
    ward_evlog_init(log, boot);
    for (unsigned i = 0; i < WARD_EVLOG_SIZE; i++) {
        e.sensor = (uint16_t)i;
        e.severity = i == 0 ? WARD_SEV_HIGH : WARD_SEV_LOW;
        ward_evlog_append(log, &e, NULL);
    }
    e.sensor = 999;
    e.severity = WARD_SEV_HIGH;
    if (ward_evlog_append(log, &e, NULL) != 1 || log->dropped[WARD_SEV_LOW] != 1 ||
        ward_evlog_at(log, 0)->sensor != 0 || ward_evlog_at(log, 1)->sensor != 2) {
        return "eviction order (lowest severity, oldest first)";
    }
    e.sensor = 5; /* a repeat of a low event folds instead of evicting */
    e.severity = WARD_SEV_LOW;
    if (ward_evlog_append(log, &e, NULL) != 1 || log->folded != 1 ||
        ward_evlog_at(log, WARD_EVLOG_SIZE - 1)->count != 2) {
        return "folding repeats";
    }
    if (ward_evlog_ack(log, boot, 3) != 2 || ward_evlog_last_seq(log) != WARD_EVLOG_SIZE + 2) {
        return "acknowledgement";
    }
    return NULL;
}

static const char *st_rules_errors(void)
{
    static const char bad[] = "{\"rules\":[\n{\"sensor\":\"temp:*\",\n\"upper_caution\":1.5}]}";
    struct ward_rules_error err;

    if (ward_rules_parse(bad, sizeof(bad) - 1, NULL, 4, NULL, &err) != -EPROTO ||
        strstr(err.msg, "line 3: rule 0 (temp:*)") == NULL) {
        return "error does not name line and rule";
    }
    if (load("{\"rules\":[{\"sensor\":\"x\",\"lower_fatal\":-9223372036854775808,"
             "\"upper_fatal\":9223372036854775807}]}") != 0 ||
        s_core.health.rule[0].thr[WARD_THR_LOWER_FATAL] != INT64_MIN ||
        s_core.health.rule[0].thr[WARD_THR_UPPER_FATAL] != INT64_MAX) {
        return "int64 thresholds";
    }
    return NULL;
}

static const char *st_agent_documents(void)
{
    static const uint8_t boot[WARD_BOOT_ID_LEN] = { 0xab, 0xcd };
    static const char rules[] =
        "{\"rules\":[{\"sensor\":\"temp:inlet\",\"lower_critical\":-30000}]}";
    static const char want[] = "{\"t_ms\":2000,\"seq\":1,\"sensor\":\"temp:inlet\",\"from\":\"ok\","
                               "\"to\":\"critical\",\"severity\":\"medium\",\"value\":-40500}";
    struct ward_agent_config cfg = { .boot_id = boot,
                                     .device_id = "st",
                                     .no_board_defaults = true };
    struct ward_json_arena arena;
    struct ward_reading r;
    char ack[96];

    if (ward_agent_init(&s_core, &cfg, 0) != 0 ||
        ward_agent_load_rules(&s_core, rules, sizeof(rules) - 1, NULL, 0) != 1 ||
        ward_json_arena_init(&arena, s_doc_arena, sizeof(s_doc_arena)) != 0) {
        return "agent init";
    }
    ward_reading_ok(&r, 20000);
    ward_agent_feed(&s_core, "temp:inlet", &r, 1000);
    ward_reading_ok(&r, -40500);
    if (ward_agent_feed(&s_core, "temp:inlet", &r, 2000) != 1) {
        return "no event";
    }
    if (ward_report_replay_line(&s_core, ward_evlog_at(&s_core.log, 0), &arena, s_doc,
                                sizeof(s_doc)) < 0 ||
        strcmp(s_doc, want) != 0) {
        return "event line differs";
    }
    if (ward_report_heartbeat(&s_core, 60000, &arena, s_doc, sizeof(s_doc)) <= 0 ||
        strstr(s_doc, "\"boot\":\"abcd0000000000000000000000000000\",\"seq\":1,\"t_ms\":60000,") ==
            NULL ||
        strstr(s_doc, "\"pending\":1,\"last_seq\":1}") == NULL) {
        return "heartbeat";
    }
    snprintf(ack, sizeof(ack), "{\"v\":1,\"acks\":[{\"boot\":\"abcd%028u\",\"seq\":1}]}", 0u);
    if (ward_report_apply_ack(&s_core, ack, strlen(ack)) != 1 ||
        ward_evlog_pending(&s_core.log) != 0) {
        return "acknowledgement";
    }
    return NULL;
}

static const struct {
    const char *name;
    selftest_fn fn;
} s_tests[] = {
    { "sha256_known_answer", st_sha256_known_answer },
    { "config_digest", st_config_digest },
    { "banner", st_banner },
    { "int64_format", st_int64_format },
    { "json_arena", st_json_arena },
    { "health_hysteresis", st_health_hysteresis },
    { "health_rates", st_health_rates },
    { "evlog_pressure", st_evlog_pressure },
    { "rules_errors", st_rules_errors },
    { "agent_documents", st_agent_documents },
};

int ward_selftest_run(ward_line_fn out, void *ctx, struct ward_selftest_summary *summary)
{
    struct ward_selftest_summary s = { 0, 0 };
    char line[128];

    if (out == NULL) {
        return -EINVAL;
    }
    if (!IS_ENABLED(CONFIG_WARD_SELFTEST)) {
        out(ctx, "self-tests are not built into this image (CONFIG_WARD_SELFTEST=n)");
        return -ENOTSUP;
    }
    for (size_t i = 0; i < sizeof(s_tests) / sizeof(s_tests[0]); i++) {
        const char *why = s_tests[i].fn();

        if (why == NULL) {
            s.passed++;
            snprintf(line, sizeof(line), "PASS %s", s_tests[i].name);
        } else {
            s.failed++;
            snprintf(line, sizeof(line), "FAIL %s: %s", s_tests[i].name, why);
        }
        out(ctx, line);
    }
    snprintf(line, sizeof(line), "%u passed, %u failed", s.passed, s.failed);
    out(ctx, line);
    if (summary != NULL) {
        *summary = s;
    }
    return s.failed == 0 ? 0 : -EFAULT;
}
