#include <errno.h>
#include <stdio.h>

#include "ward/base/config.h"
#include "ward/digest.h"
#include "ward/version.h"
#include "ward_version_gen.h"

/* The banner shows 8 bytes of the digest: enough to tell configurations apart by eye. */
#define BANNER_DIGEST_BYTES 8

const char *ward_version(void)
{
    return WARD_VERSION_STRING;
}

int ward_banner_format(char *buf, size_t len)
{
    uint8_t digest[WARD_DIGEST_LEN];
    char hex[2 * BANNER_DIGEST_BYTES + 1];
    int rc;

    if (buf == NULL || len == 0) {
        return -EINVAL;
    }
    rc = ward_config_digest(digest);
    if (rc == 0) {
        rc = ward_digest_hex(digest, BANNER_DIGEST_BYTES, hex, sizeof(hex));
    }
    if (rc != 0) {
        buf[0] = '\0';
        return rc;
    }
    rc = snprintf(buf, len, "ward %s board=%s arch=%s config=%s", ward_version(), WARD_BOARD_NAME,
                  WARD_ARCH, hex);
    if (rc < 0) {
        return -EIO;
    }
    return (size_t)rc < len ? rc : -ENOSPC;
}
