/*
 * NVMe SMART / Health Information log (log identifier 02h, NVM Express Base 1.4 Figure 194)
 * and the parts of Identify Controller (CNS 01h, Figure 247) that name the drive and give
 * its temperature thresholds. All fields little-endian; temperatures in integer Kelvin.
 */
#include <errno.h>
#include <string.h>

#include "smart_internal.h"

#define MDEG_0C_IN_MK 273150 /* 0 C = 273.15 K, as the kernel's nvme hwmon converts */

static int64_t kelvin_to_mdeg(uint16_t k)
{
    return (int64_t)k * 1000 - MDEG_0C_IN_MK;
}

static void le128(uint64_t v[2], const uint8_t *p)
{
    v[0] = smart_le64(p);
    v[1] = smart_le64(p + 8);
}

static void decode_temps(const uint8_t *log, struct ward_nvme_health *h)
{
    uint16_t composite = smart_le16(log + 1);

    h->has_composite_temp = composite != 0;
    h->composite_temp_mdeg_c = composite != 0 ? kelvin_to_mdeg(composite) : 0;
    for (unsigned i = 0; i < WARD_NVME_TEMP_SENSORS; i++) {
        uint16_t k = smart_le16(log + 200 + 2 * i);

        if (k == 0) {
            ward_reading_unavailable(&h->temp_sensor_mdeg_c[i], WARD_REASON_NOT_SUPPORTED);
        } else {
            ward_reading_ok(&h->temp_sensor_mdeg_c[i], kelvin_to_mdeg(k));
        }
    }
    h->warning_temp_minutes = smart_le32(log + 192);
    h->critical_temp_minutes = smart_le32(log + 196);
    h->tmt_transitions[0] = smart_le32(log + 216);
    h->tmt_transitions[1] = smart_le32(log + 220);
    h->tmt_seconds[0] = smart_le32(log + 224);
    h->tmt_seconds[1] = smart_le32(log + 228);
}

int ward_smart_nvme_decode(const uint8_t *log, size_t len, struct ward_nvme_health *out)
{
    int64_t warn, crit;

    if (log == NULL || out == NULL) {
        return -EINVAL;
    }
    if (len != WARD_SMART_PAGE_SIZE) {
        return -EMSGSIZE;
    }
    warn = out->warning_temp_mdeg_c;
    crit = out->critical_temp_mdeg_c;
    memset(out, 0, sizeof(*out));
    out->warning_temp_mdeg_c = warn;
    out->critical_temp_mdeg_c = crit;

    out->critical_warning = log[0];
    out->avail_spare_pct = log[3];
    out->spare_threshold_pct = log[4];
    out->percent_used = log[5];
    out->endurance_group_warning = log[6];
    le128(out->data_units_read, log + 32);
    le128(out->data_units_written, log + 48);
    le128(out->host_reads, log + 64);
    le128(out->host_writes, log + 80);
    le128(out->busy_minutes, log + 96);
    le128(out->power_cycles, log + 112);
    le128(out->power_on_hours, log + 128);
    le128(out->unsafe_shutdowns, log + 144);
    le128(out->media_errors, log + 160);
    le128(out->error_log_entries, log + 176);
    decode_temps(log, out);
    return 0;
}

enum ward_smart_verdict ward_smart_nvme_verdict(const struct ward_nvme_health *h)
{
    if (h == NULL) {
        return WARD_SMART_UNKNOWN;
    }
    /* smartctl -H: any bit, reserved ones included, is a failure. */
    return h->critical_warning != 0 ? WARD_SMART_FAILING : WARD_SMART_PASSED;
}

static void set_threshold(struct ward_thresholds *t, enum ward_threshold_kind kind, uint16_t k)
{
    if (k == 0) {
        return; /* not reported */
    }
    t->present |= (uint8_t)(1u << kind);
    t->value[kind] = kelvin_to_mdeg(k);
}

int ward_smart_nvme_identify_decode(const uint8_t *id, size_t len, struct ward_disk_info *info)
{
    uint64_t cap[2];

    if (id == NULL || info == NULL) {
        return -EINVAL;
    }
    if (len != WARD_NVME_IDENTIFY_SIZE) {
        return -EMSGSIZE;
    }
    smart_copy_ascii(info->serial, sizeof(info->serial), id + 4, 20, false);
    smart_copy_ascii(info->model, sizeof(info->model), id + 24, 40, false);
    smart_copy_ascii(info->firmware, sizeof(info->firmware), id + 64, 8, false);
    le128(cap, id + 280);
    info->capacity_bytes = cap[1] != 0 ? UINT64_MAX : cap[0];
    info->sensor.thresholds.present &=
        (uint8_t) ~((1u << WARD_THR_UPPER_CAUTION) | (1u << WARD_THR_UPPER_CRITICAL));
    set_threshold(&info->sensor.thresholds, WARD_THR_UPPER_CAUTION, smart_le16(id + 266));
    set_threshold(&info->sensor.thresholds, WARD_THR_UPPER_CRITICAL, smart_le16(id + 268));
    smart_copy_ascii(info->sensor.label, sizeof(info->sensor.label), (const uint8_t *)info->model,
                     strlen(info->model), false);
    return ward_smart_disk_id(info->sensor.id, sizeof(info->sensor.id), info->model, info->serial);
}

void ward_smart_nvme_apply_limits(struct ward_nvme_health *h, const struct ward_disk_info *info)
{
    const struct ward_thresholds *t;

    if (h == NULL || info == NULL) {
        return;
    }
    t = &info->sensor.thresholds;
    h->warning_temp_mdeg_c =
        (t->present & (1u << WARD_THR_UPPER_CAUTION)) ? t->value[WARD_THR_UPPER_CAUTION] : 0;
    h->critical_temp_mdeg_c =
        (t->present & (1u << WARD_THR_UPPER_CRITICAL)) ? t->value[WARD_THR_UPPER_CRITICAL] : 0;
}
