/*
 * The collector's JSON writer (tools/collector/common/jw.c): every string it writes, and every
 * stored document it inserts, leaves as valid UTF-8 JSON in which no terminal control byte
 * is raw: C0 controls, DEL and the C1 controls (U+0080-U+009F) are \u-escaped, a byte that
 * is not UTF-8 becomes U+FFFD. Devices supply much of what the API shows (issue 10).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/jw.h"

static char *s_out;

static const char *one_string(const char *s, size_t n)
{
    struct wcol_jw w;
    size_t len;

    free(s_out);
    wcol_jw_init(&w, 4096);
    wcol_jw_strn(&w, s, n);
    assert_false(w.failed);
    s_out = wcol_jw_take(&w, &len);
    assert_int_equal(strlen(s_out), len);
    return s_out;
}

/* No byte below 0x20, no DEL, no C1 control as UTF-8 (0xc2 0x80-0x9f). */
static void assert_no_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        assert_true(*p >= 0x20 && *p != 0x7f);
        assert_false(*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
    }
}

static void test_controls_escaped(void **state)
{
    static const char pwned[] = "\x1b]0;PWNED\x07\x1b[2J";

    (void)state;
    assert_string_equal(one_string(pwned, sizeof(pwned) - 1),
                        "\"\\u001b]0;PWNED\\u0007\\u001b[2J\"");
    assert_string_equal(one_string("a\x7f"
                                   "b",
                                   3),
                        "\"a\\u007fb\"");
    assert_string_equal(one_string("\xc2\x9b"
                                   "31m",
                                   5),
                        "\"\\u009b31m\""); /* C1 CSI */
    assert_string_equal(one_string("\"\\\n\t", 4), "\"\\\"\\\\\\u000a\\u0009\"");
    assert_string_equal(one_string("\0x", 2), "\"\\u0000x\"");
    for (unsigned c = 0; c < 0x20; c++) {
        char in = (char)c;

        assert_no_control(one_string(&in, 1));
    }
}

static void test_utf8_kept_invalid_replaced(void **state)
{
    (void)state;
    /* Well-formed UTF-8 (2, 3 and 4 bytes; U+00A0 is the first after C1) is copied. */
    static const char utf8[] = "caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac \xf0\x9f\x98\x80";

    assert_string_equal(one_string(utf8, sizeof(utf8) - 1),
                        "\"caf\xc3\xa9 \xc2\xa0 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    /* A lone continuation, a truncated sequence, an overlong, a surrogate, > U+10FFFF. */
    assert_string_equal(one_string("a\x80"
                                   "b",
                                   3),
                        "\"a\\ufffdb\"");
    assert_string_equal(one_string("\xe2\x82", 2), "\"\\ufffd\\ufffd\"");
    assert_string_equal(one_string("\xc0\xaf", 2), "\"\\ufffd\\ufffd\"");
    assert_string_equal(one_string("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"");
    assert_string_equal(one_string("\xf4\x90\x80\x80", 4), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    assert_string_equal(one_string("\xff", 1), "\"\\ufffd\"");
}

/* Keys are escaped as strings; a stored document keeps its JSON but loses raw controls. */
static void test_keys_and_raw_documents(void **state)
{
    static const char doc[] = "{\"firmware\":\"x\x7f\xc2\x9b\xff\",\n\"n\":1}";
    struct wcol_jw w;
    size_t len;

    (void)state;
    wcol_jw_init(&w, 4096);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "k\x1b");
    wcol_jw_raw(&w, doc, sizeof(doc) - 1);
    wcol_jw_obj_end(&w);
    assert_false(w.failed);
    free(s_out);
    s_out = wcol_jw_take(&w, &len);
    assert_string_equal(s_out,
                        "{\"k\\u001b\":{\"firmware\":\"x\\u007f\\u009b\\ufffd\",\n\"n\":1}}");
}

static int teardown(void **state)
{
    (void)state;
    free(s_out);
    s_out = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_controls_escaped),
        cmocka_unit_test(test_utf8_kept_invalid_replaced),
        cmocka_unit_test(test_keys_and_raw_documents),
    };

    return cmocka_run_group_tests(tests, NULL, teardown);
}
