#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ward/base/byteorder.h"

/* The byte layout is fixed (little-endian) whatever the CPU: records written on one board
 * are read on another. */
static void test_layout(void **state)
{
    uint8_t b[8];

    (void)state;
    ward_put_le16(b, 0x1234);
    assert_int_equal(b[0], 0x34);
    assert_int_equal(b[1], 0x12);
    ward_put_le32(b, 0x89abcdefu);
    assert_int_equal(b[0], 0xef);
    assert_int_equal(b[3], 0x89);
    ward_put_le64(b, 0x0102030405060708ull);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(b[i], 8 - i);
    }
}

static void test_round_trip_unaligned(void **state)
{
    uint8_t buf[16];

    (void)state;
    memset(buf, 0, sizeof(buf));
    ward_put_le16(buf + 1, 0xfffe);
    assert_int_equal(ward_get_le16(buf + 1), 0xfffe);
    ward_put_le32(buf + 3, 0xdeadbeefu);
    assert_int_equal(ward_get_le32(buf + 3), 0xdeadbeefu);
    ward_put_le64(buf + 7, UINT64_MAX - 1);
    assert_true(ward_get_le64(buf + 7) == UINT64_MAX - 1);
    assert_int_equal(ward_get_le16(buf + 1), 0xfffe); /* neighbours untouched */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_round_trip_unaligned),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
