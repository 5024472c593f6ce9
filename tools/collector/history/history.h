/* The history's shared state between the writer thread (history.c) and the API (hist_api.c). */
#ifndef WCOL_HISTORY_HISTORY_H_
#define WCOL_HISTORY_HISTORY_H_

#include <pthread.h>
#include <stdatomic.h>

#include "history/hstore.h"
#include "history/trends.h"

struct hq_item;

struct wcol_history {
    struct wcol_history_config cfg;
    char path[4200];
    char *conninfo;         /* the store's PostgreSQL database, NULL: history.db */
    struct wcol_hstore api; /* the event loop's read connection */
    struct wcol_incidents *inc;
    pthread_t thread;
    bool thread_up;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;                /* under mu */
    bool kick;                /* under mu: run the trends now (tests, wardctl trends) */
    struct hq_item *head;     /* under mu */
    struct hq_item **tail;    /* under mu */
    unsigned depth;           /* under mu */
    struct wcol_forecast *fc; /* under mu: the last pass's forecasts, soonest first */
    unsigned n_fc;
    int64_t fc_at_ms;
    _Atomic uint64_t written, dropped_docs, dropped_points, write_failures, passes;
    _Atomic uint64_t pending, flushes; /* readings merged in memory, not written yet; flushes */
    _Atomic unsigned within;           /* forecasts inside the horizon */
    _Atomic uint64_t db_bytes;         /* PostgreSQL: the tables' size, measured by the writer */
};

/** The trends pass over what hs holds (the writer thread). @return 0, -EIO, -ENOMEM. */
int wcol_history_trends_pass(struct wcol_history *h, struct wcol_hstore *hs, int64_t now);

#endif /* WCOL_HISTORY_HISTORY_H_ */
