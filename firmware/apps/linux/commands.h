/* ward-agent's subcommands on Linux boards: one file each, listed in main.c. */
#ifndef WARD_APPS_LINUX_COMMANDS_H_
#define WARD_APPS_LINUX_COMMANDS_H_

/* Each returns the process exit status: 0 success, 1 failure, 2 usage error. */
int cmd_version(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_smart_decode(int argc, char **argv);

#endif /* WARD_APPS_LINUX_COMMANDS_H_ */
