/* ward-agent run's stderr lines with a timestamp and a level (run_stderr.h). */
#define _GNU_SOURCE /* fopencookie() */
#include "ward/base/config.h"

#if IS_ENABLED(CONFIG_WARD_TRANSPORT)

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "run_stderr.h"

#define LINE_MAX_BYTES 1024 /* longer lines are cut (the agent's lines are shorter) */

static const char *const k_names[] = { "error", "warn", "info", "debug" };
static const char k_syslog[] = { '3', '4', '6', '7' }; /* err, warning, info, debug */

static char s_line[LINE_MAX_BYTES];
static size_t s_len;
static char s_buf[LINE_MAX_BYTES];
static bool s_journal;
static int s_mark = -1;
static enum run_log_level s_default = RUN_LOG_ERROR;

void run_stderr_mark(enum run_log_level level)
{
    s_mark = (int)level;
}

void run_stderr_unmark(void)
{
    s_mark = -1;
}

void run_stderr_default(enum run_log_level level)
{
    s_default = level;
}

/* systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is the journal. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    return js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
           fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

static void emit(void)
{
    char out[LINE_MAX_BYTES + 64];
    int level = s_mark >= 0 ? s_mark : (int)s_default;
    int n;

    if (s_journal) {
        n = snprintf(out, sizeof(out), "<%c>", k_syslog[level]);
    } else {
        struct timeval tv;
        struct tm tm;

        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        n = snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), k_names[level]);
    }
    memcpy(out + n, s_line, s_len);
    n += (int)s_len;
    out[n++] = '\n';
    (void)!write(STDERR_FILENO, out, (size_t)n);
    s_len = 0;
}

static ssize_t on_write(void *cookie, const char *buf, size_t size)
{
    (void)cookie;
    for (size_t i = 0; i < size; i++) {
        if (buf[i] == '\n') {
            emit();
        } else if (s_len < sizeof(s_line)) {
            s_line[s_len++] = buf[i];
        }
    }
    return (ssize_t)size;
}

int run_stderr_install(void)
{
    static const cookie_io_functions_t io = { .write = on_write };
    FILE *f;

    s_journal = stderr_is_journal();
    f = fopencookie(NULL, "w", io);
    if (f == NULL) {
        return -errno;
    }
    setvbuf(f, s_buf, _IOLBF, sizeof(s_buf));
    fflush(stderr);
    stderr = f;
    return 0;
}

#endif /* CONFIG_WARD_TRANSPORT */
