#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cJSON.h>

#include "heap_count.h"
#include "ward/base/json_arena.h"

static void test_init_rejects_bad_storage(void **state)
{
    struct ward_json_arena a;
    static uint8_t buf[32];

    (void)state;
    assert_int_equal(ward_json_arena_init(&a, NULL, 1024), -EINVAL);
    assert_int_equal(ward_json_arena_init(&a, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(ward_json_arena_init(NULL, buf, sizeof(buf)), -EINVAL);
}

static void test_document_without_heap(void **state)
{
    static uint8_t storage[4096];
    struct ward_json_arena a;
    char out[256];

    (void)state;
    /* Misaligned storage on purpose: every block must still be 8-byte aligned. */
    assert_int_equal(ward_json_arena_init(&a, storage + 3, sizeof(storage) - 3), 0);
    heap_count_start();
    ward_json_arena_enter(&a);
    cJSON *doc = cJSON_Parse("{\"a\":[1,2,{\"b\":\"c\"}],\"t\":-40500}");

    assert_non_null(doc);
    assert_int_equal(((uintptr_t)doc) % 8u, 0);
    assert_true(cJSON_PrintPreallocated(doc, out, (int)sizeof(out), 0));
    assert_string_equal(out, "{\"a\":[1,2,{\"b\":\"c\"}],\"t\":-40500}");
    cJSON_Delete(doc);
    size_t used = a.used;

    ward_json_arena_leave(&a);
    assert_int_equal(heap_count_stop(), 0);
    assert_true(used > 0);
    assert_int_equal(a.used, 0);
    assert_int_equal(a.high_water, used);
    assert_int_equal(a.failures, 0);
}

static void test_full_arena_fails_cleanly(void **state)
{
    static uint8_t storage[128];
    struct ward_json_arena a;

    (void)state;
    assert_int_equal(ward_json_arena_init(&a, storage, sizeof(storage)), 0);
    ward_json_arena_enter(&a);
    cJSON *doc = cJSON_Parse("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]");

    assert_null(doc);
    assert_true(a.failures > 0);
    assert_true(a.high_water <= a.size);
    ward_json_arena_leave(&a);
}

static void test_nested_arenas_restore(void **state)
{
    static uint8_t s1[1024];
    static uint8_t s2[1024];
    struct ward_json_arena outer;
    struct ward_json_arena inner;

    (void)state;
    assert_int_equal(ward_json_arena_init(&outer, s1, sizeof(s1)), 0);
    assert_int_equal(ward_json_arena_init(&inner, s2, sizeof(s2)), 0);
    ward_json_arena_enter(&outer);
    cJSON *a = cJSON_CreateObject();

    assert_non_null(a);
    size_t outer_used = outer.used;

    ward_json_arena_enter(&inner);
    assert_non_null(cJSON_CreateArray());
    assert_int_equal(outer.used, outer_used);
    assert_true(inner.used > 0);
    ward_json_arena_leave(&inner);
    /* Back on the outer arena. */
    assert_non_null(cJSON_CreateArray());
    assert_true(outer.used > outer_used);
    ward_json_arena_leave(&outer);
}

static void test_outside_arena_refuses(void **state)
{
    (void)state;
    heap_count_start();
    /* Hooks are installed (earlier tests entered an arena): no arena means no memory. */
    assert_null(cJSON_CreateObject());
    assert_int_equal(heap_count_stop(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_rejects_bad_storage),
        cmocka_unit_test(test_document_without_heap),
        cmocka_unit_test(test_full_arena_fails_cleanly),
        cmocka_unit_test(test_nested_arenas_restore),
        cmocka_unit_test(test_outside_arena_refuses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
