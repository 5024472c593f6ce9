/*
 * Fuzz harness for the agent's reading of the collector's acknowledgement
 * (firmware/transport/src/ack.c, through the wire codec's reader, firmware/wire/src/ack_read.c):
 * never crashes, never reports more acks than it was given
 * room for, and a document it accepts parses the same way every time.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/transport/ack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ward_ack a[4];
    struct ward_ack b[4];
    int n = ward_ack_parse((const char *)data, size, a, 4);
    int m;

    if (n > 4) {
        abort();
    }
    if (n >= 0) {
        m = ward_ack_parse((const char *)data, size, b, 4);
        if (m != n || memcmp(a, b, sizeof(a[0]) * (size_t)n) != 0) {
            abort();
        }
    }
    return 0;
}
