/*
 * The fixed pool mbedTLS allocates from: first-fit with boundary tags, coalescing,
 * high-water mark, refusal when full, and a randomized run against a shadow model that
 * checks blocks never overlap and contents survive other blocks' churn.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ward/transport/mempool.h"

/* splitmix64, for test inputs */
static uint64_t test_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint8_t s_storage[16384 + 3];

static void test_init_and_bounds(void **state)
{
    struct ward_mempool p;

    (void)state;
    assert_int_equal(ward_mempool_init(&p, NULL, 1024), -EINVAL);
    assert_int_equal(ward_mempool_init(&p, s_storage, 32), -EINVAL);
    /* unaligned storage: the pool aligns itself */
    assert_int_equal(ward_mempool_init(&p, s_storage + 3, 16384), 0);
    assert_true(p.stats.size <= 16384 && p.stats.size >= 16376);
    assert_int_equal(((uintptr_t)p.base) % 8u, 0);
    assert_int_equal(ward_mempool_largest_free(&p), p.stats.size - 8u);
}

static void test_calloc_zeroes_and_aligns(void **state)
{
    struct ward_mempool p;
    uint8_t *a;
    uint8_t *b;

    (void)state;
    memset(s_storage, 0xa5, sizeof(s_storage));
    assert_int_equal(ward_mempool_init(&p, s_storage, sizeof(s_storage)), 0);
    a = ward_mempool_calloc(&p, 3, 7);
    assert_non_null(a);
    assert_int_equal((uintptr_t)a % 8u, 0);
    for (int i = 0; i < 21; i++) {
        assert_int_equal(a[i], 0);
    }
    memset(a, 0xff, 21);
    ward_mempool_free(&p, a);
    b = ward_mempool_calloc(&p, 1, 21);
    assert_ptr_equal(a, b); /* first fit reuses the freed block, zeroed again */
    for (int i = 0; i < 21; i++) {
        assert_int_equal(b[i], 0);
    }
    ward_mempool_free(&p, b);
    assert_int_equal(p.stats.used, 0);
    assert_int_equal(p.stats.live, 0);
}

static void test_refuses_when_full_and_overflow(void **state)
{
    struct ward_mempool p;
    void *blocks[64];
    unsigned n = 0;

    (void)state;
    assert_int_equal(ward_mempool_init(&p, s_storage, 4096), 0);
    assert_null(ward_mempool_calloc(&p, SIZE_MAX / 2, 4));
    assert_null(ward_mempool_calloc(&p, 1, 5000));
    assert_int_equal(p.stats.failures, 2);
    while (n < 64 && (blocks[n] = ward_mempool_calloc(&p, 1, 200)) != NULL) {
        n++;
    }
    assert_true(n >= 18 && n < 64); /* 4096 / 208 */
    assert_int_equal(p.stats.failures, 3);
    assert_true(p.stats.peak >= n * 208u);
    for (unsigned i = 0; i < n; i += 2) {
        ward_mempool_free(&p, blocks[i]);
    }
    /* fragmented: 200-byte holes, but no 400-byte one */
    assert_null(ward_mempool_calloc(&p, 1, 400));
    for (unsigned i = 1; i < n; i += 2) {
        ward_mempool_free(&p, blocks[i]);
    }
    /* everything coalesced back into one block */
    assert_int_equal(ward_mempool_largest_free(&p), p.stats.size - 8u);
    assert_non_null(ward_mempool_calloc(&p, 1, p.stats.size - 8u));
}

static void test_bad_frees_are_counted_not_used(void **state)
{
    struct ward_mempool p;
    uint8_t outside[16];
    uint8_t *a;

    (void)state;
    assert_int_equal(ward_mempool_init(&p, s_storage, 4096), 0);
    a = ward_mempool_calloc(&p, 1, 64);
    ward_mempool_free(&p, outside);
    ward_mempool_free(&p, a + 4);
    ward_mempool_free(&p, NULL);
    assert_int_equal(p.stats.bad_frees, 2);
    assert_int_equal(p.stats.live, 1);
    ward_mempool_free(&p, a);
    ward_mempool_free(&p, a); /* double free */
    assert_int_equal(p.stats.bad_frees, 3);
    assert_int_equal(p.stats.live, 0);
}

static void test_peak_reset(void **state)
{
    struct ward_mempool p;
    void *a;
    void *b;

    (void)state;
    assert_int_equal(ward_mempool_init(&p, s_storage, 4096), 0);
    a = ward_mempool_calloc(&p, 1, 1000);
    b = ward_mempool_calloc(&p, 1, 1000);
    ward_mempool_free(&p, b);
    assert_int_equal(p.stats.peak, 2 * 1008);
    ward_mempool_reset_peak(&p);
    assert_int_equal(p.stats.peak, 1008);
    ward_mempool_free(&p, a);
    assert_int_equal(p.stats.peak, 1008);
}

/* Random churn against a shadow: each live block is filled with a tag byte and checked
 * before it is freed; any overlap or corruption shows up as a wrong byte. */
static void test_random_churn_against_shadow(void **state)
{
    struct ward_mempool p;
    struct {
        uint8_t *ptr;
        size_t len;
        uint8_t tag;
    } live[128];
    uint64_t rng = 7;
    size_t model_used = 0;

    (void)state;
    memset(live, 0, sizeof(live));
    assert_int_equal(ward_mempool_init(&p, s_storage, sizeof(s_storage)), 0);
    for (int step = 0; step < 20000; step++) {
        unsigned i = (unsigned)(test_rand(&rng) % 128u);

        if (live[i].ptr == NULL) {
            size_t len = 1u + (size_t)(test_rand(&rng) % 600u);
            uint8_t *m = ward_mempool_calloc(&p, 1, len);

            if (m != NULL) {
                live[i].ptr = m;
                live[i].len = len;
                live[i].tag = (uint8_t)(i + 1u);
                memset(m, live[i].tag, len);
                model_used += (len + 8u + 7u) & ~(size_t)7u;
            }
        } else {
            for (size_t k = 0; k < live[i].len; k++) {
                assert_int_equal(live[i].ptr[k], live[i].tag);
            }
            ward_mempool_free(&p, live[i].ptr);
            model_used -= (live[i].len + 8u + 7u) & ~(size_t)7u;
            live[i].ptr = NULL;
        }
        assert_true(p.stats.used >= model_used); /* split remainders may round blocks up */
        assert_true(p.stats.used <= p.stats.size);
    }
    for (unsigned i = 0; i < 128; i++) {
        ward_mempool_free(&p, live[i].ptr);
    }
    assert_int_equal(p.stats.used, 0);
    assert_int_equal(p.stats.bad_frees, 0);
    assert_int_equal(ward_mempool_largest_free(&p), p.stats.size - 8u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_bounds),
        cmocka_unit_test(test_calloc_zeroes_and_aligns),
        cmocka_unit_test(test_refuses_when_full_and_overflow),
        cmocka_unit_test(test_bad_frees_are_counted_not_used),
        cmocka_unit_test(test_peak_reset),
        cmocka_unit_test(test_random_churn_against_shadow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
