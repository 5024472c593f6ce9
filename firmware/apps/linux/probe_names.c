/*
 * Names of the HAL's enums as probe prints them, shared by the text and JSON renderers
 * (below both, and below cmd_probe.c).
 */
#include "probe_names.h"

const char *probe_status_name(enum ward_status s)
{
    switch (s) {
    case WARD_STATUS_OK:
        return "ok";
    case WARD_STATUS_UNAVAILABLE:
        return "unavailable";
    case WARD_STATUS_FAULT:
        return "fault";
    }
    return "unknown";
}

const char *probe_oper_name(enum ward_nic_oper o)
{
    static const char *const names[] = {
        [WARD_NIC_OPER_UNKNOWN] = "unknown",
        [WARD_NIC_OPER_UP] = "up",
        [WARD_NIC_OPER_DOWN] = "down",
        [WARD_NIC_OPER_DORMANT] = "dormant",
        [WARD_NIC_OPER_LOWER_DOWN] = "lowerlayerdown",
        [WARD_NIC_OPER_NOT_PRESENT] = "notpresent",
        [WARD_NIC_OPER_TESTING] = "testing",
    };

    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "unknown";
}

const char *probe_duplex_name(enum ward_nic_duplex d)
{
    return d == WARD_NIC_DUPLEX_FULL ? "full" : d == WARD_NIC_DUPLEX_HALF ? "half" : "unknown";
}

const char *probe_threshold_name(enum ward_threshold_kind k)
{
    static const char *const names[WARD_THR_COUNT] = {
        [WARD_THR_LOWER_CAUTION] = "lower_caution",   [WARD_THR_UPPER_CAUTION] = "upper_caution",
        [WARD_THR_LOWER_CRITICAL] = "lower_critical", [WARD_THR_UPPER_CRITICAL] = "upper_critical",
        [WARD_THR_LOWER_FATAL] = "lower_fatal",       [WARD_THR_UPPER_FATAL] = "upper_fatal",
    };

    return (unsigned)k < WARD_THR_COUNT ? names[k] : "unknown";
}

const char *probe_cpu_state_name(enum ward_cpu_state s)
{
    static const char *const names[WARD_CPU_STATE_COUNT] = {
        [WARD_CPU_USER] = "user",       [WARD_CPU_NICE] = "nice",     [WARD_CPU_SYSTEM] = "system",
        [WARD_CPU_IDLE] = "idle",       [WARD_CPU_IOWAIT] = "iowait", [WARD_CPU_IRQ] = "irq",
        [WARD_CPU_SOFTIRQ] = "softirq", [WARD_CPU_STEAL] = "steal",
    };

    return (unsigned)s < WARD_CPU_STATE_COUNT ? names[s] : "unknown";
}
