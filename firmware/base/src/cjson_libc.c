#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ward/base/cjson_libc.h"
#include "ward/base/fmt.h"

/* Powers of ten that a double holds exactly (10^22 < 2^53 * 2^22). */
static const double s_pow10[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
#define POW10_MAX 22
#define EXP_LIMIT 9999 /* beyond this every double is 0 or infinite anyway */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Multiply (or divide) by 10^exp10 in exact chunks; exact when |exp10| <= 22. */
static double scale10(double v, int exp10)
{
    while (exp10 > POW10_MAX && v != 0.0 && v < 1e308) {
        v *= s_pow10[POW10_MAX];
        exp10 -= POW10_MAX;
    }
    while (exp10 < -POW10_MAX && v != 0.0) {
        v /= s_pow10[POW10_MAX];
        exp10 += POW10_MAX;
    }
    /* The loops stop early once v is 0 or infinite; clamp so the index stays in the table. */
    if (exp10 > 0) {
        v *= s_pow10[exp10 > POW10_MAX ? POW10_MAX : exp10];
    } else if (exp10 < 0) {
        v /= s_pow10[-exp10 > POW10_MAX ? POW10_MAX : -exp10];
    }
    return v;
}

/* Significant digits into mant (first 19), the rest counted into *exp10. */
static const char *scan_digits(const char *p, uint64_t *mant, int *ndigits, int *exp10,
                               bool fraction)
{
    for (; is_digit(*p); p++) {
        if (*ndigits < 19) {
            *mant = *mant * 10u + (uint64_t)(*p - '0');
            if (*mant != 0) {
                (*ndigits)++;
            }
            if (fraction) {
                (*exp10)--;
            }
        } else if (!fraction) {
            (*exp10)++; /* an integer digit we cannot keep still scales the value */
        }
    }
    return p;
}

double ward_cjson_strtod(const char *s, char **end)
{
    const char *p = s;
    bool negative = false;
    uint64_t mant = 0;
    int ndigits = 0;
    int exp10 = 0;

    if (*p == '-' || *p == '+') {
        negative = (*p == '-');
        p++;
    }
    const char *digits = p;

    p = scan_digits(p, &mant, &ndigits, &exp10, false);
    if (*p == '.' && is_digit(p[1])) {
        p = scan_digits(p + 1, &mant, &ndigits, &exp10, true);
    }
    if (p == digits) {
        if (end != NULL) {
            *end = (char *)s; /* no number at all */
        }
        return 0.0;
    }
    if ((*p == 'e' || *p == 'E') &&
        (is_digit(p[1]) || ((p[1] == '+' || p[1] == '-') && is_digit(p[2])))) {
        bool eneg = (p[1] == '-');
        int e = 0;

        p += (p[1] == '+' || p[1] == '-') ? 2 : 1;
        for (; is_digit(*p); p++) {
            if (e < EXP_LIMIT) {
                e = e * 10 + (*p - '0');
            }
        }
        exp10 += eneg ? -e : e;
    }
    if (end != NULL) {
        *end = (char *)p;
    }
    double v = scale10((double)mant, exp10);

    return negative ? -v : v;
}

/* "%1.15g"/"%1.17g": integral values exactly, others with up to 6 decimals. */
static int format_double(char *buf, double d)
{
    const double int64_limit = 9223372036854775807.0;
    char digits[WARD_FMT_INT64_MAX];

    if (d != d) {
        return (int)(strcpy(buf, "nan"), 3);
    }
    if (d > -int64_limit && d < int64_limit && d == (double)(int64_t)d) {
        return ward_fmt_i64(buf, WARD_FMT_INT64_MAX, (int64_t)d);
    }
    bool negative = d < 0;
    double a = negative ? -d : d;
    int exp10 = 0;

    /*
     * Fixed notation where 6 decimals fit a uint64_t; elsewhere one integer digit and an
     * exponent. The longest result, "-1.234567e-308", fits cJSON's 26-byte buffer.
     */
    if (a >= 1e13 || (a < 1e-4 && a > 0)) {
        while (a >= 10.0 && exp10 < 400) {
            a /= 10.0;
            exp10++;
        }
        while (a < 1.0 && exp10 > -400) {
            a *= 10.0;
            exp10--;
        }
    }
    uint64_t scaled = (uint64_t)(a * 1e6 + 0.5);
    uint64_t ipart = scaled / 1000000u;
    uint64_t frac = scaled % 1000000u;
    int n = 0;

    if (negative) {
        buf[n++] = '-';
    }
    n += ward_fmt_u64(buf + n, WARD_FMT_INT64_MAX, ipart);
    if (frac != 0) {
        int width = 6;

        while (frac % 10u == 0) {
            frac /= 10u;
            width--;
        }
        buf[n++] = '.';
        int len = ward_fmt_u64(digits, sizeof(digits), frac);

        for (int i = len; i < width; i++) {
            buf[n++] = '0';
        }
        memcpy(buf + n, digits, (size_t)len);
        n += len;
    }
    if (exp10 != 0) {
        buf[n++] = 'e';
        n += ward_fmt_i64(buf + n, WARD_FMT_INT64_MAX, exp10);
    }
    buf[n] = '\0';
    return n;
}

static int format_hex4(char *buf, unsigned v)
{
    static const char hex[] = "0123456789abcdef";

    buf[0] = 'u';
    for (int i = 0; i < 4; i++) {
        buf[1 + i] = hex[(v >> (12 - 4 * i)) & 0xfu];
    }
    buf[5] = '\0';
    return 5;
}

int ward_cjson_sprintf(char *buf, const char *fmt, ...)
{
    va_list ap;
    int n = -1;

    va_start(ap, fmt);
    if (strcmp(fmt, "%1.15g") == 0 || strcmp(fmt, "%1.17g") == 0) {
        n = format_double(buf, va_arg(ap, double));
    } else if (strcmp(fmt, "%d") == 0) { /* cJSON 1.7.18: integral numbers */
        n = ward_fmt_i64(buf, WARD_FMT_INT64_MAX, va_arg(ap, int));
    } else if (strcmp(fmt, "null") == 0) {
        n = (int)(strcpy(buf, "null"), 4);
    } else if (strcmp(fmt, "u%04x") == 0) {
        n = format_hex4(buf, va_arg(ap, unsigned));
    } else if (strcmp(fmt, "%i.%i.%i") == 0) {
        int parts[3] = { va_arg(ap, int), va_arg(ap, int), va_arg(ap, int) };

        n = 0;
        for (int i = 0; i < 3; i++) {
            if (i > 0) {
                buf[n++] = '.';
            }
            n += ward_fmt_i64(buf + n, WARD_FMT_INT64_MAX, parts[i]);
        }
    }
    va_end(ap);
    return n;
}

int ward_cjson_sscanf(const char *buf, const char *fmt, ...)
{
    va_list ap;
    char *end;
    int n = 0;

    va_start(ap, fmt);
    if (strcmp(fmt, "%lg") == 0) {
        double v = ward_cjson_strtod(buf, &end);

        if (end != buf) {
            *va_arg(ap, double *) = v;
            n = 1;
        }
    }
    va_end(ap);
    return n;
}
