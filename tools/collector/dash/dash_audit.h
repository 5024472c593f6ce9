/*
 * Until the audit log of issue 13 (s13-access) is merged, the dashboard's audited actions
 * (login, logout) are one log line each; the coordinator points this macro at the real log.
 */
#ifndef WCOL_DASH_DASH_AUDIT_H_
#define WCOL_DASH_DASH_AUDIT_H_

#include "common/log.h"

#ifndef WCOL_AUDIT
#define WCOL_AUDIT(c, actor, action, target, detail)                                               \
    ((void)(c), wcol_log_info("audit: actor=%s action=%s target=%s %s", (actor), (action),         \
                              (target), (detail)))
#endif

#endif /* WCOL_DASH_DASH_AUDIT_H_ */
