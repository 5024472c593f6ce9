/* Readings merged per (series, tier, bucket) before they are written (hmerge.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "history/hmerge.h"

struct hm_series {
    uint32_t hash;
    uint8_t dev_len;
    char key[WCOL_HIST_DEVICE_MAX + 1 + WCOL_HIST_SENSOR_MAX + 1]; /* device \0 sensor \0 */
    int64_t last_ms;
    uint64_t readings;
    uint32_t head, tail;           /* its buckets: 1 + position, chained by next */
    uint32_t cur[WCOL_HIST_TIERS]; /* 1 + position of the bucket it last added to, per tier */
};

struct hm_bucket {
    struct wcol_hpoint p;
    uint32_t series; /* position */
    uint32_t next;   /* 1 + position of the series' next bucket, 0 none */
    uint8_t tier;
};

static unsigned pow2(unsigned n)
{
    unsigned p = 4;

    while (p < n && p < (1u << 30)) {
        p *= 2;
    }
    return p;
}

int wcol_hmerge_init(struct wcol_hmerge *m, unsigned series_cap, unsigned bucket_cap)
{
    memset(m, 0, sizeof(*m));
    m->series_cap = pow2(series_cap);
    m->bucket_cap = pow2(bucket_cap);
    m->series = calloc(m->series_cap, sizeof(*m->series));
    m->bucket = calloc(m->bucket_cap, sizeof(*m->bucket));
    /* Indexes twice the entries: a probe sequence stays short at any fill. */
    m->series_ix = calloc(2 * (size_t)m->series_cap, sizeof(*m->series_ix));
    m->bucket_ix = calloc(2 * (size_t)m->bucket_cap, sizeof(*m->bucket_ix));
    m->pts = calloc(m->bucket_cap, sizeof(*m->pts));
    m->tiers = calloc(m->bucket_cap, sizeof(*m->tiers));
    if (m->series == NULL || m->bucket == NULL || m->series_ix == NULL || m->bucket_ix == NULL ||
        m->pts == NULL || m->tiers == NULL) {
        wcol_hmerge_free(m);
        return -ENOMEM;
    }
    return 0;
}

void wcol_hmerge_free(struct wcol_hmerge *m)
{
    free(m->series);
    free(m->bucket);
    free(m->series_ix);
    free(m->bucket_ix);
    free(m->pts);
    free(m->tiers);
    memset(m, 0, sizeof(*m));
}

bool wcol_hmerge_room(const struct wcol_hmerge *m)
{
    return m->n_series < m->series_cap && m->n_bucket + WCOL_HIST_TIERS <= m->bucket_cap;
}

/* FNV-1a of device \0 sensor. */
static uint32_t series_hash(const char *device, size_t dl, const char *sensor, size_t sl)
{
    uint32_t h = wcol_fnv1a(WCOL_FNV1A_BASIS, device, dl);

    return wcol_fnv1a(wcol_fnv1a(h, "", 1), sensor, sl);
}

static struct hm_series *series_of(struct wcol_hmerge *m, const char *device, size_t dl,
                                   const char *sensor, size_t sl)
{
    uint32_t h = series_hash(device, dl, sensor, sl), mask = 2 * m->series_cap - 1;
    struct hm_series *s;

    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        if (m->series_ix[i] == 0) {
            s = &m->series[m->n_series];
            *s = (struct hm_series){ .hash = h, .dev_len = (uint8_t)dl, .last_ms = INT64_MIN };
            memcpy(s->key, device, dl);
            memcpy(s->key + dl + 1, sensor, sl);
            m->series_ix[i] = ++m->n_series;
            return s;
        }
        s = &m->series[m->series_ix[i] - 1];
        if (s->hash == h && s->dev_len == dl && memcmp(s->key, device, dl) == 0 &&
            strcmp(s->key + dl + 1, sensor) == 0) {
            return s;
        }
    }
}

static uint32_t bucket_hash(uint32_t series, int tier, int64_t t)
{
    uint64_t x = (uint64_t)t ^ ((uint64_t)series << 40) ^ ((uint64_t)tier << 62);

    /* splitmix64's finaliser */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)(x ^ (x >> 31));
}

/* The bucket (series, tier, t): found, or added to the end of the series' chain. */
static uint32_t bucket_of(struct wcol_hmerge *m, struct hm_series *s, int tier, int64_t t)
{
    uint32_t sp = (uint32_t)(s - m->series), mask = 2 * m->bucket_cap - 1;
    struct hm_bucket *b;

    for (uint32_t i = bucket_hash(sp, tier, t) & mask;; i = (i + 1) & mask) {
        if (m->bucket_ix[i] == 0) {
            b = &m->bucket[m->n_bucket];
            *b = (struct hm_bucket){ .p = { .t = t, .mn = INT64_MAX, .mx = INT64_MIN },
                                     .series = sp,
                                     .tier = (uint8_t)tier };
            m->bucket_ix[i] = ++m->n_bucket;
            if (s->tail != 0) {
                m->bucket[s->tail - 1].next = m->n_bucket;
            } else {
                s->head = m->n_bucket;
            }
            s->tail = m->n_bucket;
            return m->n_bucket;
        }
        b = &m->bucket[m->bucket_ix[i] - 1];
        if (b->series == sp && b->tier == tier && b->p.t == t) {
            return m->bucket_ix[i];
        }
    }
}

int wcol_hmerge_add(struct wcol_hmerge *m, const struct wcol_hstore *hs, const char *device,
                    const char *sensor, int64_t t_ms, int64_t value)
{
    size_t dl = strlen(device), sl = strlen(sensor);
    struct hm_series *s;

    if (dl > WCOL_HIST_DEVICE_MAX || sl > WCOL_HIST_SENSOR_MAX) {
        return -EINVAL;
    }
    if (!wcol_hmerge_room(m)) {
        return -ENOSPC;
    }
    s = series_of(m, device, dl, sensor, sl);
    for (int i = 0; i < WCOL_HIST_TIERS; i++) {
        int64_t start = wcol_hist_floor(t_ms, hs->tier[i].step_ms);
        struct wcol_hpoint *p;

        /* Readings mostly come in time order: the bucket last added to is the likely one. */
        if (s->cur[i] == 0 || m->bucket[s->cur[i] - 1].p.t != start) {
            s->cur[i] = bucket_of(m, s, i, start);
        }
        p = &m->bucket[s->cur[i] - 1].p;
        p->mn = value < p->mn ? value : p->mn;
        p->mx = value > p->mx ? value : p->mx;
        p->sum += value;
        p->cnt++;
    }
    s->last_ms = t_ms > s->last_ms ? t_ms : s->last_ms;
    s->readings++;
    m->readings++;
    return 0;
}

static void empty(struct wcol_hmerge *m)
{
    memset(m->series_ix, 0, 2 * (size_t)m->series_cap * sizeof(*m->series_ix));
    memset(m->bucket_ix, 0, 2 * (size_t)m->bucket_cap * sizeof(*m->bucket_ix));
    m->n_series = 0;
    m->n_bucket = 0;
    m->readings = 0;
}

/* One series' buckets into history.db. @return wcol_hstore_merge()'s. */
static int write_series(struct wcol_hmerge *m, struct wcol_hstore *hs, const struct hm_series *s)
{
    unsigned n = 0;

    for (uint32_t b = s->head; b != 0; b = m->bucket[b - 1].next) {
        m->pts[n] = m->bucket[b - 1].p;
        m->tiers[n++] = m->bucket[b - 1].tier;
    }
    return wcol_hstore_merge(hs, s->key, s->key + s->dev_len + 1, s->last_ms, m->pts, m->tiers, n);
}

void wcol_hmerge_flush(struct wcol_hmerge *m, struct wcol_hstore *hs, struct wcol_hflush *out)
{
    uint64_t written = 0;

    *out = (struct wcol_hflush){ 0 };
    if (m->n_series == 0) {
        return;
    }
    if (wcol_hstore_begin(hs) != 0) {
        out->failures = 1;
        empty(m);
        return;
    }
    for (unsigned i = 0; i < m->n_series; i++) {
        int rc = write_series(m, hs, &m->series[i]);

        if (rc == 0) {
            written += m->series[i].readings;
        } else if (rc == -ENOSPC) {
            out->dropped += m->series[i].readings;
        } else {
            out->failures++;
        }
    }
    if (wcol_hstore_commit(hs) != 0) {
        out->failures++;
        written = 0;
    }
    out->written = written;
    empty(m);
}
