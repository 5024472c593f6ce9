/* Option tables (opt_table.h). */
#include "opt_table.h"

#include <string.h>

const struct opt_spec *opt_find(const struct opt_spec *table, size_t n, const char *name)
{
    for (size_t k = 0; k < n; k++) {
        if (strcmp(name, table[k].name) == 0) {
            return &table[k];
        }
    }
    return NULL;
}

void opt_usage(FILE *f, const char *synopsis, const struct opt_spec *table, size_t n)
{
    fputs(synopsis, f);
    fputs("\noptions:\n", f);
    for (size_t k = 0; k < n; k++) {
        char left[64];

        snprintf(left, sizeof(left), "%s%s%s", table[k].name, table[k].arg != NULL ? " " : "",
                 table[k].arg != NULL ? table[k].arg : "");
        fprintf(f, "  %-22s %s\n", left, table[k].help);
    }
    fputs("  -h, --help             this text\n", f);
}
