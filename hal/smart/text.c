/* Text helpers of the SMART decoders: drive strings, stable disk ids, 128-bit decimals. */
#include <errno.h>
#include <string.h>

#include "smart_internal.h"

static bool pad(uint8_t c)
{
    return c == ' ' || c == '\0';
}

void smart_copy_ascii(char *dst, size_t dstlen, const uint8_t *src, size_t n, bool swapped)
{
    size_t start = 0, end = n, o = 0;

    if (dstlen == 0) {
        return;
    }
    /* In an ATA string byte i sits at i ^ 1: the first character is a word's high byte. */
#define AT(i) src[swapped ? ((i) ^ 1u) : (i)]
    while (start < end && pad(AT(start))) {
        start++;
    }
    while (end > start && pad(AT(end - 1))) {
        end--;
    }
    for (size_t i = start; i < end && o + 1 < dstlen; i++) {
        uint8_t c = AT(i);

        dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
#undef AT
    dst[o] = '\0';
}

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-';
}

/* Normalized s into out (at most max characters, not terminated). @return its length. */
static size_t normalize(char *out, size_t max, const char *s)
{
    size_t o = 0;
    bool sep = false;

    for (; *s != '\0' && o < max; s++) {
        if (id_char(*s)) {
            if (sep && o > 0) {
                out[o++] = '_';
                if (o == max) {
                    break;
                }
            }
            out[o++] = *s;
            sep = false;
        } else {
            sep = true;
        }
    }
    while (o > 0 && out[o - 1] == '_') {
        o--;
    }
    return o;
}

int ward_smart_disk_id(char *id, size_t len, const char *model, const char *serial)
{
    static const char prefix[] = "disk:";
    const size_t plen = sizeof(prefix) - 1;
    char ser[WARD_SENSOR_ID_MAX];
    size_t slen, mlen, room, o;

    if (id == NULL || model == NULL || serial == NULL || len < plen + 2) {
        return -EINVAL;
    }
    room = len - 1 - plen;
    slen = normalize(ser, room < sizeof(ser) ? room : sizeof(ser), serial);
    memcpy(id, prefix, plen);
    o = plen;
    /* The model gets what the serial and the '_' between them leave. */
    mlen = normalize(id + o, slen > 0 ? (room > slen + 1 ? room - slen - 1 : 0) : room, model);
    o += mlen;
    if (mlen > 0 && slen > 0) {
        id[o++] = '_';
    }
    memcpy(id + o, ser, slen);
    o += slen;
    id[o] = '\0';
    return (mlen == 0 && slen == 0) ? -ENODATA : 0;
}

const char *ward_smart_verdict_name(enum ward_smart_verdict v)
{
    switch (v) {
    case WARD_SMART_PASSED:
        return "passed";
    case WARD_SMART_FAILED_PAST:
        return "failed-past";
    case WARD_SMART_FAILING:
        return "failing";
    case WARD_SMART_UNKNOWN:
        break;
    }
    return "unknown";
}

/* 128-bit arithmetic on four 32-bit limbs, least significant first: no __int128 on 32-bit. */
static void to_limbs(uint32_t l[4], const uint64_t v[2])
{
    l[0] = (uint32_t)v[0];
    l[1] = (uint32_t)(v[0] >> 32);
    l[2] = (uint32_t)v[1];
    l[3] = (uint32_t)(v[1] >> 32);
}

static uint32_t divmod(uint32_t l[4], uint32_t d)
{
    uint64_t rem = 0;

    for (int i = 3; i >= 0; i--) {
        uint64_t cur = (rem << 32) | l[i];

        l[i] = (uint32_t)(cur / d);
        rem = cur % d;
    }
    return (uint32_t)rem;
}

int ward_smart_u128_dec(char *buf, size_t len, const uint64_t v[2])
{
    char tmp[40]; /* 2^128 - 1 has 39 digits */
    uint32_t l[4];
    size_t n = 0;

    if (buf == NULL || v == NULL) {
        return -EINVAL;
    }
    to_limbs(l, v);
    do {
        tmp[n++] = (char)('0' + divmod(l, 10));
    } while ((l[0] | l[1] | l[2] | l[3]) != 0);
    if (n + 1 > len) {
        return -ENOSPC;
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] = tmp[n - 1 - i];
    }
    buf[n] = '\0';
    return (int)n;
}

bool ward_smart_u128_mul(uint64_t r[2], const uint64_t a[2], uint32_t m)
{
    uint32_t l[4];
    uint64_t carry = 0;

    if (r == NULL || a == NULL) {
        return false;
    }
    to_limbs(l, a);
    for (int i = 0; i < 4; i++) {
        uint64_t cur = (uint64_t)l[i] * m + carry;

        l[i] = (uint32_t)cur;
        carry = cur >> 32;
    }
    r[0] = (uint64_t)l[0] | ((uint64_t)l[1] << 32);
    r[1] = (uint64_t)l[2] | ((uint64_t)l[3] << 32);
    return carry == 0;
}
