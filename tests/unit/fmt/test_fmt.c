#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ward/base/fmt.h"

static void test_u64_bounds(void **state)
{
    char buf[WARD_FMT_INT64_MAX];

    (void)state;
    assert_int_equal(ward_fmt_u64(buf, sizeof(buf), 0), 1);
    assert_string_equal(buf, "0");
    assert_int_equal(ward_fmt_u64(buf, sizeof(buf), UINT64_MAX), 20);
    assert_string_equal(buf, "18446744073709551615");
    assert_int_equal(ward_fmt_u64(buf, sizeof(buf), 4294967296ull), 10);
    assert_string_equal(buf, "4294967296");
}

static void test_i64_bounds(void **state)
{
    char buf[WARD_FMT_INT64_MAX];

    (void)state;
    assert_int_equal(ward_fmt_i64(buf, sizeof(buf), INT64_MIN), 20);
    assert_string_equal(buf, "-9223372036854775808");
    assert_int_equal(ward_fmt_i64(buf, sizeof(buf), INT64_MAX), 19);
    assert_string_equal(buf, "9223372036854775807");
    assert_int_equal(ward_fmt_i64(buf, sizeof(buf), -1), 2);
    assert_string_equal(buf, "-1");
}

static void test_exact_fit_and_overflow(void **state)
{
    char buf[5];

    (void)state;
    /* "1234" needs five bytes with the NUL. */
    assert_int_equal(ward_fmt_u64(buf, 5, 1234), 4);
    assert_string_equal(buf, "1234");
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(ward_fmt_u64(buf, 4, 1234), -ENOSPC);
    assert_int_equal(ward_fmt_i64(buf, 5, -1234), -ENOSPC);
    assert_int_equal(ward_fmt_u64(NULL, 5, 1), -EINVAL);
    assert_int_equal(ward_fmt_i64(NULL, 5, 1), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64_bounds),
        cmocka_unit_test(test_i64_bounds),
        cmocka_unit_test(test_exact_fit_and_overflow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
