/*
 * The audit log in PostgreSQL (table op_audit, store/store_pg.c) when the collectors share a
 * database: one hash chain per collector node in one table. A node is a state directory and
 * its audit key: its name is the first 16 hex digits of SHA-256 of the key's public half, so
 * a chain is bound to the key that signs its checkpoints (STATE/audit-checkpoints, outside
 * the database, as with SQLite). Entries are appended with the next number of the node's
 * chain; the (node, seq) key refuses a second writer of the same number, which then reads the
 * head again. GET /v1/audit lists the entries of every node; verify checks every node's chain
 * link by link and this node's against its signed checkpoints.
 */
#ifndef WCOL_AUDIT_AUDIT_PG_H_
#define WCOL_AUDIT_AUDIT_PG_H_

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "store/pgconn.h"

struct wcol_audit_chain;
struct wcol_jw;

/** The head of node's chain: its entries and last hash (zeros when empty). @return 0, -EIO. */
int wcol_auditpg_head(struct wcol_pgconn *q, const char *node, int64_t *seq, uint8_t hash[32]);

/** Append e (fields already bounded and clean) as entry seq of node.
 *  @return 0, -EEXIST (seq taken: read the head again), -EIO. */
int wcol_auditpg_insert(struct wcol_pgconn *q, const char *node, int64_t seq,
                        const struct wcol_audit_entry *e, const uint8_t prev[32],
                        const uint8_t hash[32]);

/** {"entries": [...]} of every node, by id ("seq" in the answer is the table's id, each entry
 *  names its node and its place in that node's chain). @return 0, -EIO. */
int wcol_auditpg_list(struct wcol_pgconn *q, const struct wcol_audit_query *qq, struct wcol_jw *w,
                      int64_t *next);

/** Every node's chain, handed to check one node at a time. @return 0, -EIO, -ENOMEM, or what
 *  check returned (it stops the walk). */
int wcol_auditpg_chains(struct wcol_pgconn *q,
                        int (*check)(void *ctx, const char *node, struct wcol_audit_chain *ch),
                        void *ctx);

#endif /* WCOL_AUDIT_AUDIT_PG_H_ */
