/*
 * The store-and-forward journal over the RAM store: recovery after restart, torn tails at
 * every byte, damage in the middle, acknowledgements, compaction, the size and index bounds
 * with the core's eviction order, and drop counts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ward/base/crc32.h"
#include "ward/transport/journal.h"
#include "ward/transport/store_ram.h"

#define LOW  0
#define MED  1
#define HIGH 2

static uint8_t s_mem[65536];
static struct ward_store_ram s_ram;
static struct ward_journal_entry s_idx[64];
static struct ward_journal s_j;

static struct ward_journal_key key(unsigned boot, uint64_t seq)
{
    struct ward_journal_key k;

    memset(&k, 0, sizeof(k));
    snprintf((char *)k.boot_id, sizeof(k.boot_id), "boot-%u", boot);
    k.seq = seq;
    return k;
}

static int append(unsigned boot, uint64_t seq, uint8_t sev)
{
    struct ward_journal_key k = key(boot, seq);
    char payload[64];
    int n = snprintf(payload, sizeof(payload), "{\"boot\":%u,\"seq\":%u}", boot, (unsigned)seq);

    return ward_journal_append(&s_j, &k, sev, payload, (size_t)n);
}

static void expect_seqs(const uint64_t *seqs, uint32_t n)
{
    assert_int_equal(ward_journal_count(&s_j), n);
    for (uint32_t i = 0; i < n; i++) {
        struct ward_journal_key k;
        char buf[64];
        char want[64];
        int len = ward_journal_get(&s_j, i, &k, NULL, buf, sizeof(buf));

        assert_true(len > 0);
        assert_int_equal(k.seq, seqs[i]);
        snprintf(want, sizeof(want), "\"seq\":%u}", (unsigned)seqs[i]);
        assert_non_null(strstr(buf, want));
    }
}

static int reopen(uint64_t max_bytes, uint32_t cap)
{
    return ward_journal_open(&s_j, ward_store_ram(&s_ram), s_idx, cap, max_bytes);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(ward_store_ram_init(&s_ram, s_mem, sizeof(s_mem)), 0);
    assert_int_equal(reopen(sizeof(s_mem), 64), 0);
    return 0;
}

static void test_crc32_check_value(void **state)
{
    (void)state;
    assert_int_equal(ward_crc32(0, "123456789", 9), 0xcbf43926u);
    assert_int_equal(ward_crc32(ward_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
}

static void test_append_get_and_restart(void **state)
{
    const uint64_t all[] = { 1, 2, 3, 4, 5 };
    uint8_t sev;
    char buf[8];

    (void)state;
    for (uint64_t s = 1; s <= 5; s++) {
        assert_int_equal(append(1, s, (uint8_t)(s % 3)), 0);
    }
    assert_int_equal(append(1, 3, LOW), -EEXIST);
    expect_seqs(all, 5);
    assert_int_equal(ward_journal_get(&s_j, 2, NULL, &sev, s_mem + 60000, 64), 18);
    assert_int_equal(sev, 0);
    assert_int_equal(ward_journal_get(&s_j, 5, NULL, NULL, buf, sizeof(buf)), -ERANGE);
    assert_int_equal(ward_journal_get(&s_j, 0, NULL, NULL, buf, sizeof(buf)), -ENOSPC);
    assert_int_equal(ward_journal_sync(&s_j), 0);
    /* restart: everything comes back, in order */
    assert_int_equal(reopen(sizeof(s_mem), 64), 0);
    assert_int_equal(s_j.stats.recovered, 5);
    expect_seqs(all, 5);
    assert_int_equal(s_j.stats.torn_bytes, 0);
}

static void test_ack_frees_and_survives_restart(void **state)
{
    const uint64_t rest[] = { 4, 5, 6 };
    uint8_t boot1[WARD_JOURNAL_BOOT_ID_LEN];

    (void)state;
    for (uint64_t s = 1; s <= 6; s++) {
        assert_int_equal(append(1, s, MED), 0);
    }
    memcpy(boot1, key(1, 0).boot_id, sizeof(boot1));
    assert_int_equal(ward_journal_ack(&s_j, boot1, 3), 3);
    assert_int_equal(ward_journal_ack(&s_j, boot1, 2), 0); /* older ack: nothing */
    expect_seqs(rest, 3);
    assert_int_equal(append(1, 2, MED), -EEXIST); /* acknowledged already */
    assert_int_equal(ward_journal_sync(&s_j), 0);
    assert_int_equal(reopen(sizeof(s_mem), 64), 0);
    expect_seqs(rest, 3);
    assert_int_equal(s_j.stats.acked, 3); /* the ack record was replayed */
    /* acknowledging everything truncates the store */
    assert_int_equal(ward_journal_ack(&s_j, boot1, 6), 3);
    assert_int_equal(ward_journal_count(&s_j), 0);
    assert_int_equal(s_ram.len, 0);
    /* an unknown boot id frees nothing */
    assert_int_equal(ward_journal_ack(&s_j, key(9, 0).boot_id, 100), 0);
}

static void test_torn_tail_at_every_byte(void **state)
{
    const uint64_t first[] = { 1, 2, 3 };
    size_t good;
    size_t full;

    (void)state;
    for (uint64_t s = 1; s <= 3; s++) {
        assert_int_equal(append(2, s, HIGH), 0);
    }
    assert_int_equal(ward_journal_sync(&s_j), 0);
    good = s_ram.len;
    assert_int_equal(append(2, 4, HIGH), 0);
    full = s_ram.len;
    for (size_t cut = good; cut < full; cut++) {
        s_ram.len = cut; /* a crash cut the last write here */
        assert_int_equal(reopen(sizeof(s_mem), 64), 0);
        expect_seqs(first, 3);
        assert_int_equal(s_j.stats.torn_bytes, cut - good);
        assert_int_equal(s_ram.len, good); /* the tail was cut away */
        s_ram.len = full;                  /* restore the bytes for the next cut */
    }
    /* the intact journal still has all four */
    assert_int_equal(reopen(sizeof(s_mem), 64), 0);
    assert_int_equal(ward_journal_count(&s_j), 4);
}

static void test_damage_in_the_middle_is_skipped(void **state)
{
    const uint64_t kept[] = { 1, 3, 4 };
    size_t second;

    (void)state;
    assert_int_equal(append(3, 1, LOW), 0);
    second = s_ram.len;
    for (uint64_t s = 2; s <= 4; s++) {
        assert_int_equal(append(3, s, LOW), 0);
    }
    s_mem[second + WARD_JOURNAL_HDR + 3] ^= 0x40; /* flip a payload bit of record 2 */
    assert_int_equal(reopen(sizeof(s_mem), 64), 0);
    expect_seqs(kept, 3);
    assert_true(s_j.stats.corrupt_bytes > 0);
    assert_int_equal(s_j.stats.torn_bytes, 0);
}

static void test_compaction_when_acks_dominate(void **state)
{
    uint8_t boot[WARD_JOURNAL_BOOT_ID_LEN];
    size_t before;

    (void)state;
    assert_int_equal(reopen(2048, 64), 0);
    memcpy(boot, key(4, 0).boot_id, sizeof(boot));
    for (uint64_t s = 1; s <= 20; s++) {
        assert_int_equal(append(4, s, MED), 0);
    }
    before = s_ram.len;
    assert_int_equal(ward_journal_ack(&s_j, boot, 18), 18);
    /* 18 dead records outweigh 2 live ones: rewritten down to the live two */
    assert_true(s_ram.len < before);
    assert_int_equal(s_ram.len, 2 * (WARD_JOURNAL_HDR + 19)); /* two 19-byte payloads */
    assert_true(s_j.stats.compactions >= 1);
    assert_int_equal(reopen(2048, 64), 0);
    assert_int_equal(ward_journal_count(&s_j), 2);
}

static void test_bound_evicts_low_oldest_first(void **state)
{
    uint64_t rec = WARD_JOURNAL_HDR + 19; /* payloads are 18-19 bytes */
    uint64_t max = rec * 6 + 600;         /* the open() minimum is one maximal record */
    uint32_t cap = 6;

    (void)state;
    assert_int_equal(reopen(max < 548 ? 548 : max, cap), 0);
    /* 6 fit the index: L1 H2 M3 L4 H5 M6 */
    assert_int_equal(append(5, 1, LOW), 0);
    assert_int_equal(append(5, 2, HIGH), 0);
    assert_int_equal(append(5, 3, MED), 0);
    assert_int_equal(append(5, 4, LOW), 0);
    assert_int_equal(append(5, 5, HIGH), 0);
    assert_int_equal(append(5, 6, MED), 0);
    /* a medium one arrives: the oldest low goes (1), then the next low (4) */
    assert_int_equal(append(5, 7, MED), 0);
    {
        const uint64_t s[] = { 2, 3, 4, 5, 6, 7 };
        expect_seqs(s, 6);
    }
    assert_int_equal(append(5, 8, HIGH), 0);
    {
        const uint64_t s[] = { 2, 3, 5, 6, 7, 8 };
        expect_seqs(s, 6);
    }
    assert_int_equal(s_j.stats.dropped[LOW], 2);
    /* no low left: a low one arriving ranks below everything and is the one dropped */
    assert_int_equal(append(5, 9, LOW), -ENOBUFS);
    assert_int_equal(s_j.stats.dropped[LOW], 3);
    /* mediums go oldest first, never a high while a medium remains */
    assert_int_equal(append(5, 10, HIGH), 0);
    assert_int_equal(append(5, 11, HIGH), 0);
    assert_int_equal(append(5, 12, HIGH), 0);
    {
        const uint64_t s[] = { 2, 5, 8, 10, 11, 12 };
        expect_seqs(s, 6);
    }
    assert_int_equal(s_j.stats.dropped[MED], 3);
    assert_int_equal(s_j.stats.dropped[HIGH], 0);
    /* only highs: the oldest high goes */
    assert_int_equal(append(5, 13, HIGH), 0);
    assert_int_equal(s_j.stats.dropped[HIGH], 1);
    assert_int_equal(ward_journal_dropped(&s_j), 7);
    /* and the store itself stayed within its bound, also after a restart */
    assert_true(s_ram.len <= s_j.max_bytes);
    assert_int_equal(reopen(s_j.max_bytes, cap), 0);
    assert_int_equal(ward_journal_count(&s_j), 6);
}

static void test_byte_bound(void **state)
{
    char big[WARD_JOURNAL_MAX_PAYLOAD + 1];
    struct ward_journal_key k;
    uint64_t max = 4 * (WARD_JOURNAL_HDR + 400);

    (void)state;
    memset(big, 'x', sizeof(big));
    assert_int_equal(reopen(max, 64), 0);
    k = key(6, 0);
    assert_int_equal(ward_journal_append(&s_j, &k, LOW, big, sizeof(big)), -EMSGSIZE);
    for (uint64_t s = 1; s <= 20; s++) {
        k.seq = s;
        assert_int_equal(ward_journal_append(&s_j, &k, s == 3 ? HIGH : LOW, big, 400), 0);
        assert_true(s_ram.len <= max);
    }
    assert_int_equal(ward_journal_count(&s_j), 4);
    assert_int_equal(s_j.stats.dropped[LOW], 16);
    {
        struct ward_journal_key got;
        assert_int_equal(ward_journal_get(&s_j, 0, &got, NULL, big, sizeof(big)), 400);
        assert_int_equal(got.seq, 3); /* the high one survived the churn */
    }
}

static void test_many_boots(void **state)
{
    (void)state;
    /* more boots than slots: the oldest boot's events make way */
    for (unsigned b = 0; b < WARD_JOURNAL_BOOTS + 2; b++) {
        assert_int_equal(append(10 + b, 1, MED), 0);
    }
    assert_int_equal(ward_journal_count(&s_j), WARD_JOURNAL_BOOTS);
    assert_int_equal(s_j.stats.dropped[MED], 2);
    assert_int_equal(reopen(sizeof(s_mem), 64), 0);
    assert_int_equal(ward_journal_count(&s_j), WARD_JOURNAL_BOOTS);
}

static void test_open_rejects_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(ward_journal_open(&s_j, ward_store_ram(&s_ram), NULL, 4, 4096), -EINVAL);
    assert_int_equal(ward_journal_open(&s_j, ward_store_ram(&s_ram), s_idx, 0, 4096), -EINVAL);
    assert_int_equal(ward_journal_open(&s_j, ward_store_ram(&s_ram), s_idx, 4, 100), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_check_value),
        cmocka_unit_test_setup(test_append_get_and_restart, setup),
        cmocka_unit_test_setup(test_ack_frees_and_survives_restart, setup),
        cmocka_unit_test_setup(test_torn_tail_at_every_byte, setup),
        cmocka_unit_test_setup(test_damage_in_the_middle_is_skipped, setup),
        cmocka_unit_test_setup(test_compaction_when_acks_dominate, setup),
        cmocka_unit_test_setup(test_bound_evicts_low_oldest_first, setup),
        cmocka_unit_test_setup(test_byte_bound, setup),
        cmocka_unit_test_setup(test_many_boots, setup),
        cmocka_unit_test_setup(test_open_rejects_bad_arguments, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
