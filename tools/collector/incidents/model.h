/*
 * The incident model inside tools/collector/incidents/: the rows (incidents, timeline, outbox,
 * silences) and the changes every writer shares, so that the engine (engine.c) and the operator
 * API (inc_api.c) change an incident the same way: the row, a timeline entry and the
 * notifications it causes, in the caller's transaction.
 */
#ifndef WCOL_INCIDENTS_MODEL_H_
#define WCOL_INCIDENTS_MODEL_H_

#include <pthread.h>
#include "incidents/idb.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "incidents/policy.h"

#define WCOL_INC_NOTE_MAX    1000u /* bytes of a note, a cause, a follow-up */
#define WCOL_INC_WHO_MAX     63u
#define WCOL_INC_COMP_MAX    63u
#define WCOL_INC_PARENT_DEV  "*"
#define WCOL_INC_PARENT_COMP "silence-group"

struct wcol_incidents {
    /* The engine and the sender read pol without a lock inside a pass they enter with
     * wcol_inc_pol_enter(); a SIGHUP reload (the event loop) replaces it only while no pass is
     * inside, so a pass never sees half of one file and half of the other. */
    struct wcol_policy pol;
    struct wcol_policy *pol_next; /* loaded, waiting for the passes inside to leave; under mu */
    unsigned pol_users;           /* passes inside; under mu */
    char default_url[WCOL_POL_TEXT_MAX]; /* base_url when the file names no external-url */
    char db_path[4096];  /* the store's database: events, snapshots (read only here) */
    char inc_path[4096]; /* incidents.db beside it: every incident table */
    char *pg_conninfo;   /* non-NULL: the tables are in the store's PostgreSQL (idb.h) */
    /* The engine and the sender work only on the cluster's leader (always with SQLite); the
     * event loop sets it from the election (wcol_incidents_set_leader). */
    _Atomic bool leader;
    char base_url[WCOL_POL_TEXT_MAX];
    struct wcol_idb *api_db; /* the event loop's: operator reads and changes */
    pthread_t engine, sender;
    bool engine_up, sender_up;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic bool stop;
    bool wake_engine;
    bool wake_sender;
    _Atomic uint64_t evaluated, opened, sent, send_failures;
    _Atomic uint64_t pruned;    /* delivered outbox rows removed (sender.c) */
    struct wcol_drills *drills; /* drills.c */
};

/* Live states: open, reopened, acknowledged. Then resolved, closed. */
struct wcol_incident {
    int64_t id;
    char device[64];
    char component[WCOL_INC_COMP_MAX + 1];
    char state[16];
    int severity;
    int64_t opened_ms, acked_ms, resolved_ms, closed_ms, first_event_ms;
    int64_t healthy_since_ms, healthy_t_ms, last_bad_t_ms;
    char last_boot[40];
    char last_state[16];
    int64_t events, flap_start_ms, transitions;
    int flapping;
    int64_t parent;
    int is_parent, escalated;
    int64_t resend_ms;
    int reopened;
    char assignee[WCOL_INC_WHO_MAX + 1];
    char commander[WCOL_INC_WHO_MAX + 1];
    char runbook[WCOL_POL_TEXT_MAX];
    int drill;        /* opened by a drill's sensor ("drill:..."): every notification says so */
    int64_t drill_id; /* the drill it belongs to (drills.c), 0 unknown */
};

bool wcol_inc_live(const char *state);
const char *wcol_inc_sev_name(int rank);
int64_t wcol_inc_now_ms(void);

/**
 * Open incidents.db (created 0600, WAL, full fsync) with the store's database attached read
 * only as "w", so events and snapshots are read where they are and ingest's writer never
 * meets an incident writer's lock. @return 0, -EIO.
 */
/* who: the PostgreSQL connection's name in health and /metrics (one per user). */
int wcol_inc_db_open(struct wcol_idb **db, const struct wcol_incidents *in, int busy_ms,
                     const char *who);
/** The incident tables' own ordered migrations (incidents_schema). @return 0, -EIO. */
int wcol_inc_db_migrate(struct wcol_idb *db);
int wcol_inc_exec(struct wcol_idb *db, const char *sql);

/* An incident row's columns, in the order wcol_inc_row() reads them. */
#define INC_COLS                                                                                   \
    "id, device, component, state, severity, opened_ms, acked_ms, resolved_ms, closed_ms, "        \
    "first_event_ms, healthy_since_ms, healthy_t_ms, last_bad_t_ms, last_boot, last_state, "       \
    "events, flap_start_ms, transitions, flapping, parent, is_parent, escalated, resend_ms, "      \
    "reopened, assignee, commander, runbook, drill, drill_id"

/** Read the current row of a statement that selected INC_COLS first. */
void wcol_inc_row(struct wcol_idb_stmt *st, struct wcol_incident *x);

/** @return 0, -ENOENT, -EIO. */
int wcol_inc_get(struct wcol_idb *db, int64_t id, struct wcol_incident *inc);
/** The live incident of (device, component). @return 0, -ENOENT, -EIO. */
int wcol_inc_find_live(struct wcol_idb *db, const char *device, const char *component,
                       struct wcol_incident *inc);
/** The latest resolved (not closed) one. @return 0, -ENOENT, -EIO. */
int wcol_inc_find_resolved(struct wcol_idb *db, const char *device, const char *component,
                           struct wcol_incident *inc);
/** Insert (id 0: the new id is set) or update every column. @return 0, -EIO. */
int wcol_inc_put(struct wcol_idb *db, struct wcol_incident *inc);

/** Append to the timeline. @return the entry's id (> 0, the change's number) or -EIO. */
int64_t wcol_inc_timeline(struct wcol_idb *db, int64_t incident, int64_t at_ms, const char *who,
                          const char *what, const char *detail, int64_t event_id);

/** The same, for an entry whose id nobody needs (no notification keyed by it): on
 *  PostgreSQL not waited for (idb_pg.c). @return 0, -EIO. */
int wcol_inc_timeline_note(struct wcol_idb *db, int64_t incident, int64_t at_ms, const char *who,
                           const char *what, const char *detail, int64_t event_id);

/**
 * The notifications of one change (kind: firing, reopened, flapping, escalation, acknowledged,
 * resolved, closed, refresh) into the outbox: one row per routed receiver, keyed
 * "ward-<incident>-<change>", held (never sent) while a silence matches the device.
 * @return 0, -EIO.
 */
int wcol_inc_notify(struct wcol_incidents *in, struct wcol_idb *db, const struct wcol_incident *inc,
                    const char *kind, int64_t change, int64_t now_ms);

/** Enter a pass that reads in->pol: wait (a thread, wait true) while a reloaded policy is
 *  pending, so a reload is not starved; the event loop passes false (it is the reloader). */
void wcol_inc_pol_enter(struct wcol_incidents *in, bool wait);
/** Leave it; the last to leave puts a pending policy in place. */
void wcol_inc_pol_leave(struct wcol_incidents *in);
/** Hand over a loaded policy (heap, freed here): in place at once when no pass is inside,
 *  else when the last one leaves. */
void wcol_inc_pol_replace(struct wcol_incidents *in, struct wcol_policy *next);

void wcol_inc_wake(struct wcol_incidents *in, bool engine, bool sender);
/** Sleep up to ms or until *flag (one of the wake flags) is set or the threads stop; clears
 *  *flag. */
void wcol_inc_wait(struct wcol_incidents *in, bool *flag, unsigned ms);

struct wcol_jw;
struct wcol_conn;
/** inc_api.c: answer 200 with the written document (500 when it overflowed). */
void wcol_inc_answer(struct wcol_conn *conn, struct wcol_jw *w);
/** inc_api.c: the rows of sql (?1 id, ?2 max) as an array of objects; types per column: 'i'
 *  integer, 's' text, 'r' raw JSON. @return 0, -EIO. */
int wcol_inc_rows_into(struct wcol_jw *w, struct wcol_idb *db, const char *sql, int64_t id,
                       const char *const *names, const char *types, unsigned max);

/** inc_api.c: a path's id, 1-15 decimal digits. @return it, or -1. */
int64_t wcol_inc_parse_id(const char *s, size_t n);

/* engine.c, sender.c: the threads' bodies. */
void *wcol_inc_engine_main(void *arg);
void *wcol_inc_sender_main(void *arg);

#endif /* WCOL_INCIDENTS_MODEL_H_ */
