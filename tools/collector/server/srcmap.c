#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "server/srcmap.h"

int wcol_srcmap_init(struct wcol_srcmap *m, uint32_t max_keys, uint64_t seed)
{
    uint32_t n = 16;

    while (n < 2u * max_keys && n < (1u << 30)) {
        n <<= 1; /* load factor at most one half: probe sequences stay short */
    }
    m->slots = calloc(n, sizeof(*m->slots));
    m->mask = n - 1;
    m->seed = seed;
    return m->slots == NULL ? -ENOMEM : 0;
}

void wcol_srcmap_free(struct wcol_srcmap *m)
{
    free(m->slots);
    m->slots = NULL;
}

/* FNV-1a over the address, keyed by a random seed so no one can aim at one chain. */
static uint32_t home(const struct wcol_srcmap *m, const struct wcol_src *k)
{
    uint64_t h = 0xcbf29ce484222325ull ^ m->seed;

    for (size_t i = 0; i < sizeof(k->a); i++) {
        h = (h ^ k->a[i]) * 0x100000001b3ull;
    }
    return (uint32_t)(h ^ (h >> 32)) & m->mask;
}

/* The slot holding k, or the free slot that ends its probe sequence. */
static uint32_t find(const struct wcol_srcmap *m, const struct wcol_src *k)
{
    uint32_t i = home(m, k);

    for (uint32_t n = 0; n <= m->mask; n++, i = (i + 1) & m->mask) {
        if (m->slots[i].count == 0 || memcmp(&m->slots[i].key, k, sizeof(*k)) == 0) {
            return i;
        }
    }
    return UINT32_MAX;
}

uint32_t wcol_srcmap_count(const struct wcol_srcmap *m, const struct wcol_src *k)
{
    uint32_t i = find(m, k);

    return i == UINT32_MAX ? 0 : m->slots[i].count;
}

uint32_t wcol_srcmap_add(struct wcol_srcmap *m, const struct wcol_src *k)
{
    uint32_t i = find(m, k);

    if (i == UINT32_MAX) {
        return 0;
    }
    m->slots[i].key = *k;
    return ++m->slots[i].count;
}

/* Backward-shift deletion: later entries of the run move up, so no tombstones accumulate. */
static void erase(struct wcol_srcmap *m, uint32_t hole)
{
    uint32_t j = hole;

    for (;;) {
        j = (j + 1) & m->mask;
        if (m->slots[j].count == 0) {
            break;
        }
        uint32_t h = home(m, &m->slots[j].key);
        /* Move j into the hole unless its home lies cyclically in (hole, j]. */
        bool stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);

        if (!stays) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].count = 0;
}

void wcol_srcmap_remove(struct wcol_srcmap *m, const struct wcol_src *k)
{
    uint32_t i = find(m, k);

    if (i == UINT32_MAX || m->slots[i].count == 0) {
        return;
    }
    if (--m->slots[i].count == 0) {
        erase(m, i);
    }
}
