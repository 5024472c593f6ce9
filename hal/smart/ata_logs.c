/*
 * ATA SMART logs read with SMART READ LOG (B0h/D5h), one 512-byte sector each:
 *  - 06h SMART self-test log (ACS-3 A.20): revision word, 21 descriptors of 24 bytes from
 *    offset 2 (byte 0 test number, byte 1 status in the high nibble and percent remaining in
 *    the low one, 2-3 life hours, 4 checkpoint, 5-8 failing LBA), byte 508 the index (1-21)
 *    of the newest descriptor, 0 when no test was ever logged.
 *  - 01h summary SMART error log (ACS-3 A.14): version, index of the newest of 5 error
 *    entries (0 = none), the entries, and the device error count in bytes 452-453.
 */
#include <errno.h>

#include "smart_internal.h"

#define SELFTEST_DESCS     21
#define SELFTEST_DESC_SIZE 24
#define SELFTEST_INDEX     508
#define ERRLOG_ENTRIES     5
#define ERRLOG_COUNT       452

static bool desc_empty(const uint8_t *d)
{
    for (unsigned i = 0; i < SELFTEST_DESC_SIZE; i++) {
        if (d[i] != 0) {
            return false;
        }
    }
    return true;
}

int ward_smart_ata_selftest_decode(const uint8_t *log, size_t len, struct ward_ata_smart *out)
{
    int rc = smart_check_page(log, len);
    unsigned newest, count = 0;

    if (rc != 0) {
        return rc;
    }
    if (out == NULL) {
        return -EINVAL;
    }
    newest = log[SELFTEST_INDEX];
    if (newest > SELFTEST_DESCS) {
        return -EPROTO;
    }
    if (newest != 0) {
        for (unsigned i = 0; i < SELFTEST_DESCS; i++) {
            count += !desc_empty(log + 2 + i * SELFTEST_DESC_SIZE);
        }
    }
    out->selftest_count = (uint16_t)count;
    out->selftest_last_status =
        newest != 0 ? (uint8_t)(log[2 + (newest - 1) * SELFTEST_DESC_SIZE + 1] >> 4) : 0;
    out->has_selftest_log = true;
    return 0;
}

int ward_smart_ata_errlog_decode(const uint8_t *log, size_t len, struct ward_ata_smart *out)
{
    int rc = smart_check_page(log, len);

    if (rc != 0) {
        return rc;
    }
    if (out == NULL) {
        return -EINVAL;
    }
    if (log[1] > ERRLOG_ENTRIES) {
        return -EPROTO;
    }
    out->error_count = smart_le16(log + ERRLOG_COUNT);
    out->has_error_log = true;
    return 0;
}

const char *ward_smart_selftest_status_name(uint8_t status)
{
    static const char *const names[16] = {
        "completed",       "aborted-by-host",    "interrupted-by-reset", "fatal-error",
        "unknown-failure", "electrical-failure", "servo-failure",        "read-failure",
        "handling-damage", "reserved-9",         "reserved-10",          "reserved-11",
        "reserved-12",     "reserved-13",        "reserved-14",          "in-progress",
    };

    return names[status & 0x0f];
}
