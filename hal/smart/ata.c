/*
 * ATA SMART READ DATA / READ THRESHOLDS: attribute table, verdicts, raw decoding, and the
 * capability bytes. Layout (ACS-3 Table 130, SFF-8035i): bytes 0-1 revision, then 30 slots of
 * 12 bytes from offset 2 (id, flags LE16, value, worst, raw[6] LE, reserved), 362-376 the
 * off-line / self-test capabilities, 511 the checksum. The thresholds page has the same
 * slots, each holding the id and the threshold in byte 1.
 */
#include <errno.h>
#include <string.h>

#include "smart_internal.h"

#define ATTR_OFFSET 2
#define ATTR_SIZE   12

bool ward_smart_ata_checksum_ok(const uint8_t *page)
{
    uint8_t sum = 0;

    if (page == NULL) {
        return false;
    }
    for (size_t i = 0; i < WARD_SMART_PAGE_SIZE; i++) {
        sum = (uint8_t)(sum + page[i]);
    }
    return sum == 0;
}

int smart_check_page(const uint8_t *page, size_t len)
{
    if (page == NULL) {
        return -EINVAL;
    }
    if (len != WARD_SMART_PAGE_SIZE) {
        return -EMSGSIZE;
    }
    return ward_smart_ata_checksum_ok(page) ? 0 : -EBADMSG;
}

/* The threshold entry for id: normally in the same slot, else anywhere (smartmontools). */
static const uint8_t *find_threshold(const uint8_t *thresh, unsigned slot, uint8_t id)
{
    const uint8_t *t = thresh + ATTR_OFFSET + slot * ATTR_SIZE;

    if (t[0] == id) {
        return t;
    }
    for (unsigned i = 0; i < WARD_ATA_MAX_ATTRS; i++) {
        t = thresh + ATTR_OFFSET + i * ATTR_SIZE;
        if (t[0] == id) {
            return t;
        }
    }
    return NULL;
}

static enum ward_smart_verdict attr_verdict(const struct ward_ata_attr *a)
{
    if (a->threshold == 0) {
        return WARD_SMART_PASSED; /* ATA-3: threshold 0 is "always passing" */
    }
    if (a->value <= a->threshold) {
        return WARD_SMART_FAILING;
    }
    if (a->worst <= a->threshold) {
        return WARD_SMART_FAILED_PAST;
    }
    return WARD_SMART_PASSED;
}

static void decode_attr(const uint8_t *p, struct ward_ata_attr *a)
{
    a->id = p[0];
    a->flags = (uint16_t)(p[1] | (p[2] << 8));
    a->value = p[3];
    a->worst = p[4];
    a->raw = 0;
    for (int i = 5; i >= 0; i--) {
        a->raw = (a->raw << 8) | p[5 + i];
    }
    smart_ata_decode_raw(a, p + 5);
}

int ward_smart_ata_decode(const uint8_t *data, size_t data_len, const uint8_t *thresh,
                          size_t thresh_len, struct ward_ata_smart *out)
{
    int rc;

    if (out == NULL) {
        return -EINVAL;
    }
    rc = smart_check_page(data, data_len);
    if (rc == 0 && thresh != NULL) {
        rc = smart_check_page(thresh, thresh_len);
    }
    if (rc != 0) {
        return rc;
    }
    out->n_attrs = 0;
    memset(out->attr, 0, sizeof(out->attr));
    for (unsigned slot = 0; slot < WARD_ATA_MAX_ATTRS; slot++) {
        const uint8_t *p = data + ATTR_OFFSET + slot * ATTR_SIZE;
        struct ward_ata_attr *a = &out->attr[out->n_attrs];
        const uint8_t *t;

        if (p[0] == 0) {
            continue; /* empty slot */
        }
        decode_attr(p, a);
        t = thresh != NULL ? find_threshold(thresh, slot, a->id) : NULL;
        if (t != NULL) {
            a->threshold = t[1];
            a->verdict = attr_verdict(a);
        } else {
            a->verdict = WARD_SMART_UNKNOWN;
        }
        out->n_attrs++;
    }
    return 0;
}

enum ward_smart_verdict ward_smart_ata_verdict(const struct ward_ata_smart *s)
{
    enum ward_smart_verdict v = WARD_SMART_PASSED;

    if (s == NULL) {
        return WARD_SMART_UNKNOWN;
    }
    if (s->drive_says_failing) {
        return WARD_SMART_FAILING;
    }
    for (unsigned i = 0; i < s->n_attrs && i < WARD_ATA_MAX_ATTRS; i++) {
        if (s->attr[i].verdict == WARD_SMART_FAILING) {
            return WARD_SMART_FAILING;
        }
        if (s->attr[i].verdict == WARD_SMART_FAILED_PAST) {
            v = WARD_SMART_FAILED_PAST;
        }
    }
    return v;
}

int ward_smart_ata_caps(const uint8_t *data, size_t len, struct ward_ata_smart_caps *caps)
{
    int rc = smart_check_page(data, len);

    if (rc != 0) {
        return rc;
    }
    if (caps == NULL) {
        return -EINVAL;
    }
    caps->revision = smart_le16(data);
    caps->offline_status = data[362];
    caps->selftest_exec = data[363];
    caps->selftest_supported = (data[367] & 0x10) != 0;
    caps->errlog_supported = (data[370] & 0x01) != 0;
    caps->short_test_minutes = data[372];
    /* 0xff in byte 373 means "see the word at 375-376" (ACS-3 Table 130). */
    caps->ext_test_minutes = data[373] == 0xff ? smart_le16(data + 375) : data[373];
    return 0;
}
