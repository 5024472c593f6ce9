/*
 * The acknowledgement's drill member (ward/wire/ack.h): the agent reads it, the collector
 * adds it. Both in one small object: the agent links the reader with ack_read.c.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ward/base/fmt.h"
#include "ward/base/jscan.h"
#include "ward/wire/ack.h"

/* Scenario names are file names the agent opens: [a-z0-9-], 1..31, no leading '-'. */
static bool name_ok(const char *n)
{
    size_t len = strlen(n);

    if (len == 0 || len > WARD_WIRE_DRILL_NAME_MAX || n[0] == '-') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = n[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

static int drill_member(struct ward_jscan *s, const char *key, struct ward_wire_drill *out,
                        unsigned *seen)
{
    int64_t v;

    if (strcmp(key, "id") == 0 && !(*seen & 1u)) {
        *seen |= 1u;
        if (ward_jscan_int64(s, &v) != 0 || v < 1 || v > (int64_t)UINT32_MAX) {
            return ward_jscan_fail(s, -EINVAL, "drill id must be 1..4294967295");
        }
        out->id = (uint32_t)v;
    } else if (strcmp(key, "scenario") == 0 && !(*seen & 2u)) {
        *seen |= 2u;
        if (ward_jscan_string(s, out->scenario, sizeof(out->scenario)) < 0 ||
            !name_ok(out->scenario)) {
            return ward_jscan_fail(s, -EINVAL, "drill scenario must be 1-31 of [a-z0-9-]");
        }
    } else if (strcmp(key, "for_s") == 0 && !(*seen & 4u)) {
        *seen |= 4u;
        if (ward_jscan_int64(s, &v) != 0 || v < 1 || v > WARD_WIRE_DRILL_FOR_MAX) {
            return ward_jscan_fail(s, -EINVAL, "drill for_s must be 1..86400");
        }
        out->for_s = (uint32_t)v;
    } else if (strcmp(key, "stop") == 0 && !(*seen & 8u)) {
        *seen |= 8u;
        if (ward_jscan_bool(s, &out->stop) != 0 || !out->stop) {
            return ward_jscan_fail(s, -EINVAL, "drill stop must be true");
        }
    } else {
        return ward_jscan_fail(s, -EINVAL, "unknown or duplicate key in drill");
    }
    return 0;
}

int ward_wire_ack_read_drill(struct ward_jscan *s, struct ward_wire_drill *out)
{
    char key[12];
    unsigned seen = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (ward_jscan_object(s) != 0) {
        return s->err;
    }
    while ((rc = ward_jscan_member(s, key, sizeof(key))) > 0) {
        if (drill_member(s, key, out, &seen) != 0) {
            return s->err;
        }
    }
    if (rc < 0) {
        return rc;
    }
    /* Either a start (id, scenario, for_s) or a stop (id, stop). */
    if (seen != 7u && seen != 9u) {
        return ward_jscan_fail(s, -EINVAL, "a drill needs id with scenario and for_s, or stop");
    }
    return 0;
}

int ward_ingest_ack_add_drill(char *out, size_t cap, size_t len, const struct ward_wire_drill *d)
{
    char id[WARD_FMT_INT64_MAX];
    char for_s[WARD_FMT_INT64_MAX];
    char member[128];
    size_t n;

    if (out == NULL || d == NULL || len < 2 || len > cap || out[len - 1] != '}' || d->id == 0 ||
        (!d->stop && !name_ok(d->scenario))) {
        return -EINVAL;
    }
    ward_fmt_i64(id, sizeof(id), d->id);
    ward_fmt_i64(for_s, sizeof(for_s), d->for_s);
    member[0] = '\0';
    strcat(member, ",\"" WARD_WIRE_M_DRILL "\":{\"id\":");
    strcat(member, id);
    if (d->stop) {
        strcat(member, ",\"stop\":true}}");
    } else {
        strcat(member, ",\"scenario\":\"");
        strcat(member, d->scenario);
        strcat(member, "\",\"for_s\":");
        strcat(member, for_s);
        strcat(member, "}}");
    }
    n = strlen(member);
    if (len - 1 + n + 1 > cap) {
        return -ENOSPC;
    }
    memcpy(out + len - 1, member, n + 1);
    return (int)(len - 1 + n);
}
