/* ward-agent run: drills (run_drill.h). */
#include "run_drill.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "ward/drill.h"
#include "ward/wire/ack.h"

static void set_status(struct run *r, uint32_t id, enum ward_drill_state st, const char *scenario,
                       const char *reason)
{
    struct ward_drill_status *d = &r->agent.drill;

    d->id = id;
    d->state = (uint8_t)st;
    snprintf(d->scenario, sizeof(d->scenario), "%s", scenario);
    snprintf(d->reason, sizeof(d->reason), "%s", reason != NULL ? reason : "");
    fprintf(stderr, "ward-agent: drill %u (%s): %s%s%s\n", (unsigned)id, scenario,
            ward_drill_state_name((uint8_t)st), reason != NULL ? ": " : "",
            reason != NULL ? reason : "");
}

#if IS_ENABLED(CONFIG_WARD_DRILLS)
/* Read DIR/<name>.json into the drill's own buffer (no heap after start-up). */
static int load(struct run_drill *d, const char *name, char *err, size_t err_len)
{
    char path[512];
    FILE *f;
    size_t n;
    int rc;

    snprintf(path, sizeof(path), "%s/%s.json", d->dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_len, "no scenario %s in the drill directory", name);
        return -ENOENT;
    }
    n = fread(d->text, 1, sizeof(d->text), f);
    rc = ferror(f) ? -EIO : (n == sizeof(d->text) ? -EFBIG : 0);
    fclose(f);
    if (rc != 0) {
        snprintf(err, err_len, "scenario %s: %s", name, rc == -EFBIG ? "too large" : "read error");
        return rc;
    }
    memset(&d->hal, 0, sizeof(d->hal));
    rc = ward_sim_init(&d->sim, &d->hal, d->text, n, err, err_len);
    if (rc != 0 && err[0] == '\0') {
        snprintf(err, err_len, "scenario %s: %s", name, strerror(-rc));
    }
    return rc;
}

static void start(struct run *r, const struct ward_wire_drill *w, int64_t now)
{
    struct run_drill *d = &r->drill;
    char err[WARD_DRILL_REASON_MAX + 1] = "";

    if (r->agent.drill_hal != NULL) {
        set_status(r, w->id, WARD_DRILL_REFUSED, w->scenario, "another drill is playing");
        return;
    }
    if (load(d, w->scenario, err, sizeof(err)) != 0) {
        set_status(r, w->id, WARD_DRILL_REFUSED, w->scenario, err);
        return;
    }
    d->start_ms = now;
    d->until_ms = now + (int64_t)w->for_s * 1000;
    d->recover_ms = INT64_MAX;
    ward_sim_set_time(&d->sim, 0);
    r->agent.drill_hal = &d->hal;
    set_status(r, w->id, WARD_DRILL_RUNNING, w->scenario, NULL);
}

/* True when every sensor of the drill is ok (or it has none not ok). */
static bool drill_sensors_ok(const struct ward_agent *a)
{
    for (unsigned i = 0; i < a->health.n_sensors; i++) {
        const struct ward_sensor *s = ward_health_sensor_at(&a->health, i);

        if (s != NULL && ward_drill_sensor(s->id) && s->state != WARD_STATE_OK) {
            return false;
        }
    }
    return true;
}

void run_drill_tick(struct run *r, int64_t now)
{
    struct run_drill *d = &r->drill;
    struct ward_drill_status *st = &r->agent.drill;

    d->now_ms = now;
    if (r->agent.drill_hal == NULL) {
        return;
    }
    if (now < d->until_ms) {
        ward_sim_set_time(&d->sim, (uint64_t)((now - d->start_ms) * d->speed));
        return;
    }
    /* Time is up: the story's healthy start plays until its sensors have recovered. */
    if (d->recover_ms == INT64_MAX) {
        d->recover_ms = now + RUN_DRILL_RECOVER_MS;
        ward_sim_set_time(&d->sim, 0);
        if (st->state == WARD_DRILL_RUNNING) {
            st->state = WARD_DRILL_DONE;
        }
        fprintf(stderr, "ward-agent: drill %u (%s): %s; recovering\n", (unsigned)st->id,
                st->scenario, ward_drill_state_name(st->state));
        return;
    }
    if (drill_sensors_ok(&r->agent) || now >= d->recover_ms) {
        r->agent.drill_hal = NULL;
        if (now >= d->recover_ms) {
            snprintf(st->reason, sizeof(st->reason), "its sensors did not recover in time");
        }
        fprintf(stderr, "ward-agent: drill %u (%s): over%s%s\n", (unsigned)st->id, st->scenario,
                st->reason[0] ? ": " : "", st->reason);
    }
}
#else
void run_drill_tick(struct run *r, int64_t now)
{
    r->drill.now_ms = now;
}
#endif

void run_drill_on_ack(void *user, const char *body, size_t len)
{
    struct run *r = user;
    struct ward_wire_drill w;
    int64_t now = r->drill.now_ms;

    if (ward_wire_ack_drill(body, len, &w) != 1) {
        return;
    }
    if (w.stop) {
        /* Only the drill playing stops; its recovery follows as when its time runs out. */
        if (w.id == r->agent.drill.id && r->agent.drill.state == WARD_DRILL_RUNNING) {
            r->agent.drill.state = WARD_DRILL_STOPPED;
            r->drill.until_ms = now;
            fprintf(stderr, "ward-agent: drill %u (%s): stopped by the collector\n", (unsigned)w.id,
                    r->agent.drill.scenario);
        }
        return;
    }
    if (w.id == r->agent.drill.id) {
        return; /* already answered: the collector repeats it until the heartbeat names it */
    }
    if (!IS_ENABLED(CONFIG_WARD_DRILLS)) {
        set_status(r, w.id, WARD_DRILL_REFUSED, w.scenario,
                   "drills are not built into this board (CONFIG_WARD_DRILLS)");
        return;
    }
    if (r->drill.off) {
        set_status(r, w.id, WARD_DRILL_REFUSED, w.scenario, "drills are off (--no-drills)");
        return;
    }
#if IS_ENABLED(CONFIG_WARD_DRILLS)
    start(r, &w, now);
#endif
}
