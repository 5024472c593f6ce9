/*
 * ward-agent run: repeated stderr lines folded into a count (log_repeat.h).
 */
#include "log_repeat.h"

#include <stdarg.h>
#include <string.h>

void log_repeat_init(struct log_repeat *lr, FILE *out, int64_t window_ms)
{
    memset(lr, 0, sizeof(*lr));
    lr->out = out;
    lr->window_ms = window_ms > 0 ? window_ms : 1;
}

void log_repeat_flush(struct log_repeat *lr, int64_t now_ms)
{
    int64_t span = now_ms - lr->since_ms;

    if (lr->repeated == 0) {
        return;
    }
    /* Whole seconds, at least 1: "in 0 s" would read as a burst that never happened. */
    fprintf(lr->out, "%s (repeated %u time%s in %lld s)\n", lr->last, (unsigned)lr->repeated,
            lr->repeated == 1 ? "" : "s", (long long)(span >= 1000 ? span / 1000 : 1));
    fflush(lr->out);
    lr->repeated = 0;
    lr->since_ms = now_ms;
}

void log_repeat_tick(struct log_repeat *lr, int64_t now_ms)
{
    if (lr->repeated > 0 && now_ms - lr->since_ms >= lr->window_ms) {
        log_repeat_flush(lr, now_ms);
    }
}

void log_repeat_printf(struct log_repeat *lr, int64_t now_ms, const char *fmt, ...)
{
    char line[LOG_REPEAT_LINE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (lr->last[0] != '\0' && strcmp(line, lr->last) == 0 &&
        (lr->repeated > 0 || now_ms - lr->since_ms < lr->window_ms)) {
        lr->repeated++;
        log_repeat_tick(lr, now_ms);
        return;
    }
    log_repeat_flush(lr, now_ms);
    memcpy(lr->last, line, sizeof(line));
    lr->since_ms = now_ms;
    fprintf(lr->out, "%s\n", line);
    fflush(lr->out);
}
