/*
 * Backups and restores are audited (issue 13, docs/security.md). A scheduled backup runs in
 * the collector, whose audit log records it (wcol_audit_append is thread-safe). The offline
 * `ward-collector backup` appends its entry to the audit log of the state it copied, and
 * `restore --verify` to the restored state's, under the log's rules, so beside a running
 * collector too (backup/cli.c). Only without an audit log is the record a log line (stderr,
 * the journal under systemd).
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
