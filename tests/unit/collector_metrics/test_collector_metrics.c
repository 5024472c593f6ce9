/*
 * The collector's exposition writer (tools/collector/export/prom.c): HELP and TYPE lines,
 * label values escaped as the text format 0.0.4 requires (backslash, double quote, newline),
 * numbers written exactly, and the byte limit that never yields a truncated document; and the
 * per-device severity counts (export/devsev.c).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "export/devsev.h"
#include "export/prom.h"

static void test_family_and_samples(void **state)
{
    struct wcol_prom w;
    struct wcol_prom_label l[2] = { { "device", "dev-a" }, { "state", "up" } };

    (void)state;
    wcol_prom_init(&w, 4096);
    wcol_prom_family(&w, "ward_x", "gauge", "A gauge.");
    wcol_prom_sample(&w, "ward_x", NULL, 0, 1.5);
    wcol_prom_sample(&w, "ward_x", l, 2, -3);
    wcol_prom_sample_u64(&w, "ward_x", l, 1, UINT64_MAX);
    wcol_prom_sample(&w, "ward_x", NULL, 0, 9007199254740993.0);
    assert_false(w.failed);
    assert_string_equal(w.buf, "# HELP ward_x A gauge.\n"
                               "# TYPE ward_x gauge\n"
                               "ward_x 1.5\n"
                               "ward_x{device=\"dev-a\",state=\"up\"} -3\n"
                               "ward_x{device=\"dev-a\"} 18446744073709551615\n"
                               "ward_x 9007199254740992\n");
    assert_int_equal(w.len, strlen(w.buf));
    wcol_prom_free(&w);
}

static void test_special_values(void **state)
{
    struct wcol_prom w;

    (void)state;
    wcol_prom_init(&w, 4096);
    wcol_prom_sample(&w, "a", NULL, 0, NAN);
    wcol_prom_sample(&w, "b", NULL, 0, INFINITY);
    wcol_prom_sample(&w, "c", NULL, 0, -INFINITY);
    wcol_prom_sample(&w, "d", NULL, 0, 0.1);
    wcol_prom_sample(&w, "e", NULL, 0, 0.1 + 0.2); /* needs 17 digits to read back */
    assert_string_equal(w.buf, "a NaN\nb +Inf\nc -Inf\nd 0.1\ne 0.30000000000000004\n");
    wcol_prom_free(&w);
}

static void test_escaping(void **state)
{
    struct wcol_prom w;
    struct wcol_prom_label l = { "device", "a\\b\"c\nd}e,f" };

    (void)state;
    wcol_prom_init(&w, 4096);
    wcol_prom_family(&w, "ward_y", "counter", "back\\slash \"quoted\"\nnext line");
    wcol_prom_sample_u64(&w, "ward_y", &l, 1, 7);
    assert_false(w.failed);
    /* HELP escapes backslash and newline only; a label value also the double quote. */
    assert_string_equal(w.buf, "# HELP ward_y back\\\\slash \"quoted\"\\nnext line\n"
                               "# TYPE ward_y counter\n"
                               "ward_y{device=\"a\\\\b\\\"c\\nd}e,f\"} 7\n");
    wcol_prom_free(&w);
}

static void test_limit(void **state)
{
    struct wcol_prom w;
    size_t exact;

    (void)state;
    wcol_prom_init(&w, 1u << 20);
    wcol_prom_family(&w, "ward_z", "gauge", "Z.");
    exact = w.len;
    wcol_prom_free(&w);

    wcol_prom_init(&w, exact); /* exactly fits */
    wcol_prom_family(&w, "ward_z", "gauge", "Z.");
    assert_false(w.failed);
    assert_int_equal(w.len, exact);
    wcol_prom_sample(&w, "ward_z", NULL, 0, 1); /* one byte more is too much */
    assert_true(w.failed);
    assert_int_equal(w.len, exact);
    wcol_prom_sample(&w, "z", NULL, 0, 1); /* stays failed, writes nothing */
    assert_true(w.failed);
    assert_int_equal(w.len, exact);
    wcol_prom_free(&w);
}

/* Events per device and severity: counted, bounded by the device limit. */
static void test_devsev(void **state)
{
    struct wcol_devsev d;
    const uint64_t *n;

    (void)state;
    assert_int_equal(wcol_devsev_init(&d, 0), -EINVAL);
    assert_int_equal(wcol_devsev_init(&d, 2), 0);
    wcol_devsev_add(&d, "dev-a", WARD_SEV_LOW);
    wcol_devsev_add(&d, "dev-a", WARD_SEV_LOW);
    wcol_devsev_add(&d, "dev-a", WARD_SEV_HIGH);
    wcol_devsev_add(&d, "dev-b", WARD_SEV_NONE);
    wcol_devsev_add(&d, "dev-c", WARD_SEV_LOW); /* past the limit */
    wcol_devsev_add(&d, "dev-b", 7);            /* not a severity */
    n = wcol_devsev_get(&d, "dev-a");
    assert_non_null(n);
    assert_int_equal(n[WARD_SEV_NONE], 0);
    assert_int_equal(n[WARD_SEV_LOW], 2);
    assert_int_equal(n[WARD_SEV_MEDIUM], 0);
    assert_int_equal(n[WARD_SEV_HIGH], 1);
    n = wcol_devsev_get(&d, "dev-b");
    assert_non_null(n);
    assert_int_equal(n[WARD_SEV_NONE], 1);
    assert_null(wcol_devsev_get(&d, "dev-c"));
    assert_int_equal(d.count, 2);
    assert_int_equal(d.untracked, 2);
    wcol_devsev_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_and_samples),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_devsev),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
