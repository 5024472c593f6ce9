/*
 * ward-agent run's stderr throttle (firmware/apps/linux/log_repeat.c): a line that repeats
 * the last one is counted, and the count goes out once per window, before a different line
 * and at a flush. The journal on a full disk failed every loop pass: 505 lines in 40 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "log_repeat.h"

#define ENOSPC_LINE "ward-agent: cannot write the journal: No space left on device"

static struct log_repeat s_lr;
static char s_out[16384];

static int setup(void **state)
{
    FILE *f = tmpfile();

    assert_non_null(f);
    log_repeat_init(&s_lr, f, 10000);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fclose(*state);
    return 0;
}

/* Everything written so far, and how many lines it is. */
static unsigned output(FILE *f)
{
    size_t n;
    unsigned lines = 0;

    fflush(f);
    rewind(f);
    n = fread(s_out, 1, sizeof(s_out) - 1, f);
    s_out[n] = '\0';
    fseek(f, 0, SEEK_END);
    for (size_t i = 0; i < n; i++) {
        lines += s_out[i] == '\n';
    }
    return lines;
}

static void test_repeats_are_counted(void **state)
{
    FILE *f = *state;

    log_repeat_printf(&s_lr, 0, "ward-agent: cannot write the journal: %s",
                      "No space left on device");
    for (int i = 1; i <= 37; i++) {
        log_repeat_printf(&s_lr, i * 200, "%s", ENOSPC_LINE);
    }
    assert_int_equal(output(f), 1);
    assert_string_equal(s_out, ENOSPC_LINE "\n");
    log_repeat_tick(&s_lr, 9999);
    assert_int_equal(output(f), 1); /* the window is still open */
    log_repeat_tick(&s_lr, 10000);
    assert_int_equal(output(f), 2);
    assert_string_equal(s_out, ENOSPC_LINE "\n" ENOSPC_LINE " (repeated 37 times in 10 s)\n");
    log_repeat_tick(&s_lr, 30000); /* nothing more to report */
    assert_int_equal(output(f), 2);
}

/* Another line first prints the count of the last one; a lone repeat much later is a line. */
static void test_other_line_flushes_the_count(void **state)
{
    FILE *f = *state;

    log_repeat_printf(&s_lr, 0, "a");
    log_repeat_printf(&s_lr, 2500, "a");
    log_repeat_printf(&s_lr, 3000, "b %d", 1);
    assert_int_equal(output(f), 3);
    assert_string_equal(s_out, "a\na (repeated 1 time in 3 s)\nb 1\n");
    log_repeat_printf(&s_lr, 60000, "b 1"); /* after a quiet window: printed, not counted */
    log_repeat_printf(&s_lr, 60001, "b 1");
    log_repeat_flush(&s_lr, 60500);
    assert_int_equal(output(f), 5);
    assert_string_equal(s_out,
                        "a\na (repeated 1 time in 3 s)\nb 1\nb 1\nb 1 (repeated 1 time in 1 s)\n");
}

/* The probe's case: 505 failures in 40 s, the loop ticking every 10 ms: 5 lines, 505 counted. */
static void test_full_disk_for_40_s(void **state)
{
    FILE *f = *state;
    unsigned counted = 0;
    unsigned n = 0;

    for (int64_t t = 0; t <= 40000; t += 10) {
        if (n < 505 && t >= (int64_t)n * 40000 / 505) {
            log_repeat_printf(&s_lr, t, "%s", ENOSPC_LINE);
            n++;
        }
        log_repeat_tick(&s_lr, t);
    }
    log_repeat_flush(&s_lr, 40000);
    assert_true(output(f) <= 6);
    for (const char *p = s_out; (p = strstr(p, "(repeated ")) != NULL; p++) {
        counted += (unsigned)strtoul(p + 10, NULL, 10);
    }
    assert_int_equal(n, 505);
    assert_int_equal(counted + 1, 505); /* the first line, and every other one counted */
    print_message("%s", s_out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repeats_are_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_line_flushes_the_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_for_40_s, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
