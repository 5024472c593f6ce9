/*
 * Fuzz harness for the collector's operator tokens file (tools/collector/api/tokens.c,
 * wcol_tokens_load()): the input is the file's contents, written to a private temporary file
 * (mode 0600, as the loader demands). A load either fails and keeps the previous list or
 * yields at most WCOL_TOKENS_MAX well-formed entries; the input is then also presented as an
 * Authorization header, which must never match unless it hashes to a listed token.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wcol_tokens s_tokens;
static char s_path[4096];
static int s_fd = -1;

static void remove_file(void)
{
    if (s_fd >= 0) {
        close(s_fd);
        unlink(s_path);
    }
}

static int open_file(void)
{
    const char *dir = getenv("TMPDIR");

    snprintf(s_path, sizeof(s_path), "%s/fuzz-tokens-XXXXXX", dir != NULL ? dir : "/tmp");
    s_fd = mkstemp(s_path); /* 0600 */
    if (s_fd < 0) {
        perror("fuzz_collector_tokens: mkstemp");
        abort();
    }
    atexit(remove_file);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int n;

    if (s_fd < 0) {
        open_file();
    }
    if (ftruncate(s_fd, 0) != 0 || pwrite(s_fd, data, size, 0) != (ssize_t)size) {
        abort();
    }
    memset(&s_tokens, 0, sizeof(s_tokens));
    n = wcol_tokens_load(&s_tokens, s_path);
    if (n >= 0) {
        if ((unsigned)n != s_tokens.n || n > WCOL_TOKENS_MAX) {
            abort();
        }
        for (unsigned i = 0; i < s_tokens.n; i++) {
            size_t len = strnlen(s_tokens.entry[i].name, sizeof(s_tokens.entry[i].name));

            if (len == 0 || len > WCOL_TOKEN_NAME_MAX) {
                abort();
            }
        }
    } else if (s_tokens.n != 0) {
        abort(); /* a failed load must leave the list it was given untouched */
    }
    (void)wcol_tokens_check(&s_tokens, (const char *)data, size);
    return 0;
}
