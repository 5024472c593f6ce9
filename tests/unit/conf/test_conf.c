/* The configuration file scanner (ward/base/conf.h): settings, comments, quotes, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ward/base/conf.h"

static struct ward_conf_setting s_set;

static int next(struct ward_conf *c, const char **why)
{
    return ward_conf_next(c, &s_set, why);
}

static void test_settings(void **state)
{
    static const char text[] = "# a comment\n"
                               "\n"
                               "collector = host:8443\n"
                               "  state-dir=/var/lib/ward  \r\n"
                               "server-name = \" two words \"\n"
                               "rules = a#b";
    struct ward_conf c;
    const char *why = NULL;

    (void)state;
    ward_conf_init(&c, text, strlen(text));
    assert_int_equal(next(&c, &why), 1);
    assert_string_equal(s_set.key, "collector");
    assert_string_equal(s_set.value, "host:8443");
    assert_int_equal(s_set.line, 3);
    assert_int_equal(next(&c, &why), 1);
    assert_string_equal(s_set.key, "state-dir");
    assert_string_equal(s_set.value, "/var/lib/ward");
    assert_int_equal(s_set.line, 4);
    assert_int_equal(next(&c, &why), 1);
    assert_string_equal(s_set.value, " two words ");
    assert_int_equal(next(&c, &why), 1);
    assert_string_equal(s_set.value, "a#b"); /* '#' starts a comment only at a line's start */
    assert_int_equal(s_set.line, 6);
    assert_int_equal(next(&c, &why), 0);
    assert_int_equal(next(&c, &why), 0);
}

/* Each bad line fails on its own line number with a reason. */
static void expect_error(const char *text, int err, unsigned line)
{
    struct ward_conf c;
    const char *why = NULL;
    int rc;

    ward_conf_init(&c, text, strlen(text));
    while ((rc = next(&c, &why)) == 1) {
    }
    assert_int_equal(rc, err);
    assert_int_equal(c.line, line);
    assert_non_null(why);
    assert_true(strlen(why) > 0);
}

static void test_errors(void **state)
{
    char big[WARD_CONF_VALUE_MAX + 16];

    (void)state;
    expect_error("a = 1\nno equals sign\n", -EINVAL, 2);
    expect_error("= 1\n", -EINVAL, 1);
    expect_error("Upper = 1\n", -EINVAL, 1);
    expect_error("a b = 1\n", -EINVAL, 1);
    expect_error("a = \"open\n", -EINVAL, 1);
    expect_error("a = 1\n\nb = x\x01y\n", -EILSEQ, 3);
    memset(big, 'x', sizeof(big));
    memcpy(big, "k = ", 4);
    big[sizeof(big) - 1] = '\0';
    expect_error(big, -E2BIG, 1);
}

static void test_bool(void **state)
{
    bool b = false;

    (void)state;
    assert_int_equal(ward_conf_bool("yes", &b), 0);
    assert_true(b);
    assert_int_equal(ward_conf_bool("0", &b), 0);
    assert_false(b);
    assert_int_equal(ward_conf_bool("maybe", &b), -EINVAL);
    assert_int_equal(ward_conf_bool("", &b), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bool),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
