/*
 * Delta snapshot pages (report_delta.h). The dead band depends on what a sensor measures,
 * told by its stable id (docs/protocol.md, "Sensor ids"): temperatures in milli-degrees,
 * fans relative to their speed, percentages in points, durations (ids ending "_ms", the
 * agent's loop lag) in milliseconds, anything else (rates, counters) relative to the last
 * value sent, where any move away from 0 counts.
 */
#include "report_delta.h"

#include <string.h>

#include "ward/base/config.h"
#include "ward/wire/state.h"

enum band { BAND_TEMP, BAND_FAN, BAND_PCT, BAND_MS, BAND_OTHER };

/* The last ':'-separated part of id is word, or id starts with word and ':'. */
static bool part_is(const char *id, const char *word)
{
    size_t n = strlen(word);
    size_t len = strlen(id);
    const char *last = strrchr(id, ':');

    return (strncmp(id, word, n) == 0 && id[n] == ':') ||
           (last != NULL && len > n && strcmp(last + 1, word) == 0);
}

static enum band band_of(const char *id)
{
    size_t len = strlen(id);

    if (part_is(id, "temp")) {
        return BAND_TEMP; /* temp:chip:label, disk:X:temp */
    }
    if (part_is(id, "fan")) {
        return BAND_FAN;
    }
    if ((len > 4 && strcmp(id + len - 4, "_pct") == 0) || part_is(id, "percent_used")) {
        return BAND_PCT;
    }
    return len > 3 && strcmp(id + len - 3, "_ms") == 0 ? BAND_MS : BAND_OTHER;
}

/* |x| as an unsigned number, INT64_MIN included. */
static uint64_t mag(int64_t x)
{
    return x < 0 ? 0u - (uint64_t)x : (uint64_t)x;
}

/* pct percent of m, rounded down, without overflow. */
static uint64_t pct_of(uint64_t m, unsigned pct)
{
    return m / 100u * pct + m % 100u * pct / 100u;
}

static bool moved(const char *id, int64_t was, int64_t now)
{
    uint64_t d = now >= was ? (uint64_t)now - (uint64_t)was : (uint64_t)was - (uint64_t)now;

    switch (band_of(id)) {
    case BAND_TEMP:
        return d >= WARD_REPORT_DEADBAND_TEMP_MC;
    case BAND_FAN:
        return d != 0 && d >= pct_of(mag(was), WARD_REPORT_DEADBAND_FAN_PCT);
    case BAND_PCT:
        return d != 0 && d >= WARD_REPORT_DEADBAND_PCT;
    case BAND_MS:
        return d != 0 && d >= WARD_REPORT_DEADBAND_MS;
    default:
        return d != 0 && d >= pct_of(mag(was), WARD_REPORT_DEADBAND_OTHER_PCT);
    }
}

static uint8_t flags_of(const struct ward_sensor *s)
{
    return (uint8_t)(WARD_SENT_VALID |
                     ((s->flags & WARD_SENSOR_HAS_VALUE) ? WARD_SENT_HAS_VALUE : 0) |
                     ((s->flags & WARD_SENSOR_STANDBY) ? WARD_SENT_STANDBY : 0));
}

bool report_delta_allowed(const struct ward_agent *a, int64_t now_ms)
{
    return IS_ENABLED(CONFIG_WARD_REPORT_DELTA) && a->delta_pages && a->delta_ok &&
           now_ms - a->full_at_ms < (int64_t)WARD_REPORT_FULL_EVERY_S * 1000;
}

bool report_delta_changed(const struct ward_agent *a, unsigned i)
{
    const struct ward_sensor *s = ward_health_sensor_at(&a->health, i);
    const struct ward_report_sent *p;

    if (s == NULL || i >= sizeof(a->sent) / sizeof(a->sent[0])) {
        return s != NULL;
    }
    p = &a->sent[i];
    if (!(p->flags & WARD_SENT_VALID) || p->flags != flags_of(s) || p->state != s->state ||
        p->severity != (uint8_t)ward_health_sensor_severity(&a->health, i) ||
        (s->state != WARD_STATE_OK && p->reason != s->reason)) {
        return true;
    }
    return (p->flags & WARD_SENT_HAS_VALUE) && moved(s->id, p->value, s->value);
}

bool report_delta_any(const struct ward_agent *a, unsigned first, unsigned end)
{
    for (unsigned i = first; i < end; i++) {
        if (report_delta_changed(a, i)) {
            return true;
        }
    }
    return false;
}

void report_delta_mark(struct ward_agent *a, unsigned i)
{
    const struct ward_sensor *s = ward_health_sensor_at(&a->health, i);

    if (s == NULL || i >= sizeof(a->sent) / sizeof(a->sent[0])) {
        return;
    }
    a->sent[i] = (struct ward_report_sent){
        .value = s->value,
        .state = s->state,
        .severity = (uint8_t)ward_health_sensor_severity(&a->health, i),
        .reason = s->reason,
        .flags = flags_of(s),
    };
}
