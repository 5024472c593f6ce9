/*
 * Board default rules: the middle tier of threshold precedence (runtime rules override
 * them, they override what the hardware reports). Every value comes from Kconfig, so a
 * board's defconfig tunes them and the config digest covers them.
 */
#include "ward/agent.h"
#include "ward/hal/disk.h"

#define SEV_DEFAULTS                                                                               \
    {                                                                                              \
        WARD_RULE_SEV_DEFAULT, WARD_RULE_SEV_DEFAULT, WARD_RULE_SEV_DEFAULT,                       \
            WARD_RULE_SEV_DEFAULT, WARD_RULE_SEV_DEFAULT, WARD_RULE_SEV_DEFAULT                    \
    }
#define THR_BIT(kind, value) ((value) != 0 ? (uint8_t)(1u << (kind)) : (uint8_t)0)
#define SET_HYST             WARD_RULE_SET_HYSTERESIS
#define SET_DWELL            WARD_RULE_SET_DWELL

_Static_assert(WARD_STATE_COUNT == 6, "SEV_DEFAULTS lists one entry per state");

static const struct ward_rule s_defaults[] = {
    {
        .sensor = "temp:*",
        .kind = WARD_RULE_THRESHOLD,
        .glob = true,
        .hysteresis = WARD_DEFAULT_TEMP_HYSTERESIS_MC,
        .param_set = SET_HYST,
        .thr = { [WARD_THR_UPPER_CAUTION] = WARD_DEFAULT_TEMP_UPPER_CAUTION_MC,
                 [WARD_THR_UPPER_CRITICAL] = WARD_DEFAULT_TEMP_UPPER_CRITICAL_MC },
        .thr_set = THR_BIT(WARD_THR_UPPER_CAUTION, WARD_DEFAULT_TEMP_UPPER_CAUTION_MC) |
                   THR_BIT(WARD_THR_UPPER_CRITICAL, WARD_DEFAULT_TEMP_UPPER_CRITICAL_MC),
        .severity = SEV_DEFAULTS,
    },
    {
        .sensor = "disk:*:temp",
        .kind = WARD_RULE_THRESHOLD,
        .glob = true,
        .hysteresis = WARD_DEFAULT_TEMP_HYSTERESIS_MC,
        .param_set = SET_HYST,
        .severity = SEV_DEFAULTS,
    },
    {
        .sensor = "fan:*",
        .kind = WARD_RULE_THRESHOLD,
        .glob = true,
        .hysteresis = WARD_DEFAULT_FAN_HYSTERESIS_RPM,
        .param_set = SET_HYST,
        .severity = SEV_DEFAULTS,
    },
    {
        /* The classic ops rule: CPU busy above 80 % for 5 minutes. */
        .sensor = "host:cpu_busy_pct",
        .kind = WARD_RULE_SUSTAINED,
        .hysteresis = 5,
        .dwell_ms = WARD_DEFAULT_CPU_BUSY_FOR_MS,
        .param_set = SET_HYST | SET_DWELL,
        .thr = { [WARD_THR_UPPER_CAUTION] = WARD_DEFAULT_CPU_BUSY_PCT },
        .thr_set = THR_BIT(WARD_THR_UPPER_CAUTION, WARD_DEFAULT_CPU_BUSY_PCT),
        .severity = SEV_DEFAULTS,
    },
    {
        .sensor = "fs:*:used_pct",
        .kind = WARD_RULE_THRESHOLD,
        .glob = true,
        .hysteresis = 1,
        .param_set = SET_HYST,
        .thr = { [WARD_THR_UPPER_CAUTION] = WARD_DEFAULT_FS_USED_CAUTION_PCT,
                 [WARD_THR_UPPER_CRITICAL] = WARD_DEFAULT_FS_USED_CRITICAL_PCT },
        .thr_set = THR_BIT(WARD_THR_UPPER_CAUTION, WARD_DEFAULT_FS_USED_CAUTION_PCT) |
                   THR_BIT(WARD_THR_UPPER_CRITICAL, WARD_DEFAULT_FS_USED_CRITICAL_PCT),
        .severity = SEV_DEFAULTS,
    },
    {
        .sensor = "disk:*:smart",
        .kind = WARD_RULE_SMART,
        .glob = true,
        .mapped_state = WARD_STATE_CAUTION,
        .severity = SEV_DEFAULTS,
    },
    {
        .sensor = "disk:*:critical_warning",
        .kind = WARD_RULE_NVME,
        .glob = true,
        .nvme_mask = 0xff,
        .mapped_state = WARD_STATE_FAILED,
        .severity = SEV_DEFAULTS,
    },
    {
        /* rx_errors, rx_crc_errors, rx_frame_errors. */
        .sensor = "nic:*:rx_*errors",
        .kind = WARD_RULE_RATE,
        .glob = true,
        .window_ms = WARD_RULE_WINDOW_DEFAULT_MS,
        .counter_bits = 64,
        .thr = { [WARD_THR_UPPER_CAUTION] = WARD_DEFAULT_NIC_ERRORS_PER_MIN },
        .thr_set = WARD_DEFAULT_NIC_ERRORS_PER_MIN >= 0 ? (uint8_t)(1u << WARD_THR_UPPER_CAUTION)
                                                        : (uint8_t)0,
        .severity = SEV_DEFAULTS,
    },
    {
        .sensor = "agent:loop_lag_ms",
        .kind = WARD_RULE_THRESHOLD,
        .thr = { [WARD_THR_UPPER_CAUTION] = WARD_DEFAULT_LOOP_LAG_CAUTION_MS },
        .thr_set = THR_BIT(WARD_THR_UPPER_CAUTION, WARD_DEFAULT_LOOP_LAG_CAUTION_MS),
        .severity = SEV_DEFAULTS,
    },
    {
        /* Any event the log had to drop is a caution about the agent itself. */
        .sensor = "agent:events_dropped",
        .kind = WARD_RULE_RATE,
        .window_ms = WARD_RULE_WINDOW_DEFAULT_MS,
        .counter_bits = 32,
        .thr = { [WARD_THR_UPPER_CAUTION] = 0 },
        .thr_set = (uint8_t)(1u << WARD_THR_UPPER_CAUTION),
        .severity = SEV_DEFAULTS,
    },
};

const struct ward_rule *ward_default_rules(size_t *n)
{
    if (n != NULL) {
        *n = sizeof(s_defaults) / sizeof(s_defaults[0]);
    }
    return s_defaults;
}
