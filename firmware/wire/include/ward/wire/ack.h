/*
 * The collector's acknowledgement (docs/protocol.md, docs/schemas/ack.json), both ends:
 *   {"v":1,"acks":[{"boot":"<32 hex digits>","seq":N},...]}
 * "seq" is, per boot id, the highest sequence the collector has stored durably. The
 * collector writes it (ward_ingest_format_ack(), src/ack_write.c); the agent reads it
 * (ward_wire_ack_each(), src/ack_read.c, with the allocation-free scanner). Each is its own
 * object, so an agent image links only the reader.
 */
#ifndef WARD_WIRE_ACK_H_
#define WARD_WIRE_ACK_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/wire/protocol.h"

/** Called for each (boot id, highest durably stored seq) pair of an acknowledgement. */
typedef int (*ward_wire_ack_fn)(void *ctx, const uint8_t boot[WARD_WIRE_BOOT_LEN], uint32_t seq);

/**
 * Read an acknowledgement and call fn for each pair, but only once the whole document has
 * proved valid (fn may be NULL: validate and count). A negative return from fn stops the
 * walk and is returned. Never allocates.
 * @return the number of pairs; -EPROTO for malformed JSON; -EINVAL for a wrong version, a
 *         missing, duplicate or unknown member, a boot id that is not 32 hex digits
 *         (-ENAMETOOLONG when it is longer); -ERANGE for a seq outside 0..2^32-1.
 */
int ward_wire_ack_each(const char *text, size_t len, ward_wire_ack_fn fn, void *ctx);

/* One entry of the acknowledgement the collector writes. */
struct ward_ingest_ack {
    char boot[WARD_WIRE_BOOT_HEX_LEN + 1];
    int64_t seq; /* < 0: nothing stored for this boot; left out of the document */
};

/**
 * Write the acknowledgement, entries with seq < 0 left out.
 * @return its length (no NUL counted), -ENOSPC when it does not fit, -EINVAL.
 */
int ward_ingest_format_ack(char *out, size_t cap, const struct ward_ingest_ack *acks, unsigned n);

#endif /* WARD_WIRE_ACK_H_ */
