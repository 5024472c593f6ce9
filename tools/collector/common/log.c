#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static enum wcol_log_level s_level = WCOL_LOG_INFO;

/*
 * A flood of bad clients must not flood the log: at most LINES_PER_SECOND lines below error
 * per second; the rest are counted and the count is logged when the next second starts.
 */
#define LINES_PER_SECOND 200
static time_t s_second;
static unsigned s_lines;
static unsigned long s_suppressed;
static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const s_names[] = { "error", "warn", "info", "debug" };

void wcol_log_set_level(enum wcol_log_level level)
{
    __atomic_store_n(&s_level, level, __ATOMIC_RELAXED); /* read by the device loops */
}

int wcol_log_parse_level(const char *name, enum wcol_log_level *level)
{
    for (unsigned i = 0; i < sizeof(s_names) / sizeof(s_names[0]); i++) {
        if (strcmp(name, s_names[i]) == 0) {
            *level = (enum wcol_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void wcol_log(enum wcol_log_level level, const char *fmt, ...)
{
    char line[1024];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    if (level > __atomic_load_n(&s_level, __ATOMIC_RELAXED)) {
        return;
    }
    gettimeofday(&tv, NULL);
    /* The collector's device loops log from their own threads (server/worker.h). */
    pthread_mutex_lock(&s_mu);
    unsigned long dropped = 0;
    bool flooded = false;

    if (tv.tv_sec != s_second) {
        dropped = s_suppressed;
        s_second = tv.tv_sec;
        s_lines = 0;
        s_suppressed = 0;
    }
    if (level > WCOL_LOG_ERROR && ++s_lines > LINES_PER_SECOND) {
        s_suppressed++;
        flooded = true;
    }
    pthread_mutex_unlock(&s_mu);
    if (dropped > 0) {
        wcol_log(WCOL_LOG_WARN, "%lu log lines suppressed in the last second (flood)", dropped);
    }
    if (flooded) {
        return;
    }
    gmtime_r(&tv.tv_sec, &tm);
    n = snprintf(line, sizeof(line),
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ward-collector %s: ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(tv.tv_usec / 1000), s_names[level]);
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2) {
        n = (int)sizeof(line) - 2;
    }
    /* Peers' text reaches the log (device ids, reasons): never let it forge a line. */
    for (int i = 0; i < n; i++) {
        if ((unsigned char)line[i] < 0x20) {
            line[i] = '?';
        }
    }
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, (size_t)n);
}
