/*
 * Option tables of ward-agent's subcommands: each command lists its options as
 * { name, offset of the field in its argument struct, kind } and parses through the table.
 */
#ifndef WARD_APPS_LINUX_OPT_TABLE_H_
#define WARD_APPS_LINUX_OPT_TABLE_H_

#include <stddef.h>
#include <stdio.h>

enum opt_kind {
    OPT_FLAG,    /* bool, no value */
    OPT_TEXT,    /* const char *, the next argument */
    OPT_SECONDS, /* long > 0 */
    OPT_MS,      /* uint64_t milliseconds */
};

struct opt_spec {
    const char *name;
    size_t off;
    enum opt_kind kind;
    const char *arg;  /* the value's placeholder in the usage ("FILE"), NULL for a flag */
    const char *help; /* one short line for the usage, with the default and unit */
};

/** The entry named name in table[0, n), or NULL. */
const struct opt_spec *opt_find(const struct opt_spec *table, size_t n, const char *name);

/**
 * Parse argv[1, argc) of a command whose options are all OPT_FLAG or OPT_TEXT into the struct
 * args, zeroed first. @return 0, or 2 after one "PROG: ..." line on stderr.
 */
int opt_parse_flat(const struct opt_spec *table, size_t n, int argc, char **argv, void *args,
                   size_t args_size, const char *prog);

/**
 * Print a command's usage to f: the synopsis (already wrapped, each line ending in '\n'), then
 * "options:" and one line per entry of table[0, n) with its placeholder and help. Every line
 * stays within 80 columns as long as name + arg fit in 22 and help in 55 characters.
 */
void opt_usage(FILE *f, const char *synopsis, const struct opt_spec *table, size_t n);

#endif /* WARD_APPS_LINUX_OPT_TABLE_H_ */
