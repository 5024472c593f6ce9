/*
 * The Linux disk backend's internals, shared by its files and its unit test.
 *
 * Every system call that reaches a drive goes through struct lx_disk_io, so the unit test
 * can put a fake device behind SG_IO and NVME_IOCTL_ADMIN_CMD (tests/fakes/fake_disk_io.c)
 * and see exactly which commands the backend sends.
 */
#ifndef WARD_HAL_LINUX_DISK_DISK_INTERNAL_H_
#define WARD_HAL_LINUX_DISK_DISK_INTERNAL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/hal/disk.h"
#include "ward/hal/smart.h"

#define LX_DISK_MAX      32    /* disks (ATA devices and NVMe controllers) one agent reads */
#define LX_DISK_ROOT_MAX 200   /* bytes of the --root prefix, NUL included */
#define LX_DISK_TIMEOUT  10000 /* ms a drive gets to answer one command */

struct lx_disk_io {
    int (*open)(const char *path, int flags);
    int (*ioctl)(int fd, unsigned long req, void *arg); /* -1 and errno on failure */
    int (*close)(int fd);
    void (*warn)(const char *line); /* one line for the operator, without '\n' */
};

/** Route the backend's system calls through io (NULL: the real ones). For tests. */
void lx_disk_set_io(const struct lx_disk_io *io);
const struct lx_disk_io *lx_disk_io(void);

/* ---- ATA PASS-THROUGH (16) (SAT-4 12.2.2) ---- */

#define WARD_ATA_PT16            0x85
#define WARD_ATA_PROTO_NON_DATA  3
#define WARD_ATA_PROTO_PIO_IN    4
#define WARD_ATA_CHECK_POWER     0xe5
#define WARD_ATA_IDENTIFY        0xec
#define WARD_ATA_SMART           0xb0
#define WARD_ATA_SMART_READ_DATA 0xd0
#define WARD_ATA_SMART_READ_THR  0xd1
#define WARD_ATA_SMART_READ_LOG  0xd5
#define WARD_ATA_SMART_STATUS    0xda
#define WARD_ATA_SMART_LBA_MID   0x4f /* SMART's key in LBA 15:8 ... */
#define WARD_ATA_SMART_LBA_HIGH  0xc2 /* ... and 23:16; 0xf4/0x2c back when failing */

/* An ATA command's registers going out, and the ones coming back. */
struct ward_ata_tf {
    uint16_t feature; /* out; error register on return */
    uint16_t count;
    uint64_t lba; /* 48 bits */
    uint8_t device;
    uint8_t command; /* out; status register on return */
};

/**
 * Build the 16-byte CDB. data_in: PIO data-in of count 512-byte blocks, else non-data.
 * ck_cond asks the SATL to return the registers in the sense data.
 */
void lx_disk_ata_cdb(uint8_t cdb[16], const struct ward_ata_tf *tf, bool data_in, bool ck_cond);

/**
 * Find the ATA registers in sense data: descriptor format (0x72/0x73) with the ATA Status
 * Return descriptor (09h), or fixed format (0x70/0x71) with ASC/ASCQ 00h/1Dh (ATA
 * PASS-THROUGH INFORMATION AVAILABLE), which libata sends when D_SENSE is off.
 * @return the sense key (>= 0) with out filled, or -ENODATA when there are no registers.
 */
int lx_disk_ata_sense(const uint8_t *sense, size_t len, struct ward_ata_tf *out);

/**
 * Send one ATA command through SG_IO on fd. On success tf holds the returned registers when
 * the SATL gave them (always with ck_cond).
 * @return 0; -EPERM/-EACCES (no CAP_SYS_RAWIO), -EOPNOTSUPP (SATL refuses ATA PASS-THROUGH),
 *         -EIO (the drive aborted it, or the transfer failed), -ENODATA (ck_cond but no
 *         registers came back), or another -errno of the ioctl.
 */
int lx_disk_ata_cmd(int fd, struct ward_ata_tf *tf, uint8_t *buf, size_t len, bool ck_cond);

enum lx_disk_power {
    LX_DISK_ACTIVE = 0, /* active or idle: commands do not spin it up */
    LX_DISK_STANDBY,
};

/** CHECK POWER MODE. @return 0 with *pm set, or the errors of lx_disk_ata_cmd(). */
int lx_disk_ata_power(int fd, enum lx_disk_power *pm);

/** SMART RETURN STATUS. @return 0 with *failing set; -EPROTO for registers that say neither. */
int lx_disk_ata_smart_status(int fd, bool *failing);

/** SMART READ DATA (D0h), READ THRESHOLDS (D1h) or READ LOG (D5h, log) into 512 bytes. */
int lx_disk_ata_smart_read(int fd, uint8_t feature, uint8_t log, uint8_t buf[512]);

/** IDENTIFY DEVICE into 512 bytes. */
int lx_disk_ata_identify(int fd, uint8_t buf[512]);

/* ---- NVMe admin commands ---- */

#define WARD_NVME_ADMIN_GET_LOG  0x02
#define WARD_NVME_ADMIN_IDENTIFY 0x06
#define WARD_NVME_LOG_SMART      0x02
#define WARD_NVME_CNS_CTRL       0x01

/** Identify Controller into 4096 bytes. @return 0, -EIO (NVMe status), or -errno. */
int lx_disk_nvme_identify(int fd, uint8_t buf[WARD_NVME_IDENTIFY_SIZE]);

/** Get Log Page 02h for the controller (NSID FFFFFFFFh) into 512 bytes. */
int lx_disk_nvme_smart_log(int fd, uint8_t buf[WARD_SMART_PAGE_SIZE]);

/* ---- the backend's state ---- */

enum lx_disk_ident {
    LX_DISK_ID_NONE = 0,
    LX_DISK_ID_SYSFS_PARTIAL, /* libata's 16-character INQUIRY model: may be cut short */
    LX_DISK_ID_FULL,          /* IDENTIFY (from the drive or the kernel's cached copy) */
};

struct lx_disk {
    struct ward_disk_info info;
    int fd;        /* kept open between cycles; -1 when it could not be opened */
    int open_err;  /* positive errno of the failed open */
    uint8_t ident; /* enum lx_disk_ident */
    bool denied;   /* the kernel refused a command or the open: a missing capability */
    bool have_ata_flags;
    struct ward_ata_identify ata; /* SMART support flags, when have_ata_flags */
};

struct lx_disk_set {
    char root[LX_DISK_ROOT_MAX];
    struct lx_disk disk[LX_DISK_MAX];
    unsigned n;
    bool warned; /* the permission line was printed */
};

/**
 * Find the disks under set->root: sd* whose SCSI vendor is "ATA" and the controllers of
 * nvme*n* namespaces. Fills dev_name, kind, fd and what sysfs says. @return 0 or -ENOSPC.
 */
int lx_disk_discover(struct lx_disk_set *set);

/** Complete d's identity: IDENTIFY when the drive is awake, else the kernel's caches. */
void lx_disk_identify(struct lx_disk_set *set, struct lx_disk *d);

/** Read one disk's SMART into out, never waking it. */
void lx_disk_read_smart(struct lx_disk_set *set, struct lx_disk *d, struct ward_smart *out);

/** Print the one permission line (once per set) naming what to grant. */
void lx_disk_warn_permission(struct lx_disk_set *set);

/** Errno of a failed command -> the reason a reading carries. */
enum ward_reason lx_disk_reason(int err);

/** Close every fd of set and forget its disks. */
void lx_disk_reset(struct lx_disk_set *set);

/** The set behind the device ward_linux_disk_attach() adds. For tests. */
struct lx_disk_set *lx_disk_state(void);

#endif /* WARD_HAL_LINUX_DISK_DISK_INTERNAL_H_ */
