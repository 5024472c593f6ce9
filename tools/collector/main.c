/*
 * ward-collector: receives agents' reports over mutual TLS, stores them, tracks the fleet,
 * and answers operators. Run `ward-collector --help` for the options (options.c).
 */
#include <string.h>

#include <sqlite3.h>

#include "auth/offline.h"
#include "backup/backup.h"
#include "backup/schedule.h"
#include "common/log.h"
#include "incidents/incidents.h"
#include "options.h"
#include "server/collector.h"

static int reload_options(struct wcol_collector *c, void *user)
{
    (void)c;
    (void)user;
    return wcol_options_reload();
}

static int reload_alerting(struct wcol_collector *c, void *user)
{
    (void)user;
    /* A broken file keeps the running policy (logged): the CRL and tokens still reload. */
    (void)wcol_incidents_reload(c->incidents, c->cfg.alerting_path);
    return 0;
}

static int start_backups(struct wcol_collector *c)
{
    const struct wcol_backup_schedule_config bc = {
        .state_dir = c->cfg.state_dir,
        .dir = c->cfg.backup_dir,
        .every_ms = c->cfg.backup_every_ms,
        .keep = c->cfg.backup_keep,
        .key = c->cfg.backup_key,
        .collector = c,
    };

    return wcol_backup_schedule_start(&c->backups, &bc);
}

int main(int argc, char **argv)
{
    static struct wcol_collector c;
    struct wcol_collector_config cfg;
    int rc;

    /* SQLite's memory statistics take a global mutex around every allocation (about 60 per
     * heartbeat, most in its JSON functions); nothing here reads them. Before any database
     * is opened, or SQLite refuses (harmlessly) to change it. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (argc > 1 && (strcmp(argv[1], "backup") == 0 || strcmp(argv[1], "restore") == 0)) {
        return wcol_backup_main(argc - 1, argv + 1);
    }
    rc = wcol_offline_main(argc, argv); /* user ..., audit-verify (auth/offline.h) */
    if (rc >= 0) {
        return rc;
    }
    rc = wcol_options_parse(argc, argv, &cfg);

    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    rc = wcol_collector_open(&c, &cfg);
    if (rc != 0) {
        wcol_log_error("not started (see above)");
        wcol_collector_close(&c);
        return 1;
    }
    (void)wcol_collector_on_reload(&c, reload_options, NULL);
    (void)wcol_collector_on_reload(&c, reload_alerting, NULL);
    if (start_backups(&c) != 0) {
        wcol_collector_close(&c);
        return 1;
    }
    rc = wcol_collector_run(&c);
    wcol_backup_schedule_stop(c.backups);
    c.backups = NULL;
    wcol_collector_close(&c);
    return rc == 0 ? 0 : 1;
}
