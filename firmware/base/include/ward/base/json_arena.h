/*
 * cJSON on a fixed arena.
 *
 * cJSON's allocation hooks are process-global, so the arena is "entered" around each
 * document: ward_json_arena_enter() routes cJSON's allocations to the given arena,
 * ward_json_arena_leave() frees the whole document at once and restores the previous
 * arena. The arena is a bump allocator: cJSON frees nothing we need back before the
 * document ends, and a reset is O(1). Nothing here touches the heap.
 */
#ifndef WARD_BASE_JSON_ARENA_H_
#define WARD_BASE_JSON_ARENA_H_

#include <stddef.h>
#include <stdint.h>

struct ward_json_arena {
    uint8_t *base;                /* caller-owned storage */
    size_t size;                  /* bytes of base */
    size_t used;                  /* bytes handed out since the last reset */
    size_t high_water;            /* most bytes ever in use */
    uint32_t failures;            /* allocations refused because the arena was full */
    struct ward_json_arena *prev; /* arena active before enter(), restored by leave() */
};

/**
 * Prepare an arena over caller storage.
 * @return 0, -EINVAL for NULL storage or a size below 64 bytes.
 */
int ward_json_arena_init(struct ward_json_arena *arena, void *storage, size_t size);

/** Route cJSON's allocations to this arena (installs the hooks on first use). */
void ward_json_arena_enter(struct ward_json_arena *arena);

/** Free everything allocated since enter() and restore the previous arena. */
void ward_json_arena_leave(struct ward_json_arena *arena);

#endif /* WARD_BASE_JSON_ARENA_H_ */
