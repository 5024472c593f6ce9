/*
 * ward-agent: dispatch to a subcommand. Each command parses its own options and prints
 * one clear line on stderr for any error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *f);
    const char *summary;
};

static const struct command s_commands[] = {
    { "version", cmd_version, cmd_version_usage, "print the banner (--json for machines)" },
    { "selftest", cmd_selftest, cmd_selftest_usage,
      "run the portable core's self-tests on this machine" },
    { "run", cmd_run, cmd_run_usage, "sample, evaluate and report to a collector (mutual TLS)" },
    { "probe", cmd_probe, cmd_probe_usage, "list every sensor, disk, NIC and load the HAL sees" },
    { "replay", cmd_replay, cmd_replay_usage, "feed a recorded trace through the health engine" },
    { "smart-decode", cmd_smart_decode, cmd_smart_decode_usage,
      "decode captured SMART pages (ATA or NVMe)" },
    { "enroll", cmd_enroll, cmd_enroll_usage,
      "make this device's key and certificate signing request" },
#ifdef WARD_AGENT_TRANSPORT
    { "cert-renew", cmd_renew, cmd_renew_usage,
      "renew the certificate over mutual TLS before it expires" },
#endif
};

/* --help or -h anywhere after the command asks for its usage: no other argument is read. */
static bool wants_help(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return true;
        }
    }
    return false;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ward-agent COMMAND [OPTIONS]\n       ward-agent --version\n"
               "       ward-agent COMMAND --help\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(s_commands) / sizeof(s_commands[0]); i++) {
        fprintf(f, "  %-12s %s\n", s_commands[i].name, s_commands[i].summary);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        return cmd_version(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(s_commands) / sizeof(s_commands[0]); i++) {
        if (strcmp(argv[1], s_commands[i].name) == 0) {
            if (wants_help(argc, argv)) {
                s_commands[i].usage(stdout);
                return 0;
            }
            return s_commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "ward-agent: unknown command '%s'; run 'ward-agent --help' for the list\n",
            argv[1]);
    return 2;
}
