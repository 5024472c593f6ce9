/*
 * Store-and-forward: the events the collector has not acknowledged, kept in a ward_store so
 * they survive agent restarts and reboots.
 *
 * Record framing (little-endian), 36-byte header then the payload:
 *   0 u16 magic 0x5752 | 2 u8 type (1 event, 2 ack) | 3 u8 severity | 4 u16 payload length
 *   6 u16 zero | 8 u8[16] boot id | 24 u64 sequence | 32 u32 CRC-32 of bytes 0..31 + payload
 * A record torn by a crash fails its length or CRC check; recovery cuts the store there.
 * Damage in the middle (a bad sector) is skipped up to the next valid record, and counted.
 *
 * Bounds: at most max_bytes of storage and `cap` indexed events. When an event does not fit,
 * the journal first reclaims acknowledged records (compaction), then evicts in the core
 * event log's order: lowest severity first, oldest first within a severity; an incoming
 * event that ranks below everything stored is the one dropped. Every drop is counted by
 * severity. When every event is acknowledged the store is simply truncated.
 *
 * The payload is opaque here (the core's encoding of one event); the key is the event's
 * (boot id, sequence), the pair the collector acknowledges.
 */
#ifndef WARD_TRANSPORT_JOURNAL_H_
#define WARD_TRANSPORT_JOURNAL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/transport/config.h"
#include "ward/transport/store.h"

#define WARD_JOURNAL_BOOT_ID_LEN 16u
#define WARD_JOURNAL_HDR         36u
#define WARD_JOURNAL_BOOTS       8u
#define WARD_JOURNAL_SEVERITIES  3u /* 0 low, 1 medium, 2 high */

struct ward_journal_key {
    uint8_t boot_id[WARD_JOURNAL_BOOT_ID_LEN]; /* the core's boot id, zero-padded */
    uint64_t seq;
};

struct ward_journal_entry {
    uint32_t off; /* record offset in the store */
    uint16_t len; /* payload bytes */
    uint8_t severity;
    uint8_t boot; /* index into ward_journal.boots */
    uint64_t seq;
};

struct ward_journal_stats {
    uint32_t recovered;     /* events restored by open() */
    uint64_t torn_bytes;    /* tail bytes cut by open() (a write a crash interrupted) */
    uint64_t corrupt_bytes; /* damaged bytes skipped in the middle */
    uint32_t dropped[WARD_JOURNAL_SEVERITIES]; /* events evicted or refused to keep the bound */
    uint32_t acked;                            /* events freed by acknowledgements */
    uint32_t appends;
    uint32_t syncs;
    uint32_t compactions;
};

struct ward_journal_boot {
    uint8_t id[WARD_JOURNAL_BOOT_ID_LEN];
    uint64_t acked; /* highest sequence the collector stored durably (when has_ack) */
    uint32_t live;  /* indexed events of this boot */
    bool has_ack;
    bool used;
};

struct ward_journal {
    struct ward_store store;
    struct ward_journal_entry *idx; /* caller storage, journal order (oldest first) */
    uint32_t cap;
    uint32_t n;
    struct ward_journal_boot boots[WARD_JOURNAL_BOOTS];
    uint64_t size;       /* bytes in the store */
    uint64_t live_bytes; /* bytes of indexed (unacknowledged) records */
    uint64_t max_bytes;
    bool dirty;      /* appended since the last sync */
    uint32_t rw_pos; /* rewrite iterator position */
    struct ward_journal_stats stats;
    uint8_t scratch[WARD_JOURNAL_HDR + WARD_JOURNAL_MAX_PAYLOAD];
};

/**
 * Open over a store and recover: index every unacknowledged event, cut a torn tail.
 * @return 0; -EINVAL for bad arguments or max_bytes below one record; -EIO from the store.
 */
int ward_journal_open(struct ward_journal *j, struct ward_store store,
                      struct ward_journal_entry *idx, uint32_t cap, uint64_t max_bytes);

/**
 * Append one event (not yet durable: see ward_journal_sync()).
 * @return 0; -ENOBUFS when the event ranked below everything stored and was dropped
 *         (counted); -EMSGSIZE for a payload above WARD_JOURNAL_MAX_PAYLOAD; -EEXIST when
 *         (boot id, seq) is already stored; -EIO/-ENOSPC from the store.
 */
int ward_journal_append(struct ward_journal *j, const struct ward_journal_key *key,
                        uint8_t severity, const void *payload, size_t len);

/** Make every append durable (fdatasync on Linux). @return 0 or -EIO. */
int ward_journal_sync(struct ward_journal *j);

/**
 * The collector stored every event of boot_id up to seq: free them.
 * @return the number of events freed (0 for an unknown boot or an old ack), or -errno.
 */
int ward_journal_ack(struct ward_journal *j, const uint8_t boot_id[WARD_JOURNAL_BOOT_ID_LEN],
                     uint64_t seq);

/** Unacknowledged events held. */
uint32_t ward_journal_count(const struct ward_journal *j);

/**
 * Read the i-th unacknowledged event (0 = oldest).
 * @return the payload length; -ERANGE for i out of range; -ENOSPC when cap is too small;
 *         -EIO when the record no longer reads back intact.
 */
int ward_journal_get(struct ward_journal *j, uint32_t i, struct ward_journal_key *key,
                     uint8_t *severity, void *buf, size_t cap);

/** Rewrite the store with only unacknowledged events. @return 0 or -errno. */
int ward_journal_compact(struct ward_journal *j);

/** Total of stats.dropped over every severity. */
uint32_t ward_journal_dropped(const struct ward_journal *j);

#endif /* WARD_TRANSPORT_JOURNAL_H_ */
