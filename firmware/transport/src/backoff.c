#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/transport/backoff.h"

/* splitmix64 */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t ward_backoff_seed(const void *data, uint32_t len)
{
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;

    for (uint32_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return next_random(&h);
}

int ward_backoff_init(struct ward_backoff *b, uint32_t min_ms, uint32_t max_ms, uint64_t seed)
{
    if (b == NULL || min_ms == 0 || min_ms > max_ms) {
        return -EINVAL;
    }
    b->min_ms = min_ms;
    b->max_ms = max_ms;
    b->attempt = 0;
    b->rng = seed;
    return 0;
}

uint32_t ward_backoff_ceiling(const struct ward_backoff *b)
{
    uint64_t ceil = b->min_ms;

    /* Double without overflow: stop as soon as the cap is reached. */
    for (uint32_t i = 0; i < b->attempt && ceil < b->max_ms; i++) {
        ceil <<= 1;
    }
    return ceil > b->max_ms ? b->max_ms : (uint32_t)ceil;
}

uint32_t ward_backoff_next(struct ward_backoff *b)
{
    uint64_t span = (uint64_t)ward_backoff_ceiling(b) + 1u;
    uint32_t r = (uint32_t)(next_random(&b->rng) >> 32);

    if (b->attempt < UINT32_MAX) {
        b->attempt++;
    }
    /* Multiply-shift maps r uniformly onto [0, span) without a division. */
    return (uint32_t)(((uint64_t)r * span) >> 32);
}

void ward_backoff_reset(struct ward_backoff *b)
{
    b->attempt = 0;
}
