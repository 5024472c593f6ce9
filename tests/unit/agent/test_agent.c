/*
 * The agent context: sampling a (fake) HAL on the scheduler, board default rules, several
 * agents side by side in one process, runtime rules, restored events, no heap after start.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fake_hal.h"
#include "heap_count.h"
#include "ward/agent.h"

#define N_AGENTS 3

static struct ward_agent s_agents[N_AGENTS];
static struct fake_hal s_hals[N_AGENTS];
static unsigned s_heartbeats[N_AGENTS];
static int64_t s_heartbeat_at[N_AGENTS][8];

static void on_heartbeat(struct ward_agent *a, int64_t now, void *user)
{
    unsigned i = (unsigned)(uintptr_t)user;

    (void)a;
    if (s_heartbeats[i] < 8) {
        s_heartbeat_at[i][s_heartbeats[i]] = now;
    }
    s_heartbeats[i]++;
}

static void start(unsigned i, int64_t now)
{
    uint8_t boot[WARD_BOOT_ID_LEN];
    char id[16];
    struct ward_agent_config cfg = {
        .boot_id = boot,
        .device_id = id,
        .seed = 1000 + i,
        .hal = &s_hals[i].hal,
        .hooks = { .heartbeat = on_heartbeat, .user = (void *)(uintptr_t)i },
    };

    memset(boot, (int)(0xa0 + i), sizeof(boot));
    snprintf(id, sizeof(id), "dev-%u", i);
    fake_hal_init(&s_hals[i]);
    s_heartbeats[i] = 0;
    assert_int_equal(ward_agent_init(&s_agents[i], &cfg, now), 0);
}

/* Poll agent i every `step` ms over [from, to], as a board's loop would. */
static void run(unsigned i, int64_t from, int64_t to, int64_t step)
{
    for (int64_t now = from; now <= to; now += step) {
        ward_agent_poll(&s_agents[i], now);
    }
}

static const struct ward_event *find_event(const struct ward_agent *a, const char *sensor,
                                           unsigned to)
{
    for (unsigned i = 0; i < ward_evlog_pending(&a->log); i++) {
        const struct ward_event *e = ward_evlog_at(&a->log, i);

        if (strcmp(a->health.sensor[e->sensor].id, sensor) == 0 && e->to == to) {
            return e;
        }
    }
    return NULL;
}

static unsigned state_of(const struct ward_agent *a, const char *id)
{
    int i = ward_health_find(&a->health, id);

    return i < 0 ? 0xffu : a->health.sensor[i].state;
}

static void test_init_checks(void **state)
{
    static const uint8_t boot[WARD_BOOT_ID_LEN] = { 1 };
    char long_id[WARD_DEVICE_ID_MAX + 1];
    struct ward_agent_config cfg = { .boot_id = NULL };

    (void)state;
    assert_int_equal(ward_agent_init(&s_agents[0], &cfg, 0), -EINVAL);
    memset(long_id, 'd', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    cfg.boot_id = boot;
    cfg.device_id = long_id;
    assert_int_equal(ward_agent_init(&s_agents[0], &cfg, 0), -EINVAL);
    cfg.device_id = NULL;
    assert_int_equal(ward_agent_init(&s_agents[0], &cfg, 0), 0);
    assert_string_equal(s_agents[0].device_id, WARD_DEVICE_ID_DEFAULT);
    /* No HAL: polling only samples the agent's own health. */
    run(0, 0, 60000, 1000);
    assert_true(ward_health_find(&s_agents[0].health, "agent:loop_lag_ms") >= 0);
}

static void test_samples_hal_on_schedule(void **state)
{
    struct fake_class *temp = &s_hals[0].temp;
    const struct ward_event *e;

    (void)state;
    start(0, 0);
    fake_hal_set(temp, 0, "temp:cpu0", 60000);
    fake_hal_set_threshold(temp, 0, WARD_THR_UPPER_CAUTION, 80000);
    fake_hal_set_threshold(temp, 0, WARD_THR_UPPER_CRITICAL, 95000);
    run(0, 0, 29900, 100);
    /* Every ~5 s (jitter 10 %) over 30 s. */
    assert_in_range(temp->reads, 5, 7);
    assert_int_equal(ward_evlog_pending(&s_agents[0].log), 0);
    fake_hal_set(temp, 0, "temp:cpu0", 85000);
    run(0, 30000, 120000, 100);
    e = find_event(&s_agents[0], "temp:cpu0", WARD_STATE_CAUTION);
    assert_non_null(e);
    /* Hardware thresholds reached the engine; the event came within one period. */
    assert_in_range(e->t_ms, 30000, 30000 + WARD_INTERVAL_TEMP_MS * 11 / 10);
    assert_int_equal(e->value, 85000);
    assert_int_equal(e->seq, 1);
    /* Heartbeats: the first within its first period, then every interval +/- 5 %. */
    assert_in_range(s_heartbeats[0], 2, 3);
    assert_in_range(s_heartbeat_at[0][1] - s_heartbeat_at[0][0],
                    WARD_INTERVAL_HEARTBEAT_MS * 95 / 100, WARD_INTERVAL_HEARTBEAT_MS * 105 / 100);
}

static void test_agents_side_by_side(void **state)
{
    (void)state;
    for (unsigned i = 0; i < N_AGENTS; i++) {
        start(i, 0);
        fake_hal_set(&s_hals[i].temp, 0, "temp:cpu0", 60000);
        fake_hal_set_threshold(&s_hals[i].temp, 0, WARD_THR_UPPER_CAUTION, 80000);
    }
    fake_hal_set(&s_hals[1].temp, 0, "temp:cpu0", 90000);
    fake_hal_set_status(&s_hals[2].temp, 0, WARD_STATUS_UNAVAILABLE, WARD_REASON_MISSING);
    /* Interleave the agents as one process's loop would. */
    for (int64_t now = 0; now <= 60000; now += 100) {
        for (unsigned i = 0; i < N_AGENTS; i++) {
            ward_agent_poll(&s_agents[i], now);
        }
    }
    assert_int_equal(state_of(&s_agents[0], "temp:cpu0"), WARD_STATE_OK);
    assert_int_equal(state_of(&s_agents[1], "temp:cpu0"), WARD_STATE_CAUTION);
    assert_int_equal(state_of(&s_agents[2], "temp:cpu0"), WARD_STATE_UNAVAILABLE);
    assert_int_equal(ward_evlog_pending(&s_agents[0].log), 0);
    assert_int_equal(find_event(&s_agents[1], "temp:cpu0", WARD_STATE_CAUTION)->seq, 1);
    assert_int_equal(find_event(&s_agents[2], "temp:cpu0", WARD_STATE_UNAVAILABLE)->seq, 1);
    assert_string_equal(s_agents[2].device_id, "dev-2");
    assert_int_not_equal(s_agents[1].boot_id[0], s_agents[2].boot_id[0]);
    /* Different seeds: the agents do not sample in step. */
    assert_true(s_agents[0].sched.task[WARD_CLASS_TEMP].due_ms !=
                    s_agents[1].sched.task[WARD_CLASS_TEMP].due_ms ||
                s_agents[1].sched.task[WARD_CLASS_TEMP].due_ms !=
                    s_agents[2].sched.task[WARD_CLASS_TEMP].due_ms);
}

static void test_board_defaults(void **state)
{
    struct fake_hal *f = &s_hals[0];
    struct ward_agent *a = &s_agents[0];
    uint64_t busy = 0;
    uint64_t idle = 0;

    (void)state;
    start(0, 0);
    fake_hal_fs(f, 0, "fs:/", 1000, 500);
    fake_hal_nic_counter(f, 0, "nic:eth0", WARD_NIC_RX_CRC_ERRORS, 100);
    fake_hal_nic_counter(f, 0, "nic:eth0", WARD_NIC_RX_BYTES, 5000);
    fake_hal_disk(f, 0, "disk:ST4000_Z1", WARD_DISK_ATA, WARD_SMART_PASSED, WARD_STATUS_OK,
                  WARD_REASON_NONE);
    /* CPU 95 % busy from the start: the caution comes after 5 minutes, not before. */
    for (int64_t now = 0; now <= 400000; now += 500) {
        busy += 95;
        idle += 5;
        fake_hal_cpu(f, busy, idle);
        if (now == 100000) {
            fake_hal_fs(f, 0, "fs:/", 1000, 920);
            fake_hal_nic_counter(f, 0, "nic:eth0", WARD_NIC_RX_CRC_ERRORS, 101);
        }
        if (now == 150000) {
            fake_hal_disk(f, 0, "disk:ST4000_Z1", WARD_DISK_ATA, WARD_SMART_FAILING, WARD_STATUS_OK,
                          WARD_REASON_NONE);
        }
        ward_agent_poll(a, now);
    }
    const struct ward_event *cpu = find_event(a, "host:cpu_busy_pct", WARD_STATE_CAUTION);

    assert_non_null(cpu);
    assert_in_range(cpu->t_ms, WARD_DEFAULT_CPU_BUSY_FOR_MS,
                    WARD_DEFAULT_CPU_BUSY_FOR_MS + 2 * WARD_INTERVAL_HOST_MS);
    assert_int_equal(cpu->value, 95);
    assert_non_null(find_event(a, "fs:/:used_pct", WARD_STATE_CAUTION));
    assert_non_null(find_event(a, "nic:eth0:rx_crc_errors", WARD_STATE_CAUTION));
    assert_non_null(find_event(a, "disk:ST4000_Z1:smart", WARD_STATE_FAILED));
    /* Counters no rule names are not tracked. */
    assert_true(ward_health_find(&a->health, "nic:eth0:rx_bytes") < 0);
    /* A sleeping disk keeps its state: no event, nothing read. */
    unsigned before = ward_evlog_pending(&a->log);

    fake_hal_disk(f, 0, "disk:ST4000_Z1", WARD_DISK_ATA, WARD_SMART_UNKNOWN,
                  WARD_STATUS_UNAVAILABLE, WARD_REASON_STANDBY);
    run(0, 400500, 1100000, 1000);
    assert_int_equal(state_of(a, "disk:ST4000_Z1:smart"), WARD_STATE_FAILED);
    assert_null(find_event(a, "disk:ST4000_Z1:smart", WARD_STATE_UNAVAILABLE));
    (void)before;
}

static void test_own_health_loop_lag(void **state)
{
    struct ward_agent *a = &s_agents[0];

    (void)state;
    start(0, 0);
    run(0, 0, 30000, 100);
    assert_int_equal(state_of(a, "agent:loop_lag_ms"), WARD_STATE_OK);
    /* The loop stalls for 8 s: the agent's own health goes to caution. */
    run(0, 38000, 60000, 100);
    assert_non_null(find_event(a, "agent:loop_lag_ms", WARD_STATE_CAUTION));
    /* ... and back to ok once the loop keeps time again. */
    assert_int_equal(state_of(a, "agent:loop_lag_ms"), WARD_STATE_OK);
    assert_true(a->sched.lag_ever_ms >= 8000 - WARD_INTERVAL_TEMP_MS);
}

static void test_runtime_rules(void **state)
{
    static const char rules[] = "{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":50000}],"
                                "\"intervals_ms\":{\"temp\":1000}}";
    static const char broken[] = "{\"rules\":[{\"sensor\":\"temp:*\",\"upper_caution\":10}";
    struct ward_rules_error err;
    struct ward_agent *a = &s_agents[0];

    (void)state;
    start(0, 0);
    fake_hal_set(&s_hals[0].temp, 0, "temp:cpu0", 60000);
    assert_int_equal(ward_agent_load_rules(a, rules, strlen(rules), &err, 0), 1);
    assert_true(a->rules_loaded);
    run(0, 0, 10000, 100);
    assert_in_range(s_hals[0].temp.reads, 9, 12);
    assert_int_equal(state_of(a, "temp:cpu0"), WARD_STATE_CAUTION);
    /* A broken file changes nothing: rules, intervals and digest stay. */
    uint8_t digest[WARD_DIGEST_LEN];

    memcpy(digest, a->rules_digest, sizeof(digest));
    assert_int_equal(ward_agent_load_rules(a, broken, strlen(broken), &err, 10000), -EPROTO);
    assert_int_equal(a->health.n_rules, 1);
    assert_int_equal(a->sched.task[WARD_CLASS_TEMP].interval_ms, 1000);
    assert_memory_equal(digest, a->rules_digest, sizeof(digest));
    /* An empty rule set restores the Kconfig intervals. */
    assert_int_equal(ward_agent_load_rules(a, "{\"rules\":[]}", 12, &err, 10000), 0);
    assert_int_equal(a->sched.task[WARD_CLASS_TEMP].interval_ms, WARD_INTERVAL_TEMP_MS);
}

static void test_restore_event(void **state)
{
    static const uint8_t old_boot[WARD_BOOT_ID_LEN] = { 0x0b };
    struct ward_event e;
    struct ward_agent *a = &s_agents[0];

    (void)state;
    start(0, 0);
    memset(&e, 0, sizeof(e));
    e.seq = 41;
    e.from = WARD_STATE_OK;
    e.to = WARD_STATE_CRITICAL;
    e.severity = WARD_SEV_MEDIUM;
    e.t_ms = 5;
    assert_int_equal(ward_agent_restore_event(a, old_boot, "temp:gone", &e), 1);
    const struct ward_event *got = ward_evlog_at(&a->log, 0);

    assert_string_equal(a->health.sensor[got->sensor].id, "temp:gone");
    assert_int_equal(got->seq, 41);
    assert_int_equal(ward_agent_restore_event(a, old_boot, "bad\x01id", &e), -EINVAL);
}

static void test_sensor_id_join(void **state)
{
    char a[WARD_HEALTH_ID_MAX];
    char b[WARD_HEALTH_ID_MAX];
    char base1[128];
    char base2[128];

    (void)state;
    assert_int_equal(ward_sensor_id_join(a, sizeof(a), "disk:ST4000_Z1", "smart"), 0);
    assert_string_equal(a, "disk:ST4000_Z1:smart");
    memset(base1, 'M', sizeof(base1) - 1);
    base1[sizeof(base1) - 1] = '\0';
    memcpy(base2, base1, sizeof(base2));
    base2[100] = 'N';
    assert_int_equal(ward_sensor_id_join(a, sizeof(a), base1, "critical_warning"), 0);
    assert_int_equal(ward_sensor_id_join(b, sizeof(b), base2, "critical_warning"), 0);
    assert_int_equal(strlen(a), sizeof(a) - 1);
    assert_non_null(strstr(a, "~"));
    assert_non_null(strstr(a, ":critical_warning"));
    assert_string_not_equal(a, b); /* same prefix, different bases: still distinct */
    assert_true(ward_sensor_id_valid(a));
}

static void test_no_heap_after_start(void **state)
{
    uint64_t busy = 0;

    (void)state;
    for (unsigned i = 0; i < N_AGENTS; i++) {
        start(i, 0);
        fake_hal_set(&s_hals[i].temp, 0, "temp:cpu0", 60000);
        fake_hal_set(&s_hals[i].fan, 0, "fan:cpu", 1200);
        fake_hal_set_threshold(&s_hals[i].fan, 0, WARD_THR_LOWER_CRITICAL, 500);
        fake_hal_nic_counter(&s_hals[i], 0, "nic:eth0", WARD_NIC_RX_CRC_ERRORS, 0);
        fake_hal_fs(&s_hals[i], 0, "fs:/", 100, 50);
        fake_hal_disk(&s_hals[i], 0, "disk:N1", WARD_DISK_NVME, WARD_SMART_PASSED, WARD_STATUS_OK,
                      WARD_REASON_NONE);
    }
    heap_count_start();
    for (int64_t now = 0; now <= 900000; now += 250) {
        busy += 3;
        for (unsigned i = 0; i < N_AGENTS; i++) {
            fake_hal_cpu(&s_hals[i], busy, busy / 2);
            fake_hal_set(&s_hals[i].temp, 0, "temp:cpu0", 60000 + (now / 1000 % 50) * 1000);
            fake_hal_nic_counter(&s_hals[i], 0, "nic:eth0", WARD_NIC_RX_CRC_ERRORS,
                                 (uint64_t)now / 7000);
            ward_agent_poll(&s_agents[i], now);
        }
    }
    assert_int_equal(heap_count_stop(), 0);
    assert_true(ward_evlog_last_seq(&s_agents[0].log) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_checks),         cmocka_unit_test(test_samples_hal_on_schedule),
        cmocka_unit_test(test_agents_side_by_side), cmocka_unit_test(test_board_defaults),
        cmocka_unit_test(test_own_health_loop_lag), cmocka_unit_test(test_runtime_rules),
        cmocka_unit_test(test_restore_event),       cmocka_unit_test(test_sensor_id_join),
        cmocka_unit_test(test_no_heap_after_start),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
