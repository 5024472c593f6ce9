#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ward/base/byteorder.h"
#include "ward/report.h"
#include "ward/transport/ack.h"
#include "ward/transport/outbox.h"

#define RECORD_VERSION 1u
#define FIXED_LEN      (1u + 5u + 2u + 4u + 4u * 8u + 1u)

int ward_outbox_init(struct ward_outbox *o, struct ward_journal *journal)
{
    if (o == NULL || journal == NULL) {
        return -EINVAL;
    }
    memset(o, 0, sizeof(*o));
    o->journal = journal;
    return 0;
}

int ward_outbox_encode(const char *sensor_id, const struct ward_event *ev, uint8_t *buf, size_t cap)
{
    size_t id_len;

    if (sensor_id == NULL || ev == NULL || buf == NULL) {
        return -EINVAL;
    }
    id_len = strlen(sensor_id);
    if (id_len > 255u || FIXED_LEN + id_len > cap) {
        return -ENOSPC;
    }
    buf[0] = RECORD_VERSION;
    buf[1] = ev->from;
    buf[2] = ev->to;
    buf[3] = ev->severity;
    buf[4] = ev->reason;
    buf[5] = ev->flags;
    buf[6] = 0;
    buf[7] = 0;
    buf[8] = (uint8_t)ev->count;
    buf[9] = (uint8_t)(ev->count >> 8);
    buf[10] = (uint8_t)(ev->count >> 16);
    buf[11] = (uint8_t)(ev->count >> 24);
    ward_put_le64(buf + 12, (uint64_t)ev->t_ms);
    ward_put_le64(buf + 20, (uint64_t)ev->first_t_ms);
    ward_put_le64(buf + 28, (uint64_t)ev->wall_ms);
    ward_put_le64(buf + 36, (uint64_t)ev->value);
    buf[44] = (uint8_t)id_len;
    memcpy(buf + FIXED_LEN, sensor_id, id_len);
    return (int)(FIXED_LEN + id_len);
}

int ward_outbox_decode(const uint8_t *buf, size_t len, char *sensor_id, size_t id_cap,
                       struct ward_event *ev)
{
    size_t id_len;

    if (buf == NULL || sensor_id == NULL || ev == NULL || len < FIXED_LEN ||
        buf[0] != RECORD_VERSION || buf[6] != 0 || buf[7] != 0) {
        return -EBADMSG;
    }
    id_len = buf[44];
    if (FIXED_LEN + id_len != len || id_len == 0 || id_len >= id_cap ||
        memchr(buf + FIXED_LEN, '\0', id_len) != NULL) {
        return -EBADMSG;
    }
    memset(ev, 0, sizeof(*ev));
    ev->from = buf[1];
    ev->to = buf[2];
    ev->severity = buf[3];
    ev->reason = buf[4];
    ev->flags = buf[5];
    ev->count = (uint32_t)buf[8] | ((uint32_t)buf[9] << 8) | ((uint32_t)buf[10] << 16) |
                ((uint32_t)buf[11] << 24);
    ev->t_ms = (int64_t)ward_get_le64(buf + 12);
    ev->first_t_ms = (int64_t)ward_get_le64(buf + 20);
    ev->wall_ms = (int64_t)ward_get_le64(buf + 28);
    ev->value = (int64_t)ward_get_le64(buf + 36);
    if (ev->from >= WARD_STATE_COUNT || ev->to >= WARD_STATE_COUNT ||
        ev->severity >= WARD_SEV_COUNT || ev->count == 0) {
        return -EBADMSG;
    }
    memcpy(sensor_id, buf + FIXED_LEN, id_len);
    sensor_id[id_len] = '\0';
    return 0;
}

/* The journal ranks 0 low .. 2 high; the core's severities start at none. */
static uint8_t journal_rank(uint8_t severity)
{
    return severity > WARD_SEV_LOW ? (uint8_t)(severity - WARD_SEV_LOW) : 0u;
}

int ward_outbox_restore(struct ward_outbox *o, struct ward_agent *a)
{
    uint8_t buf[WARD_JOURNAL_MAX_PAYLOAD];
    char id[WARD_JOURNAL_MAX_PAYLOAD];
    int restored = 0;

    for (uint32_t i = 0; i < ward_journal_count(o->journal); i++) {
        struct ward_journal_key key;
        struct ward_event ev;
        int len = ward_journal_get(o->journal, i, &key, NULL, buf, sizeof(buf));
        int rc;

        if (len < 0) {
            return -EIO;
        }
        if (ward_outbox_decode(buf, (size_t)len, id, sizeof(id), &ev) != 0 ||
            key.seq > UINT32_MAX) {
            o->stats.restore_bad++;
            continue;
        }
        ev.seq = (uint32_t)key.seq;
        rc = ward_agent_restore_event(a, key.boot_id, id, &ev);
        if (rc == 1) {
            restored++;
        } else {
            o->stats.restore_deferred++; /* log full, boot table full, sensor table full */
        }
    }
    o->stats.restored += (uint32_t)restored;
    return restored;
}

int ward_outbox_capture(struct ward_outbox *o, struct ward_agent *a)
{
    uint8_t buf[WARD_JOURNAL_MAX_PAYLOAD];
    struct ward_journal_key key;
    int written = 0;

    memset(&key, 0, sizeof(key));
    memcpy(key.boot_id, a->boot_id, WARD_BOOT_ID_LEN);
    for (unsigned i = 0; i < ward_evlog_pending(&a->log); i++) {
        const struct ward_event *ev = ward_evlog_at(&a->log, i);
        const struct ward_sensor *s;
        int len;
        int rc;

        if (ev->boot != 0 || ev->seq <= o->journaled_seq) {
            continue; /* an earlier boot's (restored from the journal), or already written */
        }
        s = ward_health_sensor_at(&a->health, ev->sensor);
        len = ward_outbox_encode(s != NULL ? s->id : "unknown", ev, buf, sizeof(buf));
        if (len < 0) {
            o->stats.capture_errors++;
            o->journaled_seq = ev->seq;
            continue;
        }
        key.seq = ev->seq;
        rc = ward_journal_append(o->journal, &key, journal_rank(ev->severity), buf, (size_t)len);
        if (rc == -ENOBUFS) {
            o->stats.capture_dropped++;
        } else if (rc != 0 && rc != -EEXIST) {
            o->stats.capture_errors++;
            return rc; /* retried at the next capture: journaled_seq did not move */
        } else if (rc == 0) {
            written++;
        }
        o->journaled_seq = ev->seq;
    }
    o->stats.captured += (uint32_t)written;
    return written;
}

int ward_outbox_sync(struct ward_outbox *o)
{
    return ward_journal_sync(o->journal);
}

int ward_outbox_apply_ack(struct ward_outbox *o, struct ward_agent *a, const char *text, size_t len)
{
    struct ward_ack acks[WARD_OUTBOX_MAX_ACKS];
    int n = ward_ack_parse(text, len, acks, WARD_OUTBOX_MAX_ACKS);
    int freed = 0;

    if (n < 0) {
        o->stats.bad_acks++;
        return n;
    }
    for (int i = 0; i < n; i++) {
        uint32_t seq = acks[i].seq;
        int rc;

        if (a->severity_first) {
            /* The batch carried what is marked sent, not necessarily the oldest: free that,
             * and move the journal's watermark only up to the oldest event still pending. */
            rc = ward_evlog_ack_sent(&a->log, acks[i].boot_id, seq);
            seq = ward_evlog_floor(&a->log, acks[i].boot_id, seq);
        } else {
            rc = ward_evlog_ack(&a->log, acks[i].boot_id, seq);
        }
        freed += rc > 0 ? rc : 0; /* -ENOENT: a boot the log no longer holds */
        (void)ward_journal_ack(o->journal, acks[i].boot_id, seq);
    }
    o->stats.acks += (uint32_t)n;
    ward_report_batch_acked(a);
    return freed;
}
