#include <stdio.h>

#include "ward/selftest.h"
#include "commands.h"

static void print_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("selftest: %s\n", line);
}

void cmd_selftest_usage(FILE *f)
{
    fputs("usage: ward-agent selftest\n"
          "Run the portable core's self-tests on this machine; exit 1 if one fails.\n",
          f);
}

int cmd_selftest(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        cmd_selftest_usage(stderr);
        return 2;
    }
    return ward_selftest_run(print_line, NULL, NULL) == 0 ? 0 : 1;
}
