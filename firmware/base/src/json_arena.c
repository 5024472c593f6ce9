#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "ward/base/json_arena.h"

#define ARENA_ALIGN 8u
#define ARENA_MIN   64u

/* cJSON's hooks are global; this is the arena they allocate from right now. */
static struct ward_json_arena *s_active;
static bool s_hooks_installed;

static void *arena_malloc(size_t size)
{
    struct ward_json_arena *a = s_active;
    size_t start;

    if (a == NULL) {
        return NULL; /* cJSON used outside enter()/leave(): refuse, never the heap */
    }
    start = (a->used + (ARENA_ALIGN - 1u)) & ~(size_t)(ARENA_ALIGN - 1u);
    if (size > a->size || start > a->size - size) {
        a->failures++;
        return NULL;
    }
    a->used = start + size;
    if (a->used > a->high_water) {
        a->high_water = a->used;
    }
    return a->base + start;
}

static void arena_free(void *ptr)
{
    /* Bump allocator: memory comes back when the document's arena is left. */
    (void)ptr;
}

int ward_json_arena_init(struct ward_json_arena *arena, void *storage, size_t size)
{
    if (arena == NULL || storage == NULL || size < ARENA_MIN) {
        return -EINVAL;
    }
    /* Align the base so every block handed out is aligned too. */
    uintptr_t base = (uintptr_t)storage;
    uintptr_t aligned = (base + (ARENA_ALIGN - 1u)) & ~(uintptr_t)(ARENA_ALIGN - 1u);

    arena->base = (uint8_t *)aligned;
    arena->size = size - (size_t)(aligned - base);
    arena->used = 0;
    arena->high_water = 0;
    arena->failures = 0;
    arena->prev = NULL;
    return 0;
}

void ward_json_arena_enter(struct ward_json_arena *arena)
{
    if (!s_hooks_installed) {
        cJSON_Hooks hooks = { .malloc_fn = arena_malloc, .free_fn = arena_free };

        cJSON_InitHooks(&hooks);
        s_hooks_installed = true;
    }
    arena->prev = s_active;
    arena->used = 0;
    s_active = arena;
}

void ward_json_arena_leave(struct ward_json_arena *arena)
{
    arena->used = 0;
    s_active = arena->prev;
    arena->prev = NULL;
}
