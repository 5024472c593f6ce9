#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cJSON.h>

#include "ward/base/cjson_libc.h"
#include "ward/base/json_arena.h"

static void check_parse(const char *text, double expect, size_t consumed)
{
    char *end = NULL;
    double v = ward_cjson_strtod(text, &end);

    assert_true(v == expect);
    assert_int_equal((size_t)(end - text), consumed);
    /* Where glibc's strtod is correctly rounded, agree with it exactly. */
    assert_true(v == strtod(text, NULL));
}

static void test_strtod_exact_cases(void **state)
{
    (void)state;
    check_parse("0", 0.0, 1);
    check_parse("-0", -0.0, 2);
    check_parse("42", 42.0, 2);
    check_parse("-40500", -40500.0, 6);
    check_parse("9007199254740993", 9007199254740992.0, 16); /* 2^53 + 1 rounds to even */
    check_parse("18446744073709551615", 18446744073709551615.0, 20);
    check_parse("0.5", 0.5, 3);
    check_parse("1.25e2", 125.0, 6);
    check_parse("1E+3", 1000.0, 4);
    check_parse("123.456", 123.456, 7);
    check_parse("1e22", 1e22, 4);
    check_parse("1e-22", 1e-22, 5);
    check_parse("0.1", 0.1, 3);
    check_parse("12abc", 12.0, 2);
}

static void test_strtod_extremes(void **state)
{
    char *end;

    (void)state;
    assert_true(isinf(ward_cjson_strtod("1e999999", &end)));
    assert_string_equal(end, "");
    assert_true(ward_cjson_strtod("1e-999999", &end) == 0.0);
    assert_true(ward_cjson_strtod("x", &end) == 0.0);
    assert_string_equal(end, "x");
    assert_true(ward_cjson_strtod("1e", &end) == 1.0);
    assert_string_equal(end, "e");
    /* Far from the exact range: still within a few ulp of the right answer. */
    double v = ward_cjson_strtod("1.7976931348623157e308", NULL);

    assert_true(fabs(v - 1.7976931348623157e308) / 1.7976931348623157e308 < 1e-14);
    v = ward_cjson_strtod("123456789012345678901234567890", NULL);
    assert_true(fabs(v - 1.2345678901234568e29) / 1.2345678901234568e29 < 1e-14);
}

static void test_sprintf_formats(void **state)
{
    char buf[32];

    (void)state;
    assert_int_equal(ward_cjson_sprintf(buf, "%1.15g", -40500.0), 6);
    assert_string_equal(buf, "-40500");
    assert_int_equal(ward_cjson_sprintf(buf, "%1.17g", 0.5), 3);
    assert_string_equal(buf, "0.5");
    ward_cjson_sprintf(buf, "%1.15g", 2.000001);
    assert_string_equal(buf, "2.000001");
    ward_cjson_sprintf(buf, "%1.15g", 1.5e300);
    assert_string_equal(buf, "1.5e300");
    ward_cjson_sprintf(buf, "%1.15g", -2.5e-300);
    assert_string_equal(buf, "-2.5e-300");
    assert_true(strlen(buf) < 26);
    assert_int_equal(ward_cjson_sprintf(buf, "u%04x", 0x1fu), 5);
    assert_string_equal(buf, "u001f");
    assert_int_equal(ward_cjson_sprintf(buf, "%i.%i.%i", 1, 7, 15), 6);
    assert_string_equal(buf, "1.7.15");
    assert_int_equal(ward_cjson_sprintf(buf, "%s", "x"), -1);
}

static void test_sscanf(void **state)
{
    double d = 0;

    (void)state;
    assert_int_equal(ward_cjson_sscanf("2.5", "%lg", &d), 1);
    assert_true(d == 2.5);
    assert_int_equal(ward_cjson_sscanf("zz", "%lg", &d), 0);
}

static void test_cjson_roundtrip_uses_them(void **state)
{
    static uint8_t storage[2048];
    struct ward_json_arena a;
    char out[128];

    (void)state;
    assert_int_equal(ward_json_arena_init(&a, storage, sizeof(storage)), 0);
    ward_json_arena_enter(&a);
    cJSON *doc = cJSON_Parse("[18446744073709551615,-40500,0.25,1e3,\"\\u0001\"]");

    assert_non_null(doc);
    assert_true(cJSON_GetArrayItem(doc, 0)->valuedouble == 18446744073709551615.0);
    assert_true(cJSON_PrintPreallocated(doc, out, (int)sizeof(out), 0));
    /* 2^64 is integral but beyond int64: printed with an exponent, never garbage. */
    assert_string_equal(out, "[1.844674e19,-40500,0.25,1000,\"\\u0001\"]");
    ward_json_arena_leave(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strtod_exact_cases),        cmocka_unit_test(test_strtod_extremes),
        cmocka_unit_test(test_sprintf_formats),           cmocka_unit_test(test_sscanf),
        cmocka_unit_test(test_cjson_roundtrip_uses_them),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
