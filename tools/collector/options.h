/*
 * ward-collector's command line: one table of options (name, type, bounds, destination,
 * help) drives parsing, range checks and --help.
 */
#ifndef WCOL_OPTIONS_H_
#define WCOL_OPTIONS_H_

#include "server/collector.h"

/**
 * Fill cfg from the defaults and argv. Errors are one line on stderr.
 * @return 0 run; 1 done (--help, --version printed); 2 usage error.
 */
int wcol_options_parse(int argc, char **argv, struct wcol_collector_config *cfg);

#endif /* WCOL_OPTIONS_H_ */
