/*
 * Password hashes: argon2id (Debian libargon2, RFC 9106) in its encoded form
 * "$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH", so the parameters travel with each hash and
 * can be raised later without invalidating stored ones. Parameters (docs/security.md):
 * t = 2 passes, m = 19456 KiB (19 MiB), p = 1 lane, 16-byte random salt, 32-byte hash:
 * the OWASP minimum for argon2id, about 30 ms on one core, paid on the event loop, which the
 * per-source and per-account login limits bound.
 */
#ifndef WCOL_AUTH_PWHASH_H_
#define WCOL_AUTH_PWHASH_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WCOL_PW_T        2u
#define WCOL_PW_M_KIB    19456u
#define WCOL_PW_P        1u
#define WCOL_PW_SALT_LEN 16u
#define WCOL_PW_HASH_LEN 32u
#define WCOL_PW_ENC_MAX  160u
#define WCOL_PW_MIN      10u /* characters of a new password */
#define WCOL_PW_MAX      128u

/** The encoded argon2id hash of pw with this salt. @return 0, -EINVAL, -EIO. */
int wcol_pw_hash_salted(const char *pw, const uint8_t *salt, size_t salt_len, char *out,
                        size_t cap);

/** The same with a fresh random salt (getrandom). @return 0, -EINVAL, -EIO. */
int wcol_pw_hash(const char *pw, char *out, size_t cap);

/** Does pw match the encoded hash? (argon2id_verify; a malformed hash never matches.) */
bool wcol_pw_verify(const char *encoded, const char *pw);

/** A hash of no one's password: checked for an unknown user, so the answer takes as long. */
const char *wcol_pw_dummy(void);

/** NULL when pw is acceptable as a new password, else why not (one phrase). */
const char *wcol_pw_weak(const char *pw);

#endif /* WCOL_AUTH_PWHASH_H_ */
