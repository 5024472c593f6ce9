#include <stdio.h>

#include "ward/selftest.h"
#include "commands.h"

static void print_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("selftest: %s\n", line);
}

int cmd_selftest(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "ward-agent: usage: ward-agent selftest\n");
        return 2;
    }
    return ward_selftest_run(print_line, NULL, NULL) == 0 ? 0 : 1;
}
