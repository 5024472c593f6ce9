/*
 * WARD-MIB's disk tables (mib_internal.h), read from the agent's reading cache
 * (ward/nms/cache.h): a disk's row is its cache slot + 1, which it keeps for the life of the
 * agent. Attribute rows follow the SMART page's order of ids, so they are found by the
 * smallest id after the last one (30 slots at most).
 */
#include <errno.h>
#include <string.h>

#include "ward/base/fmt.h"

#include "mib_internal.h"

static const struct ward_nms_disk *disk_at(const struct ward_mib *m, uint32_t row)
{
    if (m->cache == NULL || row == 0 || row > m->cache->n_disks) {
        return NULL;
    }
    return &m->cache->disk[row - 1u];
}

/* The SMART data was read at least once (a sleeping drive keeps what it had). */
static bool smart_read(const struct ward_nms_disk *d)
{
    return d != NULL && d->t_ms != 0 && d->smart.status == WARD_STATUS_OK;
}

/* WardSmartVerdict: unknown(1), passed(2), failedInPast(3), failing(4). */
static int verdict(enum ward_smart_verdict v)
{
    return v >= WARD_SMART_UNKNOWN && v <= WARD_SMART_FAILING ? (int)v + 1 : 1;
}

/* ---- wardDiskTable ---- */

int64_t mib_disk_next(const struct ward_mib *m, int64_t after)
{
    int64_t next = after < 1 ? 1 : after + 1;

    return m->cache != NULL && next <= (int64_t)m->cache->n_disks ? next : -1;
}

int mib_disk_get(const struct ward_mib *m, unsigned col, uint32_t row, int64_t now,
                 struct ward_agentx_value *v)
{
    const struct ward_nms_disk *d = disk_at(m, row);

    (void)now;
    if (d == NULL) {
        return -ENOENT;
    }
    switch (col) {
    case 2:
        ward_agentx_value_str(v, d->info.sensor.id);
        break;
    case 3:
        ward_agentx_value_str(v, d->info.dev_name);
        break;
    case 4: /* ata(1), nvme(2) */
        mib_v_int(v, d->info.kind == WARD_DISK_NVME ? 2 : 1);
        break;
    case 5:
        mib_v_int(v, smart_read(d) ? verdict(d->smart.verdict) : 1);
        break;
    case 6:
        mib_v_u32(v, WARD_AGENTX_V_TIMETICKS, d->t_ms != 0 ? mib_timestamp(m, d->t_ms) : 0);
        break;
    default:
        return -ENOENT;
    }
    return 0;
}

/* ---- wardSmartAttrTable, index (disk, attribute id) ---- */

/* The attribute of disk d with the smallest id > after_id, or NULL. */
static const struct ward_ata_attr *attr_after(const struct ward_nms_disk *d, int64_t after_id)
{
    const struct ward_ata_attr *best = NULL;
    unsigned n;

    if (!smart_read(d) || d->smart.kind != WARD_DISK_ATA) {
        return NULL;
    }
    n = d->smart.u.ata.n_attrs < WARD_ATA_MAX_ATTRS ? d->smart.u.ata.n_attrs : WARD_ATA_MAX_ATTRS;
    for (unsigned i = 0; i < n; i++) {
        const struct ward_ata_attr *a = &d->smart.u.ata.attr[i];

        if (a->id != 0 && (int64_t)a->id > after_id && (best == NULL || a->id < best->id)) {
            best = a;
        }
    }
    return best;
}

int64_t mib_attr_next(const struct ward_mib *m, int64_t after)
{
    int64_t disk = after < 0 ? 1 : after >> MIB_ATTR_BITS;
    int64_t id = after < 0 ? 0 : after & ((1 << MIB_ATTR_BITS) - 1);

    if (disk < 1) {
        disk = 1, id = 0;
    }
    for (; m->cache != NULL && disk <= (int64_t)m->cache->n_disks; disk++, id = 0) {
        const struct ward_ata_attr *a = attr_after(disk_at(m, (uint32_t)disk), id);

        if (a != NULL) {
            return disk << MIB_ATTR_BITS | a->id;
        }
    }
    return -1;
}

int mib_attr_get(const struct ward_mib *m, unsigned col, uint32_t row, int64_t now,
                 struct ward_agentx_value *v)
{
    const struct ward_ata_attr *a =
        attr_after(disk_at(m, row >> MIB_ATTR_BITS), (int64_t)(row & 0xffu) - 1);
    char raw[24];

    (void)now;
    if (a == NULL || a->id != (row & 0xffu)) {
        return -ENOENT;
    }
    switch (col) {
    case 2: /* the application's names (hal/smart is a backend's helper, not the core's) */
        if (m->attr_name == NULL) {
            return -ENOENT;
        }
        ward_agentx_value_str(v, m->attr_name(a->id));
        break;
    case 3:
    case 4:
    case 5:
        mib_v_int(v, col == 3 ? a->value : (col == 4 ? a->worst : a->threshold));
        break;
    case 6:
        (void)ward_fmt_u64(raw, sizeof(raw), a->raw);
        ward_agentx_value_str(v, raw);
        break;
    case 7:
        mib_v_int(v, a->flags);
        break;
    case 8:
        mib_v_int(v, verdict(a->verdict));
        break;
    default:
        return -ENOENT;
    }
    return 0;
}

/* ---- wardNvmeTable, index disk ---- */

static const struct ward_nvme_health *nvme_at(const struct ward_mib *m, uint32_t row)
{
    const struct ward_nms_disk *d = disk_at(m, row);

    return smart_read(d) && d->smart.kind == WARD_DISK_NVME ? &d->smart.u.nvme : NULL;
}

int64_t mib_nvme_next(const struct ward_mib *m, int64_t after)
{
    for (int64_t row = after < 1 ? 1 : after + 1;
         m->cache != NULL && row <= (int64_t)m->cache->n_disks; row++) {
        if (nvme_at(m, (uint32_t)row) != NULL) {
            return row;
        }
    }
    return -1;
}

/* The low 64 bits of a 128-bit NVMe counter. */
static void v_c64(struct ward_agentx_value *v, const uint64_t c[2])
{
    v->type = WARD_AGENTX_V_COUNTER64;
    v->u.u64 = c[0];
}

int mib_nvme_get(const struct ward_mib *m, unsigned col, uint32_t row, int64_t now,
                 struct ward_agentx_value *v)
{
    const struct ward_nvme_health *h = nvme_at(m, row);

    (void)now;
    if (h == NULL) {
        return -ENOENT;
    }
    switch (col) {
    case 1:
        mib_v_int(v, h->critical_warning);
        break;
    case 2:
        if (!h->has_composite_temp) {
            return -ENOENT;
        }
        mib_v_int(v, h->composite_temp_mdeg_c);
        break;
    case 3:
    case 4:
    case 5:
        mib_v_u32(v, WARD_AGENTX_V_GAUGE32,
                  col == 3 ? h->avail_spare_pct
                           : (col == 4 ? h->spare_threshold_pct : h->percent_used));
        break;
    case 6:
        v_c64(v, h->media_errors);
        break;
    case 7:
        v_c64(v, h->power_on_hours);
        break;
    case 8:
        v_c64(v, h->unsafe_shutdowns);
        break;
    default:
        return -ENOENT;
    }
    return 0;
}
