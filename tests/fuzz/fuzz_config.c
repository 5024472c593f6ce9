/*
 * Fuzz harness for the configuration files (ward.conf(5)) of ward-collector and wardctl, and
 * the scanner all three programs share. The input is one file's bytes, at most 64 KiB (the
 * largest the tools read):
 *  - the base tier's scanner (firmware/base/src/conf.c) walks them in memory: every setting
 *    it hands out has a key of 1..64 key characters, a value of at most 4096 bytes and a line
 *    number past the previous one; an error names a reason and a line;
 *  - the collector reads them as its --config file (wcol_options_parse(),
 *    tools/collector/options.c: its option table, every value's parser and bounds, the checks
 *    between options);
 *  - wardctl reads them as its --config file (resolve_defaults(), tools/wardctl/config.c), as
 *    for `wardctl login`, so no token file is looked for.
 * The file is a private temporary one (input_file.h). ward-agent's file is fuzz_config_agent.c:
 * the agent links the firmware's mbedTLS configuration, the tools theirs, and two
 * configurations of one library must not meet in a binary.
 */
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/base/conf.h"

#include "input_file.h"
#include "options.h"
#include "wardctl.h"

#define INPUT_MAX (64u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* wardctl's main (wardctl.c) sets it on SIGINT; the client (client.c) reads it. */
volatile sig_atomic_t g_wardctl_stop;

/* wardctl's login session (access.c, which needs the commands): none here. */
const char *session_path(void)
{
    return NULL;
}

static bool is_key_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

static void scan(const uint8_t *data, size_t size)
{
    static struct ward_conf_setting s;
    struct ward_conf c;
    const char *why = NULL;
    unsigned last = 0;
    bool flag;
    int rc;

    ward_conf_init(&c, (const char *)data, size);
    while ((rc = ward_conf_next(&c, &s, &why)) > 0) {
        size_t klen = strnlen(s.key, sizeof(s.key));

        if (klen == 0 || klen > WARD_CONF_KEY_MAX || strlen(s.value) > WARD_CONF_VALUE_MAX ||
            s.line <= last || s.line != c.line) {
            abort();
        }
        for (size_t i = 0; i < klen; i++) {
            if (!is_key_char(s.key[i])) {
                abort();
            }
        }
        last = s.line;
        (void)ward_conf_bool(s.value, &flag);
    }
    if (rc < 0 && (why == NULL || c.line == 0)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char arg0[] = "ward-collector", arg1[] = "--config";
    char *argv[] = { arg0, arg1, NULL, NULL };
    struct wcol_collector_config cfg;
    struct opts o = { .anonymous = true };
    char token[600];

    if (size > INPUT_MAX) {
        return 0;
    }
    scan(data, size);
    argv[2] = (char *)fuzz_input_file("config", data, size);
    (void)wcol_options_parse(3, argv, &cfg);
    o.config = argv[2];
    (void)resolve_defaults(&o, token, sizeof(token));
    return 0;
}
