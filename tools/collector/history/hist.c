/* The history's plain functions: tiers, units, rounding, times of the API. */
#include <errno.h>
#include <string.h>

#include "history/hist.h"

void wcol_history_defaults(struct wcol_history_config *cfg)
{
    *cfg = (struct wcol_history_config){
        .raw_step_ms = 10000,
        .keep_ms = { 48ull * 3600000u, 30ull * 86400000u, 730ull * 86400000u },
        .queue = 8192,
        .max_series = 1000000,
        .trends_within_ms = 90ull * 86400000u,
        .trends_window_ms = 7ull * 86400000u,
        .trends_every_ms = 60000,
        .trend_sectors = 100,
    };
}

int wcol_hist_tiers(const struct wcol_history_config *cfg,
                    struct wcol_hist_tier out[WCOL_HIST_TIERS])
{
    static const char *const names[WCOL_HIST_TIERS] = { "raw", "1m", "1h" };
    const int64_t steps[WCOL_HIST_TIERS] = { (int64_t)cfg->raw_step_ms, 60000, 3600000 };

    for (int i = 0; i < WCOL_HIST_TIERS; i++) {
        int64_t keep = (int64_t)cfg->keep_ms[i];

        if (steps[i] <= 0 || keep < steps[i] || keep / steps[i] > 100000000) {
            return -EINVAL;
        }
        out[i] = (struct wcol_hist_tier){
            .name = names[i], .step_ms = steps[i], .keep_ms = keep, .slots = keep / steps[i]
        };
    }
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *wcol_hist_unit(const char *sensor)
{
    if (strncmp(sensor, "temp:", 5) == 0 || ends_with(sensor, ":temp")) {
        return "mC";
    }
    if (strncmp(sensor, "fan:", 4) == 0) {
        return "rpm";
    }
    if (ends_with(sensor, "_pct") || ends_with(sensor, ":percent_used") ||
        ends_with(sensor, ":available_spare")) {
        return "pct";
    }
    if (ends_with(sensor, "_ms")) {
        return "ms";
    }
    if (ends_with(sensor, "_mbps")) {
        return "mbps";
    }
    if (strncmp(sensor, "nic:", 4) == 0 || ends_with(sensor, ":reallocated") ||
        ends_with(sensor, ":pending") || ends_with(sensor, ":uncorrectable") ||
        ends_with(sensor, ":media_errors") || ends_with(sensor, "_dropped")) {
        return "count";
    }
    return "";
}

int64_t wcol_hist_mean(int64_t sum, int64_t count)
{
    if (count <= 0) {
        return 0;
    }
    int64_t q = sum / count, r = sum % count;

    if (r < 0 ? -2 * r >= count : 2 * r >= count) {
        q += r < 0 ? -1 : 1;
    }
    return q;
}

int64_t wcol_hist_floor(int64_t t, int64_t step)
{
    int64_t q = t / step;

    if (t % step != 0 && (t < 0) != (step < 0)) {
        q--;
    }
    return q * step;
}

static int digits(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;

    if (len == 0 || len > 15) {
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -EINVAL;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int wcol_hist_parse_duration(const char *s, size_t len, int64_t *out_ms)
{
    static const struct {
        char c;
        int64_t ms;
    } units[] = { { 'd', 86400000 }, { 'h', 3600000 }, { 'm', 60000 }, { 's', 1000 } };
    int64_t v, mul = 1;

    if (len > 0) {
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (s[len - 1] == units[i].c) {
                mul = units[i].ms;
                len--;
                break;
            }
        }
    }
    if (digits(s, len, &v) != 0 || v > INT64_MAX / mul / 4) {
        return -EINVAL;
    }
    *out_ms = v * mul;
    return 0;
}

int wcol_hist_parse_time(const char *s, size_t len, int64_t now_ms, int64_t *out)
{
    int64_t d;

    if (len == 3 && memcmp(s, "now", 3) == 0) {
        *out = now_ms;
        return 0;
    }
    if (len > 1 && s[0] == '-') {
        if (wcol_hist_parse_duration(s + 1, len - 1, &d) != 0 ||
            (s[len - 1] >= '0' && s[len - 1] <= '9')) {
            return -EINVAL;
        }
        *out = now_ms - d;
        return 0;
    }
    return digits(s, len, out);
}
