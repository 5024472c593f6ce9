/*
 * The one bridge from Kconfig to C.
 *
 * Code includes this header, never autoconf.h: it maps CONFIG_* to the WARD_* names the
 * code uses and provides IS_ENABLED() so disabled code is still compiled and type-checked
 * instead of hidden behind #ifdef. It states no values: Kconfig is their one source.
 * tools/kconfig/kconfig.py writes autoconf.h (this board's configuration) and
 * config_defaults.h (the Kconfig default of every int/string symbol the configuration
 * leaves out because its dependencies are off, e.g. the simulated backend's pools on a board
 * without it), so every module compiles on every board. Both come with any target that
 * links ward_base (include/generated in the build tree).
 */
#ifndef WARD_BASE_CONFIG_H_
#define WARD_BASE_CONFIG_H_

#include <autoconf.h>
#include <config_defaults.h>

/*
 * IS_ENABLED(CONFIG_X) is 1 when CONFIG_X is defined to 1 and 0 when it is undefined,
 * usable in both #if and ordinary C expressions. The trick: pasting the value onto a
 * prefix turns "1" into a macro that expands to "0," and so shifts an argument list.
 */
#define WARD_IS_ENABLED_PROBE_1 0,
#define IS_ENABLED(option)      WARD_IS_ENABLED_(option)
#define WARD_IS_ENABLED_(value) WARD_IS_ENABLED__(WARD_IS_ENABLED_PROBE_##value)
/* The argument list is built by token pasting: parentheses would break it */
// NOLINTNEXTLINE(bugprone-macro-parentheses)
#define WARD_IS_ENABLED__(maybe)               WARD_IS_ENABLED___(maybe 1, 0)
#define WARD_IS_ENABLED___(_ignored, val, ...) val

#define WARD_BOARD_NAME         CONFIG_WARD_BOARD_NAME
#define WARD_ARCH               CONFIG_WARD_ARCH
#define WARD_DEVICE_ID_DEFAULT  CONFIG_WARD_DEVICE_ID
#define WARD_JSON_ARENA_SIZE    CONFIG_WARD_JSON_ARENA_SIZE
#define WARD_JSON_NESTING_LIMIT CONFIG_WARD_JSON_NESTING_LIMIT

/* Health engine, event log and scheduler (firmware/Kconfig): pool sizes and defaults. */
#define WARD_HEALTH_MAX_SENSORS             CONFIG_WARD_HEALTH_MAX_SENSORS
#define WARD_HEALTH_ID_MAX                  CONFIG_WARD_HEALTH_ID_MAX
#define WARD_HEALTH_MAX_RULES               CONFIG_WARD_HEALTH_MAX_RULES
#define WARD_HEALTH_MAX_RATES               CONFIG_WARD_HEALTH_MAX_RATES
#define WARD_HEALTH_RATE_SAMPLES            CONFIG_WARD_HEALTH_RATE_SAMPLES
#define WARD_EVLOG_SIZE                     CONFIG_WARD_EVLOG_SIZE
#define WARD_EVLOG_BOOTS                    CONFIG_WARD_EVLOG_BOOTS
#define WARD_SCHED_JITTER_PCT               CONFIG_WARD_SCHED_JITTER_PCT
#define WARD_INTERVAL_TEMP_MS               CONFIG_WARD_INTERVAL_TEMP_MS
#define WARD_INTERVAL_FAN_MS                CONFIG_WARD_INTERVAL_FAN_MS
#define WARD_INTERVAL_NIC_MS                CONFIG_WARD_INTERVAL_NIC_MS
#define WARD_INTERVAL_DISK_MS               CONFIG_WARD_INTERVAL_DISK_MS
#define WARD_INTERVAL_HOST_MS               CONFIG_WARD_INTERVAL_HOST_MS
#define WARD_INTERVAL_AGENT_MS              CONFIG_WARD_INTERVAL_AGENT_MS
#define WARD_INTERVAL_HEARTBEAT_MS          CONFIG_WARD_INTERVAL_HEARTBEAT_MS
#define WARD_DEFAULT_TEMP_HYSTERESIS_MC     CONFIG_WARD_DEFAULT_TEMP_HYSTERESIS_MC
#define WARD_DEFAULT_TEMP_UPPER_CAUTION_MC  CONFIG_WARD_DEFAULT_TEMP_UPPER_CAUTION_MC
#define WARD_DEFAULT_TEMP_UPPER_CRITICAL_MC CONFIG_WARD_DEFAULT_TEMP_UPPER_CRITICAL_MC
#define WARD_DEFAULT_FAN_HYSTERESIS_RPM     CONFIG_WARD_DEFAULT_FAN_HYSTERESIS_RPM
#define WARD_DEFAULT_CPU_BUSY_PCT           CONFIG_WARD_DEFAULT_CPU_BUSY_PCT
#define WARD_DEFAULT_CPU_BUSY_FOR_MS        CONFIG_WARD_DEFAULT_CPU_BUSY_FOR_MS
#define WARD_DEFAULT_FS_USED_CAUTION_PCT    CONFIG_WARD_DEFAULT_FS_USED_CAUTION_PCT
#define WARD_DEFAULT_FS_USED_CRITICAL_PCT   CONFIG_WARD_DEFAULT_FS_USED_CRITICAL_PCT
#define WARD_DEFAULT_NIC_ERRORS_PER_MIN     CONFIG_WARD_DEFAULT_NIC_ERRORS_PER_MIN
#define WARD_DEFAULT_LOOP_LAG_CAUTION_MS    CONFIG_WARD_DEFAULT_LOOP_LAG_CAUTION_MS

/* Delta snapshot pages (firmware/Kconfig): full-cycle period and dead bands. */
#define WARD_REPORT_FULL_EVERY_S       CONFIG_WARD_REPORT_FULL_EVERY_S
#define WARD_REPORT_DEADBAND_TEMP_MC   CONFIG_WARD_REPORT_DEADBAND_TEMP_MC
#define WARD_REPORT_DEADBAND_FAN_PCT   CONFIG_WARD_REPORT_DEADBAND_FAN_PCT
#define WARD_REPORT_DEADBAND_PCT       CONFIG_WARD_REPORT_DEADBAND_PCT
#define WARD_REPORT_DEADBAND_MS        CONFIG_WARD_REPORT_DEADBAND_MS
#define WARD_REPORT_DEADBAND_OTHER_PCT CONFIG_WARD_REPORT_DEADBAND_OTHER_PCT

/* Pull endpoints (firmware/nms/Kconfig): pool sizes of the reading cache and the listener. */
#define WARD_NMS_MAX_SENSORS       CONFIG_WARD_NMS_MAX_SENSORS
#define WARD_NMS_MAX_NICS          CONFIG_WARD_NMS_MAX_NICS
#define WARD_NMS_MAX_DISKS         CONFIG_WARD_NMS_MAX_DISKS
#define WARD_NMS_MAX_FS            CONFIG_WARD_NMS_MAX_FS
#define WARD_NMS_PROM_MAX_CONNS    CONFIG_WARD_NMS_PROM_MAX_CONNS
#define WARD_NMS_PROM_REQUEST_MAX  CONFIG_WARD_NMS_PROM_REQUEST_MAX
#define WARD_NMS_PROM_RESPONSE_MAX CONFIG_WARD_NMS_PROM_RESPONSE_MAX
#define WARD_NMS_PROM_DEADLINE_MS  CONFIG_WARD_NMS_PROM_DEADLINE_MS

#endif /* WARD_BASE_CONFIG_H_ */
