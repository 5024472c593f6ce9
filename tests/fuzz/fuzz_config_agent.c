/*
 * Fuzz harness for ward-agent run's configuration file (ward.conf(5); run_config.c,
 * run_config_load()): the input, at most 32 KiB + 1 (the agent refuses larger files), as the
 * file of --config, read through an option table with every field and kind of run's (the table
 * in cmd_run.c is private to the command). The file is a private temporary one
 * (input_file.h). The tools' files and the shared scanner are fuzz_config.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "input_file.h"
#include "run_config.h"
#include "run_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The loop's log level (run_log.c, which needs the whole run loop): not used here. */
void run_log_set_level(enum run_log_level level)
{
    (void)level;
}

static const struct opt_spec k_run[] = {
    { "--collector", offsetof(struct opts, collector), OPT_TEXT, "A", "" },
    { "--ca", offsetof(struct opts, ca), OPT_TEXT, "F", "" },
    { "--cert", offsetof(struct opts, cert), OPT_TEXT, "F", "" },
    { "--key", offsetof(struct opts, key), OPT_TEXT, "F", "" },
    { "--state-dir", offsetof(struct opts, state_dir), OPT_TEXT, "D", "" },
    { "--device-id", offsetof(struct opts, device_id), OPT_TEXT, "I", "" },
    { "--server-name", offsetof(struct opts, server_name), OPT_TEXT, "N", "" },
    { "--scenario", offsetof(struct opts, scenario), OPT_TEXT, "F", "" },
    { "--root", offsetof(struct opts, root), OPT_TEXT, "D", "" },
    { "--rules", offsetof(struct opts, rules), OPT_TEXT, "F", "" },
    { "--for", offsetof(struct opts, run_for_s), OPT_SECONDS, "S", "" },
    { "--agentx", offsetof(struct opts, agentx), OPT_TEXT, "A", "" },
    { "--metrics", offsetof(struct opts, metrics), OPT_TEXT, "A", "" },
    { "--metrics-token", offsetof(struct opts, metrics_token), OPT_TEXT, "F", "" },
    { "--metrics-tls", offsetof(struct opts, metrics_tls), OPT_FLAG, NULL, "" },
    { "--log-level", offsetof(struct opts, log_level), OPT_TEXT, "L", "" },
    { "--drill-dir", offsetof(struct opts, drill_dir), OPT_TEXT, "D", "" },
    { "--drill-speed", offsetof(struct opts, drill_speed), OPT_SECONDS, "N", "" },
    { "--no-drills", offsetof(struct opts, no_drills), OPT_FLAG, NULL, "" },
    { "--config", offsetof(struct opts, config), OPT_TEXT, "F", "" },
    { "--check-config", offsetof(struct opts, check_config), OPT_FLAG, NULL, "" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct opts cli = { 0 };
    struct opts o;

    if (size > RUN_CONFIG_MAX + 1) {
        return 0;
    }
    cli.config = fuzz_input_file("config-agent", data, size);
    (void)run_config_load(&o, &cli, k_run, sizeof(k_run) / sizeof(k_run[0]));
    return 0;
}
