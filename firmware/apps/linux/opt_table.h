/*
 * Option tables of ward-agent's subcommands: each command lists its options as
 * { name, offset of the field in its argument struct, kind } and parses through the table.
 */
#ifndef WARD_APPS_LINUX_OPT_TABLE_H_
#define WARD_APPS_LINUX_OPT_TABLE_H_

#include <stddef.h>

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
};

/** The entry named name in table[0, n), or NULL. */
const struct opt_spec *opt_find(const struct opt_spec *table, size_t n, const char *name);

#endif /* WARD_APPS_LINUX_OPT_TABLE_H_ */
