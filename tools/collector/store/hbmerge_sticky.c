/*
 * The sticky state's device table (store/hbmerge_sticky.h): chained hashing over a fixed
 * array of slots, a clock hand for eviction. All of it is allocated by wcol_sticky_new but the
 * payloads, which come one per slot on its first use.
 */
#include "store/hbmerge_sticky.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

struct slot {
    char id[WCOL_STICKY_ID_MAX];
    uint8_t id_len;
    bool used;    /* the clock's second chance: found or put since the hand last passed */
    int32_t next; /* the next slot of its bucket, -1 none */
    uint32_t hash;
    void *payload; /* NULL: a slot never taken */
};

struct wcol_sticky_table {
    struct slot *slots;
    int32_t *buckets; /* first slot of each chain, -1 none */
    uint32_t mask;    /* buckets - 1 */
    unsigned cap, n, hand;
    size_t payload;
    uint64_t evictions;
};

struct wcol_sticky_table *wcol_sticky_new(unsigned cap, size_t payload)
{
    struct wcol_sticky_table *t = calloc(1, sizeof(*t));
    uint32_t nb = 1;

    while (t != NULL && nb < cap && nb < (1u << 30)) {
        nb <<= 1;
    }
    if (t == NULL || cap == 0 || (t->slots = calloc(cap, sizeof(*t->slots))) == NULL ||
        (t->buckets = malloc(nb * sizeof(*t->buckets))) == NULL) {
        wcol_sticky_free(t);
        return NULL;
    }
    memset(t->buckets, 0xff, nb * sizeof(*t->buckets)); /* -1 */
    t->mask = nb - 1;
    t->cap = cap;
    t->payload = payload;
    return t;
}

void wcol_sticky_free(struct wcol_sticky_table *t)
{
    if (t == NULL) {
        return;
    }
    for (unsigned i = 0; t->slots != NULL && i < t->n; i++) {
        free(t->slots[i].payload);
    }
    free(t->slots);
    free(t->buckets);
    free(t);
}

static uint32_t hash_id(const char *id, size_t len)
{
    return wcol_fnv1a(WCOL_FNV1A_BASIS, id, len);
}

static int32_t lookup(const struct wcol_sticky_table *t, const char *id, size_t len, uint32_t h)
{
    for (int32_t i = t->buckets[h & t->mask]; i >= 0; i = t->slots[i].next) {
        const struct slot *s = &t->slots[i];

        if (s->hash == h && s->id_len == len && memcmp(s->id, id, len) == 0) {
            return i;
        }
    }
    return -1;
}

void *wcol_sticky_find(struct wcol_sticky_table *t, const char *id, size_t len)
{
    if (len > WCOL_STICKY_ID_MAX) {
        return NULL;
    }
    int32_t i = lookup(t, id, len, hash_id(id, len));

    if (i < 0) {
        return NULL;
    }
    t->slots[i].used = true;
    return t->slots[i].payload;
}

static void unlink_slot(struct wcol_sticky_table *t, int32_t i)
{
    int32_t *at = &t->buckets[t->slots[i].hash & t->mask];

    while (*at != i) {
        at = &t->slots[*at].next;
    }
    *at = t->slots[i].next;
}

/* A slot for a new device: a never-used one while there are, else the clock's victim. The
 * hand passes every slot at most twice: the first pass clears every second chance. */
static int32_t take_slot(struct wcol_sticky_table *t)
{
    if (t->n < t->cap) {
        return (int32_t)t->n++;
    }
    for (unsigned step = 0; step < 2 * t->cap; step++) {
        struct slot *s = &t->slots[t->hand];

        t->hand = (t->hand + 1) % t->cap;
        if (!s->used) {
            unlink_slot(t, (int32_t)(s - t->slots));
            t->evictions++;
            return (int32_t)(s - t->slots);
        }
        s->used = false;
    }
    return -1; /* not reached: the first pass cleared every mark */
}

void *wcol_sticky_put(struct wcol_sticky_table *t, const char *id, size_t len, void *p)
{
    if (len > WCOL_STICKY_ID_MAX) {
        return p;
    }
    uint32_t h = hash_id(id, len);
    int32_t i = lookup(t, id, len, h);

    if (i < 0) {
        i = take_slot(t);
        if (i < 0) {
            return p;
        }
        struct slot *s = &t->slots[i];

        if (s->payload == NULL && (s->payload = malloc(t->payload)) == NULL) {
            t->n--; /* the slot was the next unused one: give it back */
            return p;
        }
        memcpy(s->id, id, len);
        s->id_len = (uint8_t)len;
        s->hash = h;
        s->next = t->buckets[h & t->mask];
        t->buckets[h & t->mask] = i;
    }
    struct slot *s = &t->slots[i];
    void *back = s->payload;

    s->payload = p;
    s->used = true;
    return back;
}

unsigned wcol_sticky_devices(const struct wcol_sticky_table *t)
{
    return t->n;
}

uint64_t wcol_sticky_evictions(const struct wcol_sticky_table *t)
{
    return t->evictions;
}
