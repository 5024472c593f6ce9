/*
 * The audit log (docs/security.md, "Audit log"): an append-only table `audit` in the
 * collector's database where every entry holds the SHA-256 of the entry before it (a hash
 * chain), and a file of checkpoints outside the database (STATE/audit-checkpoints), each
 * the entry count and head hash signed with the collector's own ECDSA P-256 key
 * (STATE/audit-key.pem, made at first start, mode 0600; the public half in
 * STATE/audit-key.pub.pem for auditors).
 *
 * Canonical encoding of an entry (what its hash covers):
 *   hash = SHA-256( "ward-audit-v1" 0x00 || prev (32 bytes; zeros for the first entry)
 *                   || F(at_ms as decimal) || F(actor) || F(source) || F(action)
 *                   || F(target) || F(outcome) || F(detail) )
 *   F(s) = the length of s as 4 bytes big-endian, then its bytes (UTF-8, no terminator).
 * The entry's place is given by the chain (prev), not by its row number, so a reordering
 * is told apart from an edit.
 *
 * Checkpoint line: "ward-audit-checkpoint v1 count=N head=HEX at_ms=T sig=HEX", the
 * signature an ECDSA P-256 signature (DER, hex) over SHA-256 of the line before " sig=".
 *
 * Appending: each entry is its own IMMEDIATE transaction (read the head, insert), so the
 * running collector and an offline `ward-collector user add` can append to one chain.
 * Nothing in the operator API updates or deletes an entry; triggers refuse it in SQL too.
 */
#ifndef WCOL_AUDIT_AUDIT_H_
#define WCOL_AUDIT_AUDIT_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wcol_collector;
struct wcol_audit;

#define WCOL_AUDIT_FIELD_MAX 512 /* bytes of one text field; longer ones are cut */

/* Refusals (failed logins, refused tokens, refused device connections) are rate-limited:
 * at most this many entries per minute (--audit-refusals), the rest counted and written as
 * one summary entry ("audit.suppressed") when the minute ends, so a flood cannot grow the
 * table without bound: at most (limit + 1) x 1440 refusal entries a day. */
#define WCOL_AUDIT_REFUSALS_PER_MIN 60u

struct wcol_audit_entry {
    int64_t at_ms;
    const char *actor;   /* user, "token:NAME", a token file's name, "device:CN", "-" unknown */
    const char *source;  /* peer address "ADDR:PORT", "local" for offline commands */
    const char *action;  /* noun.verb: user.login, user.login.failed, token.create, ... */
    const char *target;  /* what it acted on: a user, token, incident id, device, route */
    const char *outcome; /* "ok", "refused", "failed" */
    const char *detail;
};

struct wcol_audit_stats {
    uint64_t appended;     /* entries this process wrote */
    uint64_t suppressed;   /* refusals counted into summaries instead */
    uint64_t failures;     /* appends that failed (storage) */
    int64_t head_seq;      /* entries in the table */
    int64_t checkpoint_ms; /* wall time of the last checkpoint written or found, 0 none */
};

/**
 * Open the log on the collector's database (the table made when absent) and the key and
 * checkpoint files in state_dir (the key made when absent). checkpoint_ms: how often a
 * checkpoint is written when entries were added (0: only at close).
 * @return 0, -EIO (one log line says what failed on which file), -ENOMEM.
 */
int wcol_audit_open(struct wcol_audit **out, const char *db_path, const char *state_dir,
                    uint64_t checkpoint_ms);

/** The same with the entries in PostgreSQL (conninfo), shared by the collectors on it: one
 *  chain per node (audit/audit_pg.h); key and checkpoints in state_dir as above.
 *  @return 0, -EIO, -ENOMEM. */
int wcol_audit_open_pg(struct wcol_audit **out, const char *conninfo, const char *state_dir,
                       uint64_t checkpoint_ms);

/** Refusal entries per minute (0: the default, WCOL_AUDIT_REFUSALS_PER_MIN). */
void wcol_audit_set_refusal_limit(struct wcol_audit *a, unsigned per_minute);

/** Write a last checkpoint when entries were added since the one before, then free. */
void wcol_audit_close(struct wcol_audit *a);

/**
 * Append one entry. at_ms 0 means now; NULL fields are "". @return the entry's number (> 0),
 * -EIO (storage; logged), -EINVAL (a is NULL).
 */
int64_t wcol_audit_record(struct wcol_audit *a, const struct wcol_audit_entry *e);

/** A refusal: as wcol_audit_record with outcome "refused", but at most
 *  WCOL_AUDIT_REFUSALS_PER_MIN per minute (the rest summarised). @return as record, 0 when
 *  counted into the summary. */
int64_t wcol_audit_refusal(struct wcol_audit *a, const struct wcol_audit_entry *e);

/**
 * The call for other features: an operator or configuration action of the collector c
 * (outcome "ok", source "", time now). A collector without an audit log (tests) ignores it.
 * @return 0, -EIO.
 */
int wcol_audit_append(struct wcol_collector *c, const char *actor, const char *action,
                      const char *target, const char *detail);

/* The name other features were told to use until this module existed (docs/security.md):
 * an audit entry of collector c, its result ignored (a failure is logged and counted). */
#ifndef WCOL_AUDIT
#define WCOL_AUDIT(c, actor, action, target, detail)                                               \
    ((void)wcol_audit_append((c), (actor), (action), (target), (detail)))
#endif

/** Periodic work (the collector's check timer): the refusal summary of a finished minute,
 *  and a checkpoint when one is due. */
void wcol_audit_tick(struct wcol_audit *a, int64_t now_ms);

/** Write a checkpoint now (when entries were added since the last). @return 0, -EIO. */
int wcol_audit_checkpoint(struct wcol_audit *a, int64_t now_ms);

void wcol_audit_get_stats(const struct wcol_audit *a, struct wcol_audit_stats *out);

struct wcol_jw;

struct wcol_audit_query {
    int64_t after;      /* entries with seq > after (the "next" of an earlier answer) */
    int64_t since_ms;   /* written at or after */
    const char *actor;  /* exactly, or NULL */
    const char *action; /* the action or its dotted children ("user.login": user.login.failed
                         * too; names from before the scheme match, wcol_audit_action_matches) */
    unsigned limit;
};

/** The current name of an action (docs/security.md, "Audit actions"): a name used before
 *  the dotted noun.verb scheme (login, backup, change-window-open, ...) mapped to its
 *  successor, any other returned as it is. */
const char *wcol_audit_action_name(const char *action);

/** Whether action is filter or one of its dotted children, old names translated both ways. */
bool wcol_audit_action_matches(const char *action, const char *filter);

/** {"entries": [...]} oldest first into w; *next the last seq written. @return 0, -EIO. */
int wcol_audit_list(struct wcol_audit *a, const struct wcol_audit_query *q, struct wcol_jw *w,
                    int64_t *next);

/* What verification found. */
struct wcol_audit_verdict {
    bool ok;
    int64_t entries;
    unsigned checkpoints;
    int64_t entry;     /* the first entry found wrong (its seq), 0 when none is named */
    char problem[512]; /* one line, "" when ok */
};

/**
 * Recompute the chain of the database at db_path and check every checkpoint in
 * checkpoints_path against the public key in pub_path (PEM). A missing checkpoint file
 * means no checkpoint yet (v->checkpoints 0), not a failure.
 * @return 0 (verdict filled, ok or not), -EIO (could not read; problem says why).
 */
int wcol_audit_verify(const char *db_path, const char *checkpoints_path, const char *pub_path,
                      struct wcol_audit_verdict *v);

struct wcol_audit_verdict;
/** wcol_audit_verify on the running log's own files. */
int wcol_audit_verify_live(struct wcol_audit *a, struct wcol_audit_verdict *v);

/** The same for the log in PostgreSQL (conninfo): every node's chain, and the chain of the
 *  node of state_dir's key against its checkpoints. Writes nothing. @return as verify_live. */
int wcol_audit_verify_pg(const char *conninfo, const char *state_dir, struct wcol_audit_verdict *v);

/** The same on the files of a state directory (ward.db, audit-checkpoints,
 *  audit-key.pub.pem); db_path NULL means STATE/ward.db. */
int wcol_audit_verify_state(const char *state_dir, const char *db_path,
                            struct wcol_audit_verdict *v);

#endif /* WCOL_AUDIT_AUDIT_H_ */
