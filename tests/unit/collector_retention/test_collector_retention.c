/*
 * Retention slices bounded by time (tools/collector/server/retention.h): the row bound of the
 * next slice follows how long the last one took. A model disk where a slice costs a fixed
 * time per row (plus a fixed part) stands in for the store: a slow one must bring the slices
 * under the target within a few slices, a fast one must grow them up to the cap, and a
 * backlog must be deleted completely in a bounded number of slices.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/retention.h"

/* One slice on the model disk: deletes min(rows, backlog), costs fixed + per_row each. */
static uint64_t model_slice(unsigned rows, uint64_t *backlog, uint64_t fixed_us,
                            uint64_t per_row_us, unsigned *deleted)
{
    *deleted = (unsigned)(*backlog < rows ? *backlog : rows);
    *backlog -= *deleted;
    return fixed_us + per_row_us * *deleted;
}

/* Slices until the backlog is gone (at most max); *over: slices over the target after the
 * first `settle` ones. */
static unsigned drain(uint64_t backlog, uint64_t fixed_us, uint64_t per_row_us, unsigned max,
                      unsigned settle, unsigned *over, unsigned *rows_out)
{
    unsigned rows = WCOL_RETENTION_ROWS_START, n = 0, deleted;

    *over = 0;
    while (backlog > 0 && n < max) {
        uint64_t took = model_slice(rows, &backlog, fixed_us, per_row_us, &deleted);

        n++;
        *over += n > settle && took > WCOL_RETENTION_SLICE_US;
        rows = wcol_retention_next_rows(rows, deleted, took);
        assert_in_range(rows, WCOL_RETENTION_ROWS_MIN, WCOL_RETENTION_ROWS_MAX);
    }
    *rows_out = rows;
    return backlog == 0 ? n : 0;
}

/* A slow disk (100 us a row: the old 5000-row slice took 0.5 s): slices settle under the
 * target after the first few (each at most halves the bound), and everything is still
 * deleted. */
static void test_slow_disk_settles_under_target(void **state)
{
    unsigned over, rows;
    unsigned n = drain(100000, 1000, 100, 100000, 5, &over, &rows);

    (void)state;
    assert_true(n > 0);
    assert_int_equal(over, 0);
    assert_true(rows <= WCOL_RETENTION_SLICE_US / 100);
    /* About as many slices as the target allows: not starved by a bound far too small. */
    assert_true(n <= 100000 / (WCOL_RETENTION_SLICE_US / 100 / 2) + 10);
}

/* A fast disk (any slice under 1 ms): slices grow to the cap, few slices for a large backlog. */
static void test_fast_disk_grows_to_cap(void **state)
{
    unsigned over, rows;
    unsigned n = drain(1000000, 800, 0, 100000, 0, &over, &rows);

    (void)state;
    assert_true(n > 0);
    assert_int_equal(rows, WCOL_RETENTION_ROWS_MAX);
    assert_int_equal(over, 0);
    assert_true(n <= 1000000 / WCOL_RETENTION_ROWS_MAX + 10);
}

/* A very slow disk (a fixed 60 ms a slice, whatever its size): the bound stays at the floor
 * and the backlog still drains (correctness over latency). */
static void test_floor_still_drains(void **state)
{
    unsigned over, rows;
    unsigned n = drain(5000, 60000, 0, 1000, 0, &over, &rows);

    (void)state;
    assert_int_equal(rows, WCOL_RETENTION_ROWS_MIN);
    assert_true(n > 0 && n <= 5000 / WCOL_RETENTION_ROWS_MIN + 6);
}

/* A slice that found less than half of what it asked for (caught up) does not grow the bound,
 * one more than half full does (a young event among the oldest ids); a slice that
 * took between half the target and the target keeps it; a slow one shrinks it in proportion. */
static void test_rules(void **state)
{
    (void)state;
    assert_int_equal(wcol_retention_next_rows(1000, 10, 100), 1000);
    assert_int_equal(wcol_retention_next_rows(1000, 1000, 100), 2000);
    assert_int_equal(wcol_retention_next_rows(1000, 999, 100), 2000);
    assert_int_equal(wcol_retention_next_rows(1000, 500, 100), 1000);
    assert_int_equal(wcol_retention_next_rows(1000, 1000, WCOL_RETENTION_SLICE_US * 3 / 4), 1000);
    assert_int_equal(wcol_retention_next_rows(1000, 1000, WCOL_RETENTION_SLICE_US * 3 / 2), 666);
    /* One slice that waited for the CPU: halved, not cut to the floor. */
    assert_int_equal(wcol_retention_next_rows(1000, 1000, WCOL_RETENTION_SLICE_US * 40), 500);
    assert_int_equal(wcol_retention_next_rows(150, 150, 10000000), WCOL_RETENTION_ROWS_MIN);
    assert_int_equal(wcol_retention_next_rows(WCOL_RETENTION_ROWS_MAX, WCOL_RETENTION_ROWS_MAX, 1),
                     WCOL_RETENTION_ROWS_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_disk_settles_under_target),
        cmocka_unit_test(test_fast_disk_grows_to_cap),
        cmocka_unit_test(test_floor_still_drains),
        cmocka_unit_test(test_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
