#include <stdio.h>
#include <string.h>

#include "ward/base/config.h"
#include "ward/digest.h"
#include "ward/version.h"
#include "commands.h"

static int print_json(void)
{
    uint8_t d[WARD_DIGEST_LEN];
    char hex[WARD_DIGEST_HEX_LEN + 1];

    if (ward_config_digest(d) != 0 || ward_digest_hex(d, sizeof(d), hex, sizeof(hex)) != 0) {
        fprintf(stderr, "ward-agent: cannot compute the configuration digest\n");
        return 1;
    }
    /* Every value here is a fixed identifier without quotes or backslashes. */
    printf("{\"name\":\"ward-agent\",\"version\":\"%s\",\"board\":\"%s\",\"arch\":\"%s\","
           "\"config_sha256\":\"%s\"}\n",
           ward_version(), WARD_BOARD_NAME, WARD_ARCH, hex);
    return 0;
}

void cmd_version_usage(FILE *f)
{
    fputs("usage: ward-agent version [--json]\n"
          "       ward-agent --version [--json]\n"
          "Print the banner: version, board, architecture and configuration digest.\n"
          "\n"
          "options:\n"
          "  --json                 one JSON object for machines\n"
          "  -h, --help             this text\n",
          f);
}

int cmd_version(int argc, char **argv)
{
    char banner[160];
    int rc;

    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0)) {
        cmd_version_usage(stderr);
        return 2;
    }
    if (argc == 2) {
        return print_json();
    }
    rc = ward_banner_format(banner, sizeof(banner));
    if (rc < 0) {
        fprintf(stderr, "ward-agent: cannot format the banner (error %d)\n", rc);
        return 1;
    }
    printf("%s\n", banner);
    return 0;
}
