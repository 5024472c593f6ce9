/*
 * The collector's acknowledgement (docs/protocol.md):
 *   {"v":1,"acks":[{"boot":"<32 hex digits>","seq":N},...]}
 * "seq" is, per boot id, the highest sequence the collector has stored durably. Parsed by
 * the core's ward_report_ack_each() (the one grammar, allocation-free); this variant hands
 * the pairs back so the journal can free the same events as the event log.
 */
#ifndef WARD_TRANSPORT_ACK_H_
#define WARD_TRANSPORT_ACK_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/evlog.h"

struct ward_ack {
    uint8_t boot_id[WARD_BOOT_ID_LEN];
    uint32_t seq;
};

/**
 * Parse a whole acknowledgement document; nothing is returned unless all of it is valid.
 * @return the number of acks (0..max); -EPROTO for malformed JSON; -EINVAL for a wrong
 *         version, a missing or unknown key, a bad boot id; -ERANGE for a seq outside
 *         0..2^32-1; -E2BIG for more than max acks.
 */
int ward_ack_parse(const char *text, size_t len, struct ward_ack *acks, unsigned max);

#endif /* WARD_TRANSPORT_ACK_H_ */
