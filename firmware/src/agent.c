#include <errno.h>
#include <string.h>

#include "ward/agent.h"

int ward_agent_init(struct ward_agent *a, const struct ward_agent_config *cfg, int64_t now_ms)
{
    const char *id;
    const struct ward_rule *board = NULL;
    size_t n_board = 0;
    size_t id_len;

    if (a == NULL || cfg == NULL || cfg->boot_id == NULL) {
        return -EINVAL;
    }
    id = cfg->device_id != NULL ? cfg->device_id : WARD_DEVICE_ID_DEFAULT;
    id_len = strnlen(id, WARD_DEVICE_ID_MAX);
    if (id_len == 0 || id_len >= WARD_DEVICE_ID_MAX) {
        return -EINVAL;
    }
    memset(a, 0, sizeof(*a));
    memcpy(a->device_id, id, id_len);
    memcpy(a->boot_id, cfg->boot_id, WARD_BOOT_ID_LEN);
    a->start_ms = now_ms;
    a->hal = cfg->hal;
    a->hooks = cfg->hooks;
    if (!cfg->no_board_defaults) {
        board = ward_default_rules(&n_board);
    }
    if (ward_health_init(&a->health, board, n_board) != 0 ||
        ward_evlog_init(&a->log, a->boot_id) != 0 ||
        ward_sched_init(&a->sched, now_ms, cfg->seed) != 0) {
        return -EINVAL;
    }
    return 0;
}

int ward_agent_load_rules(struct ward_agent *a, const char *text, size_t len,
                          struct ward_rules_error *err, int64_t now_ms)
{
    uint32_t intervals[WARD_CLASS_COUNT];
    int n;

    if (a == NULL || text == NULL) {
        return -EINVAL;
    }
    /* Validate everything first: a bad file must not disturb the running rules. */
    n = ward_rules_parse(text, len, NULL, WARD_HEALTH_MAX_RULES, NULL, err);
    if (n < 0) {
        return n;
    }
    n = ward_rules_parse(text, len, a->health.rule, WARD_HEALTH_MAX_RULES, intervals, err);
    if (n < 0 || ward_health_set_rules(&a->health, a->health.rule, (size_t)n) != 0) {
        return n < 0 ? n : -EINVAL;
    }
    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        uint32_t iv = intervals[c] != 0 ? intervals[c] : ward_sched_default_interval(c);

        if (iv != a->sched.task[c].interval_ms) {
            ward_sched_set_interval(&a->sched, (enum ward_class)c, iv, now_ms);
        }
    }
    a->rules_loaded = ward_sha256(text, len, a->rules_digest) == 0;
    return n;
}

void ward_agent_set_wall_clock(struct ward_agent *a, int64_t now_ms, int64_t wall_ms)
{
    if (a != NULL) {
        a->wall_offset_ms = wall_ms - now_ms;
        a->wall_known = true;
    }
}

int ward_agent_restore_event(struct ward_agent *a, const uint8_t boot_id[WARD_BOOT_ID_LEN],
                             const char *sensor_id, const struct ward_event *ev)
{
    struct ward_event e;
    int idx;

    if (a == NULL || ev == NULL) {
        return -EINVAL;
    }
    idx = ward_health_sensor(&a->health, sensor_id);
    if (idx < 0) {
        return idx;
    }
    e = *ev;
    e.sensor = (uint16_t)idx;
    return ward_evlog_restore(&a->log, boot_id, &e);
}

int64_t ward_agent_poll(struct ward_agent *a, int64_t now_ms)
{
    int cls;

    /* Bounded: each class runs at most once per call (its next period is in the future). */
    for (unsigned i = 0; i < WARD_CLASS_COUNT; i++) {
        cls = ward_sched_poll(&a->sched, now_ms);
        if (cls < 0) {
            break;
        }
        a->lag_hb_ms = a->sched.lag_ms > a->lag_hb_ms ? a->sched.lag_ms : a->lag_hb_ms;
        a->lag_sample_ms = a->sched.lag_ms > a->lag_sample_ms ? a->sched.lag_ms : a->lag_sample_ms;
        if (cls == WARD_CLASS_HEARTBEAT) {
            if (a->hooks.heartbeat != NULL) {
                a->hooks.heartbeat(a, now_ms, a->hooks.user);
            }
        } else {
            ward_agent_sample(a, (enum ward_class)cls, now_ms);
        }
    }
    return ward_sched_next_due(&a->sched);
}
