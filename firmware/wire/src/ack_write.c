#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ward/base/fmt.h"
#include "ward/wire/ack.h"

struct out {
    char *p;
    size_t cap;
    size_t len;
    bool full;
};

/* Append n bytes, keeping room for the NUL; once one piece does not fit, nothing more goes. */
static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || n >= o->cap - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

int ward_ingest_format_ack(char *out, size_t cap, const struct ward_ingest_ack *acks, unsigned n)
{
    struct out o = { out, cap, 0, cap == 0 };
    char num[WARD_FMT_INT64_MAX];
    unsigned k = 0;

    if (out == NULL || (acks == NULL && n > 0)) {
        return -EINVAL;
    }
    put_str(&o, "{\"" WARD_WIRE_M_V "\":1,\"" WARD_WIRE_M_ACKS "\":[");
    for (unsigned i = 0; i < n; i++) {
        if (acks[i].seq < 0) {
            continue;
        }
        ward_fmt_i64(num, sizeof(num), acks[i].seq);
        put_str(&o, k++ ? ",{\"" WARD_WIRE_M_BOOT "\":\"" : "{\"" WARD_WIRE_M_BOOT "\":\"");
        put_str(&o, acks[i].boot);
        put_str(&o, "\",\"" WARD_WIRE_M_SEQ "\":");
        put_str(&o, num);
        put_str(&o, "}");
    }
    put_str(&o, "]}");
    return o.full ? -ENOSPC : (int)o.len;
}
