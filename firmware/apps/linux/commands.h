/* ward-agent's subcommands on Linux boards: one file each, listed in main.c. */
#ifndef WARD_APPS_LINUX_COMMANDS_H_
#define WARD_APPS_LINUX_COMMANDS_H_

#include <stdio.h>

/* Each returns the process exit status: 0 success, 1 failure, 2 usage error. */
int cmd_version(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_smart_decode(int argc, char **argv);
int cmd_enroll(int argc, char **argv);
int cmd_renew(int argc, char **argv);

/* Each prints its command's usage (starting "usage: ", lines within 80 columns) to f. */
void cmd_version_usage(FILE *f);
void cmd_selftest_usage(FILE *f);
void cmd_run_usage(FILE *f);
void cmd_probe_usage(FILE *f);
void cmd_replay_usage(FILE *f);
void cmd_smart_decode_usage(FILE *f);
void cmd_enroll_usage(FILE *f);
void cmd_renew_usage(FILE *f);

#endif /* WARD_APPS_LINUX_COMMANDS_H_ */
