/*
 * How many unauthenticated connections each source address holds: an exact count per
 * address in an open-addressing table sized once for the budget, so a flood from many
 * addresses costs no allocation and every lookup is O(1) on average.
 */
#ifndef WCOL_SERVER_SRCMAP_H_
#define WCOL_SERVER_SRCMAP_H_

#include <stdint.h>

/** A source address: IPv4 is stored as its IPv4-mapped IPv6 form. */
struct wcol_src {
    uint8_t a[16];
};

struct wcol_srcmap_slot {
    struct wcol_src key;
    uint32_t count; /* 0: free */
};

struct wcol_srcmap {
    struct wcol_srcmap_slot *slots;
    uint32_t mask; /* slots - 1 (a power of two) */
    uint64_t seed;
};

/** Room for at least max_keys addresses at once. @return 0 or -ENOMEM. */
int wcol_srcmap_init(struct wcol_srcmap *m, uint32_t max_keys, uint64_t seed);
void wcol_srcmap_free(struct wcol_srcmap *m);
/** Connections counted for this address (0 when none). */
uint32_t wcol_srcmap_count(const struct wcol_srcmap *m, const struct wcol_src *k);
/** Count one more. @return the new count, or 0 when the table is full (cannot happen while
 *  the caller keeps at most max_keys addresses). */
uint32_t wcol_srcmap_add(struct wcol_srcmap *m, const struct wcol_src *k);
/** Count one fewer (an address that reaches 0 leaves the table). */
void wcol_srcmap_remove(struct wcol_srcmap *m, const struct wcol_src *k);

#endif /* WCOL_SERVER_SRCMAP_H_ */
