/*
 * Operator actions that must be audited (issue 13). Until the audit module is merged this is
 * a log line; the coordinator points WCOL_AUDIT at the audit log at merge (BRIEF, Wave 4).
 */
#ifndef WCOL_BACKUP_AUDIT_HOOK_H_
#define WCOL_BACKUP_AUDIT_HOOK_H_

#include "common/log.h"

#ifndef WCOL_AUDIT
#define WCOL_AUDIT(c, actor, action, target, detail)                                               \
    ((void)(c), wcol_log_info("audit: actor=%s action=%s target=%s %s", (actor), (action),         \
                              (target), (detail)))
#endif

#endif /* WCOL_BACKUP_AUDIT_HOOK_H_ */
