/*
 * The collector's log: one line per event on stderr, with a UTC timestamp and a level, so
 * that journald, a file or a test can read it. Lines are bounded; nothing is buffered.
 */
#ifndef WARD_TOOLS_COLLECTOR_LOG_H_
#define WARD_TOOLS_COLLECTOR_LOG_H_

enum ward_log_level {
    WARD_LOG_ERROR = 0,
    WARD_LOG_WARN = 1,
    WARD_LOG_INFO = 2,
    WARD_LOG_DEBUG = 3,
};

/** Only messages at or above this importance are written (default: info). */
void ward_log_set_level(enum ward_log_level level);

/** Parse "error", "warn", "info", "debug". @return 0, -EINVAL for anything else. */
int ward_log_parse_level(const char *name, enum ward_log_level *level);

void ward_log(enum ward_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define ward_log_error(...) ward_log(WARD_LOG_ERROR, __VA_ARGS__)
#define ward_log_warn(...)  ward_log(WARD_LOG_WARN, __VA_ARGS__)
#define ward_log_info(...)  ward_log(WARD_LOG_INFO, __VA_ARGS__)
#define ward_log_debug(...) ward_log(WARD_LOG_DEBUG, __VA_ARGS__)

#endif /* WARD_TOOLS_COLLECTOR_LOG_H_ */
