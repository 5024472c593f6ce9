#include "ward/hal/host.h"
#include "ward/hal/nic.h"
#include "ward/hal/reading.h"

const char *ward_reason_name(enum ward_reason reason)
{
    switch (reason) {
    case WARD_REASON_NONE:
        return "none";
    case WARD_REASON_MISSING:
        return "missing";
    case WARD_REASON_PERMISSION:
        return "permission";
    case WARD_REASON_STANDBY:
        return "standby";
    case WARD_REASON_DISABLED:
        return "disabled";
    case WARD_REASON_NOT_SUPPORTED:
        return "not-supported";
    case WARD_REASON_IO_ERROR:
        return "io-error";
    case WARD_REASON_BAD_DATA:
        return "bad-data";
    }
    return "unknown";
}

const char *ward_nic_counter_name(enum ward_nic_counter c)
{
    static const char *const names[WARD_NIC_COUNTER_COUNT] = {
        [WARD_NIC_RX_BYTES] = "rx_bytes",           [WARD_NIC_TX_BYTES] = "tx_bytes",
        [WARD_NIC_RX_PACKETS] = "rx_packets",       [WARD_NIC_TX_PACKETS] = "tx_packets",
        [WARD_NIC_RX_ERRORS] = "rx_errors",         [WARD_NIC_TX_ERRORS] = "tx_errors",
        [WARD_NIC_RX_DROPPED] = "rx_dropped",       [WARD_NIC_TX_DROPPED] = "tx_dropped",
        [WARD_NIC_RX_CRC_ERRORS] = "rx_crc_errors", [WARD_NIC_RX_FRAME_ERRORS] = "rx_frame_errors",
        [WARD_NIC_COLLISIONS] = "collisions",       [WARD_NIC_CARRIER_CHANGES] = "carrier_changes",
    };

    return (unsigned)c < WARD_NIC_COUNTER_COUNT ? names[c] : "unknown";
}

const char *ward_status_name(enum ward_status status)
{
    static const char *const names[] = {
        [WARD_STATUS_OK] = "ok",
        [WARD_STATUS_UNAVAILABLE] = "unavailable",
        [WARD_STATUS_FAULT] = "fault",
    };

    return (unsigned)status < sizeof(names) / sizeof(names[0]) ? names[status] : "unknown";
}

const char *ward_threshold_kind_name(enum ward_threshold_kind kind)
{
    static const char *const names[WARD_THR_COUNT] = {
        [WARD_THR_LOWER_CAUTION] = "lower_caution",   [WARD_THR_UPPER_CAUTION] = "upper_caution",
        [WARD_THR_LOWER_CRITICAL] = "lower_critical", [WARD_THR_UPPER_CRITICAL] = "upper_critical",
        [WARD_THR_LOWER_FATAL] = "lower_fatal",       [WARD_THR_UPPER_FATAL] = "upper_fatal",
    };

    return (unsigned)kind < WARD_THR_COUNT ? names[kind] : "unknown";
}

const char *ward_nic_oper_name(enum ward_nic_oper oper)
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

    return (unsigned)oper < sizeof(names) / sizeof(names[0]) ? names[oper] : "unknown";
}

const char *ward_nic_duplex_name(enum ward_nic_duplex duplex)
{
    static const char *const names[] = {
        [WARD_NIC_DUPLEX_UNKNOWN] = "unknown",
        [WARD_NIC_DUPLEX_HALF] = "half",
        [WARD_NIC_DUPLEX_FULL] = "full",
    };

    return (unsigned)duplex < sizeof(names) / sizeof(names[0]) ? names[duplex] : "unknown";
}

const char *ward_cpu_state_name(enum ward_cpu_state state)
{
    static const char *const names[WARD_CPU_STATE_COUNT] = {
        [WARD_CPU_USER] = "user",       [WARD_CPU_NICE] = "nice",     [WARD_CPU_SYSTEM] = "system",
        [WARD_CPU_IDLE] = "idle",       [WARD_CPU_IOWAIT] = "iowait", [WARD_CPU_IRQ] = "irq",
        [WARD_CPU_SOFTIRQ] = "softirq", [WARD_CPU_STEAL] = "steal",
    };

    return (unsigned)state < WARD_CPU_STATE_COUNT ? names[state] : "unknown";
}
