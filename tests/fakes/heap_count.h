/*
 * A counting allocator: proves code under test does not touch the heap.
 *
 * Link the test with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free (the
 * CMake variable WARD_HEAP_COUNT_WRAP holds these options) and add heap_count.c. Every
 * call still reaches the C library; between heap_count_start() and heap_count_stop() each
 * one is counted, so a test can assert that the window saw none. Outside the window
 * (cmocka's own bookkeeping, start-up) nothing is counted.
 */
#ifndef WARD_TESTS_FAKES_HEAP_COUNT_H_
#define WARD_TESTS_FAKES_HEAP_COUNT_H_

#include <stddef.h>

/** Open a counting window (resets the counters). */
void heap_count_start(void);

/** Close the window. @return heap calls (malloc, calloc, realloc, free) inside it. */
unsigned heap_count_stop(void);

/** Calls counted so far in the open window. */
unsigned heap_count_calls(void);

/** Bytes requested inside the window. */
size_t heap_count_bytes(void);

#endif /* WARD_TESTS_FAKES_HEAP_COUNT_H_ */
