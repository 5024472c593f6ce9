/*
 * A NIC device over lwIP's netifs (bare metal, NO_SYS=1): counters from the per-netif MIB2
 * statistics (lwipopts.h: MIB2_STATS 1), link state from the netif flags.
 *
 * lwIP's MIB2 counters are 32 bits; this device extends them to monotonic 64-bit counters by
 * adding each change modulo 2^32, so it must see every counter at least once per wrap: call
 * ward_lwip_nic_poll() (or read the device) more often than 2^32 bytes pass, i.e. at least
 * every 5 minutes at 100 Mbit/s, every 30 s at 1 Gbit/s.
 *
 * Carrier changes are counted exactly when lwIP has LWIP_NETIF_EXT_STATUS_CALLBACK; without
 * it they are counted when a read or poll sees the link state differ from the last one.
 *
 * Like lwIP itself this is single-threaded: call it from the thread (main loop) that runs lwIP.
 */
#ifndef WARD_HAL_LWIP_NIC_H_
#define WARD_HAL_LWIP_NIC_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/base/config.h"
#include "ward/hal/hal.h"

#define WARD_LWIP_NIC_MAX CONFIG_WARD_LWIP_NIC_MAX

struct netif;

/*
 * Optional driver hook: fill what the MAC knows and lwIP does not (CRC and frame errors,
 * collisions, speed, duplex). It is called after lwIP's fields are filled and may overwrite
 * any of them; fields it leaves alone keep lwIP's value or status.
 */
typedef void (*ward_lwip_mac_fn)(struct netif *netif, void *ctx, struct ward_nic_reading *out);

enum ward_lwip_mib {
    WARD_LWIP_IN_OCTETS = 0,
    WARD_LWIP_IN_UCAST,
    WARD_LWIP_IN_NUCAST,
    WARD_LWIP_IN_DISCARDS,
    WARD_LWIP_IN_ERRORS,
    WARD_LWIP_OUT_OCTETS,
    WARD_LWIP_OUT_UCAST,
    WARD_LWIP_OUT_NUCAST,
    WARD_LWIP_OUT_DISCARDS,
    WARD_LWIP_OUT_ERRORS,
    WARD_LWIP_MIB_COUNT,
};

/* One netif: its 32-bit counters as last seen and their 64-bit extension. Fields private. */
struct ward_lwip_nic_chan {
    struct netif *netif;
    char name[8]; /* "et0": lwIP's two letters and number, fixed at init */
    uint32_t last[WARD_LWIP_MIB_COUNT];
    uint64_t total[WARD_LWIP_MIB_COUNT];
    uint64_t carrier_changes;
    bool link_up; /* as last seen */
    bool gone;    /* removed from lwIP (netif_remove) */
    ward_lwip_mac_fn mac;
    void *mac_ctx;
};

struct ward_lwip_nic {
    struct ward_device dev;
    struct ward_lwip_nic_chan chan[WARD_LWIP_NIC_MAX];
    uint8_t n;
    struct ward_lwip_nic *next; /* instances the link-change callback updates */
};

/**
 * Expose netifs[0..n) (or, when netifs is NULL, every netif on lwIP's netif_list now) as
 * one NIC device added to hal. Call after netif_add() and lwIP's init.
 * @return 0, -EINVAL (NULL ln/hal, or no netif), -ENOSPC (more netifs than
 *         CONFIG_WARD_LWIP_NIC_MAX, or no free NIC slot in hal); nothing is added on error.
 */
int ward_lwip_nic_init(struct ward_lwip_nic *ln, struct ward_hal *hal, struct netif *const *netifs,
                       size_t n);

/** Attach a driver hook to channel ch. @return 0, -EINVAL. */
int ward_lwip_nic_set_mac_hook(struct ward_lwip_nic *ln, unsigned ch, ward_lwip_mac_fn fn,
                               void *ctx);

/** Fold the current 32-bit counters into the 64-bit ones (call at least once per wrap). */
void ward_lwip_nic_poll(struct ward_lwip_nic *ln);

#endif /* WARD_HAL_LWIP_NIC_H_ */
