#include <errno.h>
#include <stdio.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "auth/auth.h"
#include "common/clock.h"
#include "dash/session_pg.h"
#include "export/prom.h"
#include "server/collector.h"

int wcol_access_open(struct wcol_collector *c)
{
    const struct wcol_collector_config *cfg = &c->cfg;
    struct wcol_auth_config ac = {
        .max_failures = cfg->login_max_failures,
        .lockout_ms = cfg->login_lockout_ms,
        .session_ms = cfg->session_ms,
        .source_failures = cfg->login_source_failures,
        .pg_conninfo = cfg->pg_conninfo, /* shared by the collectors on it */
    };
    /* With PostgreSQL the log is shared: one chain per collector (audit/audit_pg.h). */
    int rc = cfg->pg_conninfo != NULL ? wcol_audit_open_pg(&c->audit, cfg->pg_conninfo,
                                                           cfg->state_dir, cfg->audit_checkpoint_ms)
                                      : wcol_audit_open(&c->audit, cfg->db_path, cfg->state_dir,
                                                        cfg->audit_checkpoint_ms);

    wcol_audit_set_refusal_limit(c->audit, cfg->audit_refusals);
    rc = rc ?: wcol_auth_open(&c->auth, cfg->db_path, &ac, c->audit);
    if (rc == 0 && cfg->pg_conninfo != NULL) { /* the dashboard's logins too */
        rc = wcol_sessionpg_open(&c->sessions, cfg->pg_conninfo);
    }
    if (rc == 0) {
        (void)wcol_audit_append(c, "collector", "collector.start", "", WCOL_COLLECTOR_VERSION);
    }
    return rc;
}

void wcol_access_close(struct wcol_collector *c)
{
    if (c->audit != NULL) {
        (void)wcol_audit_append(c, "collector", "collector.stop", "", "");
    }
    wcol_sessionpg_close(&c->sessions);
    wcol_auth_close(c->auth);
    c->auth = NULL;
    wcol_audit_close(c->audit); /* a last checkpoint */
    c->audit = NULL;
}

void wcol_access_tick(struct wcol_collector *c, int64_t now_ms)
{
    wcol_audit_tick(c->audit, now_ms);
}

void wcol_access_device_refused(struct wcol_collector *c, const char *source, const char *cn,
                                const char *reason)
{
    char actor[80];
    struct wcol_audit_entry e = { .actor = actor,
                                  .source = source,
                                  .action = "device.refused",
                                  .target = cn,
                                  .outcome = "refused",
                                  .detail = reason };

    if (c->audit == NULL) {
        return;
    }
    snprintf(actor, sizeof(actor), "device:%s", cn[0] ? cn : "?");
    (void)wcol_audit_refusal(c->audit, &e);
}

void wcol_access_metrics(struct wcol_collector *c, struct wcol_prom *w, int64_t now_ms)
{
    struct wcol_auth_stats as;
    struct wcol_audit_stats au;
    static const struct wcol_prom_label ok[] = { { "result", "ok" } };
    static const struct wcol_prom_label failed[] = { { "result", "failed" } };

    wcol_auth_get_stats(c->auth, &as);
    wcol_audit_get_stats(c->audit, &au);
    const struct {
        const char *name, *help;
        uint64_t value;
    } counters[] = {
        { "ward_collector_login_lockouts_total", "Accounts locked after too many failed logins",
          as.lockouts },
        { "ward_collector_login_throttled_total",
          "Logins refused because their address failed too often", as.throttled },
        { "ward_collector_api_refused_total",
          "Operator requests refused: no valid credential (401) or not allowed (403)", as.refused },
        { "ward_collector_api_token_uses_total", "Requests made with API tokens", as.token_uses },
        { "ward_collector_audit_suppressed_total",
          "Refusals counted into an audit summary instead of an entry each", au.suppressed },
        { "ward_collector_audit_write_failures_total", "Audit entries that could not be written",
          au.failures },
    };

    wcol_prom_family(w, "ward_collector_logins_total", "counter",
                     "Operator logins by result (failed: wrong user, password or code, locked)");
    wcol_prom_sample_u64(w, "ward_collector_logins_total", ok, 1, as.logins_ok);
    wcol_prom_sample_u64(w, "ward_collector_logins_total", failed, 1, as.logins_failed);
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        wcol_prom_family(w, counters[i].name, "counter", counters[i].help);
        wcol_prom_sample_u64(w, counters[i].name, NULL, 0, counters[i].value);
    }
    wcol_prom_family(w, "ward_collector_audit_entries", "gauge", "Entries in the audit log");
    wcol_prom_sample(w, "ward_collector_audit_entries", NULL, 0, (double)au.head_seq);
    wcol_prom_family(w, "ward_collector_audit_checkpoint_age_seconds", "gauge",
                     "Seconds since the last signed audit checkpoint (-1: none yet)");
    wcol_prom_sample(w, "ward_collector_audit_checkpoint_age_seconds", NULL, 0,
                     au.checkpoint_ms > 0 ? (double)(now_ms - au.checkpoint_ms) / 1000.0 : -1);
}
