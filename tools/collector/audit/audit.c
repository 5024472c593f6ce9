/* The audit log: appending to the hash chain, refusal limits, signed checkpoints (audit.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ward/base/hex.h"

#include "audit/audit_impl.h"
#include "audit/audit_pg.h"
#include "common/clock.h"
#include "common/log.h"
#include "server/collector.h"

void wcol_audit_hash(const uint8_t prev[32], const struct wcol_audit_entry *e, uint8_t out[32])
{
    static const char tag[] = "ward-audit-v1"; /* and its NUL */
    const char *f[6] = { e->actor, e->source, e->action, e->target, e->outcome, e->detail };
    char at[24];
    mbedtls_sha256_context h;

    snprintf(at, sizeof(at), "%lld", (long long)e->at_ms);
    mbedtls_sha256_init(&h);
    mbedtls_sha256_starts(&h, 0);
    mbedtls_sha256_update(&h, (const unsigned char *)tag, sizeof(tag));
    mbedtls_sha256_update(&h, prev, 32);
    for (int i = -1; i < 6; i++) {
        const char *s = i < 0 ? at : f[i] != NULL ? f[i] : "";
        size_t n = strlen(s);
        uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

        mbedtls_sha256_update(&h, len, 4);
        mbedtls_sha256_update(&h, (const unsigned char *)s, n);
    }
    mbedtls_sha256_finish(&h, out);
    mbedtls_sha256_free(&h);
}

/*
 * The table, in the collector's database beside the store's tables but created here (like
 * the incidents' tables), so that the store's schema versions stay the store's. Rows refuse
 * UPDATE and DELETE: tampering needs the file itself, which the chain and checkpoints reveal.
 */
static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS audit ("
    "  seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, actor TEXT NOT NULL,"
    "  source TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,"
    "  outcome TEXT NOT NULL, detail TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN "
    "  SELECT RAISE(ABORT, 'audit entries are append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN "
    "  SELECT RAISE(ABORT, 'audit entries are append-only'); END;";

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        wcol_log_error("audit: '%s' failed: %s", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

/* The head of the chain: entries and the last hash (zeros when empty). */
static int head(sqlite3 *db, int64_t *seq, uint8_t hash[32])
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1,
                                &st, NULL);

    *seq = 0;
    memset(hash, 0, 32);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == 32) {
            memcpy(hash, sqlite3_column_blob(st, 1), 32);
        }
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static void bind_field(sqlite3_stmt *st, int i, const char *s, char *buf)
{
    /* Bounded: a field longer than WCOL_AUDIT_FIELD_MAX is cut (the hash covers the cut). */
    snprintf(buf, WCOL_AUDIT_FIELD_MAX + 1, "%s", s != NULL ? s : "");
    sqlite3_bind_text(st, i, buf, -1, SQLITE_STATIC);
}

static int64_t insert(struct wcol_audit *a, const struct wcol_audit_entry *in)
{
    static char buf[6][WCOL_AUDIT_FIELD_MAX + 1];
    const char *f[6] = { in->actor, in->source, in->action, in->target, in->outcome, in->detail };
    struct wcol_audit_entry e = *in;
    uint8_t prev[32], hash[32];
    int64_t seq;
    sqlite3_stmt *st = NULL;

    if (head(a->db, &seq, prev) != 0) {
        return -EIO;
    }
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO audit (seq, at_ms, actor, source, action, target, "
                           "outcome, detail, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                           "?9, ?10)",
                           -1, &st, NULL) != SQLITE_OK) {
        return -EIO;
    }
    for (int i = 0; i < 6; i++) {
        bind_field(st, 3 + i, f[i], buf[i]);
    }
    e.actor = buf[0], e.source = buf[1], e.action = buf[2], e.target = buf[3];
    e.outcome = buf[4], e.detail = buf[5];
    wcol_audit_hash(prev, &e, hash);
    sqlite3_bind_int64(st, 1, seq + 1);
    sqlite3_bind_int64(st, 2, e.at_ms);
    sqlite3_bind_blob(st, 9, prev, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 10, hash, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);

    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? seq + 1 : -EIO;
}

/* The head of this collector's chain, whichever the backend. */
static int chain_head(struct wcol_audit *a, int64_t *seq, uint8_t hash[32])
{
    return a->pg != NULL ? wcol_auditpg_head(a->pg, a->node, seq, hash) : head(a->db, seq, hash);
}

/* A field for PostgreSQL: bounded as in SQLite, and printable ASCII only (a cut UTF-8
 * sequence or a control byte would make the server refuse the entry). */
static const char *clean_field(const char *s, char *buf)
{
    size_t i = 0;

    for (; s != NULL && s[i] != '\0' && i < WCOL_AUDIT_FIELD_MAX; i++) {
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    }
    buf[i] = '\0';
    return buf;
}

/* Append to this node's chain in PostgreSQL; another writer of the node (an offline command)
 * taking the number first makes it read the head again. @return the entry's number, -EIO. */
static int64_t insert_pg(struct wcol_audit *a, const struct wcol_audit_entry *in)
{
    static char buf[6][WCOL_AUDIT_FIELD_MAX + 1];
    struct wcol_audit_entry e = *in;
    uint8_t prev[32], hash[32];
    int64_t seq = 0;
    int rc = -EEXIST;

    e.actor = clean_field(in->actor, buf[0]), e.source = clean_field(in->source, buf[1]);
    e.action = clean_field(in->action, buf[2]), e.target = clean_field(in->target, buf[3]);
    e.outcome = clean_field(in->outcome, buf[4]), e.detail = clean_field(in->detail, buf[5]);
    for (int tries = 0; rc == -EEXIST && tries < 5; tries++) {
        rc = wcol_auditpg_head(a->pg, a->node, &seq, prev);
        if (rc == 0) {
            wcol_audit_hash(prev, &e, hash);
            rc = wcol_auditpg_insert(a->pg, a->node, seq + 1, &e, prev, hash);
        }
    }
    return rc == 0 ? seq + 1 : -EIO;
}

int64_t wcol_audit_record(struct wcol_audit *a, const struct wcol_audit_entry *in)
{
    struct wcol_audit_entry e = *in;
    int64_t seq;

    if (a == NULL) {
        return -EINVAL;
    }
    if (e.at_ms <= 0) {
        e.at_ms = wcol_now_wall_ms();
    }
    pthread_mutex_lock(&a->mu);
    if (a->pg != NULL) {
        seq = insert_pg(a, &e);
    } else {
        seq = exec(a->db, "BEGIN IMMEDIATE") == 0 ? insert(a, &e) : -EIO;
        if (seq > 0 && exec(a->db, "COMMIT") != 0) {
            seq = -EIO;
        }
        if (seq < 0) {
            (void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    if (seq < 0) {
        a->stats.failures++;
        wcol_log_error("audit: entry %s by %s not written: %s", e.action ? e.action : "?",
                       e.actor ? e.actor : "?",
                       a->db != NULL ? sqlite3_errmsg(a->db) : "PostgreSQL (see above)");
    } else {
        a->stats.appended++;
        a->stats.head_seq = seq;
    }
    pthread_mutex_unlock(&a->mu);
    return seq;
}

static void flush_suppressed(struct wcol_audit *a, int64_t now_ms)
{
    char detail[96];

    if (a->window_dropped == 0) {
        return;
    }
    snprintf(detail, sizeof(detail), "%llu more refusals in the minute from %lld ms",
             (unsigned long long)a->window_dropped, (long long)a->window_start_ms);
    a->window_dropped = 0;
    struct wcol_audit_entry e = { .at_ms = now_ms,
                                  .actor = "collector",
                                  .source = "",
                                  .action = "audit.suppressed",
                                  .target = "",
                                  .outcome = "ok",
                                  .detail = detail };

    (void)wcol_audit_record(a, &e);
}

int64_t wcol_audit_refusal(struct wcol_audit *a, const struct wcol_audit_entry *in)
{
    struct wcol_audit_entry e = *in;
    int64_t now = wcol_now_wall_ms();

    if (a == NULL) {
        return -EINVAL;
    }
    if (now - a->window_start_ms >= 60000 || now < a->window_start_ms) {
        flush_suppressed(a, now);
        a->window_start_ms = now;
        a->window_count = 0;
    }
    if (a->window_count >= a->window_max) {
        a->window_dropped++;
        a->stats.suppressed++;
        return 0;
    }
    a->window_count++;
    e.outcome = e.outcome != NULL ? e.outcome : "refused";
    return wcol_audit_record(a, &e);
}

int wcol_audit_append(struct wcol_collector *c, const char *actor, const char *action,
                      const char *target, const char *detail)
{
    struct wcol_audit_entry e = { .actor = actor,
                                  .source = "",
                                  .action = action,
                                  .target = target,
                                  .outcome = "ok",
                                  .detail = detail };

    if (c == NULL || c->audit == NULL) {
        return 0;
    }
    return wcol_audit_record(c->audit, &e) > 0 ? 0 : -EIO;
}

void wcol_audit_tick(struct wcol_audit *a, int64_t now_ms)
{
    if (a == NULL) {
        return;
    }
    if (now_ms - a->window_start_ms >= 60000) {
        flush_suppressed(a, now_ms);
    }
    if (a->interval_ms > 0 && now_ms - a->last_ckpt_try_ms >= (int64_t)a->interval_ms) {
        a->last_ckpt_try_ms = now_ms;
        (void)wcol_audit_checkpoint(a, now_ms);
    }
}

int wcol_audit_checkpoint(struct wcol_audit *a, int64_t now_ms)
{
    uint8_t hash[32];
    int64_t seq;
    char line[512];

    pthread_mutex_lock(&a->mu);
    int rc = chain_head(a, &seq, hash);

    pthread_mutex_unlock(&a->mu);
    if (rc != 0 || seq == a->last_ckpt_count) {
        return rc;
    }
    rc = wcol_audit_sign_line(a, seq, hash, now_ms, line, sizeof(line));
    if (rc != 0) {
        return rc;
    }
    int fd = open(a->ckpt_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

    if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) || fsync(fd) != 0) {
        wcol_log_error("audit: cannot append a checkpoint to %s: %s", a->ckpt_path,
                       strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -EIO;
    }
    close(fd);
    a->last_ckpt_count = seq;
    a->stats.checkpoint_ms = now_ms;
    return 0;
}

void wcol_audit_set_refusal_limit(struct wcol_audit *a, unsigned per_minute)
{
    if (a != NULL) {
        a->window_max = per_minute > 0 ? per_minute : WCOL_AUDIT_REFUSALS_PER_MIN;
    }
}

void wcol_audit_get_stats(const struct wcol_audit *a, struct wcol_audit_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (a != NULL) {
        *out = a->stats;
    }
}

/* The last checkpoint already in the file: its count and time (a restart goes on from it). */
static void last_checkpoint(struct wcol_audit *a)
{
    char line[512];
    long long count, at;
    FILE *f = fopen(a->ckpt_path, "re");

    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "ward-audit-checkpoint v1 count=%lld head=%*64s at_ms=%lld", &count,
                   &at) == 2) {
            a->last_ckpt_count = count;
            a->stats.checkpoint_ms = at;
        }
    }
    fclose(f);
}

static struct wcol_audit *audit_new(const char *state_dir, uint64_t checkpoint_ms)
{
    struct wcol_audit *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    a->interval_ms = checkpoint_ms;
    a->window_max = WCOL_AUDIT_REFUSALS_PER_MIN;
    snprintf(a->ckpt_path, sizeof(a->ckpt_path), "%s/audit-checkpoints", state_dir);
    snprintf(a->state_dir, sizeof(a->state_dir), "%s", state_dir);
    return a;
}

int wcol_audit_open(struct wcol_audit **out, const char *db_path, const char *state_dir,
                    uint64_t checkpoint_ms)
{
    struct wcol_audit *a = audit_new(state_dir, checkpoint_ms);
    uint8_t hash[32];

    *out = NULL;
    if (a == NULL) {
        return -ENOMEM;
    }
    if (sqlite3_open_v2(db_path, &a->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        wcol_log_error("audit: cannot open %s: %s", db_path,
                       a->db ? sqlite3_errmsg(a->db) : "out of memory");
        wcol_audit_close(a);
        return -EIO;
    }
    sqlite3_busy_timeout(a->db, 5000);
    if (exec(a->db, "PRAGMA synchronous = FULL") != 0 || exec(a->db, s_schema) != 0 ||
        head(a->db, &a->stats.head_seq, hash) || wcol_audit_key_open(a, state_dir) != 0) {
        wcol_audit_close(a);
        return -EIO;
    }
    last_checkpoint(a);
    a->window_start_ms = wcol_now_wall_ms();
    *out = a;
    return 0;
}

/* The node's name: the first 16 hex digits of SHA-256 of the audit key's public half. */
static int node_name(struct wcol_audit *a)
{
    unsigned char der[256], sha[32];
    int n = mbedtls_pk_write_pubkey_der(&a->key, der, sizeof(der));

    if (n <= 0 || mbedtls_sha256(der + sizeof(der) - n, (size_t)n, sha, 0) != 0) {
        return -EIO;
    }
    ward_hex_encode(sha, 8, a->node);
    return 0;
}

int wcol_audit_open_pg(struct wcol_audit **out, const char *conninfo, const char *state_dir,
                       uint64_t checkpoint_ms)
{
    struct wcol_audit *a = audit_new(state_dir, checkpoint_ms);
    uint8_t hash[32];
    int rc;

    *out = NULL;
    if (a == NULL) {
        return -ENOMEM;
    }
    rc = wcol_pgconn_open(&a->pg, conninfo, "audit");
    rc = rc ?: wcol_audit_key_open(a, state_dir);
    rc = rc ?: node_name(a);
    rc = rc ?: chain_head(a, &a->stats.head_seq, hash);
    if (rc != 0) {
        wcol_log_error("audit: cannot open the audit log in PostgreSQL");
        wcol_audit_close(a);
        return rc;
    }
    wcol_log_info("audit: entries in PostgreSQL as node %s (%lld so far)", a->node,
                  (long long)a->stats.head_seq);
    last_checkpoint(a);
    a->window_start_ms = wcol_now_wall_ms();
    *out = a;
    return 0;
}

void wcol_audit_close(struct wcol_audit *a)
{
    if (a == NULL) {
        return;
    }
    if ((a->db != NULL || a->pg != NULL) && a->key_ready) {
        flush_suppressed(a, wcol_now_wall_ms());
        (void)wcol_audit_checkpoint(a, wcol_now_wall_ms());
    }
    wcol_audit_key_free(a);
    sqlite3_close(a->db);
    wcol_pgconn_close(a->pg);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
