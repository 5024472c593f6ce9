/*
 * ward-collector's command line: one table of options (name, type, bounds, destination,
 * help) drives parsing, range checks and --help.
 */
#ifndef WCOL_OPTIONS_H_
#define WCOL_OPTIONS_H_

#include "server/collector.h"

/* Read when no --config is given and the file exists (ward.conf(5)). */
#define WCOL_CONFIG_DEFAULT "/etc/ward/collector.conf"

/**
 * Fill cfg from the defaults and argv. Errors are one line on stderr.
 * @return 0 run; 1 done (--help, --version printed); 2 usage error.
 */
int wcol_options_parse(int argc, char **argv, struct wcol_collector_config *cfg);

/**
 * SIGHUP: parse the configuration file and the command line again and log which options
 * differ from the running ones. The log level changes at once; other options take effect at
 * the next start (named as such). The running configuration is never modified otherwise.
 * @return 0, -EINVAL when the file does not load (logged; nothing changed).
 */
int wcol_options_reload(void);

#endif /* WCOL_OPTIONS_H_ */
