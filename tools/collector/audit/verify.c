/*
 * Verifying the audit log (audit.h): the chain recomputed entry by entry, then every
 * checkpoint's signature and the head it signed. The first problem is named by entry.
 *
 *   a gap in the entry numbers                  -> that entry was deleted
 *   an entry's link (prev) is not the hash of
 *   the entry before it, but of another entry  -> out of order (reordered)
 *   ... of the entry two before it              -> the one between was inserted
 *   ... of no entry at all                      -> inserted, or the one before it deleted
 *   its content does not give its hash          -> edited
 *   a checkpoint counts more entries than exist -> the tail after it was truncated
 *   a checkpoint's head is not the chain's      -> entries up to it were rewritten
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_impl.h"

int wcol_audit_chain_add(struct wcol_audit_chain *ch, int64_t seq, const struct wcol_audit_entry *e,
                         const void *prev, size_t prev_len, const void *hash, size_t hash_len)
{
    uint8_t again[32];

    if (ch->n == ch->cap) {
        size_t cap = ch->cap ? ch->cap * 2 : 1024;
        struct wcol_audit_row *r = realloc(ch->rows, cap * sizeof(*r));

        if (r == NULL) {
            return -ENOMEM;
        }
        ch->rows = r, ch->cap = cap;
    }
    struct wcol_audit_row *r = &ch->rows[ch->n++];

    memset(r, 0, sizeof(*r));
    r->seq = seq;
    if (prev_len == 32) {
        memcpy(r->prev, prev, 32);
    }
    if (hash_len == 32) {
        memcpy(r->hash, hash, 32);
    }
    wcol_audit_hash(r->prev, e, again);
    r->content_ok = memcmp(again, r->hash, 32) == 0 && prev_len == 32;
    return 0;
}

static int load_row(struct wcol_audit_chain *ch, sqlite3_stmt *st)
{
    struct wcol_audit_entry e;

    e.at_ms = sqlite3_column_int64(st, 1);
    e.actor = (const char *)sqlite3_column_text(st, 2);
    e.source = (const char *)sqlite3_column_text(st, 3);
    e.action = (const char *)sqlite3_column_text(st, 4);
    e.target = (const char *)sqlite3_column_text(st, 5);
    e.outcome = (const char *)sqlite3_column_text(st, 6);
    e.detail = (const char *)sqlite3_column_text(st, 7);
    return wcol_audit_chain_add(ch, sqlite3_column_int64(st, 0), &e, sqlite3_column_blob(st, 8),
                                (size_t)sqlite3_column_bytes(st, 8), sqlite3_column_blob(st, 9),
                                (size_t)sqlite3_column_bytes(st, 9));
}

static int load(const char *db_path, struct wcol_audit_chain *ch, struct wcol_audit_verdict *v)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc;

    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT seq, at_ms, actor, source, action, target, outcome, detail, "
                           "prev, hash FROM audit ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(v->problem, sizeof(v->problem), "cannot read the audit table of %s: %s", db_path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -EIO;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (load_row(ch, st) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        snprintf(v->problem, sizeof(v->problem), "cannot read the audit table of %s: %s", db_path,
                 sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static const struct wcol_audit_row *by_hash(const struct wcol_audit_chain *ch, const uint8_t h[32])
{
    for (size_t i = 0; i < ch->n; i++) {
        if (memcmp(ch->rows[i].hash, h, 32) == 0) {
            return &ch->rows[i];
        }
    }
    return NULL;
}

static void bad(struct wcol_audit_verdict *v, int64_t entry, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad(struct wcol_audit_verdict *v, int64_t entry, const char *fmt, ...)
{
    va_list ap;

    v->ok = false;
    v->entry = entry;
    va_start(ap, fmt);
    vsnprintf(v->problem, sizeof(v->problem), fmt, ap);
    va_end(ap);
}

/* The first broken link: which entry, and what most likely happened to it. */
static bool check_link(const struct wcol_audit_chain *ch, size_t i, struct wcol_audit_verdict *v)
{
    static const uint8_t zero[32];
    const struct wcol_audit_row *r = &ch->rows[i];
    const uint8_t *want = i == 0 ? zero : ch->rows[i - 1].hash;

    if (r->seq != (int64_t)i + 1) {
        bad(v, (int64_t)i + 1, "entry %lld was deleted (the next entry is %lld)", (long long)i + 1,
            (long long)r->seq);
        return false;
    }
    if (memcmp(r->prev, want, 32) == 0) {
        return true;
    }
    const struct wcol_audit_row *k = memcmp(r->prev, zero, 32) == 0 ? NULL : by_hash(ch, r->prev);

    if (k != NULL && i >= 2 && k == &ch->rows[i - 2]) {
        bad(v, ch->rows[i - 1].seq,
            "entry %lld was inserted (entry %lld follows the one before it)",
            (long long)ch->rows[i - 1].seq, (long long)r->seq);
    } else if (k != NULL) {
        bad(v, r->seq, "entry %lld is out of order (it was written right after entry %lld)",
            (long long)r->seq, (long long)k->seq);
    } else {
        bad(v, r->seq,
            "entry %lld does not follow entry %lld: it was inserted, or edited and rehashed, "
            "or an entry before it was deleted",
            (long long)r->seq, (long long)r->seq - 1);
    }
    return false;
}

static int check_checkpoints(const struct wcol_audit_chain *ch, const char *ckpt,
                             const char *pub_path, struct wcol_audit_verdict *v)
{
    mbedtls_pk_context pub;
    char line[512];
    unsigned lineno = 0;
    FILE *f = fopen(ckpt, "re");

    if (f == NULL) {
        return 0; /* no checkpoint yet */
    }
    mbedtls_pk_init(&pub);
    if (mbedtls_pk_parse_public_keyfile(&pub, pub_path) != 0) {
        snprintf(v->problem, sizeof(v->problem), "cannot read the public key %s", pub_path);
        fclose(f);
        mbedtls_pk_free(&pub);
        return -EIO;
    }
    while (v->ok && fgets(line, sizeof(line), f) != NULL) {
        int64_t count;
        uint8_t head[32];
        int rc = wcol_audit_check_line(&pub, line, &count, head);

        lineno++;
        if (rc != 0) {
            bad(v, 0, "checkpoint %u of %s: %s", lineno, ckpt,
                rc == -EPERM ? "the signature does not verify (forged, or another key)"
                             : "malformed line");
        } else if (count > (int64_t)ch->n) {
            bad(v, (int64_t)ch->n + 1,
                "the log was truncated: a checkpoint signed %lld entries, %lld remain",
                (long long)count, (long long)ch->n);
        } else if (count > 0 && memcmp(ch->rows[count - 1].hash, head, 32) != 0) {
            bad(v, count,
                "entries up to %lld were rewritten: entry %lld's hash is not the signed "
                "head",
                (long long)count, (long long)count);
        } else {
            v->checkpoints++;
        }
    }
    fclose(f);
    mbedtls_pk_free(&pub);
    return 0;
}

int wcol_audit_chain_verify(const struct wcol_audit_chain *ch, const char *checkpoints_path,
                            const char *pub_path, struct wcol_audit_verdict *v)
{
    v->entries += (int64_t)ch->n;
    for (size_t i = 0; i < ch->n && v->ok; i++) {
        if (check_link(ch, i, v) && !ch->rows[i].content_ok) {
            bad(v, ch->rows[i].seq, "entry %lld was edited: its content does not give its hash",
                (long long)ch->rows[i].seq);
        }
    }
    if (v->ok && checkpoints_path != NULL &&
        check_checkpoints(ch, checkpoints_path, pub_path, v) != 0) {
        v->ok = false;
        return -EIO;
    }
    return 0;
}

int wcol_audit_verify(const char *db_path, const char *checkpoints_path, const char *pub_path,
                      struct wcol_audit_verdict *v)
{
    struct wcol_audit_chain ch = { 0 };
    int rc;

    memset(v, 0, sizeof(*v));
    v->ok = true;
    rc = load(db_path, &ch, v);
    if (rc != 0) {
        v->ok = false;
        free(ch.rows);
        return rc;
    }
    rc = wcol_audit_chain_verify(&ch, checkpoints_path, pub_path, v);
    free(ch.rows);
    return rc;
}

int wcol_audit_verify_state(const char *state_dir, const char *db_path,
                            struct wcol_audit_verdict *v)
{
    char db[4200], ck[4200], pub[4200];

    snprintf(db, sizeof(db), "%s/ward.db", state_dir);
    snprintf(ck, sizeof(ck), "%s/audit-checkpoints", state_dir);
    snprintf(pub, sizeof(pub), "%s/audit-key.pub.pem", state_dir);
    return wcol_audit_verify(db_path != NULL ? db_path : db, ck, pub, v);
}
