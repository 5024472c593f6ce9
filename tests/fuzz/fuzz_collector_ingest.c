/*
 * Fuzz the collector's ingest-batch decoder (firmware/wire/src/decode.c) and, through it,
 * the firmware's JSON scanner (firmware/base/src/jscan.c), which the agent uses for the
 * collector's acknowledgements: one harness for both ends of the protocol. The input is
 * copied to a buffer of exactly its size. Invariants that fail abort():
 *  - an accepted batch names a valid boot id and device, at most max_events events, each with
 *    a valid boot id, a sequence in 1..2^32-1, state and severity names the vocabulary knows,
 *    and a document span that lies inside the body and is a JSON object;
 *  - the heartbeat and snapshot spans lie inside the body and are objects;
 *  - a refusal comes with a reason and leaves no events behind;
 *  - decoding is deterministic (a second pass gives the same result).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/wire/state.h"

#include "ward/wire/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 32

static struct ward_ingest_event s_events[MAX_EVENTS];

static int span_ok(const char *p, size_t n, const char *buf, size_t size)
{
    return p >= buf && n >= 2 && p + n <= buf + size && p[0] == '{' && p[n - 1] == '}';
}

static int boot_ok(const char *b)
{
    if (strlen(b) != WARD_WIRE_BOOT_HEX_LEN) {
        return 0;
    }
    return strspn(b, "0123456789abcdef") == WARD_WIRE_BOOT_HEX_LEN;
}

static void check_batch(const struct ward_ingest_batch *b, const char *buf, size_t size)
{
    if (!boot_ok(b->boot) || b->device[0] == '\0' || b->n_events > MAX_EVENTS ||
        !b->has_heartbeat || !span_ok(b->heartbeat, b->heartbeat_len, buf, size) ||
        (b->snapshot != NULL && !span_ok(b->snapshot, b->snapshot_len, buf, size))) {
        abort();
    }
    for (unsigned i = 0; i < b->n_events; i++) {
        const struct ward_ingest_event *e = &b->events[i];

        if (!boot_ok(e->boot) || e->seq < 1 || e->seq > UINT32_MAX ||
            ward_state_parse(e->from) < 0 || ward_state_parse(e->to) < 0 ||
            ward_severity_parse(e->severity) <= 0 || e->sensor[0] == '\0' ||
            !span_ok(e->doc, e->doc_len, buf, size)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    char *scratch = malloc(size + 1);
    struct ward_ingest_batch b = { .events = s_events, .max_events = MAX_EVENTS };
    const char *why = NULL;

    if (buf == NULL || scratch == NULL) {
        free(buf);
        free(scratch);
        return 0;
    }
    memcpy(buf, data, size);
    int rc = ward_ingest_decode(buf, size, &b, scratch, size + 1, &why);

    if (rc == 0) {
        check_batch(&b, buf, size);
    } else if (rc == -EPROTO || rc == -E2BIG) {
        if (why == NULL || b.n_events != 0) {
            abort();
        }
    } else {
        abort();
    }
    unsigned n = b.n_events;
    int rc2 = ward_ingest_decode(buf, size, &b, scratch, size + 1, &why);

    if (rc2 != rc || b.n_events != n) {
        abort();
    }
    free(buf);
    free(scratch);
    return 0;
}
