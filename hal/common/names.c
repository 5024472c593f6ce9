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
