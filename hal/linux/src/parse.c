/*
 * Text parsers of the Linux backend. Everything is bounded by the given length: sysfs and
 * procfs never promise a NUL, and the fuzz harness hands in arbitrary bytes.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ward/base/hex.h"
#include "ward/hal/linux_parse.h"
#include "ward/hal/reading.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits of [*pos, len) into a magnitude bounded by max. */
static int parse_magnitude(const char *buf, size_t len, size_t *pos, uint64_t max, uint64_t *out)
{
    size_t i = *pos;
    uint64_t v = 0;
    const uint64_t lim = max / 10u, last = max % 10u; /* v * 10 + d <= max, without dividing */

    if (i >= len || !is_digit(buf[i])) {
        return -EBADMSG;
    }
    for (; i < len && is_digit(buf[i]); i++) {
        uint64_t d = (uint64_t)(buf[i] - '0');

        if (v >= lim && (v > lim || d > last)) {
            return -ERANGE;
        }
        v = v * 10u + d;
    }
    *pos = i;
    *out = v;
    return 0;
}

static size_t skip_blanks(const char *buf, size_t len, size_t i)
{
    while (i < len && is_blank(buf[i])) {
        i++;
    }
    return i;
}

int ward_linux_parse_i64(const char *buf, size_t len, int64_t *out)
{
    size_t i;
    bool neg = false;
    uint64_t mag;
    int rc;

    if (buf == NULL || out == NULL) {
        return -EINVAL;
    }
    i = skip_blanks(buf, len, 0);
    if (i < len && (buf[i] == '-' || buf[i] == '+')) {
        neg = buf[i] == '-';
        i++;
    }
    rc = parse_magnitude(buf, len, &i, neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX, &mag);
    if (rc != 0) {
        return rc;
    }
    if (skip_blanks(buf, len, i) != len) {
        return -EBADMSG;
    }
    *out = neg ? (int64_t)(0u - mag) : (int64_t)mag;
    return 0;
}

int ward_linux_parse_u64(const char *buf, size_t len, uint64_t *out)
{
    size_t i;
    uint64_t v;
    int rc;

    if (buf == NULL || out == NULL) {
        return -EINVAL;
    }
    i = skip_blanks(buf, len, 0);
    if (i < len && buf[i] == '+') {
        i++;
    }
    rc = parse_magnitude(buf, len, &i, UINT64_MAX, &v);
    if (rc != 0) {
        return rc;
    }
    if (skip_blanks(buf, len, i) != len) {
        return -EBADMSG;
    }
    *out = v;
    return 0;
}

size_t ward_linux_label_clean(char *dst, size_t dst_len, const char *src, size_t len)
{
    size_t n = 0;

    if (dst == NULL || dst_len == 0) {
        return 0;
    }
    while (len > 0 && (is_blank(src[len - 1]) || src[len - 1] == '\0')) {
        len--;
    }
    for (size_t i = 0; i < len && n + 1 < dst_len; i++) {
        unsigned char c = (unsigned char)src[i];

        dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
    return n;
}

size_t ward_linux_normalize(char *dst, size_t dst_len, const char *src, size_t len)
{
    size_t n = 0;
    bool gap = false;

    if (dst == NULL || dst_len == 0) {
        return 0;
    }
    for (size_t i = 0; i < len && src[i] != '\0'; i++) {
        char c = src[i];

        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (!((c >= 'a' && c <= 'z') || is_digit(c))) {
            gap = n > 0;
            continue;
        }
        if (gap) {
            if (n + 2 >= dst_len) {
                break;
            }
            dst[n++] = '_';
            gap = false;
        }
        if (n + 1 >= dst_len) {
            break;
        }
        dst[n++] = c;
    }
    dst[n] = '\0';
    return n;
}

/* buf[0, len) minus trailing blanks equals word. */
static bool word_is(const char *buf, size_t len, const char *word)
{
    size_t wl = strlen(word);

    while (len > 0 && is_blank(buf[len - 1])) {
        len--;
    }
    return len == wl && memcmp(buf, word, wl) == 0;
}

enum ward_nic_oper ward_linux_parse_operstate(const char *buf, size_t len)
{
    for (int o = WARD_NIC_OPER_UP; o <= WARD_NIC_OPER_TESTING; o++) {
        if (word_is(buf, len, ward_nic_oper_name((enum ward_nic_oper)o))) {
            return (enum ward_nic_oper)o;
        }
    }
    return WARD_NIC_OPER_UNKNOWN;
}

enum ward_nic_duplex ward_linux_parse_duplex(const char *buf, size_t len)
{
    for (int d = WARD_NIC_DUPLEX_HALF; d <= WARD_NIC_DUPLEX_FULL; d++) {
        if (word_is(buf, len, ward_nic_duplex_name((enum ward_nic_duplex)d))) {
            return (enum ward_nic_duplex)d;
        }
    }
    return WARD_NIC_DUPLEX_UNKNOWN;
}

int ward_linux_parse_mac(const char *buf, size_t len, uint8_t mac[6])
{
    while (len > 0 && is_blank(buf[len - 1])) {
        len--;
    }
    if (len != 17) {
        return -EBADMSG;
    }
    for (size_t i = 0; i < 6; i++) {
        int hi = ward_hex_digit(buf[i * 3]);
        int lo = ward_hex_digit(buf[i * 3 + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && buf[i * 3 + 2] != ':')) {
            return -EBADMSG;
        }
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* Next blank-separated field of [*pos, len); false at the end. */
static bool next_field(const char *line, size_t len, size_t *pos, const char **f, size_t *flen)
{
    size_t i = *pos;

    while (i < len && (line[i] == ' ' || line[i] == '\t')) {
        i++;
    }
    if (i >= len || line[i] == '\n') {
        *pos = i;
        return false;
    }
    *f = line + i;
    while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\n') {
        i++;
    }
    *flen = (size_t)(line + i - *f);
    *pos = i;
    return true;
}

int ward_linux_parse_stat_cpu(const char *line, size_t len, uint64_t ticks[WARD_CPU_STATE_COUNT])
{
    size_t pos = 0;
    const char *f;
    size_t flen;
    unsigned n = 0;

    if (!next_field(line, len, &pos, &f, &flen) || flen != 3 || memcmp(f, "cpu", 3) != 0) {
        return -EBADMSG;
    }
    memset(ticks, 0, sizeof(uint64_t) * WARD_CPU_STATE_COUNT);
    while (n < WARD_CPU_STATE_COUNT && next_field(line, len, &pos, &f, &flen)) {
        int rc = ward_linux_parse_u64(f, flen, &ticks[n]);

        if (rc != 0) {
            return rc;
        }
        n++;
    }
    return n >= 4 ? 0 : -EBADMSG;
}

int ward_linux_is_stat_cpun(const char *line, size_t len)
{
    return len > 3 && memcmp(line, "cpu", 3) == 0 && is_digit(line[3]);
}

size_t ward_linux_meminfo_key(const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    size_t klen = colon != NULL ? (size_t)(colon - line) : 0;

    for (size_t i = 0; i < klen; i++) {
        if (line[i] == '\0' || is_blank(line[i])) {
            return 0;
        }
    }
    return klen;
}

int ward_linux_parse_meminfo(const char *line, size_t len, char *key, size_t key_len,
                             uint64_t *bytes)
{
    size_t klen = ward_linux_meminfo_key(line, len), pos, flen;
    const char *f;
    uint64_t v;
    int rc;

    if (klen == 0 || klen >= key_len) {
        return -EBADMSG;
    }
    pos = klen + 1;
    if (!next_field(line, len, &pos, &f, &flen)) {
        return -EBADMSG;
    }
    rc = ward_linux_parse_u64(f, flen, &v);
    if (rc != 0) {
        return rc;
    }
    if (next_field(line, len, &pos, &f, &flen)) {
        if (flen != 2 || memcmp(f, "kB", 2) != 0) {
            return -EBADMSG;
        }
        if (v > UINT64_MAX / 1024u) {
            return -ERANGE;
        }
        v *= 1024u;
    }
    if (next_field(line, len, &pos, &f, &flen)) {
        return -EBADMSG;
    }
    memcpy(key, line, klen);
    key[klen] = '\0';
    *bytes = v;
    return 0;
}

int ward_linux_diskstats_name(const char *line, size_t len, const char **name, size_t *name_len)
{
    size_t pos = 0, flen = 0;
    const char *f = line;

    for (int i = 0; i < 3; i++) {
        if (!next_field(line, len, &pos, &f, &flen)) {
            return -EBADMSG;
        }
    }
    *name = f;
    *name_len = flen;
    return 0;
}

int ward_linux_parse_diskstats(const char *line, size_t len, struct ward_linux_diskstat *out)
{
    uint64_t v[11];
    size_t pos = 0, flen;
    const char *f;
    int rc;

    /* major minor name, then at least 11 counters. */
    for (int i = 0; i < 2; i++) {
        uint64_t dummy;

        if (!next_field(line, len, &pos, &f, &flen)) {
            return -EBADMSG;
        }
        rc = ward_linux_parse_u64(f, flen, &dummy);
        if (rc != 0) {
            return rc;
        }
    }
    if (!next_field(line, len, &pos, &f, &flen) || flen >= sizeof(out->name)) {
        return -EBADMSG;
    }
    memcpy(out->name, f, flen);
    out->name[flen] = '\0';
    for (size_t i = 0; i < 11; i++) {
        if (!next_field(line, len, &pos, &f, &flen)) {
            return -EBADMSG;
        }
        rc = ward_linux_parse_u64(f, flen, &v[i]);
        if (rc != 0) {
            return rc;
        }
    }
    /* reads merged sectors ms, writes merged sectors ms, in_flight io_ms weighted_ms */
    out->reads = v[0];
    out->read_sectors = v[2];
    out->writes = v[4];
    out->write_sectors = v[6];
    out->in_flight = v[8];
    out->io_ms = v[9];
    return 0;
}

/* Copy a mounts field, decoding the kernel's \ooo escapes (space, tab, newline, backslash). */
static int copy_unescaped(char *dst, size_t dst_len, const char *src, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        char c = src[i];

        if (c == '\\' && i + 3 < len && src[i + 1] >= '0' && src[i + 1] <= '3' &&
            src[i + 2] >= '0' && src[i + 2] <= '7' && src[i + 3] >= '0' && src[i + 3] <= '7') {
            c = (char)((src[i + 1] - '0') << 6 | (src[i + 2] - '0') << 3 | (src[i + 3] - '0'));
            i += 3;
        }
        if (c == '\0') {
            return -EBADMSG;
        }
        if (n + 1 >= dst_len) {
            return -ENAMETOOLONG;
        }
        dst[n++] = c;
    }
    dst[n] = '\0';
    return 0;
}

int ward_linux_parse_mount(const char *line, size_t len, struct ward_linux_mount *out)
{
    const char *f[4];
    size_t fl[4], pos = 0;
    int rc;

    for (int i = 0; i < 4; i++) {
        if (!next_field(line, len, &pos, &f[i], &fl[i])) {
            return -EBADMSG;
        }
    }
    rc = copy_unescaped(out->source, sizeof(out->source), f[0], fl[0]);
    if (rc == 0) {
        rc = copy_unescaped(out->dir, sizeof(out->dir), f[1], fl[1]);
    }
    if (rc == 0) {
        rc = copy_unescaped(out->type, sizeof(out->type), f[2], fl[2]);
    }
    if (rc == 0 && out->dir[0] != '/') {
        rc = -EBADMSG;
    }
    return rc;
}

static bool in_list(const char *type, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(type, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

int ward_linux_fs_is_pseudo(const char *type)
{
    static const char *const pseudo[] = {
        "autofs",    "binfmt_misc", "bpf",
        "cgroup",    "cgroup2",     "configfs",
        "debugfs",   "devpts",      "devtmpfs",
        "efivarfs",  "fusectl",     "hugetlbfs",
        "iso9660",   "mqueue",      "nsfs",
        "overlay",   "proc",        "pstore",
        "ramfs",     "rpc_pipefs",  "securityfs",
        "selinuxfs", "squashfs",    "sysfs",
        "tracefs",   "fuse.lxcfs",  "fuse.gvfsd-fuse",
        "nfsd",      "sockfs",      "pipefs",
    };

    return in_list(type, pseudo, sizeof(pseudo) / sizeof(pseudo[0]));
}

int ward_linux_fs_is_network(const char *type)
{
    static const char *const net[] = {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "ceph",
        "9p",
        "afs",
        "glusterfs",
        "lustre",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.s3fs",
        "fuse.rclone",
        "davfs",
        "fuse.cephfs",
    };

    return in_list(type, net, sizeof(net) / sizeof(net[0]));
}

/* name is "<prefix>.<decimal>": the platform/ISA device id. */
static bool platform_numeric_id(const char *name, unsigned long *id)
{
    const char *dot = strrchr(name, '.');
    unsigned long v = 0;

    if (dot == NULL || dot[1] == '\0') {
        return false;
    }
    for (const char *p = dot + 1; *p != '\0'; p++) {
        if (!is_digit(*p) || v > 0xffffffu) {
            return false;
        }
        v = v * 10u + (unsigned long)(*p - '0');
    }
    *id = v;
    return true;
}

/* name is "<hex>.<node>": a device-tree unit address. */
static size_t dt_unit_address(const char *name)
{
    size_t n = 0;

    while (ward_hex_digit(name[n]) >= 0) {
        n++;
    }
    return (n > 0 && n <= 16 && name[n] == '.') ? n : 0;
}

static size_t append(char *dst, size_t dst_len, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < len && s[i] != '\0' && n + 1 < dst_len; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '.' || c == '-' || c == '_')) {
            c = c == ':' ? '-' : '_';
        }
        dst[n++] = c;
    }
    dst[n] = '\0';
    return n;
}

size_t ward_linux_bus_id(char *dst, size_t dst_len, const char *bus, const char *name)
{
    static const char hexd[] = "0123456789abcdef";
    unsigned long id;
    size_t n;

    if (dst == NULL || dst_len == 0) {
        return 0;
    }
    dst[0] = '\0';
    if (strcmp(bus, "platform") == 0 || strcmp(bus, "isa") == 0) {
        n = dt_unit_address(name);
        if (n > 0) {
            return append(dst, dst_len, append(dst, dst_len, 0, "mmio", 4), name, n);
        }
        if (platform_numeric_id(name, &id) && id <= 0xffffu) {
            char hex[5] = { hexd[(id >> 12) & 15], hexd[(id >> 8) & 15], hexd[(id >> 4) & 15],
                            hexd[id & 15], '\0' };

            return append(dst, dst_len, append(dst, dst_len, 0, "isa", 3), hex, 4);
        }
        return append(dst, dst_len, append(dst, dst_len, 0, "platform-", 9), name, strlen(name));
    }
    if (strcmp(bus, "i2c") == 0 || strcmp(bus, "pci") == 0) {
        n = append(dst, dst_len, 0, bus, strlen(bus));
        return append(dst, dst_len, n, name, strlen(name));
    }
    n = append(dst, dst_len, 0, bus, strlen(bus));
    n = append(dst, dst_len, n, "-", 1);
    return append(dst, dst_len, n, name, strlen(name));
}

size_t ward_linux_wwid_id(char *dst, size_t dst_len, const char *wwid, size_t len)
{
    const char *dot = memchr(wwid, '.', len);
    size_t n;

    if (dst == NULL || dst_len == 0) {
        return 0;
    }
    /* "naa.<hex>", "eui.<hex>": the designator type and a hex number, unique worldwide. */
    if (dot != NULL && dot - wwid == 3 &&
        (memcmp(wwid, "naa", 3) == 0 || memcmp(wwid, "eui", 3) == 0)) {
        n = ward_linux_normalize(dst, dst_len, wwid, 3);
        return n + ward_linux_normalize(dst + n, dst_len - n, dot + 1, len - 4);
    }
    return ward_linux_normalize(dst, dst_len, wwid, len);
}

static uint32_t fnv1a(uint32_t h, const char *s)
{
    for (; *s != '\0'; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h;
}

size_t ward_linux_make_id(char *id, const char *cls, const char *source, const char *channel)
{
    static const char hexd[] = "0123456789abcdef";
    const char *parts[5] = { cls, ":", source, ":", channel };
    size_t n = 0, total = 0, nparts = channel != NULL ? 5 : 3;
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < nparts; i++) {
        total += strlen(parts[i]);
        h = fnv1a(h, parts[i]);
    }
    if (total < WARD_SENSOR_ID_MAX) {
        for (size_t i = 0; i < nparts; i++) {
            size_t l = strlen(parts[i]);

            memcpy(id + n, parts[i], l);
            n += l;
        }
        id[n] = '\0';
        return n;
    }
    /* Head, then "~" and the hash: 9 bytes plus the NUL. */
    for (size_t i = 0; i < nparts && n < WARD_SENSOR_ID_MAX - 10; i++) {
        for (const char *p = parts[i]; *p != '\0' && n < WARD_SENSOR_ID_MAX - 10; p++) {
            id[n++] = *p;
        }
    }
    id[n++] = '~';
    for (int s = 28; s >= 0; s -= 4) {
        id[n++] = hexd[(h >> s) & 15u];
    }
    id[n] = '\0';
    return n;
}

/* Multiply-accumulate with overflow check. */
static int mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a) {
        return -ERANGE;
    }
    *out = a * b;
    return 0;
}

int ward_linux_parse_statvfs_line(const char *line, size_t len, char *dir, size_t dir_len,
                                  struct ward_host_fs *out)
{
    uint64_t v[6];
    const char *f;
    size_t flen, pos = 0;
    int rc;

    if (!next_field(line, len, &pos, &f, &flen)) {
        return -EBADMSG;
    }
    rc = copy_unescaped(dir, dir_len, f, flen);
    if (rc != 0 || out == NULL) {
        return rc;
    }
    for (size_t i = 0; i < 6; i++) {
        if (!next_field(line, len, &pos, &f, &flen)) {
            return -EBADMSG;
        }
        rc = ward_linux_parse_u64(f, flen, &v[i]);
        if (rc != 0) {
            return rc;
        }
    }
    if (next_field(line, len, &pos, &f, &flen)) {
        return -EBADMSG;
    }
    memset(out, 0, sizeof(*out));
    rc = mul_u64(v[0], v[1], &out->total_bytes);
    if (rc == 0) {
        rc = mul_u64(v[0], v[2], &out->free_bytes);
    }
    if (rc == 0) {
        rc = mul_u64(v[0], v[3], &out->avail_bytes);
    }
    out->files_total = v[4];
    out->files_free = v[5];
    return rc;
}
