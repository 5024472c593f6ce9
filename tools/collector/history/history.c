#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "commit/bus.h"
#include "common/clock.h"
#include "common/jw.h"
#include "common/log.h"
#include "export/prom.h"
#include "history/history.h"
#include "history/hmerge.h"
#include "history/hparse.h"

enum { HQ_SNAPSHOT, HQ_EVENT };

/*
 * The writer takes the queue in batches: it looks every HQ_BATCH_MS, or at once when
 * HQ_WAKE_DEPTH documents wait. Waking it for every document cost the event loop a futex
 * wake per stored page and the writer a transaction per page (docs/benchmarks.md, "History
 * on vs off, interleaved").
 */
#define HQ_BATCH_MS   200
#define HQ_WAKE_DEPTH 256u

/* A document the bus handed over, copied: the writer parses it (hparse.h). */
struct hq_item {
    struct hq_item *next;
    int kind;
    int64_t received_ms;
    int64_t time_ms; /* events: the device's wall clock, 0 unknown */
    char device[WCOL_HIST_DEVICE_MAX + 1];
    char sensor[WCOL_HIST_SENSOR_MAX + 1];
    char from[16], to[16];
    size_t len;
    char doc[];
};

/* Documents that wake the writer early: HQ_WAKE_DEPTH, or half a shorter queue. */
static unsigned wake_depth(const struct wcol_history *h)
{
    unsigned half = h->cfg.queue / 2 > 0 ? h->cfg.queue / 2 : 1;

    return half < HQ_WAKE_DEPTH ? half : HQ_WAKE_DEPTH;
}

static void push(struct wcol_history *h, struct hq_item *it)
{
    pthread_mutex_lock(&h->mu);
    if (h->depth >= h->cfg.queue) {
        pthread_mutex_unlock(&h->mu);
        atomic_fetch_add(&h->dropped_docs, 1);
        free(it);
        return;
    }
    it->next = NULL;
    *h->tail = it;
    h->tail = &it->next;
    h->depth++;
    if (h->depth == wake_depth(h)) {
        pthread_cond_signal(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
}

static struct hq_item *item(int kind, const char *device, const char *doc, size_t len)
{
    struct hq_item *it = malloc(sizeof(*it) + len + 1);

    if (it != NULL) {
        memset(it, 0, sizeof(*it));
        it->kind = kind;
        snprintf(it->device, sizeof(it->device), "%s", device ? device : "");
        memcpy(it->doc, doc, len);
        it->doc[len] = '\0';
        it->len = len;
    }
    return it;
}

/* On the event loop: a copy and a lock, nothing else. */
static void on_report(void *ctx, const struct wcol_msg *m)
{
    const struct wcol_store_report *r = m->u.report.report;
    struct wcol_history *h = ctx;

    if (r == NULL || r->snapshot == NULL || r->snapshot_len == 0) {
        return;
    }
    struct hq_item *it = item(HQ_SNAPSHOT, r->device, r->snapshot, r->snapshot_len);

    if (it == NULL) {
        atomic_fetch_add(&h->dropped_docs, 1);
        return;
    }
    it->received_ms = r->received_ms;
    push(h, it);
}

static void on_event(void *ctx, const struct wcol_msg *m)
{
    const struct wcol_store_event *e = m->u.event;
    struct wcol_history *h = ctx;

    if (e->seq < 0 || e->sensor == NULL || e->doc == NULL) {
        return; /* the collector's own events carry no reading */
    }
    struct hq_item *it = item(HQ_EVENT, e->device, e->doc, e->doc_len);

    if (it == NULL) {
        atomic_fetch_add(&h->dropped_docs, 1);
        return;
    }
    it->received_ms = e->received_ms;
    it->time_ms = e->time_ms;
    snprintf(it->sensor, sizeof(it->sensor), "%s", e->sensor);
    snprintf(it->from, sizeof(it->from), "%s", e->from_state ? e->from_state : "");
    snprintf(it->to, sizeof(it->to), "%s", e->to_state ? e->to_state : "");
    push(h, it);
}

/* ---- the writer ---- */

/* The writer thread's own state: readings merged in memory, the page reader's buffers. */
struct writer {
    struct wcol_history *h;
    struct wcol_hstore hs;
    struct wcol_hmerge m;
    struct wcol_hpage pg;
    uint64_t flush_at; /* monotonic ms: the merged readings are written by then */
    uint64_t bytes_at; /* monotonic ms: the PostgreSQL tables measured again */
};

/* history.db, or the store's PostgreSQL database (hstore_pg.c). */
static int open_store(struct wcol_history *h, struct wcol_hstore *hs, bool read_only)
{
    if (h->conninfo != NULL) {
        return wcol_hstore_open_pg(hs, h->conninfo, &h->cfg, read_only);
    }
    return wcol_hstore_open(hs, h->path, &h->cfg, read_only);
}

/* The tables' size on PostgreSQL, read by the writer once a minute (a file's is a stat()). */
static void measure(struct writer *w)
{
    uint64_t now = wcol_now_mono();
    int64_t b;

    if (w->h->conninfo == NULL || now < w->bytes_at) {
        return;
    }
    w->bytes_at = now + 60000;
    b = wcol_hstore_bytes(&w->hs);
    if (b >= 0) {
        atomic_store(&w->h->db_bytes, (uint64_t)b);
    }
}

static void flush(struct writer *w)
{
    struct wcol_history *h = w->h;
    struct wcol_hflush f;

    w->flush_at = wcol_now_mono() + WCOL_HMERGE_FLUSH_MS;
    if (w->m.n_series == 0) {
        return;
    }
    wcol_hmerge_flush(&w->m, &w->hs, &f);
    atomic_store(&h->pending, 0);
    atomic_fetch_add(&h->flushes, 1);
    atomic_fetch_add(&h->written, f.written);
    atomic_fetch_add(&h->dropped_points, f.dropped);
    if (f.failures != 0) {
        atomic_fetch_add(&h->write_failures, f.failures);
        wcol_log_warn("history: writing %s failed; those points are lost", h->path);
    }
}

static void put(struct writer *w, const char *device, const char *sensor, int64_t t, int64_t v)
{
    if (!wcol_hmerge_room(&w->m)) {
        flush(w); /* never drop for want of room: write what is merged now */
    }
    (void)wcol_hmerge_add(&w->m, &w->hs, device, sensor, t, v); /* -EINVAL: an id too long */
}

/* A reading's time: the device says how long before its page it was read (t_ms - last_ms). */
static int64_t reading_time(const struct wcol_history *h, int64_t received,
                            const struct wcol_hpage *pg, const struct wcol_hreading *r)
{
    int64_t back = pg->t_ms - r->last_ms;

    if (!pg->has_t || !r->has_last || back < 0 ||
        back > (int64_t)h->cfg.keep_ms[WCOL_HIST_TIERS - 1]) {
        return received;
    }
    return received - back;
}

static void write_snapshot(struct writer *w, const struct hq_item *it)
{
    int rc = wcol_hparse_page(&w->pg, it->doc, it->len);

    if (rc != 0) {
        atomic_fetch_add(&w->h->write_failures, 1);
        return;
    }
    for (unsigned i = 0; i < w->pg.n; i++) {
        const struct wcol_hreading *r = &w->pg.r[i];

        put(w, it->device, r->id, reading_time(w->h, it->received_ms, &w->pg, r), r->value);
    }
}

/* The first reading out of ok is the device's own threshold, as near as the collector sees it. */
static void learn_threshold(struct wcol_hstore *hs, const struct hq_item *it, int64_t v)
{
    struct wcol_trend_rule rule;
    struct wcol_history_config any;

    wcol_history_defaults(&any);
    if (strcmp(it->from, "ok") != 0 || strcmp(it->to, "ok") == 0 ||
        !wcol_trend_rule_for(it->sensor, &any, &rule)) {
        return;
    }
    (void)wcol_hstore_threshold_learn(hs, it->device, it->sensor, rule.dir, v);
}

static void write_event(struct writer *w, const struct hq_item *it)
{
    const struct wcol_history *h = w->h;
    int64_t t = it->received_ms, far = (int64_t)h->cfg.keep_ms[WCOL_HIST_TIERS - 1], v;
    int rc = wcol_hparse_event(&w->pg, it->doc, it->len, &v);

    /* The device's wall clock when it is plausible (a device without SNTP says 0). */
    if (it->time_ms > it->received_ms - far && it->time_ms <= it->received_ms + 60000) {
        t = it->time_ms;
    }
    if (rc == 0) {
        put(w, it->device, it->sensor, t, v);
        learn_threshold(&w->hs, it, v);
    } else if (rc != -ENODATA) {
        atomic_fetch_add(&w->h->write_failures, 1);
    }
}

static void merge_all(struct writer *w, struct hq_item *list)
{
    while (list != NULL) {
        struct hq_item *next = list->next;

        if (list->kind == HQ_SNAPSHOT) {
            write_snapshot(w, list);
        } else {
            write_event(w, list);
        }
        free(list);
        list = next;
    }
    atomic_store(&w->h->pending, w->m.readings);
}

/* Take what the queue holds; merge it; write the merged readings when they are due. */
static void writer_round(struct writer *w, int64_t *next_pass)
{
    struct wcol_history *h = w->h;
    struct hq_item *list;
    bool pass;

    pthread_mutex_lock(&h->mu);
    list = h->head;
    pass = h->kick || wcol_now_wall_ms() >= *next_pass;
    h->head = NULL;
    h->tail = &h->head;
    h->depth = 0;
    h->kick = false;
    pthread_mutex_unlock(&h->mu);
    merge_all(w, list);
    /* A quiet queue writes at once: a lone page is in history.db within a round. */
    if (list == NULL || pass || wcol_now_mono() >= w->flush_at) {
        flush(w);
    }
    measure(w);
    if (pass && !h->stop) {
        int64_t now = wcol_now_wall_ms();

        *next_pass = now + (int64_t)h->cfg.trends_every_ms;
        if (wcol_history_trends_pass(h, &w->hs, now) != 0) {
            wcol_log_warn("history: the trends pass failed; retried in %llu s",
                          (unsigned long long)(h->cfg.trends_every_ms / 1000));
        }
    }
}

static void *writer_main(void *arg)
{
    struct writer w = { .h = arg };
    struct wcol_history *h = w.h;
    int64_t next_pass = wcol_now_wall_ms() + 5000;

    pthread_setname_np(pthread_self(), "wcol-history");
    /* Below the event loop: on a busy machine the acknowledgements get the CPU first. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0) {
        wcol_log_debug("history: cannot lower the writer's priority: %s", strerror(errno));
    }
    if (open_store(h, &w.hs, false) != 0) {
        return NULL;
    }
    if (wcol_hmerge_init(&w.m, WCOL_HMERGE_SERIES, WCOL_HMERGE_BUCKETS) != 0) {
        wcol_log_error("history: no memory for the writer's table; history is not written");
        wcol_hstore_close(&w.hs);
        return NULL;
    }
    w.flush_at = wcol_now_mono() + WCOL_HMERGE_FLUSH_MS;
    pthread_mutex_lock(&h->mu);
    while (!h->stop || h->head != NULL) {
        pthread_mutex_unlock(&h->mu);
        writer_round(&w, &next_pass);
        pthread_mutex_lock(&h->mu);
        if (h->depth < wake_depth(h) && !h->stop && !h->kick) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += HQ_BATCH_MS * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        }
    }
    pthread_mutex_unlock(&h->mu);
    flush(&w); /* a clean stop writes everything */
    wcol_hmerge_free(&w.m);
    wcol_hpage_free(&w.pg);
    wcol_hstore_close(&w.hs);
    return NULL;
}

/* ---- life ---- */

int wcol_history_open(struct wcol_history **out, const struct wcol_history_config *cfg,
                      const char *db_path, const char *pg_conninfo, struct wcol_bus *bus,
                      struct wcol_incidents *inc)
{
    struct wcol_history *h;
    struct wcol_hstore probe;
    const char *slash = strrchr(db_path, '/');
    int rc;

    *out = NULL;
    if (cfg->off) {
        wcol_log_info("history: off (no-history)");
        return 0;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return -ENOMEM;
    }
    h->cfg = *cfg;
    h->inc = inc;
    h->tail = &h->head;
    snprintf(h->path, sizeof(h->path), "%.*shistory.db", slash ? (int)(slash - db_path + 1) : 0,
             db_path);
    if (pg_conninfo != NULL) {
        h->conninfo = strdup(pg_conninfo);
        snprintf(h->path, sizeof(h->path), "the history in PostgreSQL");
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    /* Create the tables here, so the API's read connection finds them (on PostgreSQL they
     * are the store's migration's). */
    rc = pg_conninfo != NULL && h->conninfo == NULL ? -ENOMEM : 0;
    rc = rc ?: pg_conninfo != NULL ? 0 : wcol_hstore_open(&probe, h->path, cfg, false);
    if (rc == 0) {
        if (pg_conninfo == NULL) {
            wcol_hstore_close(&probe);
        }
        rc = open_store(h, &h->api, true);
    }
    rc = rc ?: wcol_bus_subscribe(bus, WCOL_TOPIC_REPORT_RECEIVED, on_report, h);
    rc = rc ?: wcol_bus_subscribe(bus, WCOL_TOPIC_EVENT_STORED, on_event, h);
    if (rc == 0) {
        sigset_t all, old;

        /* Signals go to the event loop's signalfd, never to this thread. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        rc = pthread_create(&h->thread, NULL, writer_main, h) != 0 ? -ENOMEM : 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (rc != 0) {
        wcol_hstore_close(&h->api);
        free(h->conninfo);
        free(h);
        return rc;
    }
    h->thread_up = true;
    *out = h;
    return 0;
}

void wcol_history_close(struct wcol_history *h)
{
    if (h == NULL) {
        return;
    }
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (h->thread_up) {
        pthread_join(h->thread, NULL);
    }
    wcol_hstore_close(&h->api);
    free(h->conninfo);
    free(h->fc);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

static uint64_t file_bytes(const char *path, const char *suffix)
{
    char p[4300];
    struct stat sb;

    snprintf(p, sizeof(p), "%s%s", path, suffix);
    return stat(p, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* The writer's counters: a family of GET /metrics and a key of GET /v1/health each. */
static const struct {
    const char *name, *type, *help, *key;
} s_fam[] = {
    { "ward_history_points_written_total", "counter", "readings written to history.db",
      "points_written" },
    { "ward_history_documents_dropped_total", "counter",
      "snapshot pages and events not written: the history queue was full", "documents_dropped" },
    { "ward_history_points_dropped_total", "counter",
      "readings of new series past history-max-series", "points_dropped" },
    { "ward_history_write_failures_total", "counter", "history.db writes that failed",
      "write_failures" },
    { "ward_history_queue_depth", "gauge", "documents waiting for the history writer",
      "queue_depth" },
    { "ward_history_db_bytes", "gauge",
      "history.db and its WAL, or the history tables on PostgreSQL, bytes", "db_bytes" },
    { "ward_trends_forecasts", "gauge",
      "sensors forecast to reach their threshold within trends-within", "forecasts" },
    { "ward_trends_passes_total", "counter", "trend passes run", "trend_passes" },
    { "ward_history_points_pending", "gauge",
      "readings merged in the writer's memory, not yet written to history.db", "points_pending" },
    { "ward_history_flushes_total", "counter",
      "transactions that wrote the merged readings to history.db", "flushes" },
};
#define HISTORY_VALUES (sizeof(s_fam) / sizeof(s_fam[0]))

/* The writer's counters, in the order of s_fam. */
static void history_values(struct wcol_history *h, uint64_t v[HISTORY_VALUES])
{
    pthread_mutex_lock(&h->mu);
    v[4] = h->depth;
    pthread_mutex_unlock(&h->mu);
    v[0] = atomic_load(&h->written);
    v[1] = atomic_load(&h->dropped_docs);
    v[2] = atomic_load(&h->dropped_points);
    v[3] = atomic_load(&h->write_failures);
    v[5] = h->conninfo != NULL ? atomic_load(&h->db_bytes)
                               : file_bytes(h->path, "") + file_bytes(h->path, "-wal");
    v[6] = atomic_load(&h->within);
    v[7] = atomic_load(&h->passes);
    v[8] = atomic_load(&h->pending);
    v[9] = atomic_load(&h->flushes);
}

void wcol_history_health(struct wcol_history *h, struct wcol_jw *w)
{
    uint64_t v[HISTORY_VALUES];

    if (h == NULL) {
        return;
    }
    history_values(h, v);
    wcol_jw_key(w, "history");
    wcol_jw_obj_begin(w);
    for (size_t i = 0; i < HISTORY_VALUES; i++) {
        wcol_jw_kuint(w, s_fam[i].key, v[i]);
    }
    wcol_jw_obj_end(w);
}

void wcol_history_metrics(struct wcol_history *h, struct wcol_prom *w)
{
    uint64_t v[HISTORY_VALUES];

    if (h == NULL) {
        return;
    }
    history_values(h, v);
    for (size_t i = 0; i < HISTORY_VALUES; i++) {
        wcol_prom_family(w, s_fam[i].name, s_fam[i].type, s_fam[i].help);
        wcol_prom_sample_u64(w, s_fam[i].name, NULL, 0, v[i]);
    }
}
