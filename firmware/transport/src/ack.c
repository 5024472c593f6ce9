#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ward/report.h"
#include "ward/transport/ack.h"

struct ack_collect {
    struct ward_ack *acks;
    unsigned max;
    unsigned n; /* pairs seen; more than max means they did not fit */
};

static int collect(void *ctx, const uint8_t boot[WARD_BOOT_ID_LEN], uint32_t seq)
{
    struct ack_collect *c = ctx;

    if (c->n < c->max) {
        memcpy(c->acks[c->n].boot_id, boot, WARD_BOOT_ID_LEN);
        c->acks[c->n].seq = seq;
    }
    c->n++;
    return 0;
}

int ward_ack_parse(const char *text, size_t len, struct ward_ack *acks, unsigned max)
{
    struct ack_collect c = { acks, max, 0 };
    int rc;

    if (text == NULL || (acks == NULL && max > 0)) {
        return -EINVAL;
    }
    /* The core's walker: one grammar for the ack, validated whole before any pair lands. */
    rc = ward_report_ack_each(text, len, collect, &c);
    if (rc < 0) {
        return rc;
    }
    return c.n > max ? -E2BIG : (int)c.n;
}
