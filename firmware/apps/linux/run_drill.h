/*
 * ward-agent run: drills (ward/drill.h, docs/incidents.md). The collector's acknowledgement
 * may ask for one; with CONFIG_WARD_DRILLS the scenario DIR/<name>.json (--drill-dir) plays
 * on a second sim HAL beside the agent's own, at --drill-speed virtual ms per ms, for the
 * asked time; then the story's healthy start plays until its sensors are ok again (at most
 * RUN_DRILL_RECOVER_MS) and the drill is done. Without CONFIG_WARD_DRILLS, or with
 * --no-drills, every drill is refused and the heartbeat says why.
 */
#ifndef WARD_APPS_LINUX_RUN_DRILL_H_
#define WARD_APPS_LINUX_RUN_DRILL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/base/config.h"
#include "ward/hal/hal.h"
#if IS_ENABLED(CONFIG_WARD_DRILLS)
#include "ward/hal/sim.h"
#include "ward/hal/sim_impl.h"
#endif

#define RUN_DRILL_RECOVER_MS   60000
#define WARD_DRILL_DIR_DEFAULT "/usr/share/ward/scenarios"
#define RUN_DRILL_FILE_MAX     (64u * 1024u)

struct run;

struct run_drill {
    const char *dir; /* --drill-dir */
    bool off;        /* --no-drills */
    long speed;      /* --drill-speed, 1..100 */
    int64_t now_ms;  /* the loop's time, for the ack hook */
    int64_t start_ms;
    int64_t until_ms;   /* the story plays until here */
    int64_t recover_ms; /* then its healthy start until the sensors are ok, or this */
#if IS_ENABLED(CONFIG_WARD_DRILLS)
    struct ward_hal hal;
    struct ward_sim sim;
    char text[RUN_DRILL_FILE_MAX];
#endif
};

/** The reporting loop's ack hook (struct ward_uplink.on_ack): user is the struct run. */
void run_drill_on_ack(void *user, const char *body, size_t len);

/** Move a playing drill's clock; end it when its time is up. Each pass of the loop. */
void run_drill_tick(struct run *r, int64_t now);

#endif /* WARD_APPS_LINUX_RUN_DRILL_H_ */
