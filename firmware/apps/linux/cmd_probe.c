/*
 * ward-agent probe [--root DIR] [--json [--pretty]]
 * ward-agent probe --scenario FILE [--at MS] [--json [--pretty]]    (boards with the sim backend)
 *
 * Discovers and prints everything the HAL can see. Exit status 0 when the inventory was read,
 * even if some sources were unavailable (they are listed, and each gets one line on stderr);
 * 1 when the backend could not start; 2 for a usage error.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "opt_table.h"
#include "probe.h"
#include "ward/base/config.h"

static const char s_synopsis[] =
    "usage: ward-agent probe [--root DIR] [--json [--pretty]]\n"
    "       ward-agent probe --scenario FILE [--at MS] [--json [--pretty]]\n"
    "List every sensor, disk, NIC and host load the HAL sees.\n";

/* --at MS: a decimal number of milliseconds. */
static int parse_ms(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0') {
        return -EINVAL;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9u) / 10u) {
            return -EINVAL;
        }
        v = v * 10u + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

static const struct opt_spec k_opts[] = {
    { "--json", offsetof(struct probe_args, json), OPT_FLAG, NULL,
      "machine-readable output (default: a table)" },
    { "--pretty", offsetof(struct probe_args, pretty), OPT_FLAG, NULL,
      "with --json: one value per line, indented" },
    { "--root", offsetof(struct probe_args, root), OPT_TEXT, "DIR",
      "read the Linux tree under DIR (default: /)" },
    { "--scenario", offsetof(struct probe_args, scenario), OPT_TEXT, "FILE",
      "probe a scenario instead (sim backend only)" },
    { "--at", offsetof(struct probe_args, at_ms), OPT_MS, "MS",
      "time in the scenario, milliseconds (default: 0)" },
};

void cmd_probe_usage(FILE *f)
{
    opt_usage(f, s_synopsis, k_opts, sizeof(k_opts) / sizeof(k_opts[0]));
}

/* Store one option's value (v: the next argument, NULL at the end). @return 0 or -EINVAL. */
static int set_opt(struct probe_args *a, const struct opt_spec *opt, const char *v)
{
    void *field = (char *)a + opt->off;

    if (opt->kind == OPT_FLAG) {
        *(bool *)field = true;
        return 0;
    }
    if (v == NULL) {
        fprintf(stderr, "probe: %s needs a value\n", opt->name);
        cmd_probe_usage(stderr);
        return -EINVAL;
    }
    if (opt->kind == OPT_TEXT) {
        *(const char **)field = v;
        return 0;
    }
    if (parse_ms(v, field) != 0) {
        fprintf(stderr, "probe: %s wants milliseconds (a whole number), not '%s'\n", opt->name, v);
        return -EINVAL;
    }
    return 0;
}

static int check_args(const struct probe_args *a, bool have_at)
{
    if (a->scenario != NULL && a->root != NULL) {
        fprintf(stderr, "probe: --root reads a Linux tree and --scenario plays a scenario: give "
                        "one of them\n");
        return -EINVAL;
    }
    if (a->pretty && !a->json) {
        fprintf(stderr, "probe: --pretty indents the JSON output: it needs --json\n");
        return -EINVAL;
    }
    if (have_at && a->scenario == NULL) {
        fprintf(stderr, "probe: --at is a time in a scenario: it needs --scenario FILE\n");
        return -EINVAL;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct probe_args *a)
{
    bool have_at = false;

    for (int i = 1; i < argc; i++) {
        const struct opt_spec *opt = opt_find(k_opts, sizeof(k_opts) / sizeof(k_opts[0]), argv[i]);
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (opt == NULL) {
            fprintf(stderr, "probe: unknown option '%s'\n", argv[i]);
            cmd_probe_usage(stderr);
            return -EINVAL;
        }
        if (set_opt(a, opt, v) != 0) {
            return -EINVAL;
        }
        if (opt->kind != OPT_FLAG) {
            i++;
        }
        have_at = have_at || opt->kind == OPT_MS;
    }
    return check_args(a, have_at);
}

static int open_backend(const struct probe_args *a, struct probe_report *rep)
{
    /* Calls sit inside if (IS_ENABLED(...)): a disabled backend is not even referenced. */
    if (a->scenario != NULL) {
        if (IS_ENABLED(CONFIG_WARD_HAL_SIM)) {
            return probe_sim_open(a, rep);
        }
        fprintf(stderr, "probe: --scenario needs the sim backend; this build has none "
                        "(CONFIG_WARD_HAL_SIM)\n");
        return -ENOTSUP;
    }
    if (IS_ENABLED(CONFIG_WARD_HAL_LINUX)) {
        return probe_linux_open(a, rep);
    }
    fprintf(stderr, "probe: this build reads no hardware (no CONFIG_WARD_HAL_LINUX); give "
                    "--scenario FILE\n");
    return -ENOTSUP;
}

int cmd_probe(int argc, char **argv)
{
    static struct probe_report rep; /* large: static, like all of the agent's state */
    struct probe_args a = { 0 };
    int rc;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cmd_probe_usage(stdout);
        return 0;
    }
    if (parse_args(argc, argv, &a) != 0) {
        return 2;
    }
    memset(&rep, 0, sizeof(rep));
    rc = open_backend(&a, &rep);
    if (rc == -ENOTSUP) {
        return 2;
    }
    if (rc != 0) {
        return 1;
    }
    if (a.json) {
        probe_print_json(stdout, &rep, a.pretty);
    } else {
        probe_print_text(stdout, &rep);
    }
    /* The text lists the problems itself: on one terminal, saying them again is noise. */
    for (unsigned i = 0;
         (a.json || !isatty(STDOUT_FILENO) || !isatty(STDERR_FILENO)) && i < rep.n_problems; i++) {
        fprintf(stderr, "probe: %s\n", rep.problem[i].message);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "probe: cannot write the output: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
