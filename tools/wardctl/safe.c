/* wardctl's output guard (safe.h). */
#include "safe.h"

#include <stdbool.h>
#include <string.h>

#include "ward/wire/decode.h"

/* Bytes of the character at s: 1 for ASCII, 2-4 for well-formed UTF-8, 0 for a bad byte. */
static size_t char_len(const unsigned char *s, size_t left)
{
    size_t k;

    if (s[0] < 0x80) {
        return 1;
    }
    k = s[0] >= 0xf0 ? 4u : s[0] >= 0xe0 ? 3u : 2u;
    return k <= left && ward_utf8_valid((const char *)s, k) ? k : 0;
}

/* C0 (< 0x20), DEL, or C1 (U+0080-U+009F: 0xc2 0x80-0x9f). */
static bool is_control(const unsigned char *s, size_t k)
{
    return (k == 1 && (s[0] < 0x20 || s[0] == 0x7f)) || (k == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

void safe_copy(char *dst, size_t cap, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    size_t o = 0;

    while (left > 0) {
        size_t k = char_len(p, left);
        bool bad = k == 0 || is_control(p, k);
        size_t out = bad ? 1 : k;

        if (o + out >= cap) {
            break;
        }
        if (bad) {
            dst[o] = '?';
        } else {
            memcpy(dst + o, p, k);
        }
        o += out;
        k = k == 0 ? 1 : k;
        p += k;
        left -= k;
    }
    dst[o] = '\0';
}

const char *shown(const char *s, const char *dflt)
{
    static char ring[8][SAFE_TEXT_MAX + 1];
    static unsigned next;
    char *buf = ring[next++ % 8];

    safe_copy(buf, sizeof(ring[0]), s != NULL ? s : dflt);
    return buf;
}

void print_json_safe(FILE *out, const char *json)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)json;
    size_t left = strlen(json);

    while (left > 0) {
        size_t k = char_len(p, left);
        /* JSON's own whitespace between tokens stays; inside a string it was invalid anyway. */
        bool space = k == 1 && (p[0] == '\n' || p[0] == '\t' || p[0] == '\r');

        if (k == 0) {
            fputs("\\ufffd", out);
            k = 1;
        } else if (is_control(p, k) && !space) {
            unsigned cp = k == 2 ? p[1] : p[0];

            fprintf(out, "\\u00%c%c", hex[cp >> 4], hex[cp & 15]);
        } else {
            fwrite(p, 1, k, out);
        }
        p += k;
        left -= k;
    }
}
