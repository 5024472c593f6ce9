/*
 * Fuzz the trace-line parser (firmware/src/trace.c) the way `ward-agent replay` uses it:
 * the input is split into lines, each parsed, every valid reading fed through an agent
 * with a few rules of every kind, and every event it records formatted as a replay line.
 * The same input is also offered as a collector acknowledgement (ward_report_apply_ack),
 * the other JSON the agent reads. Corpus: tests/fuzz/corpus/trace/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/report.h"
#include "ward/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ward_agent s_agent;
static uint8_t s_arena_storage[4096];

static const char s_rules[] =
    "{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":80000,\"upper_critical\":90000,"
    "\"hysteresis\":2000,\"dwell_ms\":5000},"
    "{\"sensor\":\"nic:*\",\"kind\":\"rate\",\"window_ms\":60000,\"counter_bits\":32,"
    "\"upper_caution\":1},"
    "{\"sensor\":\"cpu\",\"kind\":\"sustained\",\"above\":80,\"for_ms\":30000},"
    "{\"sensor\":\"disk:*\",\"kind\":\"smart\"},"
    "{\"sensor\":\"nvme:*\",\"kind\":\"nvme_critical_warning\",\"mask\":5}]}";

static void drain(struct ward_json_arena *arena)
{
    char line[512];

    for (unsigned i = 0; i < ward_evlog_pending(&s_agent.log); i++) {
        int n = ward_report_replay_line(&s_agent, ward_evlog_at(&s_agent.log, i), arena, line,
                                        sizeof(line));

        if (n <= 0 || (size_t)n != strlen(line) || line[0] != '{' || line[n - 1] != '}') {
            abort();
        }
    }
    ward_evlog_ack(&s_agent.log, s_agent.boot_id, ward_evlog_last_seq(&s_agent.log));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t boot[WARD_BOOT_ID_LEN];
    struct ward_agent_config cfg = { .boot_id = boot, .no_board_defaults = true };
    struct ward_json_arena arena;
    const char *p = (const char *)data;
    const char *end = p + size;
    int64_t last_t = 0;

    if (ward_agent_init(&s_agent, &cfg, 0) != 0 ||
        ward_agent_load_rules(&s_agent, s_rules, sizeof(s_rules) - 1, NULL, 0) != 5 ||
        ward_json_arena_init(&arena, s_arena_storage, sizeof(s_arena_storage)) != 0) {
        abort();
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        struct ward_trace_rec rec;
        const char *why = NULL;
        int rc = ward_trace_parse_line(p, len, &rec, &why);

        p += len + (nl != NULL ? 1 : 0);
        if (rc != 0) {
            if (why == NULL || (rc != -ENODATA && rc != -EPROTO && rc != -EINVAL && rc != -ERANGE &&
                                rc != -ENAMETOOLONG)) {
                abort();
            }
            continue;
        }
        if (!ward_sensor_id_valid(rec.sensor) || rec.t_ms < 0) {
            abort();
        }
        if (rec.t_ms < last_t) {
            continue; /* replay refuses time going backwards */
        }
        last_t = rec.t_ms;
        if (ward_agent_feed(&s_agent, rec.sensor, &rec.reading, rec.t_ms) < 0 &&
            s_agent.feed_errors == 0) {
            abort();
        }
        drain(&arena);
    }
    /* The agent's other JSON input: an acknowledgement. It must never free on error. */
    unsigned before = ward_evlog_pending(&s_agent.log);
    int freed = ward_report_apply_ack(&s_agent, (const char *)data, size);

    if ((freed < 0 && ward_evlog_pending(&s_agent.log) != before) ||
        (freed >= 0 && ward_evlog_pending(&s_agent.log) + (unsigned)freed != before)) {
        abort();
    }
    return 0;
}
