/*
 * ATA commands through the SCSI/ATA Translation layer: ATA PASS-THROUGH (16) (SAT-4 12.2.2)
 * sent with SG_IO on the sd block device. libata implements it; so do most USB and SAS
 * bridges that translate to SATA. The ATA Status Return descriptor (SAT-4 12.2.2.6) or the
 * fixed-format equivalent carries the registers back when CK_COND is set.
 */
#include <errno.h>
#include <scsi/sg.h>
#include <string.h>

#include "disk_internal.h"

#define SAM_GOOD            0x00
#define SAM_CHECK_CONDITION 0x02
#define SENSE_NO_SENSE      0x0
#define SENSE_RECOVERED     0x1
#define SENSE_ILLEGAL_REQ   0x5
#define SENSE_ABORTED       0xb
#define ATA_STATUS_ERR      0x01
#define ATA_STATUS_DF       0x20
#define SENSE_MAX           64

void lx_disk_ata_cdb(uint8_t cdb[16], const struct ward_ata_tf *tf, bool data_in, bool ck_cond)
{
    memset(cdb, 0, 16);
    cdb[0] = WARD_ATA_PT16;
    cdb[1] = (uint8_t)((data_in ? WARD_ATA_PROTO_PIO_IN : WARD_ATA_PROTO_NON_DATA) << 1);
    /* T_DIR from the device, BYTE_BLOCK in blocks, T_LENGTH in the COUNT field */
    cdb[2] = (uint8_t)((ck_cond ? 0x20 : 0) | (data_in ? 0x0e : 0));
    cdb[3] = (uint8_t)(tf->feature >> 8);
    cdb[4] = (uint8_t)tf->feature;
    cdb[5] = (uint8_t)(tf->count >> 8);
    cdb[6] = (uint8_t)tf->count;
    cdb[7] = (uint8_t)(tf->lba >> 24);
    cdb[8] = (uint8_t)tf->lba;
    cdb[9] = (uint8_t)(tf->lba >> 32);
    cdb[10] = (uint8_t)(tf->lba >> 8);
    cdb[11] = (uint8_t)(tf->lba >> 40);
    cdb[12] = (uint8_t)(tf->lba >> 16);
    cdb[13] = tf->device;
    cdb[14] = tf->command;
}

/* SAT-4 Table 190: ATA Status Return sense data descriptor (09h, 12 bytes after the header). */
static int sense_descriptor(const uint8_t *s, size_t len, struct ward_ata_tf *out)
{
    size_t end = 8 + (size_t)s[7];

    if (end > len) {
        end = len;
    }
    for (size_t off = 8; off + 2 <= end; off += 2 + (size_t)s[off + 1]) {
        const uint8_t *d = s + off;
        bool ext;

        if (d[0] != 0x09 || d[1] < 12 || off + 14 > end) {
            continue;
        }
        ext = (d[2] & 0x01) != 0;
        out->feature = d[3];
        out->count = (uint16_t)(d[5] | (ext ? d[4] << 8 : 0));
        out->lba = (uint64_t)d[7] | ((uint64_t)d[9] << 8) | ((uint64_t)d[11] << 16);
        if (ext) {
            out->lba |= ((uint64_t)d[6] << 24) | ((uint64_t)d[8] << 32) | ((uint64_t)d[10] << 40);
        }
        out->device = d[12];
        out->command = d[13];
        return s[1] & 0x0f;
    }
    return -ENODATA;
}

/* SAT-4 12.2.2.7: fixed format, INFORMATION = error/status/device/count(7:0), COMMAND-SPECIFIC
 * INFORMATION = flags and LBA(23:0). Only the low halves of 48-bit registers fit. */
static int sense_fixed(const uint8_t *s, size_t len, struct ward_ata_tf *out)
{
    if (len < 14 || s[12] != 0x00 || s[13] != 0x1d) {
        return -ENODATA;
    }
    out->feature = s[3];
    out->command = s[4];
    out->device = s[5];
    out->count = s[6];
    out->lba = (uint64_t)s[9] | ((uint64_t)s[10] << 8) | ((uint64_t)s[11] << 16);
    return s[2] & 0x0f;
}

int lx_disk_ata_sense(const uint8_t *sense, size_t len, struct ward_ata_tf *out)
{
    if (sense == NULL || out == NULL || len < 8) {
        return -ENODATA;
    }
    switch (sense[0] & 0x7f) {
    case 0x72:
    case 0x73:
        return sense_descriptor(sense, len, out);
    case 0x70:
    case 0x71:
        return sense_fixed(sense, len, out);
    default:
        return -ENODATA;
    }
}

static int sense_key_only(const uint8_t *s, size_t len)
{
    if (len < 3) {
        return -ENODATA;
    }
    return ((s[0] & 0x7f) >= 0x72) ? (s[1] & 0x0f) : (s[2] & 0x0f);
}

/* What SG_IO's header says about a finished command. */
static int sg_result(const sg_io_hdr_t *h, const uint8_t *sense, struct ward_ata_tf *tf,
                     bool ck_cond)
{
    size_t slen = h->sb_len_wr;
    int key = -ENODATA;

    /* driver_status bit 3 (DRIVER_SENSE) only says sense data came back */
    if (h->host_status != 0 || (h->driver_status & 0x07) != 0) {
        return -EIO;
    }
    if (h->status != SAM_GOOD && h->status != SAM_CHECK_CONDITION) {
        return -EIO;
    }
    if (slen > 0) {
        key = lx_disk_ata_sense(sense, slen, tf);
        if (key == -ENODATA) {
            key = sense_key_only(sense, slen);
            if (key == SENSE_ILLEGAL_REQ) {
                return -EOPNOTSUPP;
            }
            if (key > SENSE_RECOVERED) {
                return -EIO;
            }
            key = -ENODATA;
        } else if (key > SENSE_RECOVERED || (tf->command & (ATA_STATUS_ERR | ATA_STATUS_DF))) {
            return key == SENSE_ILLEGAL_REQ ? -EOPNOTSUPP : -EIO;
        }
    } else if (h->status == SAM_CHECK_CONDITION) {
        return -EIO;
    }
    if (ck_cond && key < 0) {
        return -ENODATA;
    }
    return 0;
}

int lx_disk_ata_cmd(int fd, struct ward_ata_tf *tf, uint8_t *buf, size_t len, bool ck_cond)
{
    uint8_t cdb[16], sense[SENSE_MAX];
    sg_io_hdr_t h;
    int rc;

    if (tf == NULL || (len != 0 && buf == NULL) || len % 512 != 0) {
        return -EINVAL;
    }
    lx_disk_ata_cdb(cdb, tf, len != 0, ck_cond);
    memset(&h, 0, sizeof(h));
    memset(sense, 0, sizeof(sense));
    h.interface_id = 'S';
    h.dxfer_direction = len != 0 ? SG_DXFER_FROM_DEV : SG_DXFER_NONE;
    h.cmd_len = sizeof(cdb);
    h.cmdp = cdb;
    h.dxferp = buf;
    h.dxfer_len = (unsigned)len;
    h.mx_sb_len = sizeof(sense);
    h.sbp = sense;
    h.timeout = LX_DISK_TIMEOUT;
    if (lx_disk_io()->ioctl(fd, SG_IO, &h) < 0) {
        return errno != 0 ? -errno : -EIO;
    }
    rc = sg_result(&h, sense, tf, ck_cond);
    if (rc == 0 && len != 0 && h.resid != 0) {
        rc = -EIO; /* a short page is no page */
    }
    return rc;
}

int lx_disk_ata_power(int fd, enum lx_disk_power *pm)
{
    struct ward_ata_tf tf = { .command = WARD_ATA_CHECK_POWER };
    int rc = lx_disk_ata_cmd(fd, &tf, NULL, 0, true);

    if (rc != 0) {
        return rc;
    }
    /* COUNT: 00h Standby (PM2), 01h Standby_y, 40h/41h/80h-83h idle variants, FFh active. */
    *pm = (tf.count & 0xff) <= 0x01 ? LX_DISK_STANDBY : LX_DISK_ACTIVE;
    return 0;
}

static void smart_tf(struct ward_ata_tf *tf, uint8_t feature, uint8_t lba_low, uint16_t count)
{
    memset(tf, 0, sizeof(*tf));
    tf->feature = feature;
    tf->count = count;
    tf->lba = lba_low | (WARD_ATA_SMART_LBA_MID << 8) | ((uint64_t)WARD_ATA_SMART_LBA_HIGH << 16);
    tf->command = WARD_ATA_SMART;
}

int lx_disk_ata_smart_status(int fd, bool *failing)
{
    struct ward_ata_tf tf;
    uint8_t mid, high;
    int rc;

    smart_tf(&tf, WARD_ATA_SMART_STATUS, 0, 0);
    rc = lx_disk_ata_cmd(fd, &tf, NULL, 0, true);
    if (rc != 0) {
        return rc;
    }
    mid = (uint8_t)(tf.lba >> 8);
    high = (uint8_t)(tf.lba >> 16);
    if (mid == WARD_ATA_SMART_LBA_MID && high == WARD_ATA_SMART_LBA_HIGH) {
        *failing = false;
    } else if (mid == 0xf4 && high == 0x2c) {
        *failing = true; /* threshold exceeded */
    } else {
        return -EPROTO;
    }
    return 0;
}

int lx_disk_ata_smart_read(int fd, uint8_t feature, uint8_t log, uint8_t buf[512])
{
    struct ward_ata_tf tf;

    smart_tf(&tf, feature, feature == WARD_ATA_SMART_READ_LOG ? log : 0, 1);
    return lx_disk_ata_cmd(fd, &tf, buf, 512, false);
}

int lx_disk_ata_identify(int fd, uint8_t buf[512])
{
    struct ward_ata_tf tf = { .count = 1, .command = WARD_ATA_IDENTIFY };

    return lx_disk_ata_cmd(fd, &tf, buf, 512, false);
}
