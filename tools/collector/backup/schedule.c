/*
 * Scheduled backups (schedule.h). The thread copies with its own SQLite connections; in WAL
 * mode the collector's writer is never blocked by the copy's read transaction.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "backup/audit_hook.h"
#include "backup/backup.h"
#include "backup/schedule.h"
#include "cluster/cluster.h"
#include "common/clock.h"
#include "common/log.h"
#include "api/api.h"
#include "common/jw.h"
#include "export/prom.h"
#include "server/collector.h"
#include "server/conn.h"

#define PREFIX     "ward-backup-"
#define SUFFIX     ".wbk"
#define MAX_LISTED 4096
/* In BACKUP_DIR: how many backups a stop interrupted and when the last one was ("N MS\n"),
 * so that the count survives the stop that made it. */
#define INTERRUPTED_FILE ".interrupted"

struct wcol_backup_schedule {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    atomic_bool stopping; /* the backup in progress looks at it between bounded steps */
    char dir[4096];
    char state[4096];
    uint64_t every_ms;
    unsigned keep;
    struct wcol_backup_key key;
    struct wcol_collector *collector;
    /* under mu, for /metrics */
    uint64_t ok, failed, pruned, interrupted;
    int64_t last_ok_ms, last_interrupted_ms;
    double last_seconds;
    long long last_bytes;
    bool running;
};

static bool is_backup_name(const char *n)
{
    size_t len = strlen(n);

    return strncmp(n, PREFIX, strlen(PREFIX)) == 0 && len > strlen(PREFIX SUFFIX) &&
           strcmp(n + len - strlen(SUFFIX), SUFFIX) == 0;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The backups in dir, oldest first (the names sort by time). @return count. */
static int list_backups(const char *dir, char **names, int max)
{
    DIR *d = opendir(dir);
    const struct dirent *e;
    int n = 0;

    while (d != NULL && (e = readdir(d)) != NULL && n < max) {
        if (is_backup_name(e->d_name) && (names[n] = strdup(e->d_name)) != NULL) {
            n++;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    qsort(names, (size_t)n, sizeof(names[0]), by_str);
    return n;
}

/* What a killed backup left: PREFIX...SUFFIX.tmp.XXXXXX directories and their files. */
static void remove_leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    const struct dirent *e;
    char path[4400], inner[4700];

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0 ||
            strstr(e->d_name, SUFFIX ".tmp.") == NULL) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        DIR *sub = opendir(path);
        const struct dirent *f;

        while (sub != NULL && (f = readdir(sub)) != NULL) {
            snprintf(inner, sizeof(inner), "%s/%s", path, f->d_name);
            if (f->d_name[0] != '.' || strlen(f->d_name) > 2) {
                unlink(inner);
            }
        }
        if (sub != NULL) {
            closedir(sub);
        }
        if (rmdir(path) == 0) {
            wcol_log_warn("backup: removed %s, left by an interrupted backup", path);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
}

/* Keep the newest s->keep backups. */
static void prune(struct wcol_backup_schedule *s)
{
    char *names[MAX_LISTED], path[4400];
    int n = list_backups(s->dir, names, MAX_LISTED);

    for (int i = 0; i < n; i++) {
        if (i < n - (int)s->keep) {
            snprintf(path, sizeof(path), "%s/%s", s->dir, names[i]);
            if (unlink(path) == 0) {
                wcol_log_info("backup: removed %s (backup-keep %u)", path, s->keep);
                pthread_mutex_lock(&s->mu);
                s->pruned++;
                pthread_mutex_unlock(&s->mu);
            }
        }
        free(names[i]);
    }
}

/* Wall-clock ms when the next backup is due: every_ms after the newest one present. */
static int64_t next_due(const struct wcol_backup_schedule *s)
{
    char *names[MAX_LISTED], path[4400];
    int n = list_backups(s->dir, names, MAX_LISTED);
    int64_t due = 0;
    struct stat st;

    if (n > 0) {
        snprintf(path, sizeof(path), "%s/%s", s->dir, names[n - 1]);
        if (stat(path, &st) == 0) {
            due = (int64_t)st.st_mtime * 1000 + (int64_t)s->every_ms;
        }
    }
    for (int i = 0; i < n; i++) {
        free(names[i]);
    }
    return due;
}

/* The interrupted count and time from INTERRUPTED_FILE (absent: none yet). */
static void load_interrupted(struct wcol_backup_schedule *s)
{
    char path[4400];
    unsigned long long n = 0;
    long long ms = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/" INTERRUPTED_FILE, s->dir);
    f = fopen(path, "re");
    if (f != NULL && fscanf(f, "%llu %lld", &n, &ms) == 2 && ms >= 0) {
        s->interrupted = n;
        s->last_interrupted_ms = ms;
    }
    if (f != NULL) {
        fclose(f);
    }
}

/* Under mu: INTERRUPTED_FILE rewritten (a new file renamed over it). */
static void save_interrupted(const struct wcol_backup_schedule *s)
{
    char path[4400], tmp[4500];
    FILE *f;

    snprintf(path, sizeof(path), "%s/" INTERRUPTED_FILE, s->dir);
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    f = fopen(tmp, "we");
    if (f == NULL) {
        return;
    }
    fprintf(f, "%llu %lld\n", (unsigned long long)s->interrupted,
            (long long)s->last_interrupted_ms);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
    }
}

static void run_one(struct wcol_backup_schedule *s)
{
    char path[4400], stamp[32], err[WCOL_BACKUP_ERR_MAX], detail[4200];
    int64_t now = wcol_now_wall_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    struct stat st;
    uint64_t t0 = wcol_now_mono();

    if (atomic_load(&s->stopping)) {
        return; /* stopped as it came due: not begun, not interrupted */
    }
    gmtime_r(&secs, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
    snprintf(path, sizeof(path), "%s/" PREFIX "%s.%03dZ" SUFFIX, s->dir, stamp, (int)(now % 1000));
    pthread_mutex_lock(&s->mu);
    s->running = true;
    pthread_mutex_unlock(&s->mu);
    int rc = wcol_backup_create_until(s->state, path, &s->key, &s->stopping, err, sizeof(err));
    double secs_taken = (double)(wcol_now_mono() - t0) / 1000.0;

    pthread_mutex_lock(&s->mu);
    s->running = false;
    if (rc == 0) {
        s->ok++;
        s->last_ok_ms = now;
        s->last_seconds = secs_taken;
        s->last_bytes = stat(path, &st) == 0 ? (long long)st.st_size : 0;
    } else if (rc == -ECANCELED) {
        s->interrupted++;
        s->last_interrupted_ms = wcol_now_wall_ms();
        save_interrupted(s);
    } else {
        s->failed++;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == 0) {
        wcol_log_info("backup: wrote %s in %.2f s", path, secs_taken);
        prune(s);
    } else if (rc == -ECANCELED) {
        wcol_log_warn("backup interrupted by stop after %.2f s: %s not written (the next start "
                      "backs up again)",
                      secs_taken, path);
    } else {
        wcol_log_error("backup: %s (the next attempt in backup-every)", err);
    }
    snprintf(detail, sizeof(detail), "scheduled state=%s result=%s", s->state,
             rc == 0            ? "ok"
             : rc == -ECANCELED ? "interrupted"
                                : "failed");
    WCOL_AUDIT_OR_LOG(s->collector, "collector", "backup.create", path, detail);
}

static void *schedule_main(void *arg)
{
    struct wcol_backup_schedule *s = arg;

    pthread_setname_np(pthread_self(), "wcol-backup");
    /* Below the event loop: on a busy machine the copy waits for the CPU, not the acks. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    remove_leftovers(s->dir);
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        int64_t wait_ms = next_due(s) - wcol_now_wall_ms();

        if (wait_ms <= 0 && s->collector != NULL &&
            !wcol_cluster_is_leader(s->collector->cluster)) {
            wait_ms = 5000; /* several collectors on PostgreSQL: the leader backs up */
        }

        if (wait_ms > 0) {
            struct timespec ts;

            clock_gettime(CLOCK_MONOTONIC, &ts);
            wait_ms = wait_ms > 3600000 ? 3600000 : wait_ms; /* the wall clock may jump */
            ts.tv_sec += (time_t)(wait_ms / 1000);
            ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        run_one(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int wcol_backup_schedule_start(struct wcol_backup_schedule **out,
                               const struct wcol_backup_schedule_config *cfg)
{
    struct wcol_backup_schedule *s;
    pthread_condattr_t ca;
    sigset_t all, old;
    char err[WCOL_BACKUP_ERR_MAX];
    int rc;

    *out = NULL;
    if (cfg->dir == NULL) {
        return 0;
    }
    if (mkdir(cfg->dir, 0700) != 0 && errno != EEXIST) {
        rc = -errno;
        wcol_log_error("backup-dir %s: %s", cfg->dir, strerror(errno));
        return rc;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    if (cfg->key != NULL && (rc = wcol_backup_key_load(cfg->key, &s->key, err, sizeof(err))) != 0) {
        wcol_log_error("backup-key: %s", err);
        free(s);
        return rc;
    }
    snprintf(s->dir, sizeof(s->dir), "%s", cfg->dir);
    snprintf(s->state, sizeof(s->state), "%s", cfg->state_dir);
    s->every_ms = cfg->every_ms;
    s->keep = cfg->keep;
    s->collector = cfg->collector;
    atomic_init(&s->stopping, false);
    load_interrupted(s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    /* Signals stay with the event loop's signalfd. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&s->thread, NULL, schedule_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return -rc;
    }
    wcol_log_info("backup: every %llu s into %s, keeping %u%s",
                  (unsigned long long)(cfg->every_ms / 1000), cfg->dir, cfg->keep,
                  s->key.set ? " (AES-256-GCM)" : "");
    *out = s;
    return 0;
}

void wcol_backup_schedule_stop(struct wcol_backup_schedule *s)
{
    if (s == NULL) {
        return;
    }
    atomic_store(&s->stopping, true);
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    memset(&s->key, 0, sizeof(s->key));
    free(s);
}

void wcol_backup_metrics(struct wcol_backup_schedule *s, struct wcol_prom *w)
{
    static const struct wcol_prom_label ok = { "result", "ok" }, bad = { "result", "failed" },
                                        cut = { "result", "interrupted" };

    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    wcol_prom_family(w, "ward_collector_backups_total", "counter",
                     "Scheduled backups written (ok), failed, or interrupted by a stop (counted "
                     "over restarts)");
    wcol_prom_sample_u64(w, "ward_collector_backups_total", &ok, 1, s->ok);
    wcol_prom_sample_u64(w, "ward_collector_backups_total", &bad, 1, s->failed);
    wcol_prom_sample_u64(w, "ward_collector_backups_total", &cut, 1, s->interrupted);
    wcol_prom_family(w, "ward_collector_backups_pruned_total", "counter",
                     "Backups removed by backup-keep");
    wcol_prom_sample_u64(w, "ward_collector_backups_pruned_total", NULL, 0, s->pruned);
    wcol_prom_family(w, "ward_collector_backup_last_success_timestamp_seconds", "gauge",
                     "When the last scheduled backup completed (0 never)");
    wcol_prom_sample(w, "ward_collector_backup_last_success_timestamp_seconds", NULL, 0,
                     (double)s->last_ok_ms / 1000.0);
    wcol_prom_family(w, "ward_collector_backup_last_duration_seconds", "gauge",
                     "How long the last successful backup took");
    wcol_prom_sample(w, "ward_collector_backup_last_duration_seconds", NULL, 0, s->last_seconds);
    wcol_prom_family(w, "ward_collector_backup_last_bytes", "gauge",
                     "Size of the last successful backup file");
    wcol_prom_sample(w, "ward_collector_backup_last_bytes", NULL, 0, (double)s->last_bytes);
    wcol_prom_family(w, "ward_collector_backup_running", "gauge", "1 while a backup is written");
    wcol_prom_sample(w, "ward_collector_backup_running", NULL, 0, s->running ? 1.0 : 0.0);
    pthread_mutex_unlock(&s->mu);
}

static void backup_files(const struct wcol_backup_schedule *s, struct wcol_jw *w)
{
    char *names[MAX_LISTED], path[4400];
    int n = list_backups(s->dir, names, MAX_LISTED);
    struct stat st;

    wcol_jw_key(w, "files");
    wcol_jw_arr_begin(w);
    for (int i = n - 1; i >= 0; i--) {
        snprintf(path, sizeof(path), "%s/%s", s->dir, names[i]);
        if (stat(path, &st) == 0) {
            wcol_jw_obj_begin(w);
            wcol_jw_kstr(w, "name", names[i]);
            wcol_jw_kint(w, "bytes", (int64_t)st.st_size);
            wcol_jw_kint(w, "mtime_ms", (int64_t)st.st_mtime * 1000);
            wcol_jw_obj_end(w);
        }
        free(names[i]);
    }
    wcol_jw_arr_end(w);
}

/* Under mu: the results so far (GET /v1/backups and /v1/health). */
static void counters(const struct wcol_backup_schedule *s, struct wcol_jw *w)
{
    wcol_jw_kuint(w, "ok", s->ok);
    wcol_jw_kuint(w, "failed", s->failed);
    wcol_jw_kuint(w, "interrupted", s->interrupted);
    wcol_jw_kint(w, "last_ok_ms", s->last_ok_ms);
    wcol_jw_kint(w, "last_interrupted_ms", s->last_interrupted_ms);
    wcol_jw_key(w, "running");
    wcol_jw_bool(w, s->running);
}

bool wcol_backup_request(struct wcol_backup_schedule *s, struct wcol_conn *conn)
{
    const struct wcol_http_request *r = wcol_conn_request(conn);
    struct wcol_jw w;

    if (r->target_len != 11 || memcmp(r->target, "/v1/backups", 11) != 0) {
        return false;
    }
    if (r->method != WCOL_HTTP_GET) {
        wcol_conn_wrong_method(conn, "GET");
        return true;
    }
    wcol_jw_init(&w, 1u << 20);
    wcol_jw_obj_begin(&w);
    wcol_jw_key(&w, "schedule");
    if (s == NULL) {
        wcol_jw_null(&w);
        wcol_jw_obj_end(&w);
        wcol_api_send_doc(conn, &w);
        return true;
    }
    pthread_mutex_lock(&s->mu);
    wcol_jw_obj_begin(&w);
    wcol_jw_kstr(&w, "dir", s->dir);
    wcol_jw_kuint(&w, "every_s", s->every_ms / 1000);
    wcol_jw_kuint(&w, "keep", s->keep);
    wcol_jw_key(&w, "encrypted");
    wcol_jw_bool(&w, s->key.set);
    counters(s, &w);
    wcol_jw_kint(&w, "last_duration_ms", (int64_t)(s->last_seconds * 1000.0));
    wcol_jw_kint(&w, "last_bytes", s->last_bytes);
    wcol_jw_obj_end(&w);
    pthread_mutex_unlock(&s->mu);
    backup_files(s, &w);
    wcol_jw_obj_end(&w);
    wcol_api_send_doc(conn, &w);
    return true;
}

void wcol_backup_health(struct wcol_backup_schedule *s, struct wcol_jw *w)
{
    wcol_jw_key(w, "backups");
    if (s == NULL) {
        wcol_jw_null(w);
        return;
    }
    pthread_mutex_lock(&s->mu);
    wcol_jw_obj_begin(w);
    counters(s, w);
    wcol_jw_obj_end(w);
    pthread_mutex_unlock(&s->mu);
}
