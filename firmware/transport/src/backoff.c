#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/transport/backoff.h"

uint64_t ward_backoff_seed(const void *data, uint32_t len)
{
    const uint8_t *p = data;
    struct ward_prng mix;
    uint64_t h = 0xcbf29ce484222325ull;

    for (uint32_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    ward_prng_seed(&mix, h); /* one splitmix64 round spreads FNV-1a's weak low bits */
    return ward_prng_next(&mix);
}

int ward_backoff_init(struct ward_backoff *b, uint32_t min_ms, uint32_t max_ms, uint64_t seed)
{
    if (b == NULL || min_ms == 0 || min_ms > max_ms) {
        return -EINVAL;
    }
    b->min_ms = min_ms;
    b->max_ms = max_ms;
    b->attempt = 0;
    ward_prng_seed(&b->rng, seed);
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
    uint32_t ceil = ward_backoff_ceiling(b);
    uint32_t delay = ceil == UINT32_MAX ? (uint32_t)(ward_prng_next(&b->rng) >> 32)
                                        : ward_prng_below(&b->rng, ceil + 1u);

    if (b->attempt < UINT32_MAX) {
        b->attempt++;
    }
    return delay; /* uniform in [0, ceil]: "full jitter" */
}

void ward_backoff_reset(struct ward_backoff *b)
{
    b->attempt = 0;
}
