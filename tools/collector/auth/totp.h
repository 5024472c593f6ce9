/*
 * TOTP (RFC 6238 over RFC 4226): HMAC-SHA-1, 6 digits, 30 s steps, counted from the Unix
 * epoch. The check takes the time as an argument, so tests give it fixed times and compare
 * with `oathtool --totp`. Secrets travel as RFC 4648 base32 (the otpauth:// URI's form).
 */
#ifndef WCOL_AUTH_TOTP_H_
#define WCOL_AUTH_TOTP_H_

#include <stddef.h>
#include <stdint.h>

#define WCOL_TOTP_STEP_S     30
#define WCOL_TOTP_DIGITS     6
#define WCOL_TOTP_SECRET_LEN 20 /* bytes: the size of an HMAC-SHA-1 key block's digest */
#define WCOL_TOTP_B32_MAX    64 /* base32 of a secret, NUL included */

/** The 6-digit code of one time step. @return 0..999999, or -EIO when HMAC fails. */
int wcol_totp_code(const uint8_t *secret, size_t len, uint64_t step);

/**
 * Check a code typed by a person at unix time now_s, one step either side accepted; a step
 * at or before last_step (the last code accepted for the account) is refused: no replay.
 * @return the step that matched (> 0), -EACCES (wrong, reused or malformed code), -EIO.
 */
int64_t wcol_totp_check(const uint8_t *secret, size_t len, const char *code, uint64_t now_s,
                        uint64_t last_step);

/** Base32 (RFC 4648, no padding) of in into out. @return 0, -ENOSPC. */
int wcol_b32_encode(const uint8_t *in, size_t len, char *out, size_t cap);

#endif /* WCOL_AUTH_TOTP_H_ */
