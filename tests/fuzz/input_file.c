/* A fuzz input as a file (input_file.h). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "input_file.h"

static char s_path[4096];
static int s_fd = -1;

static void drop(void)
{
    close(s_fd);
    unlink(s_path);
}

const char *fuzz_input_file(const char *name, const uint8_t *data, size_t size)
{
    if (s_fd < 0) {
        const char *tmp = getenv("TMPDIR");

        snprintf(s_path, sizeof(s_path), "%s/fuzz-%s-XXXXXX", tmp != NULL ? tmp : "/tmp", name);
        if ((s_fd = mkstemp(s_path)) < 0) {
            perror("fuzz: mkstemp");
            abort();
        }
        atexit(drop);
    }
    if (ftruncate(s_fd, 0) != 0 || pwrite(s_fd, data, size, 0) != (ssize_t)size) {
        perror("fuzz: writing the input file");
        abort();
    }
    return s_path;
}
