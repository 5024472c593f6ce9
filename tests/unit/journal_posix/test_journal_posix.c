/*
 * The journal on a real file (firmware/ports/posix/journal_posix.c): a crash cutting the last
 * write at every byte offset, restart, compaction by rename, the directory lock, modes, and
 * a writer process killed with SIGKILL mid-stream losing nothing it had synced.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "journal_posix.h"
#include "ward/transport/journal.h"

static char s_dir[256];
static char s_file[300];
static struct ward_store_posix s_sp;
static struct ward_journal_entry s_idx[512];
static struct ward_journal s_j;

static int setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof(s_dir), "%s/ward-jp-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(s_dir));
    strcat(s_dir, "/state"); /* not there yet: open() creates it */
    snprintf(s_file, sizeof(s_file), "%s/journal", s_dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[600];

    (void)state;
    ward_store_posix_close(&s_sp);
    *strrchr(s_dir, '/') = '\0';
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static int open_j(void)
{
    int rc;

    ward_store_posix_close(&s_sp);
    rc = ward_store_posix_open(&s_sp, s_dir);
    if (rc != 0) {
        return rc;
    }
    return ward_journal_open(&s_j, ward_store_posix(&s_sp), s_idx, 512, 1u << 20);
}

static int append(uint64_t seq, uint8_t sev)
{
    struct ward_journal_key k;
    char payload[96];
    int n = snprintf(payload, sizeof(payload), "{\"seq\":%llu,\"sensor\":\"temp:cpu%llu\"}",
                     (unsigned long long)seq, (unsigned long long)seq % 7u);

    memset(&k, 0, sizeof(k));
    memcpy(k.boot_id, "0123456789abcdef", 16);
    k.seq = seq;
    return ward_journal_append(&s_j, &k, sev, payload, (size_t)n);
}

static off_t file_size(void)
{
    struct stat st;

    assert_int_equal(stat(s_file, &st), 0);
    return st.st_size;
}

static void check_first(uint32_t n)
{
    assert_int_equal(ward_journal_count(&s_j), n);
    for (uint32_t i = 0; i < n; i++) {
        struct ward_journal_key k;
        char buf[96];

        assert_true(ward_journal_get(&s_j, i, &k, NULL, buf, sizeof(buf)) > 0);
        assert_int_equal(k.seq, i + 1u);
    }
}

static void test_creates_private_files(void **state)
{
    struct stat st;

    (void)state;
    assert_int_equal(open_j(), 0);
    assert_int_equal(stat(s_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(s_file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_torn_last_record_at_every_byte(void **state)
{
    static uint8_t full[4096];
    off_t good;
    off_t total;
    int fd;

    (void)state;
    assert_int_equal(open_j(), 0);
    for (uint64_t s = 1; s <= 10; s++) {
        assert_int_equal(append(s, 1), 0);
    }
    assert_int_equal(ward_journal_sync(&s_j), 0); /* 1..10 are durable */
    good = file_size();
    assert_int_equal(append(11, 2), 0);
    total = file_size();
    assert_true(total > good && total < (off_t)sizeof(full));
    ward_store_posix_close(&s_sp);
    fd = open(s_file, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, full, (size_t)total), total);
    close(fd);
    for (off_t cut = good; cut < total; cut++) {
        /* the crash: the file holds the durable records and `cut - good` bytes of the last */
        fd = open(s_file, O_WRONLY | O_TRUNC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, full, (size_t)cut), cut);
        close(fd);
        assert_int_equal(open_j(), 0);
        check_first(10);
        assert_int_equal(s_j.stats.torn_bytes, (uint64_t)(cut - good));
        assert_int_equal(file_size(), good);
        /* and the journal goes on from there */
        assert_int_equal(append(11, 2), 0);
        assert_int_equal(ward_journal_sync(&s_j), 0);
        assert_int_equal(open_j(), 0);
        check_first(11);
        ward_store_posix_close(&s_sp);
    }
}

static void test_restart_keeps_acks_and_compacts(void **state)
{
    uint8_t boot[16];
    off_t before;
    int fd;

    (void)state;
    memcpy(boot, "0123456789abcdef", 16);
    assert_int_equal(open_j(), 0);
    for (uint64_t s = 1; s <= 300; s++) {
        assert_int_equal(append(s, (uint8_t)(s % 3)), 0);
    }
    assert_int_equal(ward_journal_sync(&s_j), 0);
    assert_int_equal(ward_journal_ack(&s_j, boot, 100), 100);
    assert_int_equal(ward_journal_sync(&s_j), 0);
    assert_int_equal(open_j(), 0);
    assert_int_equal(ward_journal_count(&s_j), 200);
    before = file_size();
    /* acknowledged records now dominate: the journal is rewritten by rename */
    assert_int_equal(ward_journal_ack(&s_j, boot, 290), 190);
    assert_true(file_size() < before / 5);
    assert_true(s_sp.rewrites >= 1);
    assert_int_equal(open_j(), 0);
    assert_int_equal(ward_journal_count(&s_j), 10);
    /* a journal.tmp left by a crash mid-compaction is ignored and removed */
    ward_store_posix_close(&s_sp);
    {
        char tmp[320];

        snprintf(tmp, sizeof(tmp), "%s/journal.tmp", s_dir);
        fd = open(tmp, O_WRONLY | O_CREAT, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "garbage", 7), 7);
        close(fd);
        assert_int_equal(open_j(), 0);
        assert_int_equal(access(tmp, F_OK), -1);
    }
    assert_int_equal(ward_journal_count(&s_j), 10);
    /* all acknowledged: truncated to nothing */
    assert_int_equal(ward_journal_ack(&s_j, boot, 300), 10);
    assert_int_equal(file_size(), 0);
}

static void test_second_opener_is_refused(void **state)
{
    struct ward_store_posix other;
    pid_t pid;
    int status;

    (void)state;
    assert_int_equal(open_j(), 0);
    /* flock is per open file description: another process must be refused */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _exit(ward_store_posix_open(&other, s_dir) == -EBUSY ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(ward_store_posix_open(&other, "/proc/nonexistent-ward/x"), -ENOENT);
}

/*
 * A writer killed with SIGKILL mid-stream: it appends, acknowledges everything older than
 * 100 records every 50, syncs every 5 and reports each synced sequence. Afterwards every
 * sequence it reported and had not acknowledged is in the journal.
 */
static void test_sigkill_loses_nothing_synced(void **state)
{
    static uint8_t seen[200001];
    int pfd[2];
    pid_t pid;
    uint64_t synced = 0;
    uint64_t v;
    uint64_t floor;
    struct timespec pause = { 0, 50 * 1000 * 1000 };
    uint8_t boot[16];

    (void)state;
    memcpy(boot, "0123456789abcdef", 16);
    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        if (open_j() != 0) {
            _exit(1);
        }
        for (uint64_t s = 1; s <= 200000; s++) {
            if (append(s, (uint8_t)(s % 3)) != 0) {
                _exit(1);
            }
            if (s % 50 == 0 && s > 100 && ward_journal_ack(&s_j, boot, s - 100) < 0) {
                _exit(1);
            }
            if (s % 5 == 0 &&
                (ward_journal_sync(&s_j) != 0 || write(pfd[1], &s, sizeof(s)) != sizeof(s))) {
                _exit(1);
            }
        }
        _exit(0);
    }
    close(pfd[1]);
    /* Mid-stream: after its first sync (a loaded machine may not run it at all in 50 ms, and
     * a kill before that tested nothing), then 50 ms more. read() returns 0 if it died. */
    if (read(pfd[0], &v, sizeof(v)) == sizeof(v)) {
        synced = v;
    }
    nanosleep(&pause, NULL);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    while (read(pfd[0], &v, sizeof(v)) == sizeof(v)) {
        synced = v;
    }
    close(pfd[0]);
    assert_true(synced >= 5 && synced < 200000); /* killed mid-stream */
    assert_int_equal(open_j(), 0);
    memset(seen, 0, sizeof(seen));
    for (uint32_t i = 0; i < ward_journal_count(&s_j); i++) {
        struct ward_journal_key k;
        char buf[96];

        assert_true(ward_journal_get(&s_j, i, &k, NULL, buf, sizeof(buf)) > 0);
        assert_true(k.seq >= 1 && k.seq <= 200000);
        seen[k.seq] = 1;
    }
    /*
     * The writer acknowledges before it syncs at the same step, so the kill may land after
     * the acknowledgement made at step synced + 5 (when that is a multiple of 50).
     */
    floor = (synced + 5u) / 50u * 50u;
    floor = floor > 100u ? floor - 100u : 0u;
    for (uint64_t s = floor + 1u; s <= synced; s++) {
        assert_int_equal(seen[s], 1);
    }
    assert_int_equal(s_j.stats.dropped[0] + s_j.stats.dropped[1] + s_j.stats.dropped[2], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_creates_private_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_last_record_at_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_acks_and_compacts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_opener_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_loses_nothing_synced, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
