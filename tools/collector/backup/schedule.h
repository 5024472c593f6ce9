/*
 * Scheduled backups (docs/operations.md, "Backups"): a thread of the collector, off the
 * ingest path, writes BACKUP_DIR/ward-backup-<UTC time>.wbk every backup-every, keeps the
 * newest backup-keep of them, and removes what a killed backup left behind (its *.tmp.*
 * directory) when it starts. The first backup is due backup-every after the newest one
 * already there (at once when there is none).
 */
#ifndef WCOL_BACKUP_SCHEDULE_H_
#define WCOL_BACKUP_SCHEDULE_H_

#include <stdbool.h>
#include <stdint.h>

struct wcol_backup_schedule;
struct wcol_collector;
struct wcol_conn;
struct wcol_jw;
struct wcol_prom;

struct wcol_backup_schedule_config {
    const char *state_dir;
    const char *dir; /* NULL: no scheduled backups */
    uint64_t every_ms;
    unsigned keep;
    const char *key;                  /* key file (backup.h), NULL: not encrypted */
    struct wcol_collector *collector; /* whose audit log records each backup (NULL: a log line) */
};

/**
 * Start the thread (nothing when cfg->dir is NULL: *out stays NULL).
 * @return 0, -EPERM/-EINVAL (key file, logged), -errno (the directory), -ENOMEM.
 */
int wcol_backup_schedule_start(struct wcol_backup_schedule **out,
                               const struct wcol_backup_schedule_config *cfg);

/** Stop: a backup in progress stops after its current bounded step (a few MB), leaves no
 *  backup file, logs "backup interrupted by stop" and is counted (kept in BACKUP_DIR across
 *  restarts). NULL is fine. */
void wcol_backup_schedule_stop(struct wcol_backup_schedule *s);

/** GET /v1/backups (viewer): the schedule's state and the backups in its directory.
 *  @return true when handled (answered). */
bool wcol_backup_request(struct wcol_backup_schedule *s, struct wcol_conn *conn);

/** The "backups" member of GET /v1/health (null without a schedule). */
void wcol_backup_health(struct wcol_backup_schedule *s, struct wcol_jw *w);

/** The backup families of GET /metrics (s may be NULL: nothing). */
void wcol_backup_metrics(struct wcol_backup_schedule *s, struct wcol_prom *w);

#endif /* WCOL_BACKUP_SCHEDULE_H_ */
