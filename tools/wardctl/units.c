/*
 * A reading in the unit its sensor id implies (docs/protocol.md, "Sensor ids"): wardctl's
 * VALUE columns say 103.0 °C, not 103010. JSON output keeps the raw numbers.
 */
#include <stdio.h>
#include <string.h>

#include "wardctl.h"

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);

    return n >= t && strcmp(s + n - t, tail) == 0;
}

void format_value(const char *sensor, double v, char *out, size_t cap)
{
    static const char *const smart[] = { "", "passed", "failed in the past", "failing" };

    sensor = sensor != NULL ? sensor : "";
    if (strncmp(sensor, "temp:", 5) == 0 ||
        (strncmp(sensor, "disk:", 5) == 0 && ends_with(sensor, ":temp"))) {
        snprintf(out, cap, "%.1f \u00b0C", v / 1000.0);
    } else if (strncmp(sensor, "fan:", 4) == 0) {
        snprintf(out, cap, "%.0f RPM", v);
    } else if (ends_with(sensor, "_pct") || ends_with(sensor, ":percent_used")) {
        snprintf(out, cap, "%.0f %%", v);
    } else if (strncmp(sensor, "nic:", 4) == 0 && ends_with(sensor, "_bytes")) {
        snprintf(out, cap, "%.0f bytes", v);
    } else if (ends_with(sensor, ":speed_mbps")) {
        snprintf(out, cap, "%.0f Mbit/s", v);
    } else if (ends_with(sensor, "_ms")) {
        snprintf(out, cap, "%.0f ms", v);
    } else if (strncmp(sensor, "disk:", 5) == 0 && ends_with(sensor, ":smart") && v >= 1 &&
               v <= 3 && v == (int)v) {
        snprintf(out, cap, "%s", smart[(int)v]);
    } else {
        snprintf(out, cap, "%.0f", v);
    }
}
