/*
 * Fuzz harness for the Linux backend's text parsers (hal/linux/src/parse.c): the whole input
 * as one sysfs value (integers, words, MAC, label, ids), then each of its lines as a line of
 * /proc/stat, /proc/meminfo, /proc/diskstats, /proc/self/mounts and the statvfs fixture.
 * Besides not crashing, every parser's output must keep its promises (checked below; abort()
 * fails the run even in release builds, where assert() is compiled out).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/hal/linux_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_sysfs_value: %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_number(const char *buf, size_t len)
{
    char text[32];
    int64_t i;
    uint64_t u, back;
    int ri = ward_linux_parse_i64(buf, len, &i);
    int ru = ward_linux_parse_u64(buf, len, &u);

    if (ri == 0) {
        int64_t again;
        int n = snprintf(text, sizeof(text), "%" PRId64 "\n", i);

        /* What was accepted prints and parses back to the same value. */
        CHECK(ward_linux_parse_i64(text, (size_t)n, &again) == 0 && again == i);
        if (i > 0) { /* ("-0" is an int64 but not a counter) */
            CHECK(ru == 0 && u == (uint64_t)i);
        }
    }
    if (ru == 0) {
        int n = snprintf(text, sizeof(text), "%" PRIu64, u);

        CHECK(ward_linux_parse_u64(text, (size_t)n, &back) == 0 && back == u);
        CHECK(ri == 0 || u > (uint64_t)INT64_MAX);
    }
}

static void check_text(const char *buf, size_t len)
{
    char out[40], id[WARD_SENSOR_ID_MAX], id2[WARD_SENSOR_ID_MAX];
    uint8_t mac[6];
    size_t n;

    n = ward_linux_label_clean(out, sizeof(out), buf, len);
    CHECK(n < sizeof(out) && strlen(out) == n);
    for (size_t i = 0; i < n; i++) {
        CHECK(out[i] >= 0x20 && out[i] < 0x7f);
    }
    n = ward_linux_normalize(out, sizeof(out), buf, len);
    CHECK(n < sizeof(out) && strlen(out) == n);
    CHECK(n == 0 || (out[0] != '_' && out[n - 1] != '_'));
    for (size_t i = 0; i < n; i++) {
        CHECK((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= '0' && out[i] <= '9') ||
              (out[i] == '_' && out[i + 1] != '_'));
    }
    (void)ward_linux_parse_operstate(buf, len);
    (void)ward_linux_parse_duplex(buf, len);
    (void)ward_linux_parse_mac(buf, len, mac);

    n = ward_linux_bus_id(id, sizeof(id), "platform", out);
    CHECK(n < sizeof(id) && strlen(id) == n);
    for (size_t i = 0; i < n; i++) {
        CHECK(strchr("abcdefghijklmnopqrstuvwxyz0123456789_.-", id[i]) != NULL);
    }
    n = ward_linux_wwid_id(id, sizeof(id), buf, len);
    CHECK(n < sizeof(id) && strlen(id) == n);
    n = ward_linux_make_id(id, "temp", out, out);
    CHECK(n < WARD_SENSOR_ID_MAX && strlen(id) == n);
    ward_linux_make_id(id2, "temp", out, out);
    CHECK(strcmp(id, id2) == 0);
}

static void check_line(const char *line, size_t len)
{
    uint64_t ticks[WARD_CPU_STATE_COUNT], v;
    struct ward_linux_diskstat ds;
    struct ward_linux_mount m;
    struct ward_host_fs fs;
    char key[32], dir[64];

    (void)ward_linux_parse_stat_cpu(line, len, ticks);
    (void)ward_linux_is_stat_cpun(line, len);
    if (ward_linux_parse_meminfo(line, len, key, sizeof(key), &v) == 0) {
        CHECK(strlen(key) > 0 && strlen(key) < sizeof(key));
    }
    if (ward_linux_parse_diskstats(line, len, &ds) == 0) {
        CHECK(strlen(ds.name) < sizeof(ds.name));
    }
    if (ward_linux_parse_mount(line, len, &m) == 0) {
        CHECK(m.dir[0] == '/');
        (void)ward_linux_fs_is_pseudo(m.type);
        (void)ward_linux_fs_is_network(m.type);
    }
    (void)ward_linux_parse_statvfs_line(line, len, dir, sizeof(dir), NULL);
    if (ward_linux_parse_statvfs_line(line, len, dir, sizeof(dir), &fs) == 0) {
        CHECK(strlen(dir) < sizeof(dir) && fs.avail_bytes <= UINT64_MAX);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t start = 0;

    check_number(text, size);
    check_text(text, size);
    for (size_t i = 0; i <= size; i++) {
        if (i == size || text[i] == '\n') {
            check_line(text + start, i - start);
            start = i + 1;
        }
    }
    return 0;
}
