#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ward/base/jscan.h"
#include "ward/wire/ack.h"
#include "ward/wire/boot.h"

/* One {"boot": .., "seq": ..} of an acknowledgement. */
static int read_ack(struct ward_jscan *s, uint8_t boot[WARD_WIRE_BOOT_LEN], uint32_t *seq)
{
    char key[8];
    char hex[WARD_WIRE_BOOT_HEX_LEN + 1];
    unsigned seen = 0;
    int64_t v;
    int rc;

    if (ward_jscan_object(s) != 0) {
        return s->err;
    }
    while ((rc = ward_jscan_member(s, key, sizeof(key))) > 0) {
        if (strcmp(key, WARD_WIRE_M_BOOT) == 0 && !(seen & 1u)) {
            seen |= 1u;
            if (ward_jscan_string(s, hex, sizeof(hex)) < 0 || ward_boot_id_parse(hex, boot) != 0) {
                return ward_jscan_fail(s, -EINVAL, "boot must be 32 hex digits");
            }
        } else if (strcmp(key, WARD_WIRE_M_SEQ) == 0 && !(seen & 2u)) {
            seen |= 2u;
            if (ward_jscan_int64(s, &v) != 0 || v < 0 || v > (int64_t)UINT32_MAX) {
                return ward_jscan_fail(s, -ERANGE, "seq must be 0..4294967295");
            }
            *seq = (uint32_t)v;
        } else {
            return ward_jscan_fail(s, -EINVAL, "unknown or duplicate key in ack");
        }
    }
    if (rc < 0) {
        return rc;
    }
    return seen == 3u ? 0 : ward_jscan_fail(s, -EINVAL, "an ack needs boot and seq");
}

/* Walk the document, calling fn (when not NULL) for each pair. @return pairs, or errno. */
static int walk_ack(const char *text, size_t len, ward_wire_ack_fn fn, void *ctx,
                    struct ward_wire_drill *drill)
{
    struct ward_wire_drill ignored;
    struct ward_jscan s;
    char key[8];
    unsigned seen = 0;
    int pairs = 0;
    int rc;

    ward_jscan_init(&s, text, len);
    if (ward_jscan_object(&s) != 0) {
        return s.err;
    }
    while ((rc = ward_jscan_member(&s, key, sizeof(key))) > 0) {
        int64_t v;

        if (strcmp(key, WARD_WIRE_M_V) == 0 && !(seen & 1u)) {
            seen |= 1u;
            if (ward_jscan_int64(&s, &v) != 0 || v != WARD_WIRE_V1) {
                return ward_jscan_fail(&s, -EINVAL, "unsupported version");
            }
        } else if (strcmp(key, WARD_WIRE_M_ACKS) == 0 && !(seen & 2u)) {
            seen |= 2u;
            if (ward_jscan_array(&s) != 0) {
                return s.err;
            }
            while ((rc = ward_jscan_element(&s)) > 0) {
                uint8_t boot[WARD_WIRE_BOOT_LEN];
                uint32_t seq = 0;

                if (read_ack(&s, boot, &seq) != 0) {
                    return s.err;
                }
                int frc = fn != NULL ? fn(ctx, boot, seq) : 0;

                if (frc < 0) {
                    return frc;
                }
                pairs++;
            }
            if (rc < 0) {
                return rc;
            }
        } else if (strcmp(key, WARD_WIRE_M_DRILL) == 0 && !(seen & 4u)) {
            seen |= 4u;
            if (ward_wire_ack_read_drill(&s, drill != NULL ? drill : &ignored) != 0) {
                return s.err;
            }
        } else {
            return ward_jscan_fail(&s, -EINVAL, "unknown or duplicate key in ack document");
        }
    }
    if (rc < 0 || ward_jscan_end(&s) != 0) {
        return s.err != 0 ? s.err : rc;
    }
    if ((seen & 3u) != 3u) {
        return -EINVAL;
    }
    return drill != NULL ? (int)((seen & 4u) != 0) : pairs;
}

int ward_wire_ack_each(const char *text, size_t len, ward_wire_ack_fn fn, void *ctx)
{
    int rc;

    if (text == NULL) {
        return -EINVAL;
    }
    /* A clean first pass before any callback: a malformed document changes nothing. */
    rc = walk_ack(text, len, NULL, NULL, NULL);
    return rc < 0 || fn == NULL ? rc : walk_ack(text, len, fn, ctx, NULL);
}

int ward_wire_ack_drill(const char *text, size_t len, struct ward_wire_drill *out)
{
    if (text == NULL || out == NULL) {
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    return walk_ack(text, len, NULL, NULL, out);
}
