/*
 * Backup and verified restore of the collector's state (backup.h): the databases copied with
 * SQLite's online backup API, described by a manifest, packed by container.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <mbedtls/sha256.h>

#include "audit/audit.h"
#include "backup/backup.h"
#include "backup/container.h"
#include "backup/manifest.h"
#include "backup/util.h"

#define MAX_DBS 32

int wcol_backup_key_load(const char *path, struct wcol_backup_key *key, char *err, size_t cap)
{
    struct stat st;
    unsigned char extra;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    memset(key, 0, sizeof(*key));
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;

        if (fd >= 0) {
            close(fd);
        }
        return wbk_say(err, cap, -e, "key file %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        close(fd);
        return wbk_say(err, cap, -EPERM,
                       "key file %s must be a regular file of mode 0600 (it is %04o): chmod 600 %s",
                       path, (unsigned)(st.st_mode & 07777), path);
    }
    ssize_t n = read(fd, key->k, sizeof(key->k));
    ssize_t more = read(fd, &extra, 1);

    close(fd);
    if (n != (ssize_t)sizeof(key->k) || more != 0) {
        memset(key, 0, sizeof(*key));
        return wbk_say(err, cap, -EINVAL,
                       "key file %s must hold exactly 32 bytes (make one with: head -c 32 "
                       "/dev/urandom > FILE; chmod 600 FILE)",
                       path);
    }
    key->set = true;
    return 0;
}

/* ---- temporary directories ---- */

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    const struct dirent *e;
    char path[4400];

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

/* ---- which databases ---- */

static bool is_sqlite(const char *path)
{
    char head[16];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n = fd >= 0 ? read(fd, head, sizeof(head)) : -1;

    if (fd >= 0) {
        close(fd);
    }
    return n == (ssize_t)sizeof(head) && memcmp(head, "SQLite format 3", 16) == 0;
}

static int by_name(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    /* The store last: the incident engine's cursor into its events is then never ahead of
     * the events the copy holds (docs/operations.md). */
    int wx = strcmp(x, "ward.db") == 0, wy = strcmp(y, "ward.db") == 0;

    return wx != wy ? wx - wy : strcmp(x, y);
}

/* Every SQLite database directly in dir (NAME.db), store last. @return count, -errno. */
static int list_dbs(const char *dir, char **names, int max, char *err, size_t cap)
{
    DIR *d = opendir(dir);
    const struct dirent *e;
    char path[4400];
    int n = 0;

    if (d == NULL) {
        return wbk_say(err, cap, -errno, "cannot read the state directory %s: %s", dir,
                       strerror(errno));
    }
    while ((e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);

        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (len > 3 && len <= WBK_NAME_MAX && strcmp(e->d_name + len - 3, ".db") == 0 &&
            e->d_name[0] != '.' && is_sqlite(path)) {
            names[n] = strdup(e->d_name);
            n += names[n] != NULL;
        }
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), by_name);
    return n;
}

/* ---- the copy ---- */

/* Pages per backup step (1 MB of 4 KB pages): between two steps the stop flag is looked at,
 * so a stop waits for one step, not for the whole database. */
#define STEP_PAGES 256

/* The read transaction the copy holds on src for its whole duration: the incremental steps
 * then copy one snapshot (WAL mode: the writer goes on, and a step never restarts the copy
 * because another connection committed). */
static int hold_snapshot(sqlite3 *s)
{
    int rc = sqlite3_exec(s, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);

    for (int i = 0; rc == SQLITE_BUSY && i < 100 && !wbk_cancelled(); i++) {
        sqlite3_exec(s, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_sleep(50);
        rc = sqlite3_exec(s, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    }
    return rc;
}

/* Step b to its end, STEP_PAGES at a time. @return SQLITE_DONE, an error, or
 * SQLITE_INTERRUPT when the stop flag was set. */
static int copy_steps(sqlite3_backup *b)
{
    int rc = SQLITE_OK, busy = 0;

    while (rc != SQLITE_DONE) {
        if (wbk_cancelled()) {
            return SQLITE_INTERRUPT;
        }
        rc = sqlite3_backup_step(b, STEP_PAGES);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
            if (++busy >= 100) {
                return rc;
            }
            sqlite3_sleep(50);
        } else if (rc != SQLITE_OK && rc != SQLITE_DONE) {
            return rc;
        }
    }
    return rc;
}

/* One consistent copy of src at dst, in bounded steps over one read snapshot of src. */
static int copy_db(const char *src, const char *dst, char *err, size_t cap)
{
    sqlite3 *s = NULL, *d = NULL;
    sqlite3_backup *b;
    int rc = SQLITE_ERROR;

    if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_open_v2(dst, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        wbk_say(err, cap, -EIO, "cannot open %s for the backup: %s", src,
                sqlite3_errmsg(d != NULL ? d : s));
        goto out;
    }
    sqlite3_busy_timeout(s, 5000);
    /* Each step is a transaction on the copy: no fsync for each (the packed file is synced
     * once when complete, and an incomplete copy is never used). */
    (void)sqlite3_exec(d, "PRAGMA synchronous = OFF", NULL, NULL, NULL);
    rc = hold_snapshot(s);
    if (rc != SQLITE_OK) {
        wbk_say(err, cap, -EIO, "backup of %s: cannot read it: %s", src, sqlite3_errmsg(s));
        goto out;
    }
    b = sqlite3_backup_init(d, "main", s, "main");
    if (b == NULL) {
        wbk_say(err, cap, -EIO, "backup of %s: %s", src, sqlite3_errmsg(d));
        rc = SQLITE_ERROR;
        goto out;
    }
    rc = copy_steps(b);
    sqlite3_backup_finish(b);
    sqlite3_exec(s, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_INTERRUPT) {
        wbk_say(err, cap, -ECANCELED, "backup interrupted by stop");
        goto out;
    }
    if (rc != SQLITE_DONE) {
        wbk_say(err, cap, -EIO, "backup of %s failed: %s", src, sqlite3_errstr(rc));
        rc = SQLITE_ERROR;
        goto out;
    }
    /* A self-contained file: no WAL needed to read it (the collector sets WAL again). */
    rc = sqlite3_exec(d, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        wbk_say(err, cap, -EIO, "backup of %s: %s", src, sqlite3_errmsg(d));
    }
out:
    sqlite3_close(s);
    sqlite3_close(d);
    return rc == SQLITE_OK ? 0 : rc == SQLITE_INTERRUPT ? -ECANCELED : -EIO;
}

static int create(const char *state_dir, const char *out, const struct wcol_backup_key *key,
                  char *err, size_t cap)
{
    char *names[MAX_DBS] = { NULL };
    char tmp[4096], src[4400], dst[4400], packed[4400];
    struct wbk_writer *w = NULL;
    cJSON *man = NULL;
    char *text = NULL;
    int n, rc;

    if (access(out, F_OK) == 0) {
        return wbk_say(err, cap, -EEXIST, "%s exists: give a new file name", out);
    }
    n = list_dbs(state_dir, names, MAX_DBS, err, cap);
    if (n <= 0) {
        return n < 0 ? n : wbk_say(err, cap, -ENOENT, "no database in %s", state_dir);
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", out);
    if (mkdtemp(tmp) == NULL) {
        rc = wbk_say(err, cap, -errno, "cannot create a directory beside %s: %s", out,
                     strerror(errno));
        goto out_names;
    }
    man = wbk_manifest_new(state_dir, key != NULL && key->set);
    rc = man == NULL ? wbk_say(err, cap, -ENOMEM, "out of memory") : 0;
    for (int i = 0; i < n && rc == 0; i++) {
        snprintf(src, sizeof(src), "%s/%s", state_dir, names[i]);
        snprintf(dst, sizeof(dst), "%s/%s", tmp, names[i]);
        rc = copy_db(src, dst, err, cap);
        rc = rc ?: wbk_manifest_add(man, names[i], dst, err, cap);
    }
    text = rc == 0 ? cJSON_Print(man) : NULL;
    if (rc == 0 && text == NULL) {
        rc = wbk_say(err, cap, -ENOMEM, "out of memory");
    }
    snprintf(packed, sizeof(packed), "%s/.packed", tmp);
    rc = rc ?: wbk_open(&w, packed, key, err, cap);
    rc = rc ?: wbk_add_mem(w, "manifest.json", text, text ? strlen(text) : 0, err, cap);
    for (int i = 0; i < n && rc == 0; i++) {
        snprintf(dst, sizeof(dst), "%s/%s", tmp, names[i]);
        rc = wbk_add_file(w, names[i], dst, err, cap);
    }
    if (w != NULL) {
        if (rc == 0) {
            rc = wbk_close(w, err, cap);
        } else {
            wbk_abort(w);
        }
    }
    if (rc != 0 && wbk_cancelled()) {
        rc = wbk_say(err, cap, -ECANCELED, "backup interrupted by stop");
    }
    /* The stop flag last looked at here: once set, nothing is renamed into place. */
    if (rc == 0 && wbk_cancelled()) {
        rc = wbk_say(err, cap, -ECANCELED, "backup interrupted by stop");
    }
    if (rc == 0 && rename(packed, out) != 0) {
        rc = wbk_say(err, cap, -errno, "cannot rename the backup to %s: %s", out, strerror(errno));
    }
    remove_tree(tmp);
    free(text);
    cJSON_Delete(man);
out_names:
    for (int i = 0; i < n; i++) {
        free(names[i]);
    }
    return rc;
}

int wcol_backup_create(const char *state_dir, const char *out, const struct wcol_backup_key *key,
                       char *err, size_t cap)
{
    return wcol_backup_create_until(state_dir, out, key, NULL, err, cap);
}

int wcol_backup_create_until(const char *state_dir, const char *out,
                             const struct wcol_backup_key *key, const atomic_bool *stop, char *err,
                             size_t cap)
{
    wbk_cancel_set(stop);
    int rc = create(state_dir, out, key, err, cap);

    wbk_cancel_set(NULL);
    return rc;
}

/* ---- verification ---- */

int backup_verify_audit(sqlite3 *db, const char *path, char *err, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int found = 0;

    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'",
                           -1, &st, NULL) == SQLITE_OK) {
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    if (!found) {
        return 0;
    }
    /* The hash chain, recomputed (audit/audit.h). The checkpoints and the collector's key
     * stay in the state directory, not in the backup: an auditor checks the restored chain's
     * head against them (docs/security.md); the manifest's audit head is compared too. */
    struct wcol_audit_verdict v;
    char none[4200];

    snprintf(none, sizeof(none), "%s.no-checkpoints", path);
    if (wcol_audit_verify(path, none, none, &v) != 0 || !v.ok) {
        snprintf(err, cap, "%s: the audit chain does not verify: %s",
                 strrchr(path, '/') ? strrchr(path, '/') + 1 : path, v.problem);
        return -EBADMSG;
    }
    return 0;
}

/* Unpack and check file in dir (exists, empty). */
static int unpack_and_check(const char *file, const struct wcol_backup_key *key, const char *dir,
                            struct wcol_backup_summary *sum, char *err, size_t cap)
{
    struct wcol_backup_summary s = { 0 };
    int rc = wbk_unpack(file, key, dir, &s.encrypted, err, cap);

    rc = rc ?: wbk_manifest_check(dir, &s, err, cap);
    if (rc == 0 && sum != NULL) {
        *sum = s;
    }
    return rc;
}

int wcol_backup_verify(const char *file, const struct wcol_backup_key *key,
                       struct wcol_backup_summary *sum, char *err, size_t cap)
{
    const char *base = getenv("TMPDIR");
    char tmp[4400];
    int rc;

    snprintf(tmp, sizeof(tmp), "%s/ward-verify.XXXXXX", base != NULL && base[0] ? base : "/tmp");
    if (mkdtemp(tmp) == NULL) {
        return wbk_say(err, cap, -errno, "cannot create %s: %s", tmp, strerror(errno));
    }
    rc = unpack_and_check(file, key, tmp, sum, err, cap);
    remove_tree(tmp);
    return rc;
}

/* 0 when dir is absent or empty; -EEXIST otherwise. */
static int empty_or_absent(const char *dir)
{
    DIR *d = opendir(dir);
    const struct dirent *e;
    int rc = 0;

    if (d == NULL) {
        return errno == ENOENT ? 0 : -errno;
    }
    while ((e = readdir(d)) != NULL && rc == 0) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            rc = -EEXIST;
        }
    }
    closedir(d);
    return rc;
}

int wcol_backup_restore(const char *file, const char *new_dir, const struct wcol_backup_key *key,
                        struct wcol_backup_summary *sum, char *err, size_t cap)
{
    char tmp[4096], from[4400], to[4400];
    size_t len = strlen(new_dir);
    int rc = empty_or_absent(new_dir);

    while (len > 1 && new_dir[len - 1] == '/') {
        len--;
    }
    if (rc != 0) {
        return wbk_say(err, cap, rc, "%s %s: restore only into a new or empty directory", new_dir,
                       rc == -EEXIST ? "is not empty" : strerror(-rc));
    }
    snprintf(tmp, sizeof(tmp), "%.*s.restore.XXXXXX", (int)len, new_dir);
    if (mkdtemp(tmp) == NULL) {
        return wbk_say(err, cap, -errno, "cannot create %s: %s", tmp, strerror(errno));
    }
    rc = unpack_and_check(file, key, tmp, sum, err, cap);
    snprintf(from, sizeof(from), "%s/manifest.json", tmp);
    snprintf(to, sizeof(to), "%s/restored-from.json", tmp);
    if (rc == 0 && rename(from, to) != 0) {
        rc = wbk_say(err, cap, -errno, "cannot keep the manifest: %s", strerror(errno));
    }
    if (rc == 0 && (rmdir(new_dir) != 0 && errno != ENOENT)) {
        rc = wbk_say(err, cap, -errno, "cannot replace the empty %s: %s", new_dir, strerror(errno));
    }
    if (rc == 0 && rename(tmp, new_dir) != 0) {
        rc = wbk_say(err, cap, -errno, "cannot rename %s to %s: %s", tmp, new_dir, strerror(errno));
    }
    if (rc != 0) {
        remove_tree(tmp);
    }
    return rc;
}
