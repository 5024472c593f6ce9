/*
 * Simulated disks. Like a real backend, a drive in standby is reported as such and its
 * SMART data is not produced at all. Otherwise the sim builds the pages the drive would
 * return and decodes them with hal/smart, so raw decoding and verdicts are the real ones.
 */
#include <errno.h>
#include <string.h>

#include "ward/hal/smart.h"

#include "sim_internal.h"

static int disk_count(const struct ward_device *dev)
{
    return ((const struct ward_sim *)dev->data)->n_disk;
}

static int disk_info(const struct ward_device *dev, unsigned i, struct ward_disk_info *info)
{
    const struct ward_sim *sim = dev->data;

    if (i >= sim->n_disk || info == NULL) {
        return -EINVAL;
    }
    *info = sim->disk[i].info;
    return 0;
}

static int64_t sample(const struct ward_sim *sim, ward_sim_sig_t sig)
{
    struct ward_sim_sample s;

    ward_sim_eval(sim, sig, sim->now_ms, &s);
    return s.value;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Byte 511 makes the page sum to 0 modulo 256. */
static void seal(uint8_t *page)
{
    uint8_t sum = 0;

    for (unsigned i = 0; i < WARD_SMART_PAGE_SIZE - 1; i++) {
        sum = (uint8_t)(sum + page[i]);
    }
    page[WARD_SMART_PAGE_SIZE - 1] = (uint8_t)(0u - sum);
}

/* worst without a behaviour: the lowest value the drive has had, reset if time runs back. */
static uint8_t running_worst(struct ward_sim *sim, struct ward_sim_disk *d,
                             struct ward_sim_ata_attr *sa, uint8_t value)
{
    struct ward_sim_sample s;

    if (sim->now_ms < d->u.ata.worst_ms) {
        ward_sim_eval(sim, sa->value, 0, &s);
        sa->worst_seen = (uint8_t)s.value;
    }
    if (value < sa->worst_seen) {
        sa->worst_seen = value;
    }
    return sa->worst_seen;
}

/*
 * What the drive would send: SMART READ DATA and READ THRESHOLDS pages (SFF-8035i layout:
 * 30 slots of 12 bytes from offset 2), so the real decoder (hal/smart) turns them into
 * attributes, decoded raw values and verdicts exactly as for a drive on a SATA port.
 */
static void build_ata_pages(struct ward_sim *sim, struct ward_sim_disk *d, uint8_t *data,
                            uint8_t *thresh)
{
    memset(data, 0, WARD_SMART_PAGE_SIZE);
    memset(thresh, 0, WARD_SMART_PAGE_SIZE);
    put_le(data, 0x0010, 2);
    put_le(thresh, 0x0010, 2);
    for (unsigned i = 0; i < d->u.ata.n_attrs; i++) {
        struct ward_sim_ata_attr *sa = &d->u.ata.attr[i];
        uint8_t *slot = data + 2 + 12 * i;
        uint8_t value = (uint8_t)sample(sim, sa->value);

        slot[0] = sa->id;
        put_le(slot + 1, sa->flags, 2);
        slot[3] = value;
        slot[4] = sa->worst == WARD_SIM_SIG_NONE ? running_worst(sim, d, sa, value)
                                                 : (uint8_t)sample(sim, sa->worst);
        put_le(slot + 5, (uint64_t)sample(sim, sa->raw), 6);
        thresh[2 + 12 * i] = sa->id;
        thresh[2 + 12 * i + 1] = sa->threshold;
    }
    d->u.ata.worst_ms = sim->now_ms;
    data[367] = 0x10; /* self-test supported */
    data[370] = 0x01; /* error logging supported */
    seal(data);
    seal(thresh);
}

static void read_ata(struct ward_sim *sim, struct ward_sim_disk *d, bool says_failing,
                     struct ward_smart *out)
{
    uint8_t data[WARD_SMART_PAGE_SIZE], thresh[WARD_SMART_PAGE_SIZE];
    struct ward_ata_smart *ata = &out->u.ata;

    build_ata_pages(sim, d, data, thresh);
    if (ward_smart_ata_decode(data, sizeof(data), thresh, sizeof(thresh), ata) != 0) {
        /* cannot happen with pages built above; never report half a page */
        out->status = WARD_STATUS_UNAVAILABLE;
        out->reason = WARD_REASON_BAD_DATA;
        out->verdict = WARD_SMART_UNKNOWN;
        return;
    }
    ata->drive_says_failing = says_failing;
    ata->error_count = (uint16_t)sample(sim, d->u.ata.error_count);
    ata->selftest_count = (uint16_t)sample(sim, d->u.ata.selftest_count);
    ata->selftest_last_status = (uint8_t)sample(sim, d->u.ata.selftest_last_status);
    ata->has_selftest_log = true;
    ata->has_error_log = true;
    out->verdict = ward_smart_ata_verdict(ata);
}

/* NVMe reports whole kelvin; hal/smart reads them back as K * 1000 - 273150 milli-degrees. */
#define MDEG_0C_IN_MK 273150

/* The nearest whole kelvin of a temperature signal; 0 means "not implemented". */
static uint16_t kelvin(const struct ward_sim *sim, ward_sim_sig_t sig)
{
    struct ward_sim_sample s;
    int64_t k;

    ward_sim_eval(sim, sig, sim->now_ms, &s);
    if (s.status != WARD_STATUS_OK) {
        return 0;
    }
    k = (s.value + MDEG_0C_IN_MK + 500) / 1000;
    return k < 1 ? 1 : (k > 0xffff ? 0xffff : (uint16_t)k);
}

/* The SMART / Health log page (NVM Express Base 1.4, log 02h) the controller would return. */
static void build_nvme_log(const struct ward_sim *sim, const struct ward_sim_disk *d, uint8_t *log)
{
    const ward_sim_sig_t *f = d->u.nvme.field;
    uint16_t composite = kelvin(sim, f[WARD_SIM_NVME_COMPOSITE_TEMP]);
    uint8_t cw = (uint8_t)sample(sim, f[WARD_SIM_NVME_CRITICAL_WARNING]);
    uint8_t spare = (uint8_t)sample(sim, f[WARD_SIM_NVME_AVAIL_SPARE]);
    int64_t warn = d->u.nvme.warning_temp_mdeg_c;

    /* What the controller sets itself: spare below its threshold, over temperature. */
    if (spare < d->u.nvme.spare_threshold_pct) {
        cw |= WARD_NVME_CW_SPARE;
    }
    if (warn > 0 && composite != 0 && (int64_t)composite * 1000 - MDEG_0C_IN_MK >= warn) {
        cw |= WARD_NVME_CW_TEMPERATURE;
    }
    memset(log, 0, WARD_SMART_PAGE_SIZE);
    log[0] = cw;
    put_le(log + 1, composite, 2);
    log[3] = spare;
    log[4] = d->u.nvme.spare_threshold_pct;
    log[5] = (uint8_t)sample(sim, f[WARD_SIM_NVME_PERCENT_USED]);
    /* 128-bit counters from offset 32, 16 bytes each; simulated values fit the low half */
    for (int i = 0; i <= WARD_SIM_NVME_ERROR_LOG_ENTRIES - WARD_SIM_NVME_DATA_UNITS_READ; i++) {
        put_le(log + 32 + 16 * i, (uint64_t)sample(sim, f[WARD_SIM_NVME_DATA_UNITS_READ + i]), 8);
    }
    put_le(log + 192, (uint64_t)sample(sim, f[WARD_SIM_NVME_WARNING_TEMP_MINUTES]), 4);
    put_le(log + 196, (uint64_t)sample(sim, f[WARD_SIM_NVME_CRITICAL_TEMP_MINUTES]), 4);
    for (int i = 0; i < WARD_NVME_TEMP_SENSORS; i++) {
        put_le(log + 200 + 2 * i, kelvin(sim, d->u.nvme.temp_sensor[i]), 2);
    }
}

static void read_nvme(const struct ward_sim *sim, const struct ward_sim_disk *d,
                      struct ward_smart *out)
{
    uint8_t log[WARD_SMART_PAGE_SIZE];
    struct ward_nvme_health *h = &out->u.nvme;

    build_nvme_log(sim, d, log);
    h->warning_temp_mdeg_c = d->u.nvme.warning_temp_mdeg_c;
    h->critical_temp_mdeg_c = d->u.nvme.critical_temp_mdeg_c;
    (void)ward_smart_nvme_decode(log, sizeof(log), h); /* only fails on size or NULL */
    out->verdict = ward_smart_nvme_verdict(h);
}

static int disk_smart(const struct ward_device *dev, unsigned i, struct ward_smart *out)
{
    struct ward_sim *sim = dev->data;
    struct ward_sim_disk *d;
    bool standby = false, says_failing = false;

    if (i >= sim->n_disk || out == NULL) {
        return -EINVAL;
    }
    d = &sim->disk[i];
    memset(out, 0, sizeof(*out));
    out->kind = d->info.kind;
    out->status = WARD_STATUS_OK;
    for (unsigned e = 0; e < d->ev_count; e++) {
        const struct ward_sim_event *ev = &sim->event[d->ev_first + e];

        if (!ward_sim_event_active(ev, sim->now_ms)) {
            continue;
        }
        if (ev->kind == WARD_SIM_EV_UNAVAILABLE) {
            out->status = WARD_STATUS_UNAVAILABLE;
            out->reason = (enum ward_reason)ev->reason;
        }
        standby = standby || ev->kind == WARD_SIM_EV_STANDBY;
        says_failing = says_failing || ev->kind == WARD_SIM_EV_FAILING;
    }
    if (out->status == WARD_STATUS_OK && standby) {
        out->status = WARD_STATUS_UNAVAILABLE;
        out->reason = WARD_REASON_STANDBY;
    }
    if (out->status != WARD_STATUS_OK) {
        out->verdict = WARD_SMART_UNKNOWN; /* not read: never wake a sleeping drive */
        return 0;
    }
    if (d->info.kind == WARD_DISK_ATA) {
        read_ata(sim, d, says_failing, out);
    } else {
        read_nvme(sim, d, out);
    }
    return 0;
}

const struct ward_disk_ops ward_sim_disk_ops = {
    .count = disk_count,
    .info = disk_info,
    .smart = disk_smart,
};
