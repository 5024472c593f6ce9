/*
 * Backups and restores are audited (issue 13, docs/security.md). A scheduled backup runs in
 * the collector, whose audit log records it (wcol_audit_append is thread-safe). The offline
 * `ward-collector backup` has no collector: it must not write into the audit log of a state
 * directory a running collector owns, so it writes the same record as a log line (stderr,
 * the journal under systemd); `restore --verify` appends its entry to the restored state's
 * own audit log (backup/cli.c).
 */
#ifndef WCOL_BACKUP_AUDIT_HOOK_H_
#define WCOL_BACKUP_AUDIT_HOOK_H_

#include "audit/audit.h"
#include "common/log.h"

#define WCOL_AUDIT_OR_LOG(c, actor, action, target, detail)                                        \
    do {                                                                                           \
        if ((c) != NULL) {                                                                         \
            WCOL_AUDIT((c), (actor), (action), (target), (detail));                                \
        } else {                                                                                   \
            wcol_log_info("audit: actor=%s action=%s target=%s %s", (actor), (action), (target),   \
                          (detail));                                                               \
        }                                                                                          \
    } while (0)

#endif /* WCOL_BACKUP_AUDIT_HOOK_H_ */
