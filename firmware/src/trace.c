#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ward/base/jscan.h"
#include "ward/rules.h"
#include "ward/trace.h"

#define SEEN_T      (1u << 0)
#define SEEN_SENSOR (1u << 1)
#define SEEN_VALUE  (1u << 2)
#define SEEN_STATUS (1u << 3)
#define SEEN_REASON (1u << 4)

static int bad(const char **why, int rc, const char *what)
{
    if (why != NULL) {
        *why = what;
    }
    return rc;
}

static int parse_reason(const char *name)
{
    for (int r = WARD_REASON_NONE; r <= WARD_REASON_BAD_DATA; r++) {
        if (strcmp(ward_reason_name((enum ward_reason)r), name) == 0) {
            return r;
        }
    }
    return -EINVAL;
}

static int member(struct ward_jscan *s, const char *key, struct ward_trace_rec *out, unsigned *seen,
                  char *status, char *reason, const char **why)
{
    static const struct {
        const char *key;
        unsigned bit;
    } keys[] = {
        { "t_ms", SEEN_T },        { "sensor", SEEN_SENSOR }, { "value", SEEN_VALUE },
        { "status", SEEN_STATUS }, { "reason", SEEN_REASON },
    };
    unsigned bit = 0;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(keys[i].key, key) == 0) {
            bit = keys[i].bit;
        }
    }
    if (bit == 0) {
        return bad(why, -EINVAL, "unknown key (expected t_ms, sensor, value, status, reason)");
    }
    if (*seen & bit) {
        return bad(why, -EINVAL, "duplicate key");
    }
    *seen |= bit;
    int rc;

    switch (bit) {
    case SEEN_T:
        return ward_jscan_int64(s, &out->t_ms);
    case SEEN_SENSOR:
        rc = ward_jscan_string(s, out->sensor, sizeof(out->sensor));
        return rc == -ENAMETOOLONG
                   ? bad(why, rc, "sensor longer than CONFIG_WARD_HEALTH_ID_MAX - 1 characters")
                   : (rc < 0 ? rc : 0);
    case SEEN_VALUE:
        return ward_jscan_counter(s, &out->reading.value);
    case SEEN_STATUS:
        rc = ward_jscan_string(s, status, 16);
        return rc == -ENAMETOOLONG ? bad(why, -EINVAL, "status must be ok, unavailable or fault")
                                   : (rc < 0 ? rc : 0);
    default:
        rc = ward_jscan_string(s, reason, 16);
        return rc == -ENAMETOOLONG ? bad(why, -EINVAL, "unknown reason") : (rc < 0 ? rc : 0);
    }
}

/* The fields read; now check they make one reading. */
static int finish(struct ward_trace_rec *out, unsigned seen, const char *status, const char *reason,
                  const char **why)
{
    if (!(seen & SEEN_T) || !(seen & SEEN_SENSOR)) {
        return bad(why, -EINVAL, "a reading needs t_ms and sensor");
    }
    if (out->t_ms < 0) {
        return bad(why, -ERANGE, "t_ms must not be negative");
    }
    if (!ward_sensor_id_valid(out->sensor)) {
        return bad(why, -EINVAL, "sensor must be printable ASCII");
    }
    if (!(seen & SEEN_STATUS) || strcmp(status, "ok") == 0) {
        if (!(seen & SEEN_VALUE)) {
            return bad(why, -EINVAL, "an ok reading needs a value");
        }
        if (seen & SEEN_REASON) {
            return bad(why, -EINVAL, "reason applies only to unavailable or fault readings");
        }
        out->reading.status = WARD_STATUS_OK;
        out->reading.reason = WARD_REASON_NONE;
        return 0;
    }
    if (strcmp(status, "unavailable") == 0) {
        out->reading.status = WARD_STATUS_UNAVAILABLE;
    } else if (strcmp(status, "fault") == 0) {
        out->reading.status = WARD_STATUS_FAULT;
    } else {
        return bad(why, -EINVAL, "status must be ok, unavailable or fault");
    }
    if (seen & SEEN_VALUE) {
        return bad(why, -EINVAL, "a reading without status ok has no value");
    }
    out->reading.value = 0;
    out->reading.reason = WARD_REASON_NONE;
    if (seen & SEEN_REASON) {
        int r = parse_reason(reason);

        if (r < 0) {
            return bad(why, -EINVAL,
                       "unknown reason (missing, permission, standby, disabled, not-supported, "
                       "io-error, bad-data)");
        }
        out->reading.reason = (enum ward_reason)r;
    } else if (out->reading.status == WARD_STATUS_UNAVAILABLE) {
        out->reading.reason = WARD_REASON_MISSING;
    }
    return 0;
}

int ward_trace_parse_line(const char *line, size_t len, struct ward_trace_rec *out,
                          const char **why)
{
    struct ward_jscan s;
    char key[16];
    char status[16] = "";
    char reason[16] = "";
    unsigned seen = 0;
    int rc;

    if (line == NULL || out == NULL) {
        return bad(why, -EINVAL, "no line");
    }
    memset(out, 0, sizeof(*out));
    ward_jscan_init(&s, line, len);
    if (ward_jscan_peek(&s) == 0 && ward_jscan_end(&s) == 0) {
        return bad(why, -ENODATA, "empty line");
    }
    if (ward_jscan_object(&s) != 0) {
        return bad(why, s.err, "a reading is a JSON object");
    }
    while ((rc = ward_jscan_member(&s, key, sizeof(key))) > 0) {
        const char *what = NULL;

        rc = member(&s, key, out, &seen, status, reason, &what);
        if (rc != 0) {
            return bad(why, rc, what != NULL ? what : s.why);
        }
    }
    if (rc == -ENAMETOOLONG) {
        return bad(why, -EINVAL, "unknown key (expected t_ms, sensor, value, status, reason)");
    }
    if (rc < 0 || ward_jscan_end(&s) != 0) {
        return bad(why, s.err, s.why);
    }
    return finish(out, seen, status, reason, why);
}
