/*
 * Store-and-forward between the agent's event log (ward/evlog.h, RAM) and the journal
 * (ward/transport/journal.h, persistent): the journal holds every event of the log that the
 * collector has not acknowledged, so it survives an agent restart or a reboot.
 *
 *   start:   ward_outbox_restore()   journal -> log (events of earlier boots, oldest first)
 *   poll:    ward_outbox_capture()   log -> journal (this run's new events)
 *   batch:   ward_outbox_sync()      everything about to be sent is durable first
 *   ack:     ward_outbox_apply_ack() frees the acknowledged events in both
 *
 * Record payload (version 1, little-endian): u8 version, u8 from, u8 to, u8 severity,
 * u8 reason, u8 flags, u16 zero, u32 count, i64 t_ms, first_t_ms, wall_ms, value,
 * u8 sensor id length, the sensor id. The journal record's key carries boot id and seq.
 */
#ifndef WARD_TRANSPORT_OUTBOX_H_
#define WARD_TRANSPORT_OUTBOX_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/agent.h"
#include "ward/transport/journal.h"

#define WARD_OUTBOX_MAX_ACKS 8u

struct ward_outbox_stats {
    uint32_t restored;         /* events put back into the log at start */
    uint32_t restore_deferred; /* left in the journal: the log had no room (next start) */
    uint32_t restore_bad;      /* records that did not decode (counted, skipped) */
    uint32_t captured;         /* events written to the journal */
    uint32_t capture_dropped;  /* refused by the journal's bound (counted there too) */
    uint32_t capture_errors;   /* storage failures */
    uint32_t acks;             /* acknowledgements applied */
    uint32_t bad_acks;         /* acknowledgement documents refused */
};

struct ward_outbox {
    struct ward_journal *journal;
    uint32_t journaled_seq; /* this run's last event written to the journal */
    struct ward_outbox_stats stats;
};

/** @return 0, -EINVAL. */
int ward_outbox_init(struct ward_outbox *o, struct ward_journal *journal);

/** Encode one event for the journal. @return the payload length, -ENOSPC, -EINVAL. */
int ward_outbox_encode(const char *sensor_id, const struct ward_event *ev, uint8_t *buf,
                       size_t cap);

/**
 * Decode a payload; sensor_id receives the NUL-terminated id (id_cap >= 2).
 * @return 0, -EBADMSG for a payload that is not a version-1 event record.
 */
int ward_outbox_decode(const uint8_t *buf, size_t len, char *sensor_id, size_t id_cap,
                       struct ward_event *ev);

/**
 * Put every journaled event of an earlier boot back into the agent's log, oldest first.
 * Events the log cannot take now stay in the journal for the next start.
 * @return the number restored, or -EIO when the journal cannot be read.
 */
int ward_outbox_restore(struct ward_outbox *o, struct ward_agent *a);

/**
 * Write this run's events recorded since the last call to the journal (not yet durable).
 * @return the number written, or the first storage error.
 */
int ward_outbox_capture(struct ward_outbox *o, struct ward_agent *a);

/** Make the journal durable (fdatasync on Linux). @return 0 or -EIO. */
int ward_outbox_sync(struct ward_outbox *o);

/**
 * Apply the collector's acknowledgement to the log and the journal.
 * @return the number of log events freed, or an error of ward_ack_parse() (nothing freed).
 */
int ward_outbox_apply_ack(struct ward_outbox *o, struct ward_agent *a, const char *text,
                          size_t len);

#endif /* WARD_TRANSPORT_OUTBOX_H_ */
