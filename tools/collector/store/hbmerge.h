/*
 * The stored heartbeat merged in C: the same document store_sqlite.c's SQL expression
 * (HEARTBEAT_MERGE_OF in store/hbmerge_sql.h) writes, built without SQLite's JSON functions.
 *
 * The merge takes the stored heartbeat and the new one and gives what the SQL gives, byte for
 * byte, or declines: it accepts only documents whose every string, number and nesting it can
 * render exactly as SQLite 3.40's json_extract / json_object / json_patch would (no escapes or
 * control characters in strings, integers of at most 18 digits where a value is re-rendered,
 * no duplicate keys, bounded size and depth). A declined merge is done by the SQL expression,
 * so the stored document never depends on which of the two made it.
 *
 * All storage is the context's, allocated once (and a device's slot when first used): no
 * allocation per merge. A context made with room for devices also keeps each device's sticky
 * state (the members of its stored document the merge reads, store/hbmerge.c), so that the
 * next merge for that device need not parse the stored document: it is used only when the
 * stored document is byte for byte the one it was taken from, and the result is the same text
 * either way. The state of a device takes one slot of about 1.6 KiB, allocated when the slot
 * is first used; at most `devices` of them, then a device not merged lately (the clock rule)
 * gives its slot up.
 */
#ifndef WARD_TOOLS_COLLECTOR_STORE_HBMERGE_H
#define WARD_TOOLS_COLLECTOR_STORE_HBMERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nodes of one document (new, stored, patch), and bytes of the merged document. */
#define WCOL_HBMERGE_NODES 1024
#define WCOL_HBMERGE_BYTES 65536
/* Devices whose sticky state the store's merge keeps: 1.5 KiB each when used, 88 bytes of
 * table each, the table allocated (not touched) at start: 26 MiB with every slot used. */
#define WCOL_HBMERGE_DEVICES 16384

struct wcol_hbmerge;

/* What the sticky state did: merges that used it (hits), merges of a device without one
 * (misses: first merge, evicted, forgotten), merges where the stored document was not the one
 * it was taken from (stale: written by another path since), heartbeats found to change only
 * seq, t_ms and uptime_ms (liveness: wcol_hbmerge_liveness()), devices holding a slot, and
 * slots taken from another device. */
struct wcol_hbmerge_stats {
    uint64_t hits, misses, stale, liveness, evictions;
    uint32_t devices;
};

/** @return a context for merges keeping the state of up to `devices` (0: none), or NULL. */
struct wcol_hbmerge *wcol_hbmerge_new(unsigned devices);
void wcol_hbmerge_free(struct wcol_hbmerge *m);
void wcol_hbmerge_stats(const struct wcol_hbmerge *m, struct wcol_hbmerge_stats *out);

/**
 * Merge the new heartbeat `nw` into the stored one `old` (both present: the NULL cases are
 * the caller's, see HEARTBEAT_MERGE_OF) of device `dev` (NULL: keep no state for it).
 * @return 0 with *out / *out_len the merged document (the context's, valid until the next
 *         call); 1 when the result is `nw` itself, unchanged; -ENOTSUP when the merge is
 *         outside what this code renders exactly (the caller uses the SQL merge); -E2BIG when
 *         a document is larger than the context's bounds (the same: use the SQL merge).
 */
int wcol_hbmerge_run(struct wcol_hbmerge *m, const char *dev, size_t dev_len, const char *old,
                     size_t old_len, const char *nw, size_t nw_len, const char **out,
                     size_t *out_len);

/**
 * Whether merging heartbeat `nw` of device `dev` would change nothing of its stored document
 * but `seq`, `t_ms` and `uptime_ms` (`t_ms` - stored `t_ms` + stored `uptime_ms`): the stored
 * document, as this context last made or kept it for the device, is the merge of a heartbeat
 * with only `v`, `seq`, `t_ms` and `config`, and `nw` is one too, written as the agents write
 * it (`{"v":V,"seq":S,"t_ms":T,"config":"C"}`, integers of at most 15 digits, C without
 * escapes), with the same V and C. The merge is then a fixpoint but for those three members,
 * so the caller may keep *seq and *t_ms apart instead of merging (store_sqlite.c's `beats`).
 * False after wcol_hbmerge_distrust() until the device's next merge. Counted (liveness).
 */
bool wcol_hbmerge_liveness(struct wcol_hbmerge *m, const char *dev, size_t dev_len, const char *nw,
                           size_t nw_len, int64_t *seq, int64_t *t_ms);

/** The documents stored may no longer be the ones this context kept (a rollback): no
 *  liveness answer until each device's next merge. */
void wcol_hbmerge_distrust(struct wcol_hbmerge *m);

/** The device's stored document was written by another path: forget its state. */
void wcol_hbmerge_forget(struct wcol_hbmerge *m, const char *dev, size_t dev_len);

#endif
