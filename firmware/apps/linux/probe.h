/*
 * `ward-agent probe`: what the HAL can see, grouped by class, as text for people or JSON for
 * machines (schema: docs/probe.md). A backend opener fills a struct probe_report; the
 * renderers only walk its struct ward_hal, so every backend prints the same way.
 */
#ifndef WARD_APPS_LINUX_PROBE_H_
#define WARD_APPS_LINUX_PROBE_H_

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ward/hal/hal.h"

#define PROBE_MAX_PROBLEMS 48
#define PROBE_MAX_LEFT_OUT 64
#define PROBE_SCHEMA       1

struct probe_args {
    const char *root;     /* --root DIR, or NULL for the real system */
    const char *scenario; /* --scenario FILE (sim backend) */
    uint64_t at_ms;       /* --at MS */
    bool json;
    bool pretty; /* --pretty: indented JSON */
};

/* A source that could not be read: listed in the output and once on stderr. */
struct probe_problem {
    char path[240];
    char message[400]; /* one line, without the "probe: " prefix */
    int err;           /* positive errno */
    unsigned count;
};

/* A block device that is not read as a disk, and why: not a problem, a fact of the machine. */
struct probe_left_out {
    char name[32];
    char why[120];
};

struct probe_report {
    struct ward_hal hal;
    const char *backend;  /* "linux" or "sim" */
    const char *root;     /* the tree read ("/" for the real system), NULL for sim */
    const char *scenario; /* sim: the scenario file, and its name and time */
    const char *scenario_name;
    uint64_t at_ms;
    unsigned n_problems;
    struct probe_problem problem[PROBE_MAX_PROBLEMS];
    unsigned n_left_out; /* listed; n_left_out_more past PROBE_MAX_LEFT_OUT */
    unsigned n_left_out_more;
    struct probe_left_out left_out[PROBE_MAX_LEFT_OUT];
};

/** Discover the Linux backend (and disks) under a->root. @return 0 or a negative errno. */
int probe_linux_open(const struct probe_args *a, struct probe_report *rep);

/** Load a->scenario into the sim backend at time a->at_ms. @return 0 or a negative errno. */
int probe_sim_open(const struct probe_args *a, struct probe_report *rep);

void probe_print_text(FILE *f, const struct probe_report *rep);
/** The document of docs/probe.md; pretty: one value per line, indented. */
void probe_print_json(FILE *f, const struct probe_report *rep, bool pretty);

#endif /* WARD_APPS_LINUX_PROBE_H_ */
