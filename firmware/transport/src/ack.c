#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ward/jscan.h"
#include "ward/report.h"
#include "ward/transport/ack.h"

static int parse_one(struct ward_jscan *s, struct ward_ack *ack)
{
    char key[8];
    char hex[WARD_BOOT_ID_HEX_LEN + 1];
    unsigned seen = 0;
    int64_t v;
    int rc;

    if (ward_jscan_object(s) != 0) {
        return s->err;
    }
    while ((rc = ward_jscan_member(s, key, sizeof(key))) > 0) {
        if (strcmp(key, "boot") == 0 && !(seen & 1u)) {
            seen |= 1u;
            if (ward_jscan_string(s, hex, sizeof(hex)) != WARD_BOOT_ID_HEX_LEN ||
                ward_boot_id_parse(hex, ack->boot_id) != 0) {
                return ward_jscan_fail(s, -EINVAL, "boot must be 32 hex digits");
            }
        } else if (strcmp(key, "seq") == 0 && !(seen & 2u)) {
            seen |= 2u;
            if (ward_jscan_int64(s, &v) != 0 || v < 0 || v > (int64_t)UINT32_MAX) {
                return ward_jscan_fail(s, -ERANGE, "seq must be 0..4294967295");
            }
            ack->seq = (uint32_t)v;
        } else {
            return ward_jscan_fail(s, -EINVAL, "unknown or duplicate key in ack");
        }
    }
    if (rc < 0) {
        return rc;
    }
    return seen == 3u ? 0 : ward_jscan_fail(s, -EINVAL, "an ack needs boot and seq");
}

static int parse_acks(struct ward_jscan *s, struct ward_ack *acks, unsigned max, unsigned *n)
{
    int rc;

    if (ward_jscan_array(s) != 0) {
        return s->err;
    }
    while ((rc = ward_jscan_element(s)) > 0) {
        struct ward_ack scratch;

        if (*n >= max) {
            /* keep validating the rest, but report that it did not fit */
            rc = parse_one(s, &scratch);
            if (rc != 0) {
                return rc;
            }
            (*n)++;
            continue;
        }
        rc = parse_one(s, &acks[*n]);
        if (rc != 0) {
            return rc;
        }
        (*n)++;
    }
    return rc;
}

int ward_ack_parse(const char *text, size_t len, struct ward_ack *acks, unsigned max)
{
    struct ward_jscan s;
    char key[8];
    unsigned seen = 0;
    unsigned n = 0;
    int rc;

    if (text == NULL || (acks == NULL && max > 0)) {
        return -EINVAL;
    }
    ward_jscan_init(&s, text, len);
    if (ward_jscan_object(&s) != 0) {
        return s.err;
    }
    while ((rc = ward_jscan_member(&s, key, sizeof(key))) > 0) {
        int64_t v;

        if (strcmp(key, "v") == 0 && !(seen & 1u)) {
            seen |= 1u;
            if (ward_jscan_int64(&s, &v) != 0 || v != WARD_PROTOCOL_VERSION) {
                return ward_jscan_fail(&s, -EINVAL, "unsupported version");
            }
        } else if (strcmp(key, "acks") == 0 && !(seen & 2u)) {
            seen |= 2u;
            rc = parse_acks(&s, acks, max, &n);
            if (rc < 0) {
                return rc;
            }
        } else {
            return ward_jscan_fail(&s, -EINVAL, "unknown or duplicate key in ack document");
        }
    }
    if (rc < 0 || ward_jscan_end(&s) != 0) {
        return s.err != 0 ? s.err : rc;
    }
    if (seen != 3u) {
        return -EINVAL;
    }
    return n > max ? -E2BIG : (int)n;
}
