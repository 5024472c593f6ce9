/*
 * Simulated NICs: counters from signals, carrier from down windows and periodic flapping,
 * carrier_changes counted exactly from those edges (a pure function of time, like Linux's
 * counter, which sees every change however rarely it is read).
 */
#include <errno.h>

#include "sim_internal.h"

static bool flapping_down(const struct ward_sim_nic *n, int64_t t)
{
    return n->flap_period > 0 && t >= n->flap_at && t < n->flap_until &&
           (t - n->flap_at) % n->flap_period < n->flap_down;
}

static bool carrier_at(const struct ward_sim *sim, const struct ward_sim_nic *n, int64_t t)
{
    for (unsigned i = 0; i < n->down_count; i++) {
        if (ward_sim_event_active(&sim->event[n->down_first + i], t)) {
            return false;
        }
    }
    return !flapping_down(n, t);
}

/* Every edge at or before t: a down window gives one at `at` and one at `until`; flapping
 * goes down at flap_at + k * period and comes back down ms later (or at flap_until). */
static uint64_t carrier_changes(const struct ward_sim *sim, const struct ward_sim_nic *n, int64_t t)
{
    uint64_t c = n->carrier_changes_base;

    for (unsigned i = 0; i < n->down_count; i++) {
        const struct ward_sim_event *w = &sim->event[n->down_first + i];

        c += (t >= w->at ? 1u : 0u) + (t >= w->until ? 1u : 0u);
    }
    if (n->flap_period > 0 && t >= n->flap_at) {
        int64_t last = t < n->flap_until ? t : n->flap_until - 1;
        uint64_t downs = (uint64_t)((last - n->flap_at) / n->flap_period) + 1u;
        uint64_t ups;

        if (t >= n->flap_until) {
            ups = downs;
        } else if (t >= n->flap_at + n->flap_down) {
            ups = (uint64_t)((t - n->flap_at - n->flap_down) / n->flap_period) + 1u;
        } else {
            ups = 0;
        }
        c += downs + ups;
    }
    return c;
}

static int nic_count(const struct ward_device *dev)
{
    return ((const struct ward_sim *)dev->data)->n_nic;
}

static int nic_info(const struct ward_device *dev, unsigned ch, struct ward_nic_info *info)
{
    const struct ward_sim *sim = dev->data;

    if (ch >= sim->n_nic || info == NULL) {
        return -EINVAL;
    }
    *info = sim->nic[ch].info;
    return 0;
}

static void read_counters(const struct ward_sim *sim, const struct ward_sim_nic *n, int64_t t,
                          struct ward_nic_reading *out)
{
    struct ward_reading *c = out->counter;
    struct ward_sim_sample s;

    for (int i = 0; i < WARD_NIC_COUNTER_COUNT; i++) {
        if (i == WARD_NIC_CARRIER_CHANGES) {
            ward_reading_ok(&c[i], (int64_t)carrier_changes(sim, n, t));
            continue;
        }
        ward_sim_eval(sim, n->counter[i], t, &s);
        c[i].value = s.value;
        c[i].status = s.status;
        c[i].reason = s.reason;
    }
    /* Linux's rx_errors is the total: it includes the CRC and frame errors. */
    if (c[WARD_NIC_RX_ERRORS].status == WARD_STATUS_OK) {
        for (int i = WARD_NIC_RX_CRC_ERRORS; i <= WARD_NIC_RX_FRAME_ERRORS; i++) {
            if (c[i].status == WARD_STATUS_OK) {
                c[WARD_NIC_RX_ERRORS].value =
                    ward_sim_add_sat(c[WARD_NIC_RX_ERRORS].value, c[i].value);
            }
        }
    }
}

static int nic_read(const struct ward_device *dev, unsigned ch, struct ward_nic_reading *out)
{
    const struct ward_sim *sim = dev->data;
    const struct ward_sim_nic *n;
    bool up;

    if (ch >= sim->n_nic || out == NULL) {
        return -EINVAL;
    }
    n = &sim->nic[ch];
    read_counters(sim, n, sim->now_ms, out);
    up = carrier_at(sim, n, sim->now_ms);
    ward_reading_ok(&out->carrier, up ? 1 : 0);
    out->oper = up ? WARD_NIC_OPER_UP : WARD_NIC_OPER_DOWN;
    /* Like Linux: speed and duplex are unknown while there is no link. */
    if (up && n->speed_mbps > 0) {
        ward_reading_ok(&out->speed_mbps, n->speed_mbps);
    } else {
        ward_reading_unavailable(&out->speed_mbps, WARD_REASON_NOT_SUPPORTED);
    }
    out->duplex = up ? (enum ward_nic_duplex)n->duplex : WARD_NIC_DUPLEX_UNKNOWN;
    return 0;
}

const struct ward_nic_ops ward_sim_nic_ops = {
    .count = nic_count,
    .info = nic_info,
    .read = nic_read,
};
