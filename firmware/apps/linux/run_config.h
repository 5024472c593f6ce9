/*
 * ward-agent run's configuration file (ward.conf(5), docs/config.md "Configuration files"):
 * `key = value` lines whose keys are run's options without the dashes, read through run's own
 * option table, so every option has a key. Options on the command line win over the file.
 * SIGHUP reads the file again: the rules (with their intervals and thresholds) and the log
 * level change at once, anything else is named as needing a restart, and a file or rules that
 * do not load leave the running configuration as it was.
 *
 * No heap: the file and its values live in two static buffers (the running configuration and
 * the one a reload builds), so a reload in the loop allocates nothing.
 */
#ifndef WARD_APPS_LINUX_RUN_CONFIG_H_
#define WARD_APPS_LINUX_RUN_CONFIG_H_

#include <stddef.h>
#include <stdint.h>

#include "opt_table.h"
#include "run.h"

/* Read when no --config is given and the file exists. */
#define RUN_CONFIG_DEFAULT   "/etc/ward/agent.conf"
#define RUN_CONFIG_MAX       (32u * 1024u) /* bytes of a configuration file */
#define RUN_RULES_RELOAD_MAX (64u * 1024u) /* bytes of a rules file read again on SIGHUP */

/* Log levels of --log-level (the loop's lines; start-up errors always print). */
enum run_log_level { RUN_LOG_ERROR, RUN_LOG_WARN, RUN_LOG_INFO, RUN_LOG_DEBUG };

/**
 * o = the configuration file (cli->config, else RUN_CONFIG_DEFAULT if it exists) with cli's
 * options on top. Keeps cli and the table for run_config_reload(). Errors are one line on
 * stderr naming FILE:LINE.
 * @return 0, or 2 (a usage error).
 */
int run_config_load(struct opts *o, const struct opts *cli, const struct opt_spec *table, size_t n);

/** --log-level's value. @return 0, -EINVAL for an unknown name. */
int run_config_log_level(const char *name, enum run_log_level *out);

/**
 * --check-config: the options are complete (the caller checked), the files they name are
 * readable and the rules file parses. Prints one line per problem, or one "ok" line.
 * @return 0 when the configuration would start, 1 otherwise.
 */
int run_config_check(const struct opts *o);

/**
 * SIGHUP: read the configuration again and apply what can change while running. Logs one
 * line per change, or why nothing changed.
 * @return 0 applied, a negative errno when the running configuration was kept.
 */
int run_config_reload(struct run *r, int64_t now);

#endif /* WARD_APPS_LINUX_RUN_CONFIG_H_ */
