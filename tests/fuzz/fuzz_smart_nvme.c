/*
 * Fuzz the NVMe decoders (hal/smart): the SMART / Health log as given (only exactly 512
 * bytes may decode) and zero-padded, Identify Controller zero-padded to 4096 bytes, the
 * 128-bit decimal printer on the counters, and the stable-id builder on input strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/hal/smart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_dec(const uint64_t v[2])
{
    char buf[48];
    int n = ward_smart_u128_dec(buf, sizeof(buf), v);

    if (n <= 0 || n > 39 || (size_t)n != strlen(buf) || (n > 1 && buf[0] == '0')) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t page[WARD_SMART_PAGE_SIZE], id[WARD_NVME_IDENTIFY_SIZE];
    static struct ward_nvme_health h;
    static struct ward_disk_info info;
    char model[41], serial[21], sid[WARD_SENSOR_ID_MAX];
    int rc;

    rc = ward_smart_nvme_decode(data, size, &h);
    if ((rc == 0) != (size == WARD_SMART_PAGE_SIZE)) {
        abort();
    }
    memset(page, 0, sizeof(page));
    memcpy(page, data, size < sizeof(page) ? size : sizeof(page));
    if (ward_smart_nvme_decode(page, sizeof(page), &h) != 0) {
        abort();
    }
    if ((ward_smart_nvme_verdict(&h) == WARD_SMART_FAILING) != (h.critical_warning != 0)) {
        abort();
    }
    for (unsigned i = 0; i < WARD_NVME_TEMP_SENSORS; i++) {
        if (h.temp_sensor_mdeg_c[i].status == WARD_STATUS_OK &&
            h.temp_sensor_mdeg_c[i].value < -273150) {
            abort();
        }
    }
    check_dec(h.data_units_read);
    check_dec(h.error_log_entries);
    uint64_t bytes[2];
    if (ward_smart_u128_mul(bytes, h.data_units_written, 512000)) {
        check_dec(bytes);
    }

    memset(id, 0, sizeof(id));
    memcpy(id, data, size < sizeof(id) ? size : sizeof(id));
    memset(&info, 0, sizeof(info));
    if (ward_smart_nvme_identify_decode(id, sizeof(id), &info) == 0) {
        if (strncmp(info.sensor.id, "disk:", 5) != 0 || strlen(info.model) > 40) {
            abort();
        }
        ward_smart_nvme_apply_limits(&h, &info);
    }

    /* Arbitrary bytes as model and serial. */
    memset(model, 0, sizeof(model));
    memset(serial, 0, sizeof(serial));
    memcpy(model, data, size < 40 ? size : 40);
    if (size > 40) {
        memcpy(serial, data + 40, size - 40 < 20 ? size - 40 : 20);
    }
    if (ward_smart_disk_id(sid, sizeof(sid), model, serial) == 0 &&
        (strlen(sid) >= sizeof(sid) || strstr(sid, "__") != NULL)) {
        abort();
    }
    return 0;
}
