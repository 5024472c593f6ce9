/*
 * Sensor history and trends at the collector (docs/history.md).
 *
 * Every numeric reading that reaches the collector (snapshot pages, events) becomes a point of
 * the time series (device, sensor). Points are kept in three tiers of fixed-size rings (raw,
 * 1-minute, 1-hour buckets with min, max, sum and count): a bucket's slot is
 * (bucket start / step) mod (keep / step), so a sensor never holds more than the sum of the
 * tiers' slots, whatever it sends.
 *
 * Off the ingest path: an after-commit subscriber (commit/bus.h) copies what it needs into a
 * bounded queue and returns; a thread of its own reads the readings (hparse.h), merges them per
 * bucket in memory (hmerge.h) and writes history.db beside the store's database.
 * A full queue drops (counted): history is best effort, acknowledgements never wait for it.
 */
#ifndef WCOL_HISTORY_HIST_H_
#define WCOL_HISTORY_HIST_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WCOL_HIST_TIERS      3
#define WCOL_HIST_MAX_SERIES 64u   /* series in one answer */
#define WCOL_HIST_MAX_POINTS 2000u /* points per series in one answer */
#define WCOL_HIST_SENSOR_MAX 63u
#define WCOL_HIST_DEVICE_MAX 63u

struct wcol_history_config {
    bool off;                          /* --no-history */
    uint64_t raw_step_ms;              /* raw bucket (10 s) */
    uint64_t keep_ms[WCOL_HIST_TIERS]; /* raw 48 h, 1 m 30 d, 1 h 730 d */
    unsigned queue;                    /* queued documents before dropping */
    unsigned max_series;               /* series kept; a new one past it is dropped */
    uint64_t trends_within_ms;         /* forecast horizon for incidents (90 d) */
    uint64_t trends_window_ms;         /* history a fit looks at (7 d) */
    uint64_t trends_every_ms;          /* how often the fits run (60 s) */
    unsigned trend_sectors;            /* sector-count threshold (100) */
};

/** The defaults above. */
void wcol_history_defaults(struct wcol_history_config *cfg);

/* One tier's shape, derived from the configuration. */
struct wcol_hist_tier {
    const char *name; /* "raw", "1m", "1h" */
    int64_t step_ms;
    int64_t keep_ms;
    int64_t slots; /* keep / step */
};

/** The three tiers of cfg. @return 0, -EINVAL (a step of 0 or a keep shorter than its step). */
int wcol_hist_tiers(const struct wcol_history_config *cfg,
                    struct wcol_hist_tier out[WCOL_HIST_TIERS]);

/** Unit of a sensor id (docs/protocol.md, "Sensor ids"): "mC", "rpm", "pct", "count", "". */
const char *wcol_hist_unit(const char *sensor);

/** The integer mean of sum/count, rounded half away from zero. */
int64_t wcol_hist_mean(int64_t sum, int64_t count);

/** Floor division (bucket starts of negative times too). */
int64_t wcol_hist_floor(int64_t t, int64_t step);

/**
 * Parse a time of the API: milliseconds since the epoch ("1700000000000"), "now", or relative
 * to now_ms ("-7d", "-12h", "-30m", "-45s"). @return 0, -EINVAL.
 */
int wcol_hist_parse_time(const char *s, size_t len, int64_t now_ms, int64_t *out);
/** A duration "7d", "12h", "30m", "45s", "1000" (ms). @return 0, -EINVAL. */
int wcol_hist_parse_duration(const char *s, size_t len, int64_t *out_ms);

struct wcol_history;
struct wcol_bus;
struct wcol_conn;
struct wcol_prom;
struct wcol_incidents;

/**
 * Open (creating) history.db in dir, or with pg_conninfo (the PostgreSQL storage) the history
 * tables of that database, subscribe to the bus and start the writer thread.
 * cfg->off: nothing is opened (*out is NULL) and every call below is a no-op.
 * @return 0, -EINVAL (configuration), -EIO (database, logged), -ENOMEM.
 */
int wcol_history_open(struct wcol_history **out, const struct wcol_history_config *cfg,
                      const char *db_path, const char *pg_conninfo, struct wcol_bus *bus,
                      struct wcol_incidents *inc);

/** Stop the thread (the queue is written first) and free. NULL is fine. */
void wcol_history_close(struct wcol_history *h);

/** The families of GET /metrics (points written, dropped, queue depth, db size, trends). */
void wcol_history_metrics(struct wcol_history *h, struct wcol_prom *w);

struct wcol_jw;
/** The same values as a "history" object of GET /v1/health (wardctl health). NULL: none. */
void wcol_history_health(struct wcol_history *h, struct wcol_jw *w);

/** GET /v1/devices/{id}/history and GET /v1/trends (viewer). @return true when handled. */
bool wcol_history_request(struct wcol_conn *conn, const char *who, const char *body, size_t len);

#endif /* WCOL_HISTORY_HIST_H_ */
