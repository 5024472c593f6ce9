#include <errno.h>

#include "ward/base/fmt.h"

static int fmt_digits(char *buf, size_t len, uint64_t v, int negative)
{
    char tmp[WARD_FMT_INT64_MAX];
    size_t n = 0;
    size_t need;

    do {
        tmp[n++] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0);
    need = n + (negative ? 1u : 0u);
    if (need + 1 > len) {
        return -ENOSPC;
    }
    size_t pos = 0;

    if (negative) {
        buf[pos++] = '-';
    }
    while (n > 0) {
        buf[pos++] = tmp[--n];
    }
    buf[pos] = '\0';
    return (int)pos;
}

int ward_fmt_u64(char *buf, size_t len, uint64_t v)
{
    if (buf == NULL) {
        return -EINVAL;
    }
    return fmt_digits(buf, len, v, 0);
}

int ward_fmt_i64(char *buf, size_t len, int64_t v)
{
    if (buf == NULL) {
        return -EINVAL;
    }
    /* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    return fmt_digits(buf, len, mag, v < 0);
}
