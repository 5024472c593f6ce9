/*
 * Reading one disk's SMART, in the order that never wakes a drive and never trusts a bad
 * page. ATA: CHECK POWER MODE (standby -> stop), then SMART RETURN STATUS, READ DATA, READ
 * THRESHOLDS, and the self-test and summary error logs when the drive offers them. NVMe:
 * Get Log Page 02h.
 */
#include <errno.h>
#include <string.h>

#include "disk_internal.h"

static void unavailable(struct ward_smart *out, enum ward_reason why)
{
    out->status = WARD_STATUS_UNAVAILABLE;
    out->reason = why;
}

/* A refused command: remember it, say so once, and report the reason. */
static void failed(struct lx_disk_set *set, struct lx_disk *d, struct ward_smart *out, int err)
{
    if (err == -EPERM || err == -EACCES) {
        d->denied = true;
        lx_disk_warn_permission(set);
    }
    unavailable(out, lx_disk_reason(err));
}

/* The SMART feature set must be there and switched on, or the commands only abort. */
static int ata_smart_usable(struct lx_disk *d)
{
    uint8_t id[512];
    struct ward_disk_info scratch;
    int rc;

    if (!d->have_ata_flags) {
        /* Named from sysfs while asleep: IDENTIFY now, keep the name it was given. */
        rc = lx_disk_ata_identify(d->fd, id);
        if (rc != 0) {
            return rc;
        }
        scratch = d->info;
        rc = ward_ata_identify_decode(id, sizeof(id), &scratch, &d->ata);
        if (rc != 0 && rc != -ENODATA) {
            return rc;
        }
        d->have_ata_flags = true;
    }
    if (!d->ata.smart_supported) {
        return -EOPNOTSUPP;
    }
    return d->ata.smart_enabled ? 0 : -ENOTCONN;
}

static void ata_logs(struct lx_disk *d, const uint8_t *data, struct ward_ata_smart *s)
{
    struct ward_ata_smart_caps caps;
    uint8_t log[512];

    if (ward_smart_ata_caps(data, WARD_SMART_PAGE_SIZE, &caps) != 0) {
        return;
    }
    /* A log that cannot be read or fails its checksum stays "unknown" (has_*_log false). */
    if ((caps.selftest_supported || d->ata.selftest_supported) &&
        lx_disk_ata_smart_read(d->fd, WARD_ATA_SMART_READ_LOG, WARD_ATA_SELFTEST_LOG, log) == 0) {
        (void)ward_smart_ata_selftest_decode(log, sizeof(log), s);
    }
    if ((caps.errlog_supported || d->ata.errlog_supported) &&
        lx_disk_ata_smart_read(d->fd, WARD_ATA_SMART_READ_LOG, WARD_ATA_SUMMARY_ERR_LOG, log) ==
            0) {
        (void)ward_smart_ata_errlog_decode(log, sizeof(log), s);
    }
}

static void read_ata(struct lx_disk_set *set, struct lx_disk *d, struct ward_smart *out)
{
    struct ward_ata_smart *s = &out->u.ata;
    uint8_t data[512], thresh[512];
    enum lx_disk_power pm;
    bool have_thresh;
    int rc;

    rc = lx_disk_ata_power(d->fd, &pm);
    if (rc != 0) {
        /* Without the power mode, any other command might spin the drive up. */
        failed(set, d, out, rc);
        return;
    }
    if (pm == LX_DISK_STANDBY) {
        unavailable(out, WARD_REASON_STANDBY);
        return;
    }
    rc = ata_smart_usable(d);
    if (rc != 0) {
        if (rc == -ENOTCONN) {
            unavailable(out, WARD_REASON_DISABLED);
        } else {
            failed(set, d, out, rc);
        }
        return;
    }
    /* The drive's own verdict first; if it cannot be had, the attributes still decide. */
    rc = lx_disk_ata_smart_status(d->fd, &s->drive_says_failing);
    if (rc == -EPERM || rc == -EACCES) {
        failed(set, d, out, rc);
        return;
    }
    rc = lx_disk_ata_smart_read(d->fd, WARD_ATA_SMART_READ_DATA, 0, data);
    if (rc != 0) {
        failed(set, d, out, rc);
        out->verdict = s->drive_says_failing ? WARD_SMART_FAILING : WARD_SMART_UNKNOWN;
        return;
    }
    /* READ THRESHOLDS is obsolete in ACS: a drive may refuse it (no verdicts then). */
    have_thresh = lx_disk_ata_smart_read(d->fd, WARD_ATA_SMART_READ_THR, 0, thresh) == 0;
    rc = ward_smart_ata_decode(data, sizeof(data), have_thresh ? thresh : NULL, sizeof(thresh), s);
    if (rc != 0) {
        unavailable(out, lx_disk_reason(rc)); /* a bad page is an error, not data */
        out->verdict = s->drive_says_failing ? WARD_SMART_FAILING : WARD_SMART_UNKNOWN;
        return;
    }
    ata_logs(d, data, s);
    out->status = WARD_STATUS_OK;
    out->reason = WARD_REASON_NONE;
    out->verdict = ward_smart_ata_verdict(s);
}

static void read_nvme(struct lx_disk_set *set, struct lx_disk *d, struct ward_smart *out)
{
    uint8_t log[WARD_SMART_PAGE_SIZE];
    int rc = lx_disk_nvme_smart_log(d->fd, log);

    if (rc == 0) {
        rc = ward_smart_nvme_decode(log, sizeof(log), &out->u.nvme);
    }
    if (rc != 0) {
        failed(set, d, out, rc);
        return;
    }
    ward_smart_nvme_apply_limits(&out->u.nvme, &d->info);
    out->status = WARD_STATUS_OK;
    out->reason = WARD_REASON_NONE;
    out->verdict = ward_smart_nvme_verdict(&out->u.nvme);
}

void lx_disk_read_smart(struct lx_disk_set *set, struct lx_disk *d, struct ward_smart *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = d->info.kind;
    out->verdict = WARD_SMART_UNKNOWN;
    if (d->fd < 0) {
        unavailable(out, lx_disk_reason(d->open_err));
        return;
    }
    if (d->info.kind == WARD_DISK_ATA) {
        read_ata(set, d, out);
    } else {
        read_nvme(set, d, out);
    }
}
