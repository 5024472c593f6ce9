/*
 * The two-region flash store: format of blank and zero-filled flash, appends, reads across
 * chunks, rewrite and truncate, and power cuts at every byte of an erase and of a write
 * (append, rewrite, truncate, recovery of a torn append), after which a reopened store must
 * hold exactly the old or the new contents. Also the journal on top of it, across a reopen.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ward/transport/journal.h"
#include "ward/transport/store_flash.h"

#define REGION 4096u
#define BASE   64u /* the regions do not start at the device's offset 0 */

/* A NOR flash in RAM: erase sets 0xFF, write ANDs, and after `budget` bytes of either the
 * power goes: the operation stops where it was and everything fails until power_on(). */
static uint8_t s_dev[BASE + 2 * REGION + 64];
static long s_budget = -1; /* -1: no cut planned */
static int s_dead;
static long s_bytes;

static int fake_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx;
    if (s_dead || off + len > sizeof(s_dev)) {
        return -EIO;
    }
    memcpy(buf, s_dev + off, len);
    return 0;
}

static int spend(void)
{
    if (s_dead) {
        return -EIO;
    }
    if (s_budget == 0) {
        s_dead = 1;
        return -EIO;
    }
    if (s_budget > 0) {
        s_budget--;
    }
    s_bytes++;
    return 0;
}

static int fake_write(void *ctx, uint32_t off, const void *buf, size_t len)
{
    const uint8_t *b = buf;

    (void)ctx;
    assert_true(off >= BASE && off + len <= BASE + 2 * REGION);
    for (size_t i = 0; i < len; i++) {
        if (spend() != 0) {
            return -EIO;
        }
        s_dev[off + i] &= b[i];
    }
    return 0;
}

static int fake_erase(void *ctx, uint32_t off, size_t len)
{
    (void)ctx;
    assert_true((off - BASE) % REGION == 0 && len == REGION);
    for (size_t i = 0; i < len; i++) {
        if (spend() != 0) {
            return -EIO;
        }
        s_dev[off + i] = 0xff;
    }
    return 0;
}

static const struct ward_flash_ops s_ops = { fake_read, fake_write, fake_erase };
static const struct ward_store_flash_config s_cfg = { &s_ops, NULL, BASE, REGION };
static struct ward_store_flash s_f;

static void power_on(void)
{
    s_dead = 0;
    s_budget = -1;
}

static struct ward_store open_store(void)
{
    power_on();
    assert_int_equal(ward_store_flash_init(&s_f, &s_cfg), 0);
    return ward_store_flash(&s_f);
}

static size_t contents(struct ward_store s, uint8_t *buf, size_t cap)
{
    uint64_t size = 0;

    assert_int_equal(ward_store_size(&s, &size), 0);
    assert_true(size <= cap);
    assert_int_equal(ward_store_read(&s, 0, buf, cap), (int)size);
    return (size_t)size;
}

static void expect(struct ward_store s, const char *want)
{
    uint8_t buf[2 * REGION];
    size_t n = contents(s, buf, sizeof(buf));

    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n);
}

static void test_blank_and_zeroed_flash_format_empty(void **state)
{
    (void)state;
    memset(s_dev, 0xff, sizeof(s_dev));
    expect(open_store(), "");
    memset(s_dev, 0, sizeof(s_dev)); /* QEMU's RAM after power-on */
    expect(open_store(), "");
    assert_int_equal(s_f.cur, 0);
}

static void test_append_read_reopen(void **state)
{
    struct ward_store s;
    uint8_t buf[8];

    (void)state;
    memset(s_dev, 0, sizeof(s_dev));
    s = open_store();
    assert_int_equal(ward_store_append(&s, "hello ", 6), 0);
    assert_int_equal(ward_store_append(&s, "flash", 5), 0);
    assert_int_equal(ward_store_sync(&s), 0);
    expect(s, "hello flash");
    /* a read across the chunk boundary, and one past the end */
    assert_int_equal(ward_store_read(&s, 4, buf, 4), 4);
    assert_memory_equal(buf, "o fl", 4);
    assert_int_equal(ward_store_read(&s, 11, buf, 4), 0);
    expect(open_store(), "hello flash");
}

static void test_full_region_refuses_then_rewrite_frees(void **state)
{
    struct ward_store s;
    char rec[40];
    int n = 0;
    int rc;

    (void)state;
    memset(s_dev, 0xff, sizeof(s_dev));
    s = open_store();
    memset(rec, 'r', sizeof(rec));
    while ((rc = ward_store_append(&s, rec, sizeof(rec))) == 0) {
        n++;
        assert_true(n < 1000);
    }
    assert_int_equal(rc, -ENOSPC);
    assert_int_equal(n, (int)((REGION - 12) / (8 + sizeof(rec))));
    assert_int_equal(ward_store_truncate(&s, 0), 0);
    expect(s, "");
    assert_int_equal(ward_store_append(&s, "x", 1), 0);
    expect(open_store(), "x");
}

struct iter {
    const char *const *recs;
    int i;
};

static int next_rec(void *arg, const void **rec, size_t *len)
{
    struct iter *it = arg;

    if (it->recs[it->i] == NULL) {
        return 0;
    }
    *rec = it->recs[it->i];
    *len = strlen(it->recs[it->i]);
    it->i++;
    return 1;
}

static void test_rewrite_and_truncate(void **state)
{
    static const char *const recs[] = { "new-", "contents", NULL };
    struct iter it = { recs, 0 };
    struct ward_store s;

    (void)state;
    memset(s_dev, 0, sizeof(s_dev));
    s = open_store();
    assert_int_equal(ward_store_append(&s, "old contents", 12), 0);
    assert_int_equal(ward_store_rewrite(&s, next_rec, &it), 0);
    expect(s, "new-contents");
    assert_int_equal(ward_store_truncate(&s, 6), 0); /* inside the second chunk */
    expect(s, "new-co");
    expect(open_store(), "new-co");
    assert_int_equal(ward_store_append(&s, "py", 2), 0);
    expect(open_store(), "new-copy");
}

/* Prepare "old" (two appends, so the current region is not the first), run op with a cut
 * after `cut` bytes of programming or erasing, reopen: the store must hold old or new. */
static long cut_run(long cut, void (*op)(struct ward_store), const char *old, const char *new_)
{
    struct ward_store s;
    uint8_t buf[2 * REGION];
    size_t n;
    long used;

    memset(s_dev, 0, sizeof(s_dev));
    s = open_store();
    assert_int_equal(ward_store_append(&s, "zz", 2), 0);
    assert_int_equal(ward_store_truncate(&s, 0), 0); /* region 1 current from here */
    assert_int_equal(ward_store_append(&s, old, strlen(old)), 0);
    s_bytes = 0;
    s_budget = cut;
    op(s);
    used = s_bytes;
    s = open_store();
    n = contents(s, buf, sizeof(buf));
    if (!(n == strlen(old) && memcmp(buf, old, n) == 0) &&
        !(n == strlen(new_) && memcmp(buf, new_, n) == 0)) {
        fail_msg("cut after %ld bytes: the store holds '%.*s', want '%s' or '%s'", cut, (int)n,
                 (const char *)buf, old, new_);
    }
    /* and it keeps working: an append after recovery reads back */
    assert_int_equal(ward_store_append(&s, "+", 1), 0);
    n = contents(open_store(), buf, sizeof(buf));
    assert_true(n >= 1 && buf[n - 1] == '+');
    return used;
}

static void op_append(struct ward_store s)
{
    (void)ward_store_append(&s, " and more", 9);
}

static void op_rewrite(struct ward_store s)
{
    static const char *const recs[] = { "re", "written", NULL };
    struct iter it = { recs, 0 };

    (void)ward_store_rewrite(&s, next_rec, &it);
}

static void op_truncate(struct ward_store s)
{
    (void)ward_store_truncate(&s, 5);
}

static void cut_everywhere(void (*op)(struct ward_store), const char *old, const char *new_,
                           long min_bytes)
{
    long total = cut_run(-1, op, old, new_); /* no cut: how many bytes the op takes */

    assert_true(total >= min_bytes);
    for (long cut = 0; cut <= total; cut++) {
        cut_run(cut, op, old, new_);
    }
}

static void test_power_cut_in_append(void **state)
{
    (void)state;
    cut_everywhere(op_append, "old contents", "old contents and more", 8 + 9);
}

static void test_power_cut_in_rewrite_erase_and_write(void **state)
{
    (void)state;
    /* the erase of the other region (REGION bytes), its chunks, then its header */
    cut_everywhere(op_rewrite, "old contents", "rewritten", REGION + 12 + 2 * 8 + 9);
}

static void test_power_cut_in_truncate(void **state)
{
    (void)state;
    cut_everywhere(op_truncate, "old contents", "old c", REGION + 12 + 8 + 5);
}

/* A cut in an append leaves a torn chunk; recovery moves the good ones to the other region.
 * A cut in THAT move must still leave the good chunks. */
static void test_power_cut_in_recovery(void **state)
{
    struct ward_store s;
    long total;

    (void)state;
    for (long cut = 0;; cut++) {
        memset(s_dev, 0, sizeof(s_dev));
        s = open_store();
        assert_int_equal(ward_store_append(&s, "keep", 4), 0);
        s_budget = 10; /* the next append's header and 2 data bytes */
        assert_int_equal(ward_store_append(&s, "torn-away", 9), -EIO);
        power_on();
        s_bytes = 0;
        s_budget = cut;
        (void)ward_store_flash_init(&s_f, &s_cfg);
        total = s_bytes;
        expect(open_store(), "keep");
        if (cut > total) {
            break;
        }
    }
    assert_true(total > (long)REGION);
}

/* The journal sees the same contract as on the RAM store: records survive a reopen. */
static void test_journal_on_flash(void **state)
{
    static struct ward_journal_entry idx[8];
    static struct ward_journal j;
    struct ward_journal_key k;
    struct ward_store s;

    (void)state;
    memset(s_dev, 0, sizeof(s_dev));
    s = open_store();
    assert_int_equal(ward_journal_open(&j, s, idx, 8, REGION - 64), 0);
    memset(&k, 0, sizeof(k));
    memcpy(k.boot_id, "boot-flash", 10);
    for (uint64_t seq = 1; seq <= 3; seq++) {
        k.seq = seq;
        assert_int_equal(ward_journal_append(&j, &k, 1, "{\"e\":1}", 7), 0);
    }
    s = open_store();
    assert_int_equal(ward_journal_open(&j, s, idx, 8, REGION - 64), 0);
    assert_int_equal(ward_journal_count(&j), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blank_and_zeroed_flash_format_empty),
        cmocka_unit_test(test_append_read_reopen),
        cmocka_unit_test(test_full_region_refuses_then_rewrite_frees),
        cmocka_unit_test(test_rewrite_and_truncate),
        cmocka_unit_test(test_power_cut_in_append),
        cmocka_unit_test(test_power_cut_in_rewrite_erase_and_write),
        cmocka_unit_test(test_power_cut_in_truncate),
        cmocka_unit_test(test_power_cut_in_recovery),
        cmocka_unit_test(test_journal_on_flash),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
