/*
 * Audit action names (docs/security.md, "Audit actions"): dotted `noun.verb`, with a third
 * part for a refused or failed attempt (`device.enroll.refused`, `user.login.failed`). Names
 * written before the scheme stay in old entries (the chain covers them, so they are never
 * rewritten); filters translate them, so `--action user.login` finds old `login` entries too
 * and `--action login` still works.
 */
#include <stdbool.h>
#include <string.h>

#include "audit/audit.h"

static const struct {
    const char *old, *now;
} s_legacy[] = {
    { "login", "user.login" },
    { "login.failed", "user.login.failed" },
    { "login.throttled", "user.login.throttled" },
    { "login.locked", "user.login.locked" },
    { "login.lockout", "user.lock" },
    { "logout", "user.logout" },
    { "change-window-open", "change.open" },
    { "change-window-close", "change.close" },
    { "backup", "backup.create" },
    { "restore", "backup.restore" },
};

const char *wcol_audit_action_name(const char *action)
{
    for (size_t i = 0; action != NULL && i < sizeof(s_legacy) / sizeof(s_legacy[0]); i++) {
        if (strcmp(action, s_legacy[i].old) == 0) {
            return s_legacy[i].now;
        }
    }
    return action;
}

static bool is_or_under(const char *action, const char *filter)
{
    size_t n = strlen(filter);

    return strncmp(action, filter, n) == 0 && (action[n] == '\0' || action[n] == '.');
}

/* The filter as given ("backup": every backup.*) or translated ("login": user.login.*). */
bool wcol_audit_action_matches(const char *action, const char *filter)
{
    const char *a = wcol_audit_action_name(action);

    return a != NULL && filter != NULL &&
           (is_or_under(a, filter) || is_or_under(a, wcol_audit_action_name(filter)));
}
