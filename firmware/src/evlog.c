#include <errno.h>
#include <string.h>

#include "ward/evlog.h"

int ward_evlog_init(struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN])
{
    if (log == NULL || boot_id == NULL) {
        return -EINVAL;
    }
    memset(log, 0, sizeof(*log));
    memcpy(log->boot_id[0], boot_id, WARD_BOOT_ID_LEN);
    log->n_boots = 1;
    log->next_seq = 1;
    return 0;
}

static void remove_at(struct ward_evlog *log, unsigned i)
{
    memmove(&log->ev[i], &log->ev[i + 1], (size_t)(log->n - i - 1u) * sizeof(log->ev[0]));
    log->n--;
}

static void insert_at(struct ward_evlog *log, unsigned i, const struct ward_event *ev)
{
    memmove(&log->ev[i + 1], &log->ev[i], (size_t)(log->n - i) * sizeof(log->ev[0]));
    log->ev[i] = *ev;
    log->n++;
    if (log->n > log->high_water) {
        log->high_water = log->n;
    }
}

static bool repeats(const struct ward_event *a, const struct ward_event *b)
{
    return a->boot == b->boot && a->sensor == b->sensor && a->from == b->from && a->to == b->to &&
           a->severity == b->severity;
}

static void fold_into(struct ward_event *newer, const struct ward_event *older)
{
    uint32_t sum = newer->count + older->count;

    newer->count = sum < newer->count ? UINT32_MAX : sum;
    newer->first_t_ms = older->first_t_ms;
}

/*
 * The log is full and *in wants in: fold or evict at the lowest severity present.
 * @return true when *in should be stored, false when it was dropped itself.
 */
static bool make_room(struct ward_evlog *log, struct ward_event *in)
{
    unsigned low = in->severity;
    unsigned i;

    for (i = 0; i < log->n; i++) {
        low = log->ev[i].severity < low ? log->ev[i].severity : low;
    }
    for (i = 0; i < log->n; i++) {
        struct ward_event *e = &log->ev[i];

        if (e->severity != low) {
            continue;
        }
        for (unsigned j = i + 1; j < log->n; j++) {
            if (repeats(e, &log->ev[j])) {
                fold_into(&log->ev[j], e);
                remove_at(log, i);
                log->folded++;
                return true;
            }
        }
        if (repeats(e, in)) {
            fold_into(in, e);
            remove_at(log, i);
            log->folded++;
            return true;
        }
    }
    log->dropped[low]++;
    for (i = 0; i < log->n; i++) {
        if (log->ev[i].severity == low) {
            remove_at(log, i);
            return true;
        }
    }
    return false; /* the incoming event is the only one at the lowest severity */
}

/* Store at position pos, making room first when full. @return 1 stored, 0 dropped. */
static int store(struct ward_evlog *log, struct ward_event *ev, bool restored)
{
    if (log->n >= WARD_EVLOG_SIZE && !make_room(log, ev)) {
        return 0;
    }
    unsigned pos = log->n;

    if (restored) {
        /* Earlier runs' events sort before this run's (recomputed: make_room may shift). */
        for (pos = 0; pos < log->n && log->ev[pos].boot != 0; pos++) {
        }
    }
    insert_at(log, pos, ev);
    return 1;
}

int ward_evlog_append(struct ward_evlog *log, const struct ward_event *ev, uint32_t *seq)
{
    struct ward_event e;

    if (log == NULL || ev == NULL || ev->severity >= WARD_SEV_COUNT) {
        return -EINVAL;
    }
    e = *ev;
    e.boot = 0;
    e.flags &= (uint8_t)~WARD_EVENT_SENT;
    e.seq = log->next_seq++;
    e.count = 1;
    e.first_t_ms = e.t_ms;
    if (seq != NULL) {
        *seq = e.seq;
    }
    return store(log, &e, false);
}

static int boot_index(const struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN])
{
    for (unsigned b = 0; b < log->n_boots; b++) {
        if (memcmp(log->boot_id[b], boot_id, WARD_BOOT_ID_LEN) == 0) {
            return (int)b;
        }
    }
    return -ENOENT;
}

/* A restored boot's slot whose events are all gone can serve another boot. */
static bool boot_in_use(const struct ward_evlog *log, unsigned b)
{
    for (unsigned i = 0; i < log->n; i++) {
        if (log->ev[i].boot == b) {
            return true;
        }
    }
    return false;
}

static int boot_slot(struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN])
{
    int b = boot_index(log, boot_id);

    if (b >= 0) {
        return b;
    }
    for (unsigned i = 1; i < log->n_boots; i++) {
        if (!boot_in_use(log, i)) {
            memcpy(log->boot_id[i], boot_id, WARD_BOOT_ID_LEN);
            return (int)i;
        }
    }
    if (log->n_boots >= WARD_EVLOG_BOOTS) {
        return -ENOSPC;
    }
    memcpy(log->boot_id[log->n_boots], boot_id, WARD_BOOT_ID_LEN);
    return log->n_boots++;
}

int ward_evlog_restore(struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN],
                       const struct ward_event *ev)
{
    struct ward_event e;
    int b;

    if (log == NULL || boot_id == NULL || ev == NULL || ev->severity >= WARD_SEV_COUNT ||
        ev->seq == 0) {
        return -EINVAL;
    }
    b = boot_index(log, boot_id);
    if (b == 0) {
        return -EEXIST;
    }
    b = boot_slot(log, boot_id);
    if (b < 0) {
        return b;
    }
    e = *ev;
    e.boot = (uint8_t)b;
    e.count = e.count == 0 ? 1u : e.count;
    e.flags &= (uint8_t)~WARD_EVENT_SENT;
    return store(log, &e, true);
}

/* Free the events of that boot up to seq (only those marked sent, when sent_only). */
static int ack(struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN], uint32_t seq,
               bool sent_only)
{
    unsigned kept = 0;
    int freed = 0;
    int b;

    if (log == NULL || boot_id == NULL) {
        return -EINVAL;
    }
    b = boot_index(log, boot_id);
    if (b < 0) {
        return b;
    }
    for (unsigned i = 0; i < log->n; i++) {
        if (log->ev[i].boot == (uint8_t)b && log->ev[i].seq <= seq &&
            (!sent_only || (log->ev[i].flags & WARD_EVENT_SENT) != 0)) {
            freed++;
            continue;
        }
        if (kept != i) {
            log->ev[kept] = log->ev[i];
        }
        kept++;
    }
    log->n = (uint16_t)kept;
    log->acked += (uint32_t)freed;
    return freed;
}

int ward_evlog_ack(struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN], uint32_t seq)
{
    return ack(log, boot_id, seq, false);
}

int ward_evlog_ack_sent(struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN],
                        uint32_t seq)
{
    return ack(log, boot_id, seq, true);
}

uint32_t ward_evlog_floor(const struct ward_evlog *log, const uint8_t boot_id[WARD_BOOT_ID_LEN],
                          uint32_t seq)
{
    int b = log != NULL && boot_id != NULL ? boot_index(log, boot_id) : -ENOENT;

    for (unsigned i = 0; b >= 0 && i < log->n; i++) {
        if (log->ev[i].boot == (uint8_t)b && log->ev[i].seq <= seq) {
            seq = log->ev[i].seq - 1u; /* seq >= 1: restored and appended events */
        }
    }
    return seq;
}

const struct ward_event *ward_evlog_at(const struct ward_evlog *log, unsigned i)
{
    return log != NULL && i < log->n ? &log->ev[i] : NULL;
}

unsigned ward_evlog_index_after(const struct ward_evlog *log,
                                const uint8_t boot_id[WARD_BOOT_ID_LEN], uint32_t seq)
{
    int b = boot_index(log, boot_id);
    unsigned after = 0;

    if (b < 0) {
        return 0; /* nothing of that boot was sent: start at the oldest */
    }
    for (unsigned i = 0; i < log->n; i++) {
        if (log->ev[i].boot == (uint8_t)b && log->ev[i].seq <= seq) {
            after = i + 1;
        }
    }
    return after;
}

const uint8_t *ward_evlog_boot_id(const struct ward_evlog *log, const struct ward_event *ev)
{
    return ev->boot < log->n_boots ? log->boot_id[ev->boot] : log->boot_id[0];
}

uint32_t ward_evlog_dropped_total(const struct ward_evlog *log)
{
    uint32_t sum = 0;

    for (unsigned s = 0; s < WARD_SEV_COUNT; s++) {
        sum += log->dropped[s];
    }
    return sum;
}
