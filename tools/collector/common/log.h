/*
 * The collector's log: one line per event on stderr, with a UTC timestamp and a level, so
 * that journald, a file or a test can read it. Lines are bounded; nothing is buffered.
 */
#ifndef WCOL_COMMON_LOG_H_
#define WCOL_COMMON_LOG_H_

enum wcol_log_level {
    WCOL_LOG_ERROR = 0,
    WCOL_LOG_WARN = 1,
    WCOL_LOG_INFO = 2,
    WCOL_LOG_DEBUG = 3,
};

/** Only messages at or above this importance are written (default: info). */
void wcol_log_set_level(enum wcol_log_level level);

/** Parse "error", "warn", "info", "debug". @return 0, -EINVAL for anything else. */
int wcol_log_parse_level(const char *name, enum wcol_log_level *level);

void wcol_log(enum wcol_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define wcol_log_error(...) wcol_log(WCOL_LOG_ERROR, __VA_ARGS__)
#define wcol_log_warn(...)  wcol_log(WCOL_LOG_WARN, __VA_ARGS__)
#define wcol_log_info(...)  wcol_log(WCOL_LOG_INFO, __VA_ARGS__)
#define wcol_log_debug(...) wcol_log(WCOL_LOG_DEBUG, __VA_ARGS__)

#endif /* WCOL_COMMON_LOG_H_ */
