/*
 * The agent: every piece of one agent's state in one struct, allocated by the board
 * (statically), so a process can run many agents side by side (tests, load generators).
 *
 *   static struct ward_agent s_agent;            // board: .bss, sized by Kconfig
 *   ward_agent_init(&s_agent, &cfg, now);        // boot id, device id, HAL, hooks
 *   ward_agent_load_rules(&s_agent, text, len, &err, now);  // optional runtime rules
 *   for (;;) { next = ward_agent_poll(&s_agent, now()); sleep_until(next); }
 *
 * ward_agent_poll() samples each class of the HAL when due (ward/sched.h), feeds the
 * readings to the health engine (ward/health.h), records state changes in the event log
 * (ward/evlog.h), samples the agent's own health, and calls the heartbeat hook when the
 * heartbeat is due; the hook builds the documents (ward/report.h) and hands them to the
 * transport. Nothing here blocks, allocates, or reads a clock: `now` comes from the board.
 *
 * The agent's own sensors: "agent:loop_lag_ms" (worst lateness of a scheduled task since
 * the previous sample) and "agent:events_dropped" (events the log dropped, a counter).
 */
#ifndef WARD_AGENT_H_
#define WARD_AGENT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/base/config.h"
#include "ward/digest.h"
#include "ward/drill.h"
#include "ward/evlog.h"
#include "ward/hal/hal.h"
#include "ward/inventory.h"
#include "ward/health.h"
#include "ward/rules.h"
#include "ward/sched.h"

#define WARD_DEVICE_ID_MAX 64

struct ward_agent;

/*
 * What sampling just read from one device, as the HAL reported it (CONFIG_WARD_NMS): pull
 * endpoints keep it so that a request never touches a device. Exactly the pointers of
 * `kind` are set; they are valid only during the call.
 */
enum ward_observed {
    WARD_OBSERVED_TEMP = 0, /* sensor + temp */
    WARD_OBSERVED_FAN,      /* sensor + fan */
    WARD_OBSERVED_NIC,      /* nic_info + nic */
    WARD_OBSERVED_DISK,     /* disk_info + smart */
    WARD_OBSERVED_CPU,      /* cpu */
    WARD_OBSERVED_MEM,      /* mem */
    WARD_OBSERVED_FS,       /* fs_info + fs */
};

struct ward_observation {
    enum ward_observed kind;
    const struct ward_sensor_info *sensor;
    const struct ward_temp_reading *temp;
    const struct ward_fan_reading *fan;
    const struct ward_nic_info *nic_info;
    const struct ward_nic_reading *nic;
    const struct ward_disk_info *disk_info;
    const struct ward_smart *smart;
    const struct ward_host_cpu *cpu;
    const struct ward_host_mem *mem;
    const struct ward_host_fs_info *fs_info;
    const struct ward_host_fs *fs;
};

struct ward_agent_hooks {
    /** The heartbeat is due: build and send the documents. May be NULL. */
    void (*heartbeat)(struct ward_agent *agent, int64_t now_ms, void *user);
    void *user;
    /** A device was just sampled (only with CONFIG_WARD_NMS). May be NULL. */
    void (*observe)(const struct ward_observation *obs, int64_t now_ms, void *user);
    void *observe_user;
};

struct ward_agent_config {
    const char *device_id;      /* NULL: CONFIG_WARD_DEVICE_ID */
    const uint8_t *boot_id;     /* WARD_BOOT_ID_LEN bytes, fresh for every agent start (entropy) */
    uint64_t seed;              /* seeds the jitter PRNG; give each agent its own */
    const struct ward_hal *hal; /* devices to sample; NULL feeds only (replay, tests) */
    struct ward_agent_hooks hooks;
    bool no_board_defaults; /* evaluate with runtime rules only (replay) */
};

/* A sensor as it last went out in a snapshot page (delta pages compare against it). */
struct ward_report_sent {
    int64_t value;
    uint8_t state;
    uint8_t severity;
    uint8_t reason;
    uint8_t flags; /* WARD_SENT_* */
};
#define WARD_SENT_VALID     0x01u /* went out since the last full cycle began */
#define WARD_SENT_HAS_VALUE 0x02u
#define WARD_SENT_STANDBY   0x04u

struct ward_agent {
    char device_id[WARD_DEVICE_ID_MAX];
    uint8_t boot_id[WARD_BOOT_ID_LEN];
    int64_t start_ms;
    int64_t wall_offset_ms; /* wall = now + offset, when wall_known */
    bool wall_known;
    bool rules_loaded;
    uint32_t hb_seq; /* heartbeats built this run */
    const struct ward_hal *hal;
    struct ward_agent_hooks hooks;
    struct ward_sched sched;
    struct ward_health health;
    struct ward_evlog log;
    uint8_t rules_digest[WARD_DIGEST_LEN]; /* SHA-256 of the loaded rules text */
    /* Host CPU ticks at the previous sample: busy percent is a delta. */
    uint64_t cpu_prev[8];
    bool cpu_prev_valid;
    /* Loop lag: worst since the last heartbeat / the last self-health sample. */
    int64_t lag_hb_ms;
    int64_t lag_sample_ms;
    /* Memory high-water marks of the JSON arena documents were built in. */
    uint32_t json_high_water;
    uint32_t json_arena_bytes;
    uint32_t json_failures;
    uint32_t feed_errors; /* readings the engine refused (table full, bad id) */
    uint32_t hal_errors;  /* HAL calls that returned an error */
    /* Sticky heartbeat fields (docs/protocol.md): hash of the values last sent in full. */
    uint32_t sticky_hash;
    uint32_t sticky_events;    /* hash of the events counters the last full heartbeat carried */
    bool sticky_sent;          /* false: the next batch's heartbeat carries them all */
    struct ward_inventory inv; /* sticky too: its hash is in sticky_hash (ward/inventory.h) */
    /* The heartbeat's health summary (docs/protocol.md): as in the last batch built on this
     * connection, and as the collector last acknowledged it there (_ok: known). A compact
     * heartbeat leaves it out while it equals the acknowledged one. */
    uint64_t summary_built;
    uint64_t summary_acked;
    bool summary_built_ok;
    bool summary_acked_ok;
    /* Health snapshot paging (ward_report_batch()): index of the next page's first sensor,
     * and whether the last batch built carried the last page of a snapshot cycle. */
    bool health_done;
    uint16_t health_cursor;
    /* Delta snapshot pages (report_delta.c, docs/protocol.md): whether the cycle being sent
     * lists only changed sensors, whether a full cycle went out on this connection, when the
     * last full cycle started, and what each sensor last went out as. */
    bool delta_pages;    /* ward_report_delta_pages() */
    bool severity_first; /* ward_report_severity_first() */
    bool health_delta;
    bool delta_ok;
    int64_t full_at_ms;
    struct ward_report_sent
        sent[IS_ENABLED(CONFIG_WARD_REPORT_DELTA) ? WARD_HEALTH_MAX_SENSORS : 1];
    /* A drill (ward/drill.h): the board's app sets drill_hal while one plays and keeps the
     * status the heartbeat reports; drill_sampling is true while that HAL is walked. */
    const struct ward_hal *drill_hal;
    struct ward_drill_status drill;
    bool drill_sampling;
};

/**
 * Initialise an agent. Clears everything; sensors start ok; the log starts at seq 1.
 * @return 0, -EINVAL (NULL agent/config/boot id, device id empty or too long).
 */
int ward_agent_init(struct ward_agent *a, const struct ward_agent_config *cfg, int64_t now_ms);

/**
 * Load runtime rules (docs/config.md). The text is validated completely before anything
 * changes, so a bad file leaves the running rules untouched. Intervals in the file take
 * effect at once; the digest of the text goes in every heartbeat.
 * @return the number of rules, or an error of ward_rules_parse() with err filled.
 */
int ward_agent_load_rules(struct ward_agent *a, const char *text, size_t len,
                          struct ward_rules_error *err, int64_t now_ms);

/**
 * Run what is due. @return when to call again (the earliest due time).
 */
int64_t ward_agent_poll(struct ward_agent *a, int64_t now_ms);

/**
 * Sample one class now (what ward_agent_poll() does when it is due).
 * @return 0, -EINVAL for a bad class.
 */
int ward_agent_sample(struct ward_agent *a, enum ward_class cls, int64_t now_ms);

/**
 * Feed one reading from outside the HAL walk (replay, a board's own sensor).
 * @return 1 when it changed the sensor's state (an event was recorded or dropped),
 *         0 when not, or an error of ward_health_feed().
 */
int ward_agent_feed(struct ward_agent *a, const char *id, const struct ward_reading *r,
                    int64_t now_ms);

/** The wall clock became known (SNTP, RTC): wall_ms is Unix time in ms at now_ms. */
void ward_agent_set_wall_clock(struct ward_agent *a, int64_t now_ms, int64_t wall_ms);

/**
 * Put back an unacknowledged event an earlier run persisted (see ward_evlog_restore()).
 * The sensor is named by id; ev->sensor is ignored.
 * @return 1 stored, 0 dropped under pressure, or a negative errno.
 */
int ward_agent_restore_event(struct ward_agent *a, const uint8_t boot_id[WARD_BOOT_ID_LEN],
                             const char *sensor_id, const struct ward_event *ev);

/** Board default rules built from Kconfig (firmware/src/defaults.c). */
const struct ward_rule *ward_default_rules(size_t *n);

/**
 * Join a sensor id and a suffix ("disk:ST4000_Z1" + "smart" -> "disk:ST4000_Z1:smart").
 * When the result would not fit, the base is shortened and a hash of the full base keeps
 * the id unique and stable ("disk:VERY_LONG~3fa1c2:smart").
 * @return 0, -EINVAL.
 */
int ward_sensor_id_join(char *out, size_t len, const char *base, const char *suffix);

#endif /* WARD_AGENT_H_ */
