/*
 * Eight bytes at a time: whether a word of text holds a byte of some class, so that scanners
 * skip runs of plain text a word per step instead of a byte per step (the collector decodes
 * every byte of every batch, docs/benchmarks.md "Decoder and render per heartbeat").
 *
 * Each test answers only "is there such a byte anywhere in the word", and answers it exactly;
 * it does not say where. A word with a hit is then scanned byte by byte as before.
 */
#ifndef WARD_BASE_WORD_H_
#define WARD_BASE_WORD_H_

#include <stdint.h>
#include <string.h>

#define WARD_WORD_ONES  0x0101010101010101ull
#define WARD_WORD_HIGHS 0x8080808080808080ull

/** The 8 bytes at p, which need not be aligned. */
static inline uint64_t ward_word_load(const char *p)
{
    uint64_t w;

    memcpy(&w, p, sizeof(w));
    return w;
}

/** High bit of some byte set when a byte of w is < n (n <= 0x80); others may be set then too. */
static inline uint64_t ward_word_below(uint64_t w, uint8_t n)
{
    return (w - WARD_WORD_ONES * n) & ~w & WARD_WORD_HIGHS;
}

/** High bit of some byte set when a byte of w is c; others may be set then too. */
static inline uint64_t ward_word_has(uint64_t w, uint8_t c)
{
    return ward_word_below(w ^ (WARD_WORD_ONES * c), 1);
}

#endif /* WARD_BASE_WORD_H_ */
