/*
 * NIC counters from lwIP: the per-netif MIB2 statistics (RFC 1213 ifTable, kept by lwIP and
 * its drivers in netif->mib2_counters), extended from 32 to 64 bits, and link state from the
 * netif flags. See ward/hal/lwip_nic.h.
 */
#include <errno.h>
#include <string.h>

#include <lwip/netif.h>
#include <lwip/opt.h>
#include <lwip/stats.h>

#include "ward/hal/lwip_nic.h"

static struct ward_lwip_nic *s_instances; /* for the link-change callback */

static bool netif_listed(const struct netif *netif)
{
    struct netif *n;

    NETIF_FOREACH(n)
    {
        if (n == netif) {
            return true;
        }
    }
    return false;
}

#if MIB2_STATS
static void mib_now(const struct netif *n, uint32_t v[WARD_LWIP_MIB_COUNT])
{
    const struct stats_mib2_netif_ctrs *c = &n->mib2_counters;

    v[WARD_LWIP_IN_OCTETS] = c->ifinoctets;
    v[WARD_LWIP_IN_UCAST] = c->ifinucastpkts;
    v[WARD_LWIP_IN_NUCAST] = c->ifinnucastpkts;
    v[WARD_LWIP_IN_DISCARDS] = c->ifindiscards;
    v[WARD_LWIP_IN_ERRORS] = c->ifinerrors;
    v[WARD_LWIP_OUT_OCTETS] = c->ifoutoctets;
    v[WARD_LWIP_OUT_UCAST] = c->ifoutucastpkts;
    v[WARD_LWIP_OUT_NUCAST] = c->ifoutnucastpkts;
    v[WARD_LWIP_OUT_DISCARDS] = c->ifoutdiscards;
    v[WARD_LWIP_OUT_ERRORS] = c->ifouterrors;
}
#endif

/* Fold what changed since the last look into the 64-bit totals; note link changes. */
static void chan_sample(struct ward_lwip_nic_chan *c)
{
    bool up;

    if (c->gone || !netif_listed(c->netif)) {
        c->gone = true;
        return;
    }
#if MIB2_STATS
    uint32_t now[WARD_LWIP_MIB_COUNT];

    mib_now(c->netif, now);
    for (int i = 0; i < WARD_LWIP_MIB_COUNT; i++) {
        c->total[i] += (uint32_t)(now[i] - c->last[i]); /* modulo 2^32: a wrap is a step */
        c->last[i] = now[i];
    }
#endif
    up = netif_is_link_up(c->netif) != 0;
#if !LWIP_NETIF_EXT_STATUS_CALLBACK
    if (up != c->link_up) {
        c->carrier_changes++;
    }
#endif
    c->link_up = up;
}

#if LWIP_NETIF_EXT_STATUS_CALLBACK
static netif_ext_callback_t s_callback;
static bool s_callback_added;

static void on_netif_change(struct netif *netif, netif_nsc_reason_t reason,
                            const netif_ext_callback_args_t *args)
{
    (void)args;
    for (struct ward_lwip_nic *ln = s_instances; ln != NULL; ln = ln->next) {
        for (unsigned i = 0; i < ln->n; i++) {
            struct ward_lwip_nic_chan *c = &ln->chan[i];

            if (c->netif != netif) {
                continue;
            }
            if ((reason & LWIP_NSC_LINK_CHANGED) != 0) {
                c->carrier_changes++;
            }
            if ((reason & LWIP_NSC_NETIF_REMOVED) != 0) {
                c->gone = true;
            }
        }
    }
}
#endif

/* lwIP's interface name: its two letters and number, "et0". */
static void netif_name(const struct netif *netif, char out[8])
{
    char digits[3];
    unsigned v = netif->num, k = 0, pos = 2;

    do {
        digits[k++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0 && k < sizeof(digits));
    out[0] = netif->name[0];
    out[1] = netif->name[1];
    while (k > 0) {
        out[pos++] = digits[--k];
    }
    out[pos] = '\0';
}

static void chan_init(struct ward_lwip_nic_chan *c, struct netif *netif)
{
    memset(c, 0, sizeof(*c));
    c->netif = netif;
    netif_name(netif, c->name);
    c->link_up = netif_is_link_up(netif) != 0;
#if MIB2_STATS
    mib_now(netif, c->last);
#endif
    /* Totals start at what lwIP has counted since the netif was added. */
    for (int i = 0; i < WARD_LWIP_MIB_COUNT; i++) {
        c->total[i] = c->last[i];
    }
}

static struct ward_lwip_nic *nic_of(const struct ward_device *dev)
{
    return (struct ward_lwip_nic *)dev->data;
}

static int nic_count(const struct ward_device *dev)
{
    return nic_of(dev)->n;
}

static int nic_info(const struct ward_device *dev, unsigned ch, struct ward_nic_info *info)
{
    struct ward_lwip_nic *ln = nic_of(dev);
    const struct ward_lwip_nic_chan *c;

    if (ch >= ln->n || info == NULL) {
        return -EINVAL;
    }
    c = &ln->chan[ch];
    memset(info, 0, sizeof(*info));
    memcpy(info->sensor.id, "nic:", 4);
    memcpy(info->sensor.id + 4, c->name, strlen(c->name) + 1);
    memcpy(info->name, c->name, strlen(c->name) + 1);
    if (!c->gone && netif_listed(c->netif)) {
        info->mtu = c->netif->mtu;
        if (c->netif->hwaddr_len == 6) {
            memcpy(info->mac, c->netif->hwaddr, 6);
            info->has_mac = true;
        }
    }
    return 0;
}

static void set_counter(struct ward_nic_reading *out, enum ward_nic_counter k, uint64_t v)
{
    ward_reading_ok(&out->counter[k], (int64_t)(v & (uint64_t)INT64_MAX));
}

static void fill_counters(const struct ward_lwip_nic_chan *c, struct ward_nic_reading *out)
{
    const uint64_t *t = c->total;

    for (int i = 0; i < WARD_NIC_COUNTER_COUNT; i++) {
        /* MAC-level counts lwIP does not keep; a driver hook may supply them */
        ward_reading_unavailable(&out->counter[i], WARD_REASON_NOT_SUPPORTED);
    }
    if (MIB2_STATS) {
        set_counter(out, WARD_NIC_RX_BYTES, t[WARD_LWIP_IN_OCTETS]);
        set_counter(out, WARD_NIC_TX_BYTES, t[WARD_LWIP_OUT_OCTETS]);
        set_counter(out, WARD_NIC_RX_PACKETS, t[WARD_LWIP_IN_UCAST] + t[WARD_LWIP_IN_NUCAST]);
        set_counter(out, WARD_NIC_TX_PACKETS, t[WARD_LWIP_OUT_UCAST] + t[WARD_LWIP_OUT_NUCAST]);
        set_counter(out, WARD_NIC_RX_ERRORS, t[WARD_LWIP_IN_ERRORS]);
        set_counter(out, WARD_NIC_TX_ERRORS, t[WARD_LWIP_OUT_ERRORS]);
        set_counter(out, WARD_NIC_RX_DROPPED, t[WARD_LWIP_IN_DISCARDS]);
        set_counter(out, WARD_NIC_TX_DROPPED, t[WARD_LWIP_OUT_DISCARDS]);
    }
    set_counter(out, WARD_NIC_CARRIER_CHANGES, c->carrier_changes);
}

static void fill_link(const struct ward_lwip_nic_chan *c, struct ward_nic_reading *out)
{
    bool up = netif_is_up(c->netif) != 0;

    ward_reading_ok(&out->carrier, c->link_up ? 1 : 0);
    out->oper = up && c->link_up ? WARD_NIC_OPER_UP : WARD_NIC_OPER_DOWN;
    out->duplex = WARD_NIC_DUPLEX_UNKNOWN;
    ward_reading_unavailable(&out->speed_mbps, WARD_REASON_NOT_SUPPORTED);
#if MIB2_STATS
    /* the driver's estimate, bits per second (MIB2_INIT_NETIF) */
    if (c->link_up && c->netif->link_speed > 0) {
        ward_reading_ok(&out->speed_mbps, (int64_t)(c->netif->link_speed / 1000000u));
    }
#endif
}

static int nic_read(const struct ward_device *dev, unsigned ch, struct ward_nic_reading *out)
{
    struct ward_lwip_nic *ln = nic_of(dev);
    struct ward_lwip_nic_chan *c;

    if (ch >= ln->n || out == NULL) {
        return -EINVAL;
    }
    c = &ln->chan[ch];
    chan_sample(c);
    if (c->gone) {
        for (int i = 0; i < WARD_NIC_COUNTER_COUNT; i++) {
            ward_reading_unavailable(&out->counter[i], WARD_REASON_MISSING);
        }
        ward_reading_unavailable(&out->carrier, WARD_REASON_MISSING);
        ward_reading_unavailable(&out->speed_mbps, WARD_REASON_MISSING);
        out->oper = WARD_NIC_OPER_NOT_PRESENT;
        out->duplex = WARD_NIC_DUPLEX_UNKNOWN;
        return 0;
    }
    fill_counters(c, out);
    fill_link(c, out);
    if (c->mac != NULL) {
        c->mac(c->netif, c->mac_ctx, out);
    }
    return 0;
}

static const struct ward_nic_ops s_ops = {
    .count = nic_count,
    .info = nic_info,
    .read = nic_read,
};

static size_t list_netifs(struct netif **out, size_t cap, bool *overflow)
{
    struct netif *n;
    size_t count = 0;

    *overflow = false;
    NETIF_FOREACH(n)
    {
        if (count == cap) {
            *overflow = true;
            break;
        }
        out[count++] = n;
    }
    return count;
}

int ward_lwip_nic_init(struct ward_lwip_nic *ln, struct ward_hal *hal, struct netif *const *netifs,
                       size_t n)
{
    struct netif *all[WARD_LWIP_NIC_MAX];
    bool overflow = false;

    if (ln == NULL || hal == NULL || (netifs != NULL && n == 0)) {
        return -EINVAL;
    }
    if (netifs == NULL) {
        n = list_netifs(all, WARD_LWIP_NIC_MAX, &overflow);
        netifs = all;
    }
    if (overflow || n > WARD_LWIP_NIC_MAX || hal->n_nic >= WARD_HAL_MAX_DEVICES_PER_CLASS) {
        return -ENOSPC;
    }
    if (n == 0) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (netifs[i] == NULL) {
            return -EINVAL;
        }
    }
    memset(ln, 0, sizeof(*ln));
    for (size_t i = 0; i < n; i++) {
        chan_init(&ln->chan[i], netifs[i]);
    }
    ln->n = (uint8_t)n;
    ln->dev.name = "lwip-nic";
    ln->dev.api = &s_ops;
    ln->dev.data = ln;
#if LWIP_NETIF_EXT_STATUS_CALLBACK
    if (!s_callback_added) {
        netif_add_ext_callback(&s_callback, on_netif_change);
        s_callback_added = true;
    }
#endif
    ln->next = s_instances;
    s_instances = ln;
    hal->nic[hal->n_nic++] = &ln->dev;
    return 0;
}

int ward_lwip_nic_set_mac_hook(struct ward_lwip_nic *ln, unsigned ch, ward_lwip_mac_fn fn,
                               void *ctx)
{
    if (ln == NULL || ch >= ln->n) {
        return -EINVAL;
    }
    ln->chan[ch].mac = fn;
    ln->chan[ch].mac_ctx = ctx;
    return 0;
}

void ward_lwip_nic_poll(struct ward_lwip_nic *ln)
{
    for (unsigned i = 0; ln != NULL && i < ln->n; i++) {
        chan_sample(&ln->chan[i]);
    }
}
