/*
 * The scheduler: per-class intervals with bounded jitter, deterministic per seed, runtime
 * overrides, loop-lag measurement, and skipping (not bursting) after a long stall.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "heap_count.h"
#include "ward/base/config.h"
#include "ward/sched.h"

/* Run the scheduler every `step` ms until `until`; count runs per class. */
static void run(struct ward_sched *s, int64_t from, int64_t until, int64_t step,
                unsigned runs[WARD_CLASS_COUNT])
{
    memset(runs, 0, sizeof(unsigned) * WARD_CLASS_COUNT);
    for (int64_t now = from; now <= until; now += step) {
        int c;

        while ((c = ward_sched_poll(s, now)) >= 0) {
            runs[c]++;
        }
    }
}

static void test_intervals_and_jitter_bounds(void **state)
{
    struct ward_sched s;
    unsigned runs[WARD_CLASS_COUNT];
    int64_t prev = -1;
    const int64_t iv = WARD_INTERVAL_TEMP_MS;
    const int64_t half = iv * WARD_SCHED_JITTER_PCT / 200;

    (void)state;
    assert_int_equal(ward_sched_init(&s, 0, 42), 0);
    /* Watch the temperature class: each period is within interval +/- half the jitter. */
    for (int64_t now = 0; now <= 3600000; now++) {
        int c;

        while ((c = ward_sched_poll(&s, now)) >= 0) {
            if (c != WARD_CLASS_TEMP) {
                continue;
            }
            if (prev >= 0) {
                assert_true(now - prev >= iv - half);
                assert_true(now - prev <= iv + half);
            } else {
                assert_true(now <= iv * WARD_SCHED_JITTER_PCT / 100);
            }
            prev = now;
        }
        now = ward_sched_next_due(&s) - 1; /* jump to the next due time */
    }
    /* Over an hour the counts match the intervals (jitter averages out). */
    assert_int_equal(ward_sched_init(&s, 0, 7), 0);
    run(&s, 0, 3600000, 100, runs);
    assert_in_range(runs[WARD_CLASS_TEMP], 3600000 / iv - 20, 3600000 / iv + 20);
    assert_in_range(runs[WARD_CLASS_HEARTBEAT], 3600000 / WARD_INTERVAL_HEARTBEAT_MS - 2,
                    3600000 / WARD_INTERVAL_HEARTBEAT_MS + 2);
    assert_in_range(runs[WARD_CLASS_DISK], 3600000 / WARD_INTERVAL_DISK_MS - 1,
                    3600000 / WARD_INTERVAL_DISK_MS + 1);
}

static void test_jitter_is_deterministic_per_seed(void **state)
{
    struct ward_sched a;
    struct ward_sched b;
    struct ward_sched c;
    unsigned same = 0;

    (void)state;
    ward_sched_init(&a, 1000, 1);
    ward_sched_init(&b, 1000, 1);
    ward_sched_init(&c, 1000, 2);
    assert_memory_equal(&a, &b, sizeof(a));
    for (unsigned k = 0; k < WARD_CLASS_COUNT; k++) {
        same += a.task[k].due_ms == c.task[k].due_ms;
    }
    /* Two agents with different seeds do not start in step. */
    assert_true(same < WARD_CLASS_COUNT);
}

static void test_override_and_disable(void **state)
{
    struct ward_sched s;
    unsigned runs[WARD_CLASS_COUNT];

    (void)state;
    ward_sched_init(&s, 0, 3);
    assert_int_equal(ward_sched_set_interval(&s, WARD_CLASS_TEMP, 1000, 0), 0);
    assert_int_equal(ward_sched_set_interval(&s, WARD_CLASS_FAN, 0, 0), 0);
    assert_int_equal(ward_sched_set_interval(&s, WARD_CLASS_COUNT, 1000, 0), -EINVAL);
    run(&s, 0, 100000, 10, runs);
    assert_in_range(runs[WARD_CLASS_TEMP], 95, 105);
    assert_int_equal(runs[WARD_CLASS_FAN], 0);
}

static void test_lag_and_skip(void **state)
{
    struct ward_sched s;
    int c;

    (void)state;
    ward_sched_init(&s, 0, 9);
    assert_int_equal(ward_sched_poll(&s, -1), -EAGAIN);
    /* The loop stalls for 10 minutes: every class runs once, late, and skips the rest. */
    int64_t now = 600000;
    unsigned ran = 0;

    while ((c = ward_sched_poll(&s, now)) >= 0) {
        ran++;
        assert_true(s.task[c].due_ms > now);
    }
    assert_int_equal(ran, WARD_CLASS_COUNT);
    assert_true(s.lag_ever_ms >= 600000 - WARD_INTERVAL_HEARTBEAT_MS);
    assert_true(s.task[WARD_CLASS_TEMP].skipped >= 600000 / WARD_INTERVAL_TEMP_MS - 2);
    assert_true(ward_sched_take_lag(&s) > 0);
    assert_int_equal(ward_sched_take_lag(&s), 0);
    /* On time again: lag is what the loop adds. */
    now = ward_sched_next_due(&s) + 7;
    assert_true(ward_sched_poll(&s, now) >= 0);
    assert_int_equal(s.lag_ms, 7);
}

static void test_prng(void **state)
{
    struct ward_prng p;
    unsigned hist[10] = { 0 };

    (void)state;
    ward_prng_seed(&p, 0);
    /* splitmix64's first output for seed 0 (public reference value). */
    assert_true(ward_prng_next(&p) == 0xe220a8397b1dcdafull);
    for (unsigned i = 0; i < 10000; i++) {
        uint32_t v = ward_prng_below(&p, 10);

        assert_true(v < 10);
        hist[v]++;
    }
    for (unsigned i = 0; i < 10; i++) {
        assert_in_range(hist[i], 800, 1200);
    }
    assert_int_equal(ward_prng_below(&p, 0), 0);
}

static void test_no_heap(void **state)
{
    struct ward_sched s;
    unsigned runs[WARD_CLASS_COUNT];

    (void)state;
    heap_count_start();
    ward_sched_init(&s, 0, 11);
    run(&s, 0, 600000, 50, runs);
    assert_int_equal(heap_count_stop(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intervals_and_jitter_bounds),
        cmocka_unit_test(test_jitter_is_deterministic_per_seed),
        cmocka_unit_test(test_override_and_disable),
        cmocka_unit_test(test_lag_and_skip),
        cmocka_unit_test(test_prng),
        cmocka_unit_test(test_no_heap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
