#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ward/base/byteorder.h"
#include "ward/base/crc32.h"
#include "ward/transport/journal.h"

#define MAGIC       0x5752u
#define TYPE_EVENT  1u
#define TYPE_ACK    2u
#define NO_VICTIM   UINT32_MAX
#define INCOMING    (UINT32_MAX - 1u)
#define COMPACT_MIN 4096u /* dead bytes worth a rewrite */

struct hdr {
    uint8_t type;
    uint8_t severity;
    uint16_t len;
    uint8_t boot_id[WARD_JOURNAL_BOOT_ID_LEN];
    uint64_t seq;
};

/* ---- framing ---- */

/* Frame a record into j->scratch; the payload must already sit at scratch + HDR. */
static size_t frame(struct ward_journal *j, const struct hdr *h)
{
    uint8_t *p = j->scratch;

    ward_put_le16(p, MAGIC);
    p[2] = h->type;
    p[3] = h->severity;
    ward_put_le16(p + 4, h->len);
    ward_put_le16(p + 6, 0);
    memcpy(p + 8, h->boot_id, WARD_JOURNAL_BOOT_ID_LEN);
    ward_put_le64(p + 24, h->seq);
    ward_put_le32(p + 32, ward_crc32(ward_crc32(0, p, 32), p + WARD_JOURNAL_HDR, h->len));
    return WARD_JOURNAL_HDR + h->len;
}

/*
 * Read and check the record at off into j->scratch.
 * @return 1 valid (h filled), 0 not a valid record here, -EIO when the store fails.
 */
static int read_record(struct ward_journal *j, uint64_t off, struct hdr *h)
{
    uint8_t *p = j->scratch;
    int rc;

    if (off + WARD_JOURNAL_HDR > j->size) {
        return 0;
    }
    rc = ward_store_read(&j->store, off, p, WARD_JOURNAL_HDR);
    if (rc < 0) {
        return -EIO;
    }
    if ((size_t)rc < WARD_JOURNAL_HDR || ward_get_le16(p) != MAGIC || ward_get_le16(p + 6) != 0) {
        return 0;
    }
    h->type = p[2];
    h->severity = p[3];
    h->len = ward_get_le16(p + 4);
    if ((h->type != TYPE_EVENT && h->type != TYPE_ACK) || h->len > WARD_JOURNAL_MAX_PAYLOAD ||
        h->severity >= WARD_JOURNAL_SEVERITIES || off + WARD_JOURNAL_HDR + h->len > j->size) {
        return 0;
    }
    if (h->len > 0) {
        rc = ward_store_read(&j->store, off + WARD_JOURNAL_HDR, p + WARD_JOURNAL_HDR, h->len);
        if (rc < 0) {
            return -EIO;
        }
        if ((size_t)rc < h->len) {
            return 0;
        }
    }
    if (ward_crc32(ward_crc32(0, p, 32), p + WARD_JOURNAL_HDR, h->len) != ward_get_le32(p + 32)) {
        return 0;
    }
    memcpy(h->boot_id, p + 8, WARD_JOURNAL_BOOT_ID_LEN);
    h->seq = ward_get_le64(p + 24);
    return 1;
}

/* ---- index ---- */

static size_t rec_bytes(const struct ward_journal_entry *e)
{
    return WARD_JOURNAL_HDR + e->len;
}

static int boot_find(const struct ward_journal *j, const uint8_t *id)
{
    for (unsigned b = 0; b < WARD_JOURNAL_BOOTS; b++) {
        if (j->boots[b].used && memcmp(j->boots[b].id, id, WARD_JOURNAL_BOOT_ID_LEN) == 0) {
            return (int)b;
        }
    }
    return -1;
}

static void remove_at(struct ward_journal *j, uint32_t i)
{
    struct ward_journal_entry *e = &j->idx[i];

    j->live_bytes -= rec_bytes(e);
    j->boots[e->boot].live--;
    memmove(&j->idx[i], &j->idx[i + 1], (size_t)(j->n - i - 1u) * sizeof(j->idx[0]));
    j->n--;
}

static void evict_at(struct ward_journal *j, uint32_t i)
{
    j->stats.dropped[j->idx[i].severity]++;
    remove_at(j, i);
}

/* A slot for a new boot id: a free or emptied one, else the oldest boot's events go. */
static int boot_slot(struct ward_journal *j, const uint8_t *id)
{
    int b = boot_find(j, id);

    if (b >= 0) {
        return b;
    }
    for (unsigned s = 0; s < WARD_JOURNAL_BOOTS; s++) {
        if (!j->boots[s].used || j->boots[s].live == 0) {
            memset(&j->boots[s], 0, sizeof(j->boots[s]));
            memcpy(j->boots[s].id, id, WARD_JOURNAL_BOOT_ID_LEN);
            j->boots[s].used = true;
            return (int)s;
        }
    }
    /* Every slot holds events: the oldest boot (that of the oldest event) gives way. */
    b = j->idx[0].boot;
    for (uint32_t i = j->n; i-- > 0;) {
        if (j->idx[i].boot == b) {
            evict_at(j, i);
        }
    }
    return boot_slot(j, id);
}

/* The event to give up for an incoming one of severity sev: lowest severity, oldest. */
static uint32_t pick_victim(const struct ward_journal *j, uint8_t sev)
{
    uint32_t victim = NO_VICTIM;

    for (uint32_t i = 0; i < j->n; i++) {
        if (victim == NO_VICTIM || j->idx[i].severity < j->idx[victim].severity) {
            victim = i;
        }
    }
    if (victim == NO_VICTIM || sev < j->idx[victim].severity) {
        return INCOMING;
    }
    return victim;
}

/* Make room in the index and within max_bytes (counting live records only). */
static int make_room(struct ward_journal *j, uint8_t sev, size_t bytes)
{
    while (j->n == j->cap || j->live_bytes + bytes > j->max_bytes) {
        uint32_t v = pick_victim(j, sev);

        if (v == INCOMING) {
            j->stats.dropped[sev]++;
            return -ENOBUFS;
        }
        evict_at(j, v);
    }
    return 0;
}

static bool have_key(const struct ward_journal *j, int boot, uint64_t seq)
{
    for (uint32_t i = j->n; i-- > 0;) {
        if (j->idx[i].boot == boot && j->idx[i].seq == seq) {
            return true;
        }
    }
    return false;
}

static int index_event(struct ward_journal *j, uint64_t off, const struct hdr *h)
{
    int b = boot_slot(j, h->boot_id);
    struct ward_journal_entry *e;
    int rc;

    if (j->boots[b].has_ack && h->seq <= j->boots[b].acked) {
        return 0; /* acknowledged before a compaction removed its ack record */
    }
    if (have_key(j, b, h->seq)) {
        return -EEXIST;
    }
    rc = make_room(j, h->severity, WARD_JOURNAL_HDR + h->len);
    if (rc != 0) {
        return rc;
    }
    b = boot_find(j, h->boot_id); /* eviction may have recycled slots: look again */
    if (b < 0) {
        b = boot_slot(j, h->boot_id);
    }
    e = &j->idx[j->n++];
    e->off = (uint32_t)off;
    e->len = h->len;
    e->severity = h->severity;
    e->boot = (uint8_t)b;
    e->seq = h->seq;
    j->boots[b].live++;
    j->live_bytes += WARD_JOURNAL_HDR + h->len;
    return 0;
}

static uint32_t apply_ack(struct ward_journal *j, int b, uint64_t seq)
{
    uint32_t freed = 0;

    if (!j->boots[b].has_ack || seq > j->boots[b].acked) {
        j->boots[b].acked = seq;
        j->boots[b].has_ack = true;
    }
    for (uint32_t i = j->n; i-- > 0;) {
        if (j->idx[i].boot == b && j->idx[i].seq <= seq) {
            remove_at(j, i);
            freed++;
        }
    }
    j->stats.acked += freed;
    return freed;
}

/* ---- recovery ---- */

/* The next offset after `from` where a valid record starts, or j->size. */
static int resync(struct ward_journal *j, uint64_t from, uint64_t *next)
{
    struct hdr h;

    for (uint64_t off = from + 1u; off + WARD_JOURNAL_HDR <= j->size; off++) {
        int rc = read_record(j, off, &h);

        if (rc < 0) {
            return rc;
        }
        if (rc == 1) {
            *next = off;
            return 0;
        }
    }
    *next = j->size;
    return 0;
}

static int recover(struct ward_journal *j)
{
    uint64_t off = 0;

    while (off < j->size) {
        struct hdr h;
        uint64_t next;
        int rc = read_record(j, off, &h);

        if (rc < 0) {
            return rc;
        }
        if (rc == 1) {
            if (h.type == TYPE_EVENT) {
                (void)index_event(j, off, &h); /* duplicates are skipped, drops counted */
            } else {
                int b = boot_find(j, h.boot_id);

                if (b >= 0) {
                    apply_ack(j, b, h.seq);
                }
            }
            off += WARD_JOURNAL_HDR + h.len;
            continue;
        }
        rc = resync(j, off, &next);
        if (rc < 0) {
            return rc;
        }
        if (next == j->size) {
            /* Nothing valid follows: the tail of an interrupted write. Cut it. */
            j->stats.torn_bytes += j->size - off;
            if (ward_store_truncate(&j->store, off) != 0 || ward_store_sync(&j->store) != 0) {
                return -EIO;
            }
            j->size = off;
            break;
        }
        j->stats.corrupt_bytes += next - off;
        off = next;
    }
    j->stats.recovered = j->n; /* events evicted or acked during replay are not restored */
    return 0;
}

/* ---- compaction ---- */

static int rewrite_next(void *arg, const void **rec, size_t *len)
{
    struct ward_journal *j = arg;
    struct ward_journal_entry *e;
    struct hdr h;
    int rc;

    if (j->rw_pos >= j->n) {
        return 0;
    }
    e = &j->idx[j->rw_pos++];
    rc = read_record(j, e->off, &h);
    if (rc <= 0) {
        return rc < 0 ? rc : -EIO;
    }
    *rec = j->scratch;
    *len = WARD_JOURNAL_HDR + h.len;
    return 1;
}

int ward_journal_compact(struct ward_journal *j)
{
    uint64_t off = 0;
    int rc;

    if (j->n == 0) {
        rc = ward_store_truncate(&j->store, 0);
        if (rc == 0) {
            rc = ward_store_sync(&j->store);
        }
    } else {
        j->rw_pos = 0;
        rc = ward_store_rewrite(&j->store, rewrite_next, j);
    }
    if (rc != 0) {
        return rc;
    }
    for (uint32_t i = 0; i < j->n; i++) {
        j->idx[i].off = (uint32_t)off;
        off += rec_bytes(&j->idx[i]);
    }
    j->size = off;
    j->dirty = false;
    j->stats.compactions++;
    return 0;
}

/*
 * Acknowledged records dominate: reclaim them. Rewriting costs the live bytes, which are
 * fewer than the dead ones, so compaction at most doubles what was written; the floor keeps
 * a nearly empty journal from paying a rename and two fsyncs per acknowledgement.
 */
static int maybe_compact(struct ward_journal *j)
{
    uint64_t dead = j->size - j->live_bytes;
    uint64_t floor = j->max_bytes / 4u < COMPACT_MIN ? j->max_bytes / 4u : COMPACT_MIN;

    if (j->n == 0 && j->size > 0) {
        return ward_journal_compact(j);
    }
    if (dead > j->live_bytes && dead >= floor) {
        return ward_journal_compact(j);
    }
    return 0;
}

/* ---- public ---- */

int ward_journal_open(struct ward_journal *j, struct ward_store store,
                      struct ward_journal_entry *idx, uint32_t cap, uint64_t max_bytes)
{
    int rc;

    if (j == NULL || store.ops == NULL || idx == NULL || cap == 0 ||
        max_bytes < WARD_JOURNAL_HDR + WARD_JOURNAL_MAX_PAYLOAD || max_bytes > UINT32_MAX) {
        return -EINVAL;
    }
    memset(j, 0, sizeof(*j));
    j->store = store;
    j->idx = idx;
    j->cap = cap;
    j->max_bytes = max_bytes;
    rc = ward_store_size(&j->store, &j->size);
    if (rc != 0) {
        return rc;
    }
    rc = recover(j);
    if (rc != 0) {
        return rc;
    }
    /* A store larger than the bound (the bound was lowered) or mostly acknowledged. */
    if (j->size > max_bytes) {
        return ward_journal_compact(j);
    }
    return maybe_compact(j);
}

int ward_journal_append(struct ward_journal *j, const struct ward_journal_key *key,
                        uint8_t severity, const void *payload, size_t len)
{
    struct hdr h;
    size_t bytes;
    int b;
    int rc;

    if (j == NULL || key == NULL || (payload == NULL && len > 0)) {
        return -EINVAL;
    }
    if (len > WARD_JOURNAL_MAX_PAYLOAD) {
        return -EMSGSIZE;
    }
    if (severity >= WARD_JOURNAL_SEVERITIES) {
        severity = WARD_JOURNAL_SEVERITIES - 1u;
    }
    b = boot_find(j, key->boot_id);
    if (b >= 0 &&
        (have_key(j, b, key->seq) || (j->boots[b].has_ack && key->seq <= j->boots[b].acked))) {
        return -EEXIST;
    }
    bytes = WARD_JOURNAL_HDR + len;
    rc = make_room(j, severity, bytes);
    if (rc != 0) {
        return rc;
    }
    if (j->size + bytes > j->max_bytes) {
        rc = ward_journal_compact(j);
        if (rc != 0) {
            return rc;
        }
    }
    h.type = TYPE_EVENT;
    h.severity = severity;
    h.len = (uint16_t)len;
    memcpy(h.boot_id, key->boot_id, WARD_JOURNAL_BOOT_ID_LEN);
    h.seq = key->seq;
    if (len > 0) {
        memcpy(j->scratch + WARD_JOURNAL_HDR, payload, len);
    }
    rc = ward_store_append(&j->store, j->scratch, frame(j, &h));
    if (rc != 0) {
        return rc;
    }
    rc = index_event(j, j->size, &h);
    j->size += bytes;
    j->dirty = true;
    j->stats.appends++;
    return rc;
}

int ward_journal_sync(struct ward_journal *j)
{
    int rc;

    if (!j->dirty) {
        return 0;
    }
    rc = ward_store_sync(&j->store);
    if (rc == 0) {
        j->dirty = false;
        j->stats.syncs++;
    }
    return rc;
}

int ward_journal_ack(struct ward_journal *j, const uint8_t boot_id[WARD_JOURNAL_BOOT_ID_LEN],
                     uint64_t seq)
{
    struct hdr h;
    uint32_t freed;
    int b = boot_find(j, boot_id);
    int rc;

    if (b < 0 || (j->boots[b].has_ack && seq <= j->boots[b].acked)) {
        return 0;
    }
    freed = apply_ack(j, b, seq);
    if (freed == 0) {
        return 0;
    }
    if (j->n == 0) {
        rc = ward_journal_compact(j); /* nothing left: truncate, no ack record needed */
        return rc != 0 ? rc : (int)freed;
    }
    /* Not synced here: losing an ack record only means resending what the collector will
     * deduplicate. The next batch's sync makes it durable. */
    if (j->size + WARD_JOURNAL_HDR <= j->max_bytes) {
        h.type = TYPE_ACK;
        h.severity = 0;
        h.len = 0;
        memcpy(h.boot_id, boot_id, WARD_JOURNAL_BOOT_ID_LEN);
        h.seq = seq;
        rc = ward_store_append(&j->store, j->scratch, frame(j, &h));
        if (rc != 0) {
            return rc;
        }
        j->size += WARD_JOURNAL_HDR;
        j->dirty = true;
    }
    rc = maybe_compact(j);
    return rc != 0 ? rc : (int)freed;
}

uint32_t ward_journal_count(const struct ward_journal *j)
{
    return j->n;
}

int ward_journal_get(struct ward_journal *j, uint32_t i, struct ward_journal_key *key,
                     uint8_t *severity, void *buf, size_t cap)
{
    struct ward_journal_entry *e;
    struct hdr h;
    int rc;

    if (i >= j->n) {
        return -ERANGE;
    }
    e = &j->idx[i];
    if (e->len > cap) {
        return -ENOSPC;
    }
    rc = read_record(j, e->off, &h);
    if (rc <= 0 || h.seq != e->seq) {
        return -EIO;
    }
    if (key != NULL) {
        memcpy(key->boot_id, h.boot_id, WARD_JOURNAL_BOOT_ID_LEN);
        key->seq = h.seq;
    }
    if (severity != NULL) {
        *severity = h.severity;
    }
    memcpy(buf, j->scratch + WARD_JOURNAL_HDR, h.len);
    return (int)h.len;
}

uint32_t ward_journal_dropped(const struct ward_journal *j)
{
    uint32_t total = 0;

    for (unsigned s = 0; s < WARD_JOURNAL_SEVERITIES; s++) {
        total += j->stats.dropped[s];
    }
    return total;
}
