/*
 * ward-agent run: one stderr line per problem, not one per loop pass. A line that repeats
 * the previous one within a window is counted instead of printed; the count goes out as
 * one line when the window ends, when another line comes, or at a flush:
 *
 *   ward-agent: cannot write the journal: No space left on device
 *   ward-agent: cannot write the journal: No space left on device (repeated 37 times in 10 s)
 *
 * The caller owns the struct (no heap) and passes the time in; single-threaded.
 */
#ifndef WARD_APPS_LINUX_LOG_REPEAT_H_
#define WARD_APPS_LINUX_LOG_REPEAT_H_

#include <stdint.h>
#include <stdio.h>

#define LOG_REPEAT_LINE_MAX 320

struct log_repeat {
    FILE *out;
    int64_t window_ms;
    int64_t since_ms; /* when `last` was printed, or its last count */
    uint32_t repeated;
    char last[LOG_REPEAT_LINE_MAX]; /* "": nothing printed yet */
};

/** Start with nothing printed; out is where lines go (stderr), window_ms > 0. */
void log_repeat_init(struct log_repeat *lr, FILE *out, int64_t window_ms);

/** Print one line (printf format, no newline), or count it when it repeats the last one. */
void log_repeat_printf(struct log_repeat *lr, int64_t now_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Print the count once the window since the last printed line has passed (call per pass). */
void log_repeat_tick(struct log_repeat *lr, int64_t now_ms);

/** Print the count of repeats not yet reported (before a different line, at exit). */
void log_repeat_flush(struct log_repeat *lr, int64_t now_ms);

#endif /* WARD_APPS_LINUX_LOG_REPEAT_H_ */
