/*
 * Portable decoders for disk health pages: ATA SMART (READ DATA, READ THRESHOLDS, the
 * self-test and summary error logs, IDENTIFY DEVICE) and NVMe (SMART / Health log page 0x02,
 * Identify Controller). Pure functions over caller buffers: no OS, no heap, no printf, so
 * the same code runs on a Linux server, in the fuzzer and on a Cortex-M BMC that receives
 * the pages over a bus.
 *
 * Layouts: ATA/ATAPI Command Set (ACS-3, T13/2161-D) 7.48 SMART and A.14/A.20 logs;
 * SFF-8035i for the attribute table; NVM Express Base 1.4 5.14.1.2 (SMART / Health) and
 * 5.15.2.2 (Identify Controller). Verdicts follow smartmontools (see ward_smart_ata_decode).
 *
 * Every decoder returns 0 or a negative errno:
 *   -EINVAL   a NULL pointer;
 *   -EMSGSIZE the buffer is not the size the page has (512, or 4096 for Identify Controller);
 *   -EBADMSG  an ATA page whose checksum is wrong: the page is rejected, never half-used.
 */
#ifndef WARD_HAL_SMART_H_
#define WARD_HAL_SMART_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/hal/disk.h"

#define WARD_SMART_PAGE_SIZE          512  /* every ATA SMART page and the NVMe health log */
#define WARD_NVME_IDENTIFY_SIZE       4096 /* Identify Controller data structure */
#define WARD_ATA_SELFTEST_LOG         0x06 /* SMART READ LOG address: SMART self-test log */
#define WARD_ATA_SUMMARY_ERR_LOG      0x01 /* SMART READ LOG address: summary error log */
#define WARD_ATA_SELFTEST_IN_PROGRESS 0x0f /* self-test status nibble: still running */

/* NVMe Critical Warning bits (log page 0x02, byte 0). */
#define WARD_NVME_CW_SPARE        0x01 /* available spare below its threshold */
#define WARD_NVME_CW_TEMPERATURE  0x02 /* a temperature is outside its threshold */
#define WARD_NVME_CW_RELIABILITY  0x04 /* NVM subsystem reliability degraded */
#define WARD_NVME_CW_READ_ONLY    0x08 /* media placed in read-only mode */
#define WARD_NVME_CW_VOLATILE_BAK 0x10 /* volatile memory backup device failed */
#define WARD_NVME_CW_PMR_RO       0x20 /* persistent memory region read-only / unreliable */

/* What IDENTIFY DEVICE says beyond struct ward_disk_info. */
struct ward_ata_identify {
    bool smart_supported;          /* word 82 bit 0 */
    bool smart_enabled;            /* word 85 bit 0 */
    bool selftest_supported;       /* word 84 bit 1 */
    bool errlog_supported;         /* word 84 bit 0 */
    bool lba48;                    /* word 83 bit 10: capacity came from words 100-103 */
    uint16_t rotation_rate;        /* word 217: 0 not reported, 1 solid state, else RPM */
    uint32_t logical_sector_bytes; /* words 106, 117-118; 512 unless the drive says more */
};

/* What the SMART READ DATA page says about the drive's SMART capabilities. */
struct ward_ata_smart_caps {
    uint16_t revision;           /* bytes 0-1 */
    uint8_t offline_status;      /* byte 362 */
    uint8_t selftest_exec;       /* byte 363: high nibble status, low nibble % remaining */
    bool selftest_supported;     /* byte 367 bit 4 */
    bool errlog_supported;       /* byte 370 bit 0 */
    uint16_t short_test_minutes; /* byte 372 */
    uint16_t ext_test_minutes;   /* byte 373, or bytes 375-376 when 373 is 0xff */
};

/**
 * True when the 512 bytes of an ATA SMART page (or IDENTIFY with signature 0xA5) sum to 0
 * modulo 256: byte 511 is the two's complement of the sum of bytes 0-510.
 */
bool ward_smart_ata_checksum_ok(const uint8_t *page);

/**
 * Decode SMART READ DATA and, when thresh is not NULL, READ THRESHOLDS into out (which is
 * cleared first, except drive_says_failing, the self-test and error-log fields, which come from
 * other commands and are left as they are). Attribute slots with id 0 are empty and skipped.
 *
 * Per attribute, as smartmontools' ata_get_attr_state(): the threshold is matched by id (the
 * same slot first, then any slot); none found -> verdict UNKNOWN. Threshold 0 means "always
 * passing" (ATA-3) -> PASSED. value <= threshold -> FAILING (failing now); else worst <=
 * threshold -> FAILED_PAST; else PASSED. No other value is special: smartmontools compares
 * normalized values 0x00/0xfe/0xff and thresholds 0xfe/0xff like any other, so threshold 0xff
 * ("always failing" in SFF-8035i) fails every value. Pre-failure and old-age attributes get the
 * same per-attribute verdict; the flags tell them apart.
 *
 * Raw decoding (has_decoded; raw always keeps all 48 bits):
 *   5 Reallocated_Sector_Ct      low 16 bits (vendors pack other counts above; smartctl
 *                                "raw16(raw16)")
 *   9 Power_On_Hours             low 32 bits, hours (upper 16 bits: Seagate milliseconds)
 *   12 Power_Cycle_Count         48 bits
 *   177 Wear_Leveling_Count      48 bits: P/E cycles (Samsung); normalized value is wear left
 *   187 Reported_Uncorrect       48 bits
 *   188 Command_Timeout          low 16 bits: commands timed out (Seagate packs three 16-bit
 *                                counters: total, > 5 s, > 7.5 s; smartctl prints all 48 bits)
 *   190 Airflow_Temperature_Cel  low byte, signed, in milli-degrees Celsius; min/max from the
 *   194 Temperature_Celsius      other bytes when they form a plausible range
 *                                (-60..120 C, min <= current <= max), as smartctl finds them
 *   197 Current_Pending_Sector   48 bits
 *   198 Offline_Uncorrectable    48 bits
 *   199 UDMA_CRC_Error_Count     48 bits
 *   231 SSD_Life_Left            the normalized value (percent of life left) when <= 100
 *   241 Total_LBAs_Written       48 bits, in the drive's LBA unit (usually 512 bytes;
 *   242 Total_LBAs_Read          some vendors count 32 MiB or GiB units)
 *
 * @return 0, -EINVAL, -EMSGSIZE (a length is not 512), -EBADMSG (a checksum is wrong).
 */
int ward_smart_ata_decode(const uint8_t *data, size_t data_len, const uint8_t *thresh,
                          size_t thresh_len, struct ward_ata_smart *out);

/** The capability bytes of a SMART READ DATA page. @return 0, -EINVAL, -EMSGSIZE, -EBADMSG. */
int ward_smart_ata_caps(const uint8_t *data, size_t len, struct ward_ata_smart_caps *caps);

/**
 * Overall ATA verdict: FAILING when the drive says so (SMART RETURN STATUS) or any attribute is
 * failing now; FAILED_PAST when an attribute failed in the past; else PASSED.
 */
enum ward_smart_verdict ward_smart_ata_verdict(const struct ward_ata_smart *s);

/**
 * Decode the SMART self-test log (READ LOG 0x06): entry count (non-empty descriptors) and the
 * status nibble of the newest entry (byte 508 points at it, 1-21; 0 means none logged).
 * Sets has_selftest_log. @return 0, -EINVAL, -EMSGSIZE, -EBADMSG, -EPROTO (index > 21).
 */
int ward_smart_ata_selftest_decode(const uint8_t *log, size_t len, struct ward_ata_smart *out);

/**
 * Decode the summary SMART error log (READ LOG 0x01): the device error count (bytes 452-453).
 * Sets has_error_log. @return 0, -EINVAL, -EMSGSIZE, -EBADMSG, -EPROTO (index > 5).
 */
int ward_smart_ata_errlog_decode(const uint8_t *log, size_t len, struct ward_ata_smart *out);

/**
 * Decode IDENTIFY DEVICE (512 bytes): model, serial and firmware (ATA strings: two characters
 * per word, high byte first; trailing spaces trimmed), capacity = user addressable sectors
 * (words 100-103 with LBA48, else 60-61) x logical sector size, and the stable id
 * "disk:<model>_<serial>". Checksummed when word 255's low byte is the 0xA5 signature.
 * info->kind, dev_name and thresholds are left as they are; extra may be NULL.
 * @return 0, -EINVAL, -EMSGSIZE, -EBADMSG, -ENODATA (no model and no serial).
 */
int ward_ata_identify_decode(const uint8_t *id, size_t len, struct ward_disk_info *info,
                             struct ward_ata_identify *extra);

/**
 * Decode the NVMe SMART / Health log (page 0x02, 512 bytes) into out (cleared first, except
 * warning_temp_mdeg_c and critical_temp_mdeg_c, which come from Identify Controller).
 * Temperatures are integer Kelvin on the wire and become milli-degrees Celsius exactly,
 * K * 1000 - 273150, as the kernel's nvme hwmon reports the same sensor (323 K -> 49850), so
 * the two readings agree; smartctl and nvme-cli print K - 273 (323 K -> "50 Celsius").
 * Kelvin below 274 gives a negative temperature. A sensor reporting 0 is not implemented:
 * UNAVAILABLE / NOT_SUPPORTED.
 * @return 0, -EINVAL, -EMSGSIZE.
 */
int ward_smart_nvme_decode(const uint8_t *log, size_t len, struct ward_nvme_health *out);

/** NVMe verdict as smartctl -H: FAILING when any Critical Warning bit is set, else PASSED. */
enum ward_smart_verdict ward_smart_nvme_verdict(const struct ward_nvme_health *h);

/**
 * Decode Identify Controller (CNS 01h, 4096 bytes): serial (bytes 4-23), model (24-63) and
 * firmware (64-71), ASCII padded with spaces; capacity from TNVMCAP (bytes 280-295, 0 when the
 * controller does not report it; saturates at UINT64_MAX); WCTEMP (266-267) and CCTEMP
 * (268-269) as the upper caution / upper critical thresholds of info->sensor; the stable id.
 * @return 0, -EINVAL, -EMSGSIZE, -ENODATA (no model and no serial).
 */
int ward_smart_nvme_identify_decode(const uint8_t *id, size_t len, struct ward_disk_info *info);

/** Copy WCTEMP/CCTEMP from info's thresholds into h (0 when not reported). */
void ward_smart_nvme_apply_limits(struct ward_nvme_health *h, const struct ward_disk_info *info);

/**
 * Build "disk:<model>_<serial>" into id (WARD_SENSOR_ID_MAX): characters other than
 * [A-Za-z0-9.-] become '_', runs of them collapse, and the model is shortened when the
 * whole would not fit (the serial is what makes the id unique, so it is kept whole).
 * @return 0, -EINVAL, -ENODATA (both empty).
 */
int ward_smart_disk_id(char *id, size_t len, const char *model, const char *serial);

/** smartmontools' name of a common ATA attribute id, or "Unknown_Attribute". */
const char *ward_smart_ata_attr_name(uint8_t id);

/** "passed", "failed-past", "failing", "unknown". */
const char *ward_smart_verdict_name(enum ward_smart_verdict v);

/** Meaning of a self-test status nibble ("completed", "read-failure", ...). */
const char *ward_smart_selftest_status_name(uint8_t status);

/**
 * Decimal text of the 128-bit little-endian value v[0] (low) | v[1] (high) into buf.
 * @return the length written, -EINVAL, -ENOSPC (buf shorter than the digits + NUL).
 */
int ward_smart_u128_dec(char *buf, size_t len, const uint64_t v[2]);

/** r = a * m (128-bit by 32-bit); false when the product overflows 128 bits. */
bool ward_smart_u128_mul(uint64_t r[2], const uint64_t a[2], uint32_t m);

#endif /* WARD_HAL_SMART_H_ */
