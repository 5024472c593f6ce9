/* Option tables (opt_table.h). */
#include "opt_table.h"

#include <stdbool.h>
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

int opt_parse_flat(const struct opt_spec *table, size_t n, int argc, char **argv, void *args,
                   size_t args_size, const char *prog)
{
    memset(args, 0, args_size);
    for (int i = 1; i < argc; i++) {
        const struct opt_spec *o = opt_find(table, n, argv[i]);

        if (o == NULL) {
            fprintf(stderr, "%s: unknown option '%s' (see --help)\n", prog, argv[i]);
            return 2;
        }
        /* memcpy: the field's alignment is unknown through char * (-Wcast-align on ARM) */
        if (o->kind == OPT_FLAG) {
            bool on = true;

            memcpy((char *)args + o->off, &on, sizeof(on));
        } else if (i + 1 < argc && argv[i + 1][0] != '\0') {
            const char *v = argv[++i];

            memcpy((char *)args + o->off, &v, sizeof(v));
        } else {
            fprintf(stderr, "%s: %s needs a value\n", prog, argv[i]);
            return 2;
        }
    }
    return 0;
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
