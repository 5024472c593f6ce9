/*
 * Fuzz the rules-file parser (firmware/src/rules.c over firmware/base/src/jscan.c): any bytes
 * must give either rules that are internally consistent or one error naming a line, and
 * never a crash, an overrun or a change to the running rules when the text is bad. Valid
 * rules are then loaded into an agent and evaluated, so what the parser accepts the engine
 * must handle. Corpus: tests/fuzz/corpus/rules/ (every rule kind of docs/config.md).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ward_agent s_agent;
static struct ward_rule s_rules[WARD_HEALTH_MAX_RULES];

static void check_rule(const struct ward_rule *r)
{
    if (!ward_sensor_id_valid(r->sensor) || r->kind >= WARD_RULE_KIND_COUNT || r->hysteresis < 0 ||
        r->dwell_ms > WARD_RULE_DWELL_MAX_MS || r->window_ms < WARD_RULE_WINDOW_MIN_MS ||
        r->counter_bits == 0 || r->counter_bits > 64 || r->mapped_state >= WARD_STATE_UNAVAILABLE) {
        abort();
    }
    for (unsigned s = 0; s < WARD_STATE_COUNT; s++) {
        if (r->severity[s] != WARD_RULE_SEV_DEFAULT &&
            (r->severity[s] == WARD_SEV_NONE || r->severity[s] >= WARD_SEV_COUNT)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t boot[WARD_BOOT_ID_LEN];
    struct ward_agent_config cfg = { .boot_id = boot };
    struct ward_rules_error err;
    uint32_t intervals[WARD_CLASS_COUNT];
    const char *text = (const char *)data;
    int n = ward_rules_parse(text, size, s_rules, WARD_HEALTH_MAX_RULES, intervals, &err);
    int validated = ward_rules_parse(text, size, NULL, WARD_HEALTH_MAX_RULES, NULL, NULL);

    /* Validation alone must reach the same verdict. */
    if ((n < 0) != (validated < 0) || (n >= 0 && n != validated)) {
        abort();
    }
    if (n < 0) {
        if (strncmp(err.msg, "line ", 5) != 0 || memchr(err.msg, '\0', sizeof(err.msg)) == NULL) {
            abort();
        }
        return 0;
    }
    for (int i = 0; i < n; i++) {
        check_rule(&s_rules[i]);
    }
    /* What the parser accepts, the agent loads and evaluates. */
    if (ward_agent_init(&s_agent, &cfg, 0) != 0 ||
        ward_agent_load_rules(&s_agent, text, size, &err, 0) != n) {
        abort();
    }
    for (int i = 0; i < n && i < 8; i++) {
        struct ward_reading r;
        char id[WARD_HEALTH_ID_MAX];

        /* Feed each rule's own pattern as an id, with values around its thresholds. */
        memcpy(id, s_rules[i].sensor, sizeof(id));
        for (int64_t t = 0; t < 5; t++) {
            /* Wrapping arithmetic: thresholds may sit at the ends of int64. */
            ward_reading_ok(
                &r, (int64_t)((uint64_t)s_rules[i].thr[t % WARD_THR_COUNT] + (uint64_t)t - 2u));
            ward_agent_feed(&s_agent, id, &r, t * 60000);
        }
        ward_reading_unavailable(&r, WARD_REASON_MISSING);
        ward_agent_feed(&s_agent, id, &r, 400000);
    }
    return 0;
}
