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
