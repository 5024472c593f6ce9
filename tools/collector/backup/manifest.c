/*
 * The backup's manifest (manifest.h). A file's entry holds only what can be derived from the
 * file again, so checking a restored file is describing it anew and comparing the two.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>
#include <sqlite3.h>

#include "backup/container.h"
#include "backup/util.h"
#include "backup/manifest.h"
#include "server/collector.h"

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int sha256_file(const char *path, char out[65], long long *bytes)
{
    unsigned char buf[65536], d[32];
    mbedtls_sha256_context sha;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t k = 0;

    if (fd < 0) {
        return -errno;
    }
    *bytes = 0;
    mbedtls_sha256_init(&sha);
    mbedtls_sha256_starts(&sha, 0);
    while (!wbk_cancelled() && (k = read(fd, buf, sizeof(buf))) > 0) {
        mbedtls_sha256_update(&sha, buf, (size_t)k);
        *bytes += k;
    }
    mbedtls_sha256_finish(&sha, d);
    mbedtls_sha256_free(&sha);
    close(fd);
    hex(d, sizeof(d), out);
    return wbk_cancelled() ? -ECANCELED : k < 0 ? -EIO : 0;
}

cJSON *wbk_manifest_new(const char *state_dir, bool encrypted)
{
    struct timespec ts;
    char when[32];
    struct tm tm;
    cJSON *m = cJSON_CreateObject();

    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (m == NULL || !cJSON_AddStringToObject(m, "format", "ward-backup") ||
        !cJSON_AddNumberToObject(m, "format_version", 1) ||
        !cJSON_AddStringToObject(m, "created", when) ||
        !cJSON_AddNumberToObject(m, "created_ms", (double)ms) ||
        !cJSON_AddStringToObject(m, "collector_version", WCOL_COLLECTOR_VERSION) ||
        !cJSON_AddStringToObject(m, "source", state_dir) ||
        !cJSON_AddBoolToObject(m, "encrypted", encrypted) || !cJSON_AddArrayToObject(m, "files")) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

/* One integer from sql (first column of the first row), or -1. */
static long long one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

/* The audit head: entries, and the last entry's hash column (hex when a blob). */
static int audit_head(sqlite3 *db, cJSON *entry)
{
    sqlite3_stmt *st = NULL;
    cJSON *a = cJSON_AddObjectToObject(entry, "audit_head");
    int hash_col = -1;

    if (a == NULL) {
        return -ENOMEM;
    }
    cJSON_AddNumberToObject(a, "entries", (double)one_int(db, "SELECT count(*) FROM audit"));
    if (sqlite3_prepare_v2(db, "SELECT * FROM audit ORDER BY rowid DESC LIMIT 1", -1, &st, NULL) !=
        SQLITE_OK) {
        return 0; /* a WITHOUT ROWID table: entries only */
    }
    for (int i = 0; i < sqlite3_column_count(st) && hash_col < 0; i++) {
        const char *n = sqlite3_column_name(st, i);

        hash_col = strcmp(n, "hash") == 0 || strcmp(n, "entry_hash") == 0 ? i : -1;
    }
    if (hash_col >= 0 && sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(st, hash_col);
        int n = sqlite3_column_bytes(st, hash_col);
        char *h = malloc((size_t)n * 2 + 1);

        if (h != NULL && sqlite3_column_type(st, hash_col) == SQLITE_BLOB) {
            hex(p, (size_t)n, h);
        } else if (h != NULL) {
            snprintf(h, (size_t)n * 2 + 1, "%.*s", n, (const char *)p);
        }
        cJSON_AddStringToObject(a, "hash", h != NULL ? h : "");
        free(h);
    }
    sqlite3_finalize(st);
    return 0;
}

/* Schema versions and row counts per table. */
static int describe_db(sqlite3 *db, cJSON *entry, char *err, size_t cap, const char *name)
{
    sqlite3_stmt *st = NULL;
    cJSON *tables = cJSON_AddObjectToObject(entry, "tables");
    bool audit = false;
    char sql[256];

    cJSON_AddNumberToObject(entry, "user_version", (double)one_int(db, "PRAGMA user_version"));
    if (sqlite3_prepare_v2(db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                           "'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK) {
        return wbk_say(err, cap, -EBADMSG, "%s: cannot list its tables: %s", name,
                       sqlite3_errmsg(db));
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);

        if (t == NULL || strchr(t, '"') != NULL) {
            continue;
        }
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", t);
        cJSON_AddNumberToObject(tables, t, (double)one_int(db, sql));
        audit |= strcmp(t, "audit") == 0;
        if (strcmp(t, "schema_version") == 0) {
            cJSON_AddNumberToObject(entry, "schema_version",
                                    (double)one_int(db, "SELECT max(version) FROM schema_version"));
        }
    }
    sqlite3_finalize(st);
    return audit ? audit_head(db, entry) : 0;
}

/* Size, hash and contents of the database file at path, as a manifest entry; known_sha (with
 * known_bytes) when the caller hashed the file already, else NULL. */
static cJSON *describe(const char *name, const char *path, const char *known_sha,
                       long long known_bytes, char *err, size_t cap)
{
    char sha[65] = "";
    long long bytes = known_bytes;
    sqlite3 *db = NULL;
    cJSON *e = cJSON_CreateObject();
    int rc = e == NULL ? -ENOMEM : known_sha != NULL ? 0 : sha256_file(path, sha, &bytes);

    if (rc == 0 && known_sha != NULL) {
        snprintf(sha, sizeof(sha), "%s", known_sha);
    }

    if (rc != 0) {
        wbk_say(err, cap, rc, "cannot hash %s: %s", name, strerror(-rc));
        goto fail;
    }
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddNumberToObject(e, "bytes", (double)bytes);
    cJSON_AddStringToObject(e, "sha256", sha);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        wbk_say(err, cap, -EBADMSG, "%s is not a database: %s", name, sqlite3_errmsg(db));
        goto fail;
    }
    if (describe_db(db, e, err, cap, name) != 0) {
        goto fail;
    }
    sqlite3_close(db);
    return e;
fail:
    sqlite3_close(db);
    cJSON_Delete(e);
    return NULL;
}

int wbk_manifest_add(cJSON *man, const char *name, const char *path, char *err, size_t cap)
{
    cJSON *e = describe(name, path, NULL, 0, err, cap);

    if (e == NULL) {
        return -EIO;
    }
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(man, "files"), e);
    return 0;
}

/* ---- checking ---- */

static cJSON *read_manifest(const char *dir, char *err, size_t cap)
{
    char path[4400];
    struct stat st;
    char *text;
    cJSON *m = NULL;
    int fd;

    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size > WBK_MANIFEST_MAX) {
        wbk_say(err, cap, -EBADMSG, "the manifest is missing or larger than %u bytes",
                WBK_MANIFEST_MAX);
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    text = calloc(1, (size_t)st.st_size + 1);
    if (text != NULL && read(fd, text, (size_t)st.st_size) == st.st_size) {
        m = cJSON_Parse(text);
    }
    close(fd);
    free(text);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(m, "format");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "format_version");

    if (!cJSON_IsString(f) || strcmp(f->valuestring, "ward-backup") != 0 || !cJSON_IsNumber(v) ||
        v->valuedouble != 1 || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "files"))) {
        wbk_say(err, cap, -EBADMSG, "the manifest is not a ward backup manifest (format 1)");
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

/* The first member of want that got lacks or holds differently, or a member got has that
 * want lacks; what says which. @return true when they differ. */
static bool first_difference(const cJSON *want, const cJSON *got, char *what, size_t cap)
{
    const cJSON *w;

    cJSON_ArrayForEach(w, want)
    {
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, w->string);

        if (g != NULL && cJSON_Compare(w, g, true)) {
            continue;
        }
        if (cJSON_IsObject(w) && cJSON_IsObject(g)) {
            char inner[256];

            first_difference(w, g, inner, sizeof(inner));
            snprintf(what, cap, "%s: %s", w->string, inner);
            return true;
        }
        char *x = cJSON_PrintUnformatted(w), *y = g ? cJSON_PrintUnformatted(g) : NULL;

        snprintf(what, cap, "%s is %.80s, the manifest says %.80s", w->string, y ? y : "missing",
                 x ? x : "?");
        free(x);
        free(y);
        return true;
    }
    if (cJSON_GetArraySize(want) != cJSON_GetArraySize(got)) {
        snprintf(what, cap, "holds members the manifest lacks");
        return true;
    }
    return false;
}

static int integrity(const char *name, const char *path, char *err, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    const char *res = NULL;
    int rc = -EBADMSG;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        res = (const char *)sqlite3_column_text(st, 0);
        rc = res != NULL && strcmp(res, "ok") == 0 ? 0 : -EBADMSG;
    }
    if (rc != 0) {
        wbk_say(err, cap, rc, "%s fails PRAGMA integrity_check: %.200s", name,
                res != NULL ? res : sqlite3_errmsg(db));
    }
    if (rc == 0) {
        rc = backup_verify_audit(db, path, err, cap);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static int check_one(const char *dir, const cJSON *want, char *err, size_t cap, int64_t *rows)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(want, "name");
    char path[4400], what[400] = "";
    cJSON *got;
    int rc;

    if (!cJSON_IsString(name) || strchr(name->valuestring, '/') != NULL ||
        name->valuestring[0] == '.') {
        return wbk_say(err, cap, -EBADMSG, "the manifest names a bad file");
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name->valuestring);
    if (access(path, F_OK) != 0) {
        return wbk_say(err, cap, -EBADMSG, "%s is in the manifest but not in the backup",
                       name->valuestring);
    }
    /* The file's hash first: a database the manifest does not describe is never opened. */
    const cJSON *want_sha = cJSON_GetObjectItemCaseSensitive(want, "sha256");
    char sha[65];
    long long bytes = 0;

    rc = sha256_file(path, sha, &bytes);
    if (rc != 0) {
        return wbk_say(err, cap, rc, "cannot read %s: %s", name->valuestring, strerror(-rc));
    }
    if (!cJSON_IsString(want_sha) || strcmp(want_sha->valuestring, sha) != 0) {
        return wbk_say(err, cap, -EBADMSG, "%s: sha256 is %s, the manifest says %.80s",
                       name->valuestring, sha,
                       cJSON_IsString(want_sha) ? want_sha->valuestring : "missing");
    }
    rc = integrity(name->valuestring, path, err, cap);
    got = rc == 0 ? describe(name->valuestring, path, sha, bytes, err, cap) : NULL;
    if (got == NULL) {
        return rc != 0 ? rc : -EBADMSG;
    }
    if (first_difference(want, got, what, sizeof(what))) {
        rc = wbk_say(err, cap, -EBADMSG, "%s: %s", name->valuestring, what);
    }
    const cJSON *t;

    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(got, "tables"))
    {
        *rows += (int64_t)t->valuedouble;
    }
    cJSON_Delete(got);
    return rc;
}

/* Every file of dir is in the manifest (nothing smuggled in beside it). */
static int no_strangers(const char *dir, const cJSON *files, char *err, size_t cap)
{
    DIR *d = opendir(dir);
    const struct dirent *e;
    int rc = 0;

    if (d == NULL) {
        return wbk_say(err, cap, -errno, "cannot read %s: %s", dir, strerror(errno));
    }
    while ((e = readdir(d)) != NULL && rc == 0) {
        const cJSON *f;
        bool known = e->d_name[0] == '.' || strcmp(e->d_name, "manifest.json") == 0;

        cJSON_ArrayForEach(f, files)
        {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");

            known |= cJSON_IsString(n) && strcmp(n->valuestring, e->d_name) == 0;
        }
        if (!known) {
            rc = wbk_say(err, cap, -EBADMSG, "%s is in the backup but not in its manifest",
                         e->d_name);
        }
    }
    closedir(d);
    return rc;
}

int wbk_manifest_check(const char *dir, struct wcol_backup_summary *sum, char *err, size_t cap)
{
    cJSON *m = read_manifest(dir, err, cap);
    const cJSON *files, *f;
    int rc;

    if (m == NULL) {
        return -EBADMSG;
    }
    files = cJSON_GetObjectItemCaseSensitive(m, "files");
    rc = no_strangers(dir, files, err, cap);
    cJSON_ArrayForEach(f, files)
    {
        if (rc == 0) {
            rc = check_one(dir, f, err, cap, &sum->rows);
            sum->files++;
        }
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "created_ms");

    sum->created_ms = cJSON_IsNumber(c) ? (int64_t)c->valuedouble : 0;
    if (rc == 0 && sum->files == 0) {
        rc = wbk_say(err, cap, -EBADMSG, "the manifest lists no database");
    }
    cJSON_Delete(m);
    return rc;
}
