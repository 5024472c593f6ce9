/*
 * Fuzz harness for the journal's event records as the agent reads them back after a restart
 * (firmware/transport/src/outbox.c): any accepted record re-encodes to the same bytes, and
 * nothing crashes on damaged storage.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/transport/outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ward_event ev;
    char id[300];
    uint8_t again[400];
    int n;

    if (ward_outbox_decode(data, size, id, sizeof(id), &ev) != 0) {
        return 0;
    }
    n = ward_outbox_encode(id, &ev, again, sizeof(again));
    if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0) {
        abort();
    }
    return 0;
}
