/* probe on the sim backend: a scenario file played at a given virtual time. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "probe.h"
#include "ward/hal/sim.h"
#include "ward/hal/sim_impl.h"

#define PROBE_SCENARIO_MAX (256 * 1024)

static struct ward_sim s_sim;
static char s_text[PROBE_SCENARIO_MAX];

int probe_sim_open(const struct probe_args *a, struct probe_report *rep)
{
    char err[200] = "";
    size_t len;
    FILE *f = fopen(a->scenario, "rb");
    int rc;

    if (f == NULL) {
        rc = -errno;
        fprintf(stderr, "probe: --scenario %s: %s\n", a->scenario, strerror(-rc));
        return rc;
    }
    len = fread(s_text, 1, sizeof(s_text), f);
    rc = ferror(f) ? -EIO : (len == sizeof(s_text) && fgetc(f) != EOF) ? -EFBIG : 0;
    fclose(f);
    if (rc != 0) {
        fprintf(stderr, "probe: --scenario %s: %s\n", a->scenario,
                rc == -EFBIG ? "larger than 256 KiB" : strerror(-rc));
        return rc;
    }
    rc = ward_sim_init(&s_sim, &rep->hal, s_text, len, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "probe: --scenario %s: %s\n", a->scenario, err[0] ? err : strerror(-rc));
        return rc;
    }
    ward_sim_set_time(&s_sim, a->at_ms);
    rep->backend = "sim";
    rep->scenario = a->scenario;
    rep->scenario_name = ward_sim_name(&s_sim);
    rep->at_ms = a->at_ms;
    return 0;
}
