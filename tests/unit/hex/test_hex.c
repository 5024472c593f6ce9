#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ward/base/hex.h"

static void test_digit(void **state)
{
    (void)state;
    assert_int_equal(ward_hex_digit('0'), 0);
    assert_int_equal(ward_hex_digit('9'), 9);
    assert_int_equal(ward_hex_digit('a'), 10);
    assert_int_equal(ward_hex_digit('F'), 15);
    assert_int_equal(ward_hex_digit('g'), -1);
    assert_int_equal(ward_hex_digit('G'), -1);
    assert_int_equal(ward_hex_digit('/'), -1);
    assert_int_equal(ward_hex_digit(':'), -1);
    assert_int_equal(ward_hex_digit('@'), -1);
    assert_int_equal(ward_hex_digit('`'), -1);
    assert_int_equal(ward_hex_digit('\0'), -1);
}

static void test_round_trip(void **state)
{
    const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
    char text[2 * sizeof(in) + 1];
    uint8_t out[sizeof(in)];

    (void)state;
    memset(text, 'x', sizeof(text));
    ward_hex_encode(in, sizeof(in), text);
    assert_string_equal(text, "00017f80abff");
    assert_int_equal(ward_hex_decode(text, out, sizeof(out)), 0);
    assert_memory_equal(in, out, sizeof(in));
    assert_int_equal(ward_hex_decode("00017F80ABFF", out, sizeof(out)), 0);
    assert_memory_equal(in, out, sizeof(in));
}

static void test_decode_rejects(void **state)
{
    uint8_t out[2];

    (void)state;
    assert_int_equal(ward_hex_decode("0g00", out, 2), -EINVAL);
    assert_int_equal(ward_hex_decode("00 0", out, 2), -EINVAL);
    assert_int_equal(ward_hex_decode("00", out, 0), 0); /* nothing asked, nothing read */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digit),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_decode_rejects),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
