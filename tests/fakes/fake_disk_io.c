/*
 * Fake SG_IO / NVMe admin devices for the Linux disk backend (see fake_disk_io.h).
 * SG_IO answers follow libata: GOOD for a completed data-in command, CHECK CONDITION with
 * RECOVERED ERROR + ATA Status Return (descriptor, or fixed with 00h/1Dh) for CK_COND, and
 * ABORTED COMMAND with the ATA ERR bit for a command the drive rejects.
 */
#include <errno.h>
#include <sys/ioctl.h> /* _IOWR, which linux/nvme_ioctl.h uses */
#include <linux/nvme_ioctl.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk_internal.h"
#include "fake_disk_io.h"

#define FD_BASE 1000

static struct fake_disk s_disks[FAKE_DISK_MAX];
static size_t s_n;
static bool s_open[FAKE_DISK_MAX];
static struct fake_cmd s_log[FAKE_LOG_MAX];
static size_t s_log_n;
static int s_opens;
static int s_warnings;
static char s_last_warning[512];

void fake_disk_load(uint8_t *buf, size_t len, const char *name)
{
    char path[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", WARD_SMART_FIXTURES, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fake_disk: cannot open %s\n", path);
        abort();
    }
    n = fread(buf, 1, len, f);
    fclose(f);
    if (n != len) {
        fprintf(stderr, "fake_disk: %s has %zu bytes, want %zu\n", path, n, len);
        abort();
    }
}

static struct fake_disk *by_fd(int fd)
{
    unsigned i = (unsigned)(fd - FD_BASE);

    return fd >= FD_BASE && i < s_n && s_open[i] ? &s_disks[i] : NULL;
}

static int fake_open(const char *path, int flags)
{
    size_t plen = strlen(path);

    (void)flags;
    for (size_t i = 0; i < s_n; i++) {
        char suffix[32];
        size_t slen = (size_t)snprintf(suffix, sizeof(suffix), "/dev/%s", s_disks[i].dev);

        if (plen >= slen && strcmp(path + plen - slen, suffix) == 0) {
            if (s_disks[i].deny_open != 0) {
                errno = s_disks[i].deny_open;
                return -1;
            }
            s_open[i] = true;
            s_opens++;
            return FD_BASE + (int)i;
        }
    }
    errno = ENOENT;
    return -1;
}

static int fake_close(int fd)
{
    if (by_fd(fd) == NULL) {
        errno = EBADF;
        return -1;
    }
    s_open[fd - FD_BASE] = false;
    return 0;
}

static void fake_warn(const char *line)
{
    s_warnings++;
    snprintf(s_last_warning, sizeof(s_last_warning), "%s", line);
}

static void put_sense(const struct fake_disk *d, sg_io_hdr_t *h, uint8_t key, uint8_t error,
                      uint8_t status, uint8_t count, uint32_t lba)
{
    uint8_t *s = h->sbp;
    uint8_t len = d->sense == FAKE_SENSE_FIXED ? 18 : 22;

    memset(s, 0, h->mx_sb_len);
    h->status = 0x02; /* CHECK CONDITION */
    h->masked_status = 0x01;
    h->driver_status = 0x08; /* DRIVER_SENSE */
    if (d->sense == FAKE_SENSE_FIXED) {
        s[0] = 0x70;
        s[2] = key;
        s[3] = error;
        s[4] = status;
        s[5] = 0x40;
        s[6] = count;
        s[7] = 10;
        s[9] = (uint8_t)lba;
        s[10] = (uint8_t)(lba >> 8);
        s[11] = (uint8_t)(lba >> 16);
        s[12] = 0x00;
        s[13] = 0x1d;
    } else {
        s[0] = 0x72;
        s[1] = key;
        s[2] = 0x00;
        s[3] = 0x1d;
        s[7] = 14;
        s[8] = 0x09;
        s[9] = 12;
        s[11] = error;
        s[13] = count;
        s[15] = (uint8_t)lba;
        s[17] = (uint8_t)(lba >> 8);
        s[19] = (uint8_t)(lba >> 16);
        s[20] = 0x40;
        s[21] = status;
    }
    h->sb_len_wr = len < h->mx_sb_len ? len : h->mx_sb_len;
}

static int abort_cmd(const struct fake_disk *d, sg_io_hdr_t *h)
{
    put_sense(d, h, 0x0b, 0x04 /* ABRT */, 0x51 /* DRDY|DSC|ERR */, 0, 0);
    return 0;
}

static int data_in(const struct fake_disk *d, sg_io_hdr_t *h, const uint8_t *page)
{
    if (h->dxfer_direction != SG_DXFER_FROM_DEV || h->dxfer_len != 512 || h->cmdp[1] != 0x08 ||
        h->cmdp[2] != 0x0e || h->cmdp[6] != 1) {
        return abort_cmd(d, h); /* not PIO data-in of one block */
    }
    memcpy(h->dxferp, page, 512);
    h->resid = d->short_transfer ? 512 : 0;
    return 0;
}

static int non_data_ck(const struct fake_disk *d, sg_io_hdr_t *h, uint8_t count, uint32_t lba)
{
    if (h->dxfer_direction != SG_DXFER_NONE || h->cmdp[1] != 0x06 || !(h->cmdp[2] & 0x20)) {
        return abort_cmd(d, h); /* not non-data with CK_COND: no registers to give back */
    }
    put_sense(d, h, 0x01, 0x00, 0x50, count, lba);
    return 0;
}

static int smart_cmd(const struct fake_disk *d, sg_io_hdr_t *h)
{
    const uint8_t *c = h->cmdp;
    uint32_t key = (uint32_t)c[10] << 8 | (uint32_t)c[12] << 16;

    if (d->smart_disabled || key != 0xc24f00) {
        return abort_cmd(d, h);
    }
    switch (c[4]) {
    case 0xda:
        return non_data_ck(d, h, 0, d->says_failing ? 0x2cf400 : 0xc24f00);
    case 0xd0:
        return data_in(d, h, d->data);
    case 0xd1:
        return d->abort_thresholds ? abort_cmd(d, h) : data_in(d, h, d->thresh);
    case 0xd5:
        if (c[8] == 0x06) {
            return data_in(d, h, d->selftest);
        }
        if (c[8] == 0x01) {
            return data_in(d, h, d->errlog);
        }
        return abort_cmd(d, h);
    default:
        return abort_cmd(d, h);
    }
}

static int sg_io(struct fake_disk *d, sg_io_hdr_t *h)
{
    const uint8_t *c = h->cmdp;
    struct fake_cmd *log = s_log_n < FAKE_LOG_MAX ? &s_log[s_log_n++] : NULL;

    if (h->interface_id != 'S' || h->cmd_len != 16 || h->sbp == NULL || h->mx_sb_len < 22) {
        errno = EINVAL;
        return -1;
    }
    if (log != NULL) {
        memset(log, 0, sizeof(*log));
        snprintf(log->dev, sizeof(log->dev), "%s", d->dev);
        log->command = c[14];
        log->feature = (uint16_t)(c[3] << 8 | c[4]);
        log->lba_low = c[8];
        log->data_len = h->dxfer_len;
    }
    h->status = 0;
    h->masked_status = 0;
    h->host_status = 0;
    h->driver_status = 0;
    h->sb_len_wr = 0;
    h->resid = 0;
    if (d->refuse_ata16 || c[0] != 0x85) {
        memset(h->sbp, 0, h->mx_sb_len);
        h->sbp[0] = 0x70;
        h->sbp[2] = 0x05; /* ILLEGAL REQUEST, invalid command operation code */
        h->sbp[7] = 10;
        h->sbp[12] = 0x20;
        h->sb_len_wr = 18;
        h->status = 0x02;
        h->driver_status = 0x08;
        return 0;
    }
    switch (c[14]) {
    case 0xe5:
        return non_data_ck(d, h, d->standby ? 0x00 : 0xff, 0);
    case 0xec:
        return data_in(d, h, d->identify);
    case 0xb0:
        return smart_cmd(d, h);
    default:
        return abort_cmd(d, h);
    }
}

static int nvme_admin(struct fake_disk *d, struct nvme_admin_cmd *c)
{
    struct fake_cmd *log = s_log_n < FAKE_LOG_MAX ? &s_log[s_log_n++] : NULL;
    void *buf = (void *)(uintptr_t)c->addr;

    if (log != NULL) {
        memset(log, 0, sizeof(*log));
        snprintf(log->dev, sizeof(log->dev), "%s", d->dev);
        log->nvme = true;
        log->opcode = c->opcode;
        log->cdw10 = c->cdw10;
        log->cdw11 = c->cdw11;
        log->nsid = c->nsid;
        log->data_len = c->data_len;
    }
    if (c->opcode == 0x06 && c->cdw10 == 1 && c->data_len == 4096) {
        memcpy(buf, d->nvme_id, 4096);
        return 0;
    }
    if (c->opcode == 0x02 && (c->cdw10 & 0xff) == 0x02 && c->data_len == 512 &&
        (c->cdw10 >> 16) == 127 && c->cdw11 == 0) {
        if (d->deny_log_errno != 0) {
            errno = d->deny_log_errno;
            return -1;
        }
        memcpy(buf, d->nvme_log, 512);
        return 0;
    }
    return 0x4002; /* DNR | Invalid Field in Command */
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
    struct fake_disk *d = by_fd(fd);

    if (d == NULL) {
        errno = EBADF;
        return -1;
    }
    if (d->deny_errno != 0) {
        errno = d->deny_errno;
        return -1;
    }
    if (req == SG_IO && !d->nvme) {
        return sg_io(d, arg);
    }
    if (req == NVME_IOCTL_ADMIN_CMD && d->nvme) {
        return nvme_admin(d, arg);
    }
    errno = ENOTTY;
    return -1;
}

static const struct lx_disk_io s_fake_io = {
    .open = fake_open,
    .ioctl = fake_ioctl,
    .close = fake_close,
    .warn = fake_warn,
};

void fake_disk_reset(void)
{
    memset(s_disks, 0, sizeof(s_disks));
    memset(s_open, 0, sizeof(s_open));
    s_n = 0;
    s_log_n = 0;
    s_opens = 0;
    s_warnings = 0;
    s_last_warning[0] = '\0';
    lx_disk_set_io(&s_fake_io);
}

struct fake_disk *fake_disk_add(const char *dev, bool nvme)
{
    struct fake_disk *d;

    if (s_n >= FAKE_DISK_MAX) {
        abort();
    }
    d = &s_disks[s_n++];
    snprintf(d->dev, sizeof(d->dev), "%s", dev);
    d->nvme = nvme;
    return d;
}

size_t fake_disk_log(const struct fake_cmd **cmds)
{
    *cmds = s_log;
    return s_log_n;
}

void fake_disk_clear_log(void)
{
    s_log_n = 0;
}

int fake_disk_open_fds(void)
{
    int n = 0;

    for (size_t i = 0; i < s_n; i++) {
        n += s_open[i];
    }
    return n;
}

int fake_disk_opens(void)
{
    return s_opens;
}

int fake_disk_warnings(const char **last)
{
    if (last != NULL) {
        *last = s_last_warning;
    }
    return s_warnings;
}
