/*
 * The event log: sequence numbers, eviction order under a full log (lowest severity, oldest
 * first), folding of repeats, drop counts, acknowledgement, restored boots, no heap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "heap_count.h"
#include "ward/evlog.h"
#include "ward/sched.h"

static struct ward_evlog s_log;
static const uint8_t s_boot[WARD_BOOT_ID_LEN] = { 1, 2, 3 };
static const uint8_t s_old_boot[WARD_BOOT_ID_LEN] = { 9, 9, 9 };

static struct ward_event make(uint16_t sensor, uint8_t from, uint8_t to, uint8_t sev, int64_t t)
{
    struct ward_event e;

    memset(&e, 0, sizeof(e));
    e.sensor = sensor;
    e.from = from;
    e.to = to;
    e.severity = sev;
    e.t_ms = t;
    return e;
}

static uint32_t add(uint16_t sensor, uint8_t sev, int64_t t)
{
    struct ward_event e = make(sensor, WARD_STATE_OK, WARD_STATE_CAUTION, sev, t);
    uint32_t seq = 0;

    assert_true(ward_evlog_append(&s_log, &e, &seq) >= 0);
    return seq;
}

static unsigned count_sev(unsigned sev)
{
    unsigned n = 0;

    for (unsigned i = 0; i < ward_evlog_pending(&s_log); i++) {
        n += ward_evlog_at(&s_log, i)->severity == sev;
    }
    return n;
}

static void setup_log(void)
{
    assert_int_equal(ward_evlog_init(&s_log, s_boot), 0);
}

static void test_sequence_from_one(void **state)
{
    (void)state;
    setup_log();
    assert_int_equal(ward_evlog_last_seq(&s_log), 0);
    assert_int_equal(add(1, WARD_SEV_LOW, 10), 1);
    assert_int_equal(add(2, WARD_SEV_LOW, 20), 2);
    assert_int_equal(ward_evlog_pending(&s_log), 2);
    assert_int_equal(ward_evlog_at(&s_log, 0)->seq, 1);
    assert_int_equal(ward_evlog_at(&s_log, 0)->count, 1);
    assert_int_equal(ward_evlog_at(&s_log, 0)->first_t_ms, 10);
    assert_null(ward_evlog_at(&s_log, 2));
    assert_int_equal(ward_evlog_append(&s_log, NULL, NULL), -EINVAL);
}

static void test_eviction_lowest_severity_oldest_first(void **state)
{
    (void)state;
    setup_log();
    /* Distinct sensors so nothing folds: pure eviction order. */
    for (unsigned i = 0; i < WARD_EVLOG_SIZE; i++) {
        add((uint16_t)i, i % 3 == 0 ? WARD_SEV_HIGH : (i % 3 == 1 ? WARD_SEV_MEDIUM : WARD_SEV_LOW),
            (int64_t)i);
    }
    unsigned lows = count_sev(WARD_SEV_LOW);
    unsigned mediums = count_sev(WARD_SEV_MEDIUM);
    unsigned highs = count_sev(WARD_SEV_HIGH);

    /* A new high evicts the oldest low (sensor 2 is the first low). */
    add(1000, WARD_SEV_HIGH, 1000);
    assert_int_equal(ward_evlog_pending(&s_log), WARD_EVLOG_SIZE);
    assert_int_equal(count_sev(WARD_SEV_LOW), lows - 1);
    assert_int_equal(s_log.dropped[WARD_SEV_LOW], 1);
    for (unsigned i = 0; i < ward_evlog_pending(&s_log); i++) {
        assert_int_not_equal(ward_evlog_at(&s_log, i)->sensor, 2);
    }
    /* Push highs until every low and medium is gone: highs are never dropped before. */
    for (unsigned i = 0; i < lows + mediums - 1; i++) {
        add((uint16_t)(2000 + i), WARD_SEV_HIGH, 2000 + i);
        assert_int_equal(s_log.dropped[WARD_SEV_HIGH], 0);
    }
    assert_int_equal(count_sev(WARD_SEV_LOW), 0);
    assert_int_equal(count_sev(WARD_SEV_MEDIUM), 0);
    assert_int_equal(s_log.dropped[WARD_SEV_LOW], lows);
    assert_int_equal(s_log.dropped[WARD_SEV_MEDIUM], mediums);
    /* Only highs left: the oldest high goes, and it is counted. */
    uint16_t oldest = ward_evlog_at(&s_log, 0)->sensor;

    add(3000, WARD_SEV_HIGH, 3000);
    assert_int_equal(s_log.dropped[WARD_SEV_HIGH], 1);
    assert_int_not_equal(ward_evlog_at(&s_log, 0)->sensor, oldest);
    assert_int_equal(count_sev(WARD_SEV_HIGH), WARD_EVLOG_SIZE);
    (void)highs;
    assert_int_equal(ward_evlog_dropped_total(&s_log), lows + mediums + 1);
}

static void test_incoming_low_dropped_when_only_higher_remain(void **state)
{
    (void)state;
    setup_log();
    for (unsigned i = 0; i < WARD_EVLOG_SIZE; i++) {
        add((uint16_t)i, WARD_SEV_MEDIUM, (int64_t)i);
    }
    struct ward_event e = make(5000, WARD_STATE_OK, WARD_STATE_CAUTION, WARD_SEV_LOW, 99);
    uint32_t seq;

    assert_int_equal(ward_evlog_append(&s_log, &e, &seq), 0);
    /* Its sequence number is consumed, so a receiver sees the gap the drop count explains. */
    assert_int_equal(seq, WARD_EVLOG_SIZE + 1);
    assert_int_equal(add(5001, WARD_SEV_HIGH, 100), WARD_EVLOG_SIZE + 2);
    assert_int_equal(s_log.dropped[WARD_SEV_LOW], 1);
    assert_int_equal(s_log.dropped[WARD_SEV_MEDIUM], 1);
}

static void test_fold_repeats(void **state)
{
    (void)state;
    setup_log();
    /* A flapping sensor 7 fills half the log with the same transition. */
    for (unsigned i = 0; i < WARD_EVLOG_SIZE / 2; i++) {
        add(7, WARD_SEV_LOW, (int64_t)(100 + i));
    }
    for (unsigned i = WARD_EVLOG_SIZE / 2; i < WARD_EVLOG_SIZE; i++) {
        add((uint16_t)(100 + i), WARD_SEV_LOW, (int64_t)(100 + i));
    }
    /* Full: the next event folds the oldest repeat of sensor 7 instead of dropping. */
    add(999, WARD_SEV_LOW, 5000);
    assert_int_equal(s_log.folded, 1);
    assert_int_equal(ward_evlog_dropped_total(&s_log), 0);
    const struct ward_event *e = ward_evlog_at(&s_log, 0);

    assert_int_equal(e->sensor, 7);
    assert_int_equal(e->count, 2);
    assert_int_equal(e->first_t_ms, 100);
    assert_int_equal(e->t_ms, 101);
    assert_int_equal(e->seq, 2); /* the newer record keeps its own sequence */
    /* Keep going: all repeats of 7 end up in one record holding the whole count. */
    for (unsigned i = 0; i < WARD_EVLOG_SIZE; i++) {
        add((uint16_t)(3000 + i), WARD_SEV_LOW, (int64_t)(6000 + i));
    }
    unsigned sevens = 0;
    uint32_t count = 0;

    for (unsigned i = 0; i < ward_evlog_pending(&s_log); i++) {
        if (ward_evlog_at(&s_log, i)->sensor == 7) {
            sevens++;
            count = ward_evlog_at(&s_log, i)->count;
        }
    }
    assert_true(sevens <= 1);
    if (sevens == 1) {
        assert_int_equal(count, WARD_EVLOG_SIZE / 2);
    }
    /* Every event is accounted for: pending + dropped + folded = appended. */
    assert_int_equal(ward_evlog_pending(&s_log) + ward_evlog_dropped_total(&s_log) + s_log.folded,
                     ward_evlog_last_seq(&s_log));
}

static void test_fold_incoming_into_itself(void **state)
{
    (void)state;
    setup_log();
    add(1, WARD_SEV_LOW, 1);
    for (unsigned i = 1; i < WARD_EVLOG_SIZE; i++) {
        add((uint16_t)(10 + i), WARD_SEV_HIGH, (int64_t)i);
    }
    /* The only low is sensor 1; another sensor-1 repeat folds the old one into itself. */
    add(1, WARD_SEV_LOW, 500);
    assert_int_equal(s_log.folded, 1);
    assert_int_equal(ward_evlog_dropped_total(&s_log), 0);
    const struct ward_event *last = ward_evlog_at(&s_log, WARD_EVLOG_SIZE - 1);

    assert_int_equal(last->sensor, 1);
    assert_int_equal(last->count, 2);
    assert_int_equal(last->first_t_ms, 1);
    assert_int_equal(last->t_ms, 500);
}

static void test_ack(void **state)
{
    (void)state;
    setup_log();
    for (unsigned i = 0; i < 10; i++) {
        add((uint16_t)i, WARD_SEV_LOW, (int64_t)i);
    }
    assert_int_equal(ward_evlog_index_after(&s_log, s_boot, 4), 4);
    assert_int_equal(ward_evlog_ack(&s_log, s_boot, 4), 4);
    assert_int_equal(ward_evlog_pending(&s_log), 6);
    assert_int_equal(ward_evlog_at(&s_log, 0)->seq, 5);
    assert_int_equal(ward_evlog_ack(&s_log, s_boot, 4), 0); /* again: nothing left to free */
    assert_int_equal(ward_evlog_ack(&s_log, s_old_boot, 100), -ENOENT);
    assert_int_equal(ward_evlog_index_after(&s_log, s_boot, 7), 3);
    assert_int_equal(ward_evlog_index_after(&s_log, s_old_boot, 7), 0);
    assert_int_equal(ward_evlog_ack(&s_log, s_boot, 100), 6);
    assert_int_equal(s_log.acked, 10);
    assert_int_equal(add(1, WARD_SEV_LOW, 99), 11); /* sequence numbers never restart */
}

static void test_restore_earlier_boot(void **state)
{
    uint8_t other[WARD_BOOT_ID_LEN] = { 7 };
    struct ward_event e = make(3, WARD_STATE_OK, WARD_STATE_FAILED, WARD_SEV_HIGH, 42);

    (void)state;
    setup_log();
    add(1, WARD_SEV_LOW, 1);
    e.seq = 77;
    assert_int_equal(ward_evlog_restore(&s_log, s_old_boot, &e), 1);
    /* Earlier runs sort first and keep their boot id and sequence. */
    assert_int_equal(ward_evlog_at(&s_log, 0)->seq, 77);
    assert_memory_equal(ward_evlog_boot_id(&s_log, ward_evlog_at(&s_log, 0)), s_old_boot,
                        WARD_BOOT_ID_LEN);
    assert_memory_equal(ward_evlog_boot_id(&s_log, ward_evlog_at(&s_log, 1)), s_boot,
                        WARD_BOOT_ID_LEN);
    assert_int_equal(ward_evlog_restore(&s_log, s_boot, &e), -EEXIST);
    if (WARD_EVLOG_BOOTS == 2) {
        assert_int_equal(ward_evlog_restore(&s_log, other, &e), -ENOSPC);
    }
    /* Acknowledging the old boot frees its slot for another. */
    assert_int_equal(ward_evlog_ack(&s_log, s_old_boot, 77), 1);
    assert_int_equal(ward_evlog_restore(&s_log, other, &e), 1);
    assert_int_equal(ward_evlog_pending(&s_log), 2);
}

/* Random traffic: the invariants hold after every step. */
static void test_random_invariants(void **state)
{
    struct ward_prng prng;

    (void)state;
    setup_log();
    ward_prng_seed(&prng, 12345);
    heap_count_start();
    for (unsigned step = 0; step < 20000; step++) {
        uint32_t before_high = s_log.dropped[WARD_SEV_HIGH];
        uint8_t sev = (uint8_t)(1u + ward_prng_below(&prng, 3));
        uint16_t sensor = (uint16_t)ward_prng_below(&prng, 8);

        add(sensor, sev, step);
        if (s_log.dropped[WARD_SEV_HIGH] != before_high) {
            assert_int_equal(count_sev(WARD_SEV_LOW) + count_sev(WARD_SEV_MEDIUM), 0);
        }
        if (ward_prng_below(&prng, 50) == 0) {
            ward_evlog_ack(&s_log, s_boot, ward_evlog_last_seq(&s_log) - ward_prng_below(&prng, 5));
        }
        assert_true(ward_evlog_pending(&s_log) <= WARD_EVLOG_SIZE);
        uint32_t folded_records = 0;

        for (unsigned i = 0; i < ward_evlog_pending(&s_log); i++) {
            folded_records += ward_evlog_at(&s_log, i)->count - 1u;
            if (i > 0) {
                assert_true(ward_evlog_at(&s_log, i)->seq > ward_evlog_at(&s_log, i - 1)->seq);
            }
        }
        assert_int_equal(ward_evlog_pending(&s_log) + ward_evlog_dropped_total(&s_log) +
                             s_log.folded + s_log.acked,
                         ward_evlog_last_seq(&s_log));
        (void)folded_records;
    }
    assert_int_equal(heap_count_stop(), 0);
    assert_true(s_log.folded > 0);
    assert_int_equal(s_log.high_water, WARD_EVLOG_SIZE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_from_one),
        cmocka_unit_test(test_eviction_lowest_severity_oldest_first),
        cmocka_unit_test(test_incoming_low_dropped_when_only_higher_remain),
        cmocka_unit_test(test_fold_repeats),
        cmocka_unit_test(test_fold_incoming_into_itself),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_restore_earlier_boot),
        cmocka_unit_test(test_random_invariants),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
