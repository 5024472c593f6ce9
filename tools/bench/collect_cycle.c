/*
 * collect_cycle: the cost of one full collection cycle of the Linux backend, the work the
 * agent repeats every interval: read every temperature, fan, NIC (12 counters and the link
 * facts), CPU, memory, every block device and every filesystem. Discovery is done once,
 * before timing, as in the agent.
 *
 *   collect_cycle [--root DIR] [--cycles N] [--reopen] [--check T,F,N,B,S]
 *
 * --reopen     close the kept files first: every read opens its file (the cost without
 *              the keep-open optimisation)
 * --check ...  fail unless exactly T temperatures, F fans, N NICs, B block devices and S
 *              filesystems were found and every reading was ok (the ctest smoke run)
 *
 * Prints the median, 10th and 90th percentile and mean wall time per cycle (CLOCK_MONOTONIC).
 * For instruction counts run it under callgrind with --toggle-collect=bench_cycle
 * (tools/bench/collect_cycle.sh does both).
 */
#include <stdbool.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ward/hal/linux_impl.h"

#define MAX_CYCLES 200000

static struct ward_linux_hal s_lh;
static uint64_t s_ns[MAX_CYCLES];

struct tally {
    unsigned readings;
    unsigned not_ok;
};

static void note(struct tally *t, enum ward_status s)
{
    t->readings++;
    t->not_ok += s != WARD_STATUS_OK;
}

/* A read that failed filled nothing: count it as one reading not ok. @return true if failed. */
static bool failed(struct tally *t, int rc)
{
    if (rc != 0) {
        t->readings++;
        t->not_ok++;
    }
    return rc != 0;
}

/* One collection cycle; noinline so callgrind can count exactly this function. */
__attribute__((noinline)) void bench_cycle(const struct ward_hal *hal, struct tally *t);

__attribute__((noinline)) void bench_cycle(const struct ward_hal *hal, struct tally *t)
{
    const struct ward_device *h = hal->host;
    int n;

    n = ward_temp_count(hal->temp[0]);
    for (int i = 0; i < n; i++) {
        struct ward_temp_reading r;

        if (failed(t, ward_temp_read(hal->temp[0], (unsigned)i, &r))) {
            continue;
        }
        note(t, r.mdeg_c.status);
    }
    n = ward_fan_count(hal->fan[0]);
    for (int i = 0; i < n; i++) {
        struct ward_fan_reading r;

        if (failed(t, ward_fan_read(hal->fan[0], (unsigned)i, &r))) {
            continue;
        }
        note(t, r.rpm.status);
        note(t, r.pwm_percent.status);
    }
    n = ward_nic_count(hal->nic[0]);
    for (int i = 0; i < n; i++) {
        struct ward_nic_reading r;

        if (failed(t, ward_nic_read(hal->nic[0], (unsigned)i, &r))) {
            continue;
        }
        for (unsigned c = 0; c < WARD_NIC_COUNTER_COUNT; c++) {
            note(t, r.counter[c].status);
        }
    }
    {
        struct ward_host_cpu cpu;
        struct ward_host_mem mem;

        ward_host_cpu(h, &cpu);
        note(t, cpu.status);
        ward_host_mem(h, &mem);
        note(t, mem.status);
    }
    n = ward_host_blk_count(h);
    for (int i = 0; i < n; i++) {
        struct ward_host_blk b;

        if (failed(t, ward_host_blk_read(h, (unsigned)i, &b))) {
            continue;
        }
        note(t, b.status);
    }
    n = ward_host_fs_count(h);
    for (int i = 0; i < n; i++) {
        struct ward_host_fs f;

        if (failed(t, ward_host_fs_read(h, (unsigned)i, &f))) {
            continue;
        }
        note(t, f.status);
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void us(char *buf, size_t len, uint64_t ns)
{
    snprintf(buf, len, "%" PRIu64 ".%01" PRIu64 " us", ns / 1000, ns % 1000 / 100);
}

static int usage(void)
{
    fprintf(stderr, "usage: collect_cycle [--root DIR] [--cycles N] [--reopen] "
                    "[--check TEMPS,FANS,NICS,BLK,FS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *root = NULL;
    unsigned long cycles = 2000;
    unsigned want[5] = { 0 };
    bool reopen = false, check = false;
    struct ward_hal hal = { 0 };
    struct tally t = { 0, 0 };
    uint64_t sum = 0;
    char med[32], p10[32], p90[32], mean[32];
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
            root = argv[++i];
        } else if (strcmp(argv[i], "--cycles") == 0 && i + 1 < argc) {
            cycles = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--reopen") == 0) {
            reopen = true;
        } else if (strcmp(argv[i], "--check") == 0 && i + 1 < argc &&
                   sscanf(argv[++i], "%u,%u,%u,%u,%u", &want[0], &want[1], &want[2], &want[3],
                          &want[4]) == 5) {
            check = true;
        } else {
            return usage();
        }
    }
    if (cycles == 0 || cycles > MAX_CYCLES) {
        fprintf(stderr, "collect_cycle: --cycles must be 1..%d\n", MAX_CYCLES);
        return 2;
    }
    rc = ward_linux_hal_init(&s_lh, &hal, root);
    if (rc != 0) {
        fprintf(stderr, "collect_cycle: init on %s: %s\n", root ? root : "/", strerror(-rc));
        return 1;
    }
    if (reopen) {
        ward_linux_hal_close_files(&s_lh);
    }
    for (unsigned i = 0; i < 10; i++) { /* warm the page cache and the dentry cache */
        struct tally w = { 0, 0 };

        bench_cycle(&hal, &w);
    }
    for (unsigned long i = 0; i < cycles; i++) {
        uint64_t t0 = now_ns();

        bench_cycle(&hal, &t);
        s_ns[i] = now_ns() - t0;
        sum += s_ns[i];
    }
    qsort(s_ns, cycles, sizeof(s_ns[0]), cmp_u64);
    us(med, sizeof(med), s_ns[cycles / 2]);
    us(p10, sizeof(p10), s_ns[cycles / 10]);
    us(p90, sizeof(p90), s_ns[cycles * 9 / 10]);
    us(mean, sizeof(mean), sum / cycles);
    printf("collect_cycle: root %s: %d temps, %d fans, %d nics, %d block devices, %d "
           "filesystems; %u files kept open%s\n",
           root ? root : "/", ward_temp_count(hal.temp[0]), ward_fan_count(hal.fan[0]),
           ward_nic_count(hal.nic[0]), ward_host_blk_count(hal.host), ward_host_fs_count(hal.host),
           s_lh.open_files, reopen ? " (--reopen)" : "");
    printf("collect_cycle: %u readings per cycle, %u not ok; %lu cycles: median %s, p10 %s, "
           "p90 %s, mean %s\n",
           t.readings / (unsigned)cycles, t.not_ok / (unsigned)cycles, cycles, med, p10, p90, mean);
    if (check) {
        int got[5] = { ward_temp_count(hal.temp[0]), ward_fan_count(hal.fan[0]),
                       ward_nic_count(hal.nic[0]), ward_host_blk_count(hal.host),
                       ward_host_fs_count(hal.host) };

        for (int i = 0; i < 5; i++) {
            if (got[i] != (int)want[i]) {
                fprintf(stderr, "collect_cycle: check: found %d, expected %u (field %d)\n", got[i],
                        want[i], i + 1);
                return 1;
            }
        }
        if (t.not_ok != 0) {
            fprintf(stderr, "collect_cycle: check: %u readings not ok\n", t.not_ok);
            return 1;
        }
        printf("collect_cycle: check passed\n");
    }
    ward_linux_hal_close(&s_lh);
    return 0;
}
