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

#include <stdbool.h>
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

/*
 * A drill request (docs/incidents.md, "Drills"), an optional member of the acknowledgement:
 *   "drill":{"id":N,"scenario":"failing-fan","for_s":600}   play it for for_s seconds
 *   "drill":{"id":N,"stop":true}                           stop drill N
 * (src/ack_drill.c). The collector repeats it in every answer until the agent's heartbeat
 * names the drill's id.
 */
#define WARD_WIRE_DRILL_NAME_MAX 31
#define WARD_WIRE_DRILL_FOR_MAX  86400 /* seconds */

struct ward_wire_drill {
    uint32_t id;    /* 1..2^32-1 */
    uint32_t for_s; /* 1..WARD_WIRE_DRILL_FOR_MAX; 0 with stop */
    bool stop;
    char scenario[WARD_WIRE_DRILL_NAME_MAX + 1]; /* [a-z0-9-]; "" with stop */
};

struct ward_jscan;

/**
 * Read the drill member's object (the scanner just past "drill":).
 * @return 0, or the scanner's error (-EINVAL for a bad id, name or duration).
 */
int ward_wire_ack_read_drill(struct ward_jscan *s, struct ward_wire_drill *out);

/**
 * The drill request of an acknowledgement, when it has one (the whole document validated).
 * @return 1 with *out filled, 0 when there is none, or an error of ward_wire_ack_each().
 */
int ward_wire_ack_drill(const char *text, size_t len, struct ward_wire_drill *out);

/**
 * Add the drill member to an acknowledgement written by ward_ingest_format_ack() (len bytes
 * in out, ending with '}'). @return the new length, -ENOSPC, -EINVAL.
 */
int ward_ingest_ack_add_drill(char *out, size_t cap, size_t len, const struct ward_wire_drill *d);

#endif /* WARD_WIRE_ACK_H_ */
