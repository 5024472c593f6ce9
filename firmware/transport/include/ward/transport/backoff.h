/*
 * Reconnect delays: exponential backoff with full jitter. Attempt n waits a uniformly random
 * time in [0, min(max, min * 2^n)], so a fleet that lost its collector does not come back in
 * lockstep. The generator is deterministic for a seed (one per agent), so tests can pin the
 * sequence and a load generator's agents spread out reproducibly.
 */
#ifndef WARD_TRANSPORT_BACKOFF_H_
#define WARD_TRANSPORT_BACKOFF_H_

#include <stdint.h>

#include "ward/sched.h" /* struct ward_prng: the agent's splitmix64 */

struct ward_backoff {
    uint32_t min_ms;
    uint32_t max_ms;
    uint32_t attempt; /* failures since the last success */
    struct ward_prng rng;
};

/** @return 0, -EINVAL when min_ms is 0 or above max_ms. */
int ward_backoff_init(struct ward_backoff *b, uint32_t min_ms, uint32_t max_ms, uint64_t seed);

/** The ceiling of the next delay: min(max, min * 2^attempt). */
uint32_t ward_backoff_ceiling(const struct ward_backoff *b);

/** The delay before the next attempt (in [0, ceiling]); counts one more failure. */
uint32_t ward_backoff_next(struct ward_backoff *b);

/** A success: the next failure starts from min again. */
void ward_backoff_reset(struct ward_backoff *b);

/** A well-mixed 64-bit seed from bytes, e.g. the device id (FNV-1a, splitmix64 finaliser). */
uint64_t ward_backoff_seed(const void *data, uint32_t len);

#endif /* WARD_TRANSPORT_BACKOFF_H_ */
