#include <errno.h>
#include <string.h>

#include <mbedtls/md.h>

#include "auth/totp.h"

int wcol_totp_code(const uint8_t *secret, size_t len, uint64_t step)
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
    uint8_t msg[8], mac[20];

    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)step;
        step >>= 8;
    }
    if (md == NULL || mbedtls_md_hmac(md, secret, len, msg, sizeof(msg), mac) != 0) {
        return -EIO;
    }
    /* RFC 4226 5.3: dynamic truncation */
    unsigned off = mac[19] & 0x0f;
    uint32_t bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
                   (uint32_t)mac[off + 2] << 8 | mac[off + 3];

    return (int)(bin % 1000000u);
}

static int parse_code(const char *code)
{
    int v = 0;

    if (code == NULL || strlen(code) != WCOL_TOTP_DIGITS) {
        return -1;
    }
    for (int i = 0; i < WCOL_TOTP_DIGITS; i++) {
        if (code[i] < '0' || code[i] > '9') {
            return -1;
        }
        v = v * 10 + (code[i] - '0');
    }
    return v;
}

int64_t wcol_totp_check(const uint8_t *secret, size_t len, const char *code, uint64_t now_s,
                        uint64_t last_step)
{
    int want = parse_code(code);
    uint64_t step = now_s / WCOL_TOTP_STEP_S;
    int64_t hit = -EACCES;

    if (want < 0 || step < 1) {
        return -EACCES;
    }
    /* Every candidate is computed (no early exit), the latest match wins. */
    for (uint64_t s = step - 1; s <= step + 1; s++) {
        int c = wcol_totp_code(secret, len, s);

        if (c < 0) {
            return -EIO;
        }
        if (c == want && s > last_step) {
            hit = (int64_t)s;
        }
    }
    return hit;
}

int wcol_b32_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t o = 0;
    unsigned buf = 0, bits = 0;

    for (size_t i = 0; i < len; i++) {
        buf = buf << 8 | in[i];
        bits += 8;
        while (bits >= 5) {
            if (o + 1 >= cap) {
                return -ENOSPC;
            }
            out[o++] = alpha[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) {
        if (o + 1 >= cap) {
            return -ENOSPC;
        }
        out[o++] = alpha[(buf << (5 - bits)) & 31];
    }
    out[o] = '\0';
    return 0;
}
