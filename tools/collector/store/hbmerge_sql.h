/*
 * The stored heartbeat's merge in SQL, and the same merge in C as an SQL function.
 *
 * The stored heartbeat is the latest one with the sticky fields (docs/protocol.md) of the
 * last full one put back when it is compact (no config_sha256): a null in a JSON merge
 * patch removes the member, so a sticky field the full heartbeat lacked stays absent.
 * uptime_ms is derived: t_ms - uptime_ms is constant for a boot. A compact heartbeat without
 * "events" has nothing pending and the counters of the last one that carried them; one
 * without "health" has the summary of the last one that carried it (unchanged).
 *
 * HEARTBEAT_MERGE_OF(old, new) is that merge as an SQL expression over two SQL expressions
 * (the stored and the new heartbeat's text). HEARTBEAT_MERGE_C_OF(old, new, id) is the same
 * document made by ward_heartbeat_merge() (store/hbmerge.c), with the SQL expression doing
 * the merges the C code declines: the two give the same text (test_collector_hbmerge). id is
 * the device's: the C merge keeps its sticky state under it (NULL: none).
 */
#ifndef WARD_TOOLS_COLLECTOR_STORE_HBMERGE_SQL_H
#define WARD_TOOLS_COLLECTOR_STORE_HBMERGE_SQL_H

#include <sqlite3.h>

/* clang-format off */
#define HB_AT(doc, path) "json_extract(" doc ", '$." path "')"
#define HEARTBEAT_MERGE_OF(old, new)                                                               \
    "CASE WHEN " new " IS NULL THEN " old " "                                                      \
    "WHEN " old " IS NULL OR " HB_AT(new, "config_sha256") " IS NOT NULL "                        \
    "OR json_valid(" old ") = 0 THEN " new " "                                                     \
    "ELSE json_patch(" new ", json_object("                                                        \
    "'uptime_ms', " HB_AT(new, "t_ms") " - " HB_AT(old, "t_ms") " + " HB_AT(old, "uptime_ms") ", " \
    "'interval_ms', " HB_AT(old, "interval_ms") ", 'firmware', " HB_AT(old, "firmware") ", "       \
    "'board', " HB_AT(old, "board") ", 'arch', " HB_AT(old, "arch") ", "                           \
    "'config_sha256', " HB_AT(old, "config_sha256") ", "                                           \
    "'rules_sha256', " HB_AT(old, "rules_sha256") ", "                                             \
    "'loop', json_object('lag_max_ms', " HB_AT(old, "loop.lag_max_ms") "), "                       \
    "'events', CASE WHEN " HB_AT(new, "events") " IS NULL THEN "                                  \
    "json_remove(" HB_AT(old, "events") ", '$.pending') ELSE json(" HB_AT(new, "events") ") END, " \
    "'health', json(coalesce(" HB_AT(new, "health") ", " HB_AT(old, "health") ")), "              \
    "'memory', json(" HB_AT(old, "memory") "))) END"
#define HEARTBEAT_MERGE_C_OF(old, new, id)                                                         \
    "coalesce(ward_heartbeat_merge(" old ", " new ", " id "), " HEARTBEAT_MERGE_OF(old, new) ")"
/* clang-format on */

struct wcol_hbmerge;

/**
 * Define ward_heartbeat_merge(old, new, id) on db: the merged text, or NULL when the C merge
 * declines (or both are NULL), for HEARTBEAT_MERGE_C_OF, keeping the sticky state of up to
 * `devices` devices. Its context is freed with db; *ctx (if not NULL) is set to it, for
 * wcol_hbmerge_stats() while db is open.
 * @return 0, -ENOMEM, -EIO (SQLite refused the definition).
 */
int wcol_hbmerge_sql_define(sqlite3 *db, unsigned devices, struct wcol_hbmerge **ctx);

#endif
