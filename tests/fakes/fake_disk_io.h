/*
 * A fake for the Linux disk backend's system calls (struct lx_disk_io): ATA drives that
 * answer ATA PASS-THROUGH (16) over SG_IO and NVMe controllers that answer the admin ioctl,
 * from fixture pages. It parses the CDBs and commands the backend builds (a malformed one
 * is refused the way a SATL refuses it) and records every command, so tests can prove what
 * was sent, and what was not.
 */
#ifndef WARD_TESTS_FAKES_FAKE_DISK_IO_H_
#define WARD_TESTS_FAKES_FAKE_DISK_IO_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_DISK_MAX 8
#define FAKE_LOG_MAX  256

enum fake_sense { FAKE_SENSE_DESCRIPTOR = 0, FAKE_SENSE_FIXED };

struct fake_disk {
    char dev[16]; /* matched against the end of the opened path: "/dev/<dev>" */
    bool nvme;
    bool standby;          /* CHECK POWER MODE answers 00h */
    bool says_failing;     /* SMART RETURN STATUS answers F4h/2Ch */
    bool smart_disabled;   /* SMART commands abort */
    bool refuse_ata16;     /* the SATL answers ILLEGAL REQUEST */
    bool abort_thresholds; /* READ THRESHOLDS aborts */
    bool short_transfer;   /* data-in commands come back with resid 512 */
    int deny_errno;        /* every ioctl fails with this errno (EPERM: no capability) */
    int deny_open;         /* open fails with this errno */
    int deny_log_errno;    /* NVMe Get Log Page alone fails with it */
    enum fake_sense sense;
    uint8_t identify[512]; /* ATA IDENTIFY DEVICE */
    uint8_t data[512];
    uint8_t thresh[512];
    uint8_t selftest[512];
    uint8_t errlog[512];
    uint8_t nvme_id[4096];
    uint8_t nvme_log[512];
};

/* One command as the drive saw it. ATA: command, feature, LBA low. NVMe: opcode, cdw10, nsid. */
struct fake_cmd {
    char dev[16];
    bool nvme;
    uint8_t command;
    uint16_t feature;
    uint8_t lba_low;
    uint8_t opcode;
    uint32_t cdw10;
    uint32_t cdw11;
    uint32_t nsid;
    uint32_t data_len;
};

/** Forget every drive and command; install the fake as the backend's io. */
void fake_disk_reset(void);

/** A new drive named dev ("sda", "nvme0"); fill its pages. */
struct fake_disk *fake_disk_add(const char *dev, bool nvme);

/** Fill buf from tests/fixtures/smart/<name> (exactly len bytes, else the test fails). */
void fake_disk_load(uint8_t *buf, size_t len, const char *name);

/** Commands sent since the last reset or fake_disk_clear_log(). */
size_t fake_disk_log(const struct fake_cmd **cmds);
void fake_disk_clear_log(void);

/** fds open now, opens so far, and the warning lines printed. */
int fake_disk_open_fds(void);
int fake_disk_opens(void);
int fake_disk_warnings(const char **last);

#endif /* WARD_TESTS_FAKES_FAKE_DISK_IO_H_ */
