/*
 * Fuzz the ATA SMART decoders (hal/smart): READ DATA + READ THRESHOLDS (input bytes 0-511 and
 * 512-1023), the capability bytes, the self-test and error logs and IDENTIFY DEVICE. Each page
 * is decoded as given (checksums and lengths must be refused, never half-used) and again with
 * its checksum fixed up, so the fuzzer reaches the decoding behind the checksum. Invariants
 * that fail abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/hal/smart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fix_checksum(uint8_t page[WARD_SMART_PAGE_SIZE])
{
    uint8_t sum = 0;

    for (size_t i = 0; i < WARD_SMART_PAGE_SIZE - 1; i++) {
        sum = (uint8_t)(sum + page[i]);
    }
    page[WARD_SMART_PAGE_SIZE - 1] = (uint8_t)(0x100 - sum);
}

/* Page n of the input, zero-padded to 512 bytes. */
static void page_of(uint8_t page[WARD_SMART_PAGE_SIZE], const uint8_t *data, size_t size, size_t n)
{
    size_t off = n * WARD_SMART_PAGE_SIZE;
    size_t len = off < size ? size - off : 0;

    memset(page, 0, WARD_SMART_PAGE_SIZE);
    memcpy(page, data + off, len < WARD_SMART_PAGE_SIZE ? len : WARD_SMART_PAGE_SIZE);
}

static void check_attrs(const struct ward_ata_smart *s)
{
    if (s->n_attrs > WARD_ATA_MAX_ATTRS) {
        abort();
    }
    for (unsigned i = 0; i < s->n_attrs; i++) {
        const struct ward_ata_attr *a = &s->attr[i];

        if (a->id == 0 || a->raw >> 48 != 0) {
            abort();
        }
        if (a->verdict == WARD_SMART_FAILING && a->threshold != 0 && a->value > a->threshold) {
            abort();
        }
        if (a->verdict == WARD_SMART_PASSED && a->threshold != 0 &&
            (a->value <= a->threshold || a->worst <= a->threshold)) {
            abort();
        }
        if (a->has_temp_range &&
            (a->temp_min_c > a->temp_max_c || a->temp_min_c < -60 || a->temp_max_c > 120)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t d[WARD_SMART_PAGE_SIZE], t[WARD_SMART_PAGE_SIZE];
    static struct ward_ata_smart s;
    struct ward_ata_smart_caps caps;
    struct ward_disk_info info;
    struct ward_ata_identify x;
    int rc;

    /* As given: only an exact, checksummed page may decode. */
    rc = ward_smart_ata_decode(data, size, NULL, 0, &s);
    if (rc == 0 && (size != WARD_SMART_PAGE_SIZE || !ward_smart_ata_checksum_ok(data))) {
        abort();
    }
    (void)ward_smart_ata_caps(data, size, &caps);
    (void)ward_smart_ata_selftest_decode(data, size, &s);
    (void)ward_smart_ata_errlog_decode(data, size, &s);
    memset(&info, 0, sizeof(info));
    (void)ward_ata_identify_decode(data, size, &info, &x);

    /* Fixed up: the decoding behind the checksum. */
    page_of(d, data, size, 0);
    page_of(t, data, size, 1);
    fix_checksum(d);
    fix_checksum(t);
    memset(&s, 0, sizeof(s));
    if (ward_smart_ata_decode(d, sizeof(d), size > WARD_SMART_PAGE_SIZE ? t : NULL, sizeof(t),
                              &s) != 0) {
        abort(); /* a 512-byte page with a good checksum always decodes */
    }
    check_attrs(&s);
    (void)ward_smart_ata_verdict(&s);
    (void)ward_smart_ata_caps(d, sizeof(d), &caps);
    (void)ward_smart_ata_selftest_decode(d, sizeof(d), &s);
    (void)ward_smart_ata_errlog_decode(t, sizeof(t), &s);
    if (s.selftest_last_status > 15) {
        abort();
    }
    memset(&info, 0, sizeof(info));
    if (ward_ata_identify_decode(d, sizeof(d), &info, &x) == 0 &&
        (strlen(info.sensor.id) >= sizeof(info.sensor.id) || strncmp(info.sensor.id, "disk:", 5))) {
        abort();
    }
    return 0;
}
