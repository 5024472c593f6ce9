/*
 * The source-address counter behind the per-source budget: a small table filled to its
 * stated capacity, counts added and removed in a pseudo-random order, every count compared
 * with a reference array after each step (backward-shift deletion must never lose a key
 * whose probe run it shortened).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/srcmap.h"

#define KEYS 64

static struct wcol_src key(unsigned i)
{
    struct wcol_src k;

    memset(&k, 0, sizeof(k));
    k.a[10] = k.a[11] = 0xff;
    k.a[12] = 127;
    k.a[15] = (uint8_t)i;
    k.a[14] = (uint8_t)(i >> 8);
    return k;
}

static void check_all(const struct wcol_srcmap *m, const unsigned *ref)
{
    for (unsigned i = 0; i < KEYS; i++) {
        struct wcol_src k = key(i);

        assert_int_equal(wcol_srcmap_count(m, &k), ref[i]);
    }
}

static void test_counts_match_reference(void **state)
{
    struct wcol_srcmap m;
    unsigned ref[KEYS] = { 0 };
    uint32_t x = 12345;

    (void)state;
    assert_int_equal(wcol_srcmap_init(&m, KEYS, 7), 0);
    for (unsigned step = 0; step < 20000; step++) {
        x = x * 1103515245u + 12345u;
        unsigned i = (x >> 16) % KEYS;
        struct wcol_src k = key(i);

        if ((x & 0x300) != 0 || ref[i] == 0) {
            assert_int_equal(wcol_srcmap_add(&m, &k), ++ref[i]);
        } else {
            wcol_srcmap_remove(&m, &k);
            ref[i]--;
        }
        if (step % 97 == 0) {
            check_all(&m, ref);
        }
    }
    check_all(&m, ref);
    for (unsigned i = 0; i < KEYS; i++) {
        struct wcol_src k = key(i);

        while (ref[i] > 0) {
            wcol_srcmap_remove(&m, &k);
            ref[i]--;
        }
    }
    for (uint32_t s = 0; s <= m.mask; s++) {
        assert_int_equal(m.slots[s].count, 0); /* empty again: nothing leaked */
    }
    wcol_srcmap_free(&m);
}

static void test_same_home_chain(void **state)
{
    /* A table of 16 slots for 8 keys: every probe run is long, removals from its middle. */
    struct wcol_srcmap m;
    unsigned ref[KEYS] = { 0 };

    (void)state;
    assert_int_equal(wcol_srcmap_init(&m, 8, 0), 0);
    assert_int_equal(m.mask, 15);
    for (unsigned i = 0; i < 8; i++) {
        struct wcol_src k = key(i);

        assert_int_equal(wcol_srcmap_add(&m, &k), 1);
        ref[i] = 1;
    }
    for (unsigned i = 1; i < 8; i += 2) {
        struct wcol_src k = key(i);

        wcol_srcmap_remove(&m, &k);
        ref[i] = 0;
        check_all(&m, ref);
    }
    wcol_srcmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_match_reference),
        cmocka_unit_test(test_same_home_chain),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
