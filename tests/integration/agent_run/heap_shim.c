/*
 * LD_PRELOAD counting allocator for the agent_run test: proves `ward-agent run` makes no
 * heap call once it is running. The first SIGUSR2 arms the count (the test sends it after
 * start-up), the second prints "heap_shim: N calls" on stderr and disarms. Calls still reach
 * glibc (__libc_malloc & co.). Only for dynamically linked builds.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);

static volatile sig_atomic_t s_armed;
static volatile sig_atomic_t s_calls;

static void count(void)
{
    if (s_armed) {
        s_calls++;
    }
}

void *malloc(size_t n)
{
    count();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    count();
    return __libc_realloc(p, n);
}

static void on_usr2(int sig)
{
    char line[48];
    int len;

    (void)sig;
    if (!s_armed) {
        s_calls = 0;
        s_armed = 1;
        return;
    }
    s_armed = 0;
    len = snprintf(line, sizeof(line), "heap_shim: %d calls\n", (int)s_calls);
    if (write(2, line, (size_t)len) < 0) {
        s_calls = -1;
    }
}

__attribute__((constructor)) static void heap_shim_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
}
