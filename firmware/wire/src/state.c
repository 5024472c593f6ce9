#include <errno.h>
#include <string.h>

#include "ward/wire/state.h"

static const char *const s_state_names[WARD_STATE_COUNT] = {
    [WARD_STATE_OK] = "ok",
    [WARD_STATE_CAUTION] = "caution",
    [WARD_STATE_CRITICAL] = "critical",
    [WARD_STATE_FATAL] = "fatal",
    [WARD_STATE_FAILED] = "failed",
    [WARD_STATE_UNAVAILABLE] = "unavailable",
};

static const char *const s_sev_names[WARD_SEV_COUNT] = {
    [WARD_SEV_NONE] = "none",
    [WARD_SEV_LOW] = "low",
    [WARD_SEV_MEDIUM] = "medium",
    [WARD_SEV_HIGH] = "high",
};

static const char *const s_class_names[WARD_CLASS_COUNT] = {
    [WARD_CLASS_TEMP] = "temp",           [WARD_CLASS_FAN] = "fan",   [WARD_CLASS_NIC] = "nic",
    [WARD_CLASS_DISK] = "disk",           [WARD_CLASS_HOST] = "host", [WARD_CLASS_AGENT] = "agent",
    [WARD_CLASS_HEARTBEAT] = "heartbeat",
};

const char *ward_state_name(enum ward_state state)
{
    return (unsigned)state < WARD_STATE_COUNT ? s_state_names[state] : "unknown";
}

const char *ward_severity_name(enum ward_severity sev)
{
    return (unsigned)sev < WARD_SEV_COUNT ? s_sev_names[sev] : "unknown";
}

static int lookup(const char *const *names, int n, const char *name)
{
    if (name == NULL) {
        return -EINVAL;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            return i;
        }
    }
    return -EINVAL;
}

int ward_state_parse(const char *name)
{
    return lookup(s_state_names, WARD_STATE_COUNT, name);
}

int ward_severity_parse(const char *name)
{
    return lookup(s_sev_names, WARD_SEV_COUNT, name);
}

int ward_class_parse(const char *name)
{
    return lookup(s_class_names, WARD_CLASS_COUNT, name);
}

enum ward_severity ward_state_default_severity(enum ward_state state)
{
    switch (state) {
    case WARD_STATE_OK:
        return WARD_SEV_NONE;
    case WARD_STATE_CAUTION:
        return WARD_SEV_LOW;
    case WARD_STATE_CRITICAL:
    case WARD_STATE_UNAVAILABLE:
        return WARD_SEV_MEDIUM;
    case WARD_STATE_FATAL:
    case WARD_STATE_FAILED:
    case WARD_STATE_COUNT:
        break;
    }
    return WARD_SEV_HIGH;
}
