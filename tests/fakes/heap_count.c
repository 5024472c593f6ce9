#include <stdbool.h>
#include <stddef.h>

#include "heap_count.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);

static bool s_counting;
static unsigned s_calls;
static size_t s_bytes;

void heap_count_start(void)
{
    s_calls = 0;
    s_bytes = 0;
    s_counting = true;
}

unsigned heap_count_stop(void)
{
    s_counting = false;
    return s_calls;
}

unsigned heap_count_calls(void)
{
    return s_calls;
}

size_t heap_count_bytes(void)
{
    return s_bytes;
}

static void count(size_t bytes)
{
    if (s_counting) {
        s_calls++;
        s_bytes += bytes;
    }
}

void *__wrap_malloc(size_t size)
{
    count(size);
    return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    count(n * size);
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    count(size);
    return __real_realloc(p, size);
}

void __wrap_free(void *p)
{
    if (p != NULL) {
        count(0);
    }
    __real_free(p);
}
