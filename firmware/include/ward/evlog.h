/*
 * The event log: a bounded, SEL-like record of state changes waiting to be delivered.
 *
 * Identity: every event has a sequence number, monotonic per boot from 1, and the boot id
 * of the agent run that recorded it; (boot id, seq) is unique forever and is what the
 * collector acknowledges and deduplicates on. A sequence number is consumed even by an
 * event that had to be dropped, so a receiver can account for every gap: the gaps in the
 * sequence equal the dropped and folded counts the heartbeat carries.
 *
 * Bound and pressure (WARD_EVLOG_SIZE events): while there is room nothing is lost. When
 * full, the log works on the lowest severity present (counting the incoming event):
 *   1. fold: the oldest event at that severity that has a newer repeat (same boot, sensor,
 *      from and to) is folded into the repeat, whose count grows and which keeps the
 *      earliest first_t_ms;
 *   2. otherwise evict the oldest event at that severity (the incoming one if it is the
 *      only one), counting it in dropped[severity].
 * So a high-severity event is never dropped while a lower one remains.
 *
 * Delivery (docs/protocol.md): a transport reads pending events oldest first
 * (ward_evlog_at(), ward_evlog_index_after()), sends them, and calls ward_evlog_ack()
 * with the highest sequence the collector stored durably for that boot; only then are
 * they freed. Events persisted by an earlier run come back with ward_evlog_restore().
 */
#ifndef WARD_EVLOG_H_
#define WARD_EVLOG_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/base/config.h"
#include "ward/wire/state.h"

#define WARD_BOOT_ID_LEN     16
#define WARD_BOOT_ID_HEX_LEN (2 * WARD_BOOT_ID_LEN)

/* ward_event.flags */
#define WARD_EVENT_HAS_VALUE (1u << 0) /* value holds the reading */
#define WARD_EVENT_HAS_WALL  (1u << 1) /* wall_ms is known */
/* In the batch last built (ward_report_batch()): what ward_evlog_ack_sent() may free. Never
 * persisted: a restored event was not sent by this run. */
#define WARD_EVENT_SENT (1u << 2)

struct ward_event {
    int64_t t_ms;       /* agent monotonic time of the latest occurrence */
    int64_t first_t_ms; /* of the first occurrence (differs when count > 1) */
    int64_t wall_ms;    /* Unix time in ms of the latest occurrence, when HAS_WALL */
    int64_t value;      /* the reading (a rate for rate rules), when HAS_VALUE */
    uint32_t seq;       /* per boot, from 1 */
    uint32_t count;     /* occurrences folded into this record, >= 1 */
    uint16_t sensor;    /* index in the health engine's sensor table */
    uint8_t boot;       /* index in the log's boot table (0 = this run) */
    uint8_t from;       /* enum ward_state */
    uint8_t to;
    uint8_t severity; /* enum ward_severity */
    uint8_t reason;   /* enum ward_reason (unavailable, failed) */
    uint8_t flags;    /* WARD_EVENT_* */
};

struct ward_evlog {
    struct ward_event ev[WARD_EVLOG_SIZE]; /* ev[0] is the oldest pending event */
    uint8_t boot_id[WARD_EVLOG_BOOTS][WARD_BOOT_ID_LEN];
    uint32_t next_seq;                /* of this run's next event */
    uint32_t dropped[WARD_SEV_COUNT]; /* evicted or refused, by severity */
    uint32_t folded;                  /* records merged into a repeat */
    uint32_t acked;                   /* events freed by acknowledgement */
    uint16_t n;                       /* pending events */
    uint16_t high_water;              /* most events ever pending */
    uint8_t n_boots;                  /* boot table entries in use (>= 1) */
};

/**
 * Start an empty log for this run's boot id (sequence numbers start at 1).
 * @return 0, -EINVAL for NULL arguments.
 */
int ward_evlog_init(struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN]);

/**
 * Record an event of this run. seq, boot and count are assigned; the rest is copied.
 * @param seq  receives the sequence number (may be NULL)
 * @return 1 when stored, 0 when the event itself was dropped under pressure (still counted
 *         and its sequence consumed), -EINVAL.
 */
int ward_evlog_append(struct ward_evlog *log, const struct ward_event *ev, uint32_t *seq);

/**
 * Put back an unacknowledged event recorded by an earlier run (from persistent storage).
 * Restored events keep their boot id and sequence and sort before this run's events.
 * @return 1 stored, 0 dropped under pressure, -EINVAL, -ENOSPC when the boot table is full,
 *         -EEXIST when the boot id is this run's.
 */
int ward_evlog_restore(struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN],
                       const struct ward_event *ev);

/**
 * Free every event of that boot with sequence <= seq (the collector stored them).
 * @return the number freed (>= 0), -EINVAL, -ENOENT for a boot id the log does not know.
 */
int ward_evlog_ack(struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN], uint32_t seq);

/**
 * Free every event of that boot with sequence <= seq that is marked WARD_EVENT_SENT: the
 * acknowledgement of a batch whose events need not be the oldest pending ones (a batch sent
 * highest severity first, docs/protocol.md). The collector's seq is the highest it stored
 * for the boot, which can pass events this batch left for later: those stay.
 * @return the number freed (>= 0), -EINVAL, -ENOENT for a boot id the log does not know.
 */
int ward_evlog_ack_sent(struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN],
                        uint32_t seq);

/**
 * The highest sequence <= seq below which no event of that boot is pending: what may be
 * acknowledged as a watermark (the journal's) after ward_evlog_ack_sent() freed what it could.
 * @return seq when nothing of the boot at or below it is pending (or the boot is unknown).
 */
uint32_t ward_evlog_floor(const struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN],
                          uint32_t seq);

static inline unsigned ward_evlog_pending(const struct ward_evlog *log)
{
    return log->n;
}

/** The i-th pending event, oldest first; NULL past the end. Indices shift on ack/evict. */
const struct ward_event *ward_evlog_at(const struct ward_evlog *log, unsigned i);

/**
 * Index of the first pending event after (boot id, seq): where a transport resumes after
 * what it has already sent. Events of other boots order as they are stored.
 * @return the index (== pending count when nothing follows).
 */
unsigned ward_evlog_index_after(const struct ward_evlog *log,
                                const uint8_t boot_id[WARD_BOOT_ID_LEN], uint32_t seq);

/** Boot id of an event. */
const uint8_t *ward_evlog_boot_id(const struct ward_evlog *log, const struct ward_event *ev);

/** Sum of dropped[] (every severity). */
uint32_t ward_evlog_dropped_total(const struct ward_evlog *log);

/** Sequence number of this run's last event (0 before the first). */
static inline uint32_t ward_evlog_last_seq(const struct ward_evlog *log)
{
    return log->next_seq - 1u;
}

#endif /* WARD_EVLOG_H_ */
