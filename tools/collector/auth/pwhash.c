#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <argon2.h>

#include "auth/pwhash.h"

int wcol_pw_hash_salted(const char *pw, const uint8_t *salt, size_t salt_len, char *out, size_t cap)
{
    if (pw == NULL || strlen(pw) > WCOL_PW_MAX) {
        return -EINVAL;
    }
    int rc = argon2id_hash_encoded(WCOL_PW_T, WCOL_PW_M_KIB, WCOL_PW_P, pw, strlen(pw), salt,
                                   salt_len, WCOL_PW_HASH_LEN, out, cap);

    return rc == ARGON2_OK ? 0 : -EIO;
}

int wcol_pw_hash(const char *pw, char *out, size_t cap)
{
    uint8_t salt[WCOL_PW_SALT_LEN];

    if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt)) {
        return -EIO;
    }
    return wcol_pw_hash_salted(pw, salt, sizeof(salt), out, cap);
}

bool wcol_pw_verify(const char *encoded, const char *pw)
{
    if (encoded == NULL || pw == NULL || strlen(pw) > WCOL_PW_MAX ||
        strncmp(encoded, "$argon2id$", 10) != 0) {
        return false;
    }
    return argon2id_verify(encoded, pw, strlen(pw)) == ARGON2_OK;
}

const char *wcol_pw_weak(const char *pw)
{
    size_t n = pw != NULL ? strlen(pw) : 0;

    if (n < WCOL_PW_MIN) {
        return "a password needs at least 10 characters";
    }
    if (n > WCOL_PW_MAX) {
        return "a password has at most 128 characters";
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f) {
            return "a password has no control characters";
        }
    }
    return NULL;
}

const char *wcol_pw_dummy(void)
{
    static char s_dummy[WCOL_PW_ENC_MAX];

    if (s_dummy[0] == '\0' && wcol_pw_hash("ward: no such user", s_dummy, sizeof(s_dummy)) != 0) {
        s_dummy[0] = '\0';
    }
    return s_dummy;
}
