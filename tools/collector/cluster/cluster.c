#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <mbedtls/platform_util.h>

#include "cluster/cluster.h"
#include "common/clock.h"
#include "common/jw.h"
#include "common/log.h"
#include "export/prom.h"
#include "fleet/fleet.h"
#include "server/collector.h"
#include "store/pgconn.h"
#include "tls/tls.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

enum query_kind { Q_NONE, Q_LOCK, Q_KEYS, Q_ROTATE };

struct wcol_cluster {
    char conninfo[4096];
    PGconn *pg;
    bool connected;
    PostgresPollingStatusType polling;
    uint64_t connect_mono;
    enum query_kind pending;
    uint64_t sent_mono;
    atomic_bool leader;
    uint64_t leader_since;
    uint64_t synced_mono; /* when the last complete fleet sync began (0: none since a reset) */
    uint64_t next_connect, next_lock, next_keys, next_sync;
    uint64_t leader_changes, fleet_syncs, fleet_sync_failures, keys_loaded;
    struct wcol_store_sync sync; /* where the incremental read of the devices stands */
    struct sync_stats {
        uint64_t started;               /* mono: the read in progress began */
        uint64_t rows, wall_us, cpu_us; /* the read in progress so far */
        unsigned misfits;               /* its devices that did not fit --max-devices */
        uint64_t full, rows_total;      /* complete full reads; rows read by every read */
        uint64_t last_rows, last_wall_us, last_cpu_us; /* the last complete read */
        bool warned;
    } st;
    uint32_t key_id; /* the database's id of the current ticket key, 0 none yet */
    bool rotate_due;
};

int wcol_cluster_open(struct wcol_cluster **out, const char *conninfo)
{
    *out = NULL;
    if (conninfo == NULL) {
        return 0;
    }
    struct wcol_cluster *cl = calloc(1, sizeof(*cl));

    if (cl == NULL) {
        return -ENOMEM;
    }
    snprintf(cl->conninfo, sizeof(cl->conninfo), "%s", conninfo);
    atomic_init(&cl->leader, false);
    *out = cl;
    return 0;
}

bool wcol_cluster_is_leader(const struct wcol_cluster *cl)
{
    return cl == NULL || atomic_load(&((struct wcol_cluster *)cl)->leader);
}

bool wcol_cluster_may_judge_silence(const struct wcol_cluster *cl, uint64_t now_mono)
{
    if (cl == NULL) {
        return true;
    }
    return wcol_cluster_is_leader(cl) && now_mono - cl->leader_since >= WCOL_CLUSTER_GRACE_MS &&
           cl->synced_mono > cl->leader_since;
}

uint64_t wcol_cluster_view_lag_ms(const struct wcol_cluster *cl, uint64_t now_mono)
{
    return cl == NULL || now_mono < cl->synced_mono ? 0 : now_mono - cl->synced_mono;
}

static void set_leader(struct wcol_cluster *cl, bool on, uint64_t now, const char *why)
{
    if (wcol_cluster_is_leader(cl) == on) {
        return;
    }
    atomic_store(&cl->leader, on);
    cl->leader_changes++;
    if (on) {
        cl->leader_since = now;
        cl->rotate_due = false;
        cl->next_keys = now; /* check the ticket keys' age first */
        wcol_log_info("cluster: this collector is the leader now (silence detection from %u ms "
                      "on, retention, backups, ticket key rotation)",
                      WCOL_CLUSTER_GRACE_MS);
    } else {
        wcol_log_warn("cluster: no longer the leader (%s); leader duties stopped", why);
    }
}

/* The connection failed (or answers too slowly): leadership ends here and now. */
static void drop(struct wcol_cluster *cl, uint64_t now, const char *what)
{
    char line[300] = "";
    const char *msg = cl->pg != NULL ? PQerrorMessage(cl->pg) : "out of memory";
    size_t o = 0;

    for (const char *p = msg; *p != '\0' && o + 1 < sizeof(line); p++) {
        line[o++] = *p == '\n' || *p == '\t' ? ' ' : *p;
    }
    while (o > 0 && line[o - 1] == ' ') {
        o--;
    }
    line[o] = '\0';
    if (cl->connected || wcol_cluster_is_leader(cl)) {
        wcol_log_warn("cluster: connection to PostgreSQL lost (%s: %s)", what, line);
    }
    set_leader(cl, false, now, "lost the connection holding the leader lock");
    if (cl->pg != NULL) {
        PQfinish(cl->pg);
        cl->pg = NULL;
    }
    cl->connected = false;
    cl->pending = Q_NONE;
    cl->next_connect = now + WCOL_CLUSTER_RETRY_MS;
}

/* Wait up to ms for the connection's socket (0: just look). @return true when ready. */
static bool wait_fd(PGconn *pg, short events, int ms)
{
    struct pollfd p = { .fd = PQsocket(pg), .events = events };

    return p.fd >= 0 && poll(&p, 1, ms) > 0;
}

static void connect_step(struct wcol_cluster *cl, uint64_t now)
{
    if (cl->pg == NULL) {
        if (now < cl->next_connect) {
            return;
        }
        /* Keepalives notice a silent network, so that the lock's holder learns it is cut
         * off; the conninfo's own settings win (store/pgconn.h). */
        cl->pg = wcol_pg_connect_start(cl->conninfo, "ward-collector-leader");
        if (cl->pg == NULL || PQstatus(cl->pg) == CONNECTION_BAD) {
            drop(cl, now, "connect");
            return;
        }
        cl->polling = PGRES_POLLING_WRITING;
        cl->connect_mono = now;
    }
    for (int i = 0; i < 16 && cl->polling != PGRES_POLLING_OK; i++) {
        if (cl->polling == PGRES_POLLING_FAILED) {
            drop(cl, now, "connect");
            return;
        }
        short ev = cl->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;

        if (!wait_fd(cl->pg, ev, WCOL_CLUSTER_WAIT_STEP_MS)) {
            break;
        }
        cl->polling = PQconnectPoll(cl->pg);
    }
    if (cl->polling == PGRES_POLLING_OK) {
        (void)PQsetnonblocking(cl->pg, 1);
        cl->connected = true;
        cl->next_lock = now;
        cl->next_keys = now;
        wcol_log_info("cluster: connected to PostgreSQL database %s on %s for the leader election",
                      PQdb(cl->pg), PQhost(cl->pg));
    } else if (now - cl->connect_mono > WCOL_CLUSTER_ANSWER_MS * 2) {
        drop(cl, now, "connect timeout");
    }
}

static int send_query(struct wcol_cluster *cl, enum query_kind kind, const char *sql, uint64_t now)
{
    if (PQsendQuery(cl->pg, sql) != 1) {
        drop(cl, now, "send");
        return -EIO;
    }
    cl->pending = kind;
    cl->sent_mono = now;
    return 0;
}

/*
 * The pending query's results, when they are all in: waits at most one step. @return 1 with
 * *out (the last result; every result was OK), 0 not yet, -EIO (connection dropped).
 */
static int collect(struct wcol_cluster *cl, uint64_t now, PGresult **out)
{
    *out = NULL;
    if (PQflush(cl->pg) < 0 || PQconsumeInput(cl->pg) != 1) {
        drop(cl, now, "read");
        return -EIO;
    }
    if (PQisBusy(cl->pg)) {
        if (!wait_fd(cl->pg, POLLIN, WCOL_CLUSTER_WAIT_STEP_MS) || PQconsumeInput(cl->pg) != 1 ||
            PQisBusy(cl->pg)) {
            if (PQstatus(cl->pg) == CONNECTION_BAD) {
                drop(cl, now, "read");
                return -EIO;
            }
            if (now - cl->sent_mono > WCOL_CLUSTER_ANSWER_MS) {
                drop(cl, now, "no answer");
                return -EIO;
            }
            return 0;
        }
    }
    bool bad = false;
    PGresult *r;

    while ((r = PQgetResult(cl->pg)) != NULL) {
        ExecStatusType s = PQresultStatus(r);

        bad |= s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK;
        PQclear(*out);
        *out = r;
    }
    cl->pending = Q_NONE;
    if (bad) {
        PQclear(*out);
        *out = NULL;
        drop(cl, now, "query");
        return -EIO;
    }
    return 1;
}

static void on_lock(struct wcol_cluster *cl, PGresult *r, uint64_t now)
{
    bool got = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;

    cl->next_lock = now + WCOL_CLUSTER_RETRY_MS;
    if (got) {
        set_leader(cl, true, now, NULL);
    }
}

static int hex_key(const char *hex, uint8_t *out)
{
    if (strlen(hex) != 2 * WCOL_TICKET_KEY_BYTES) {
        return -EBADMSG;
    }
    for (size_t i = 0; i < WCOL_TICKET_KEY_BYTES; i++) {
        unsigned v;

        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            return -EBADMSG;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* The two newest keys of ticket_keys: imported when the newest changed. */
static void on_keys(struct wcol_cluster *cl, struct wcol_collector *c, PGresult *r)
{
    struct wcol_ticket_key_material m[2];
    int n = PQntuples(r) < 2 ? PQntuples(r) : 2;
    int64_t now_s = (int64_t)time(NULL);

    memset(m, 0, sizeof(m));
    cl->rotate_due = n == 0 || strtoll(PQgetvalue(r, 0, 1), NULL, 10) <=
                                   now_s - (int64_t)c->tls->tickets.rotate_s;
    if (n == 0 || (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10) == cl->key_id) {
        return;
    }
    for (int i = 0; i < n; i++) {
        m[i].id = (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10);
        m[i].created = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        if (m[i].id == 0 || hex_key(PQgetvalue(r, i, 2), m[i].key) != 0) {
            wcol_log_error("cluster: ticket key %s in the database is malformed; ignored",
                           PQgetvalue(r, i, 0));
            mbedtls_platform_zeroize(m, sizeof(m));
            return;
        }
    }
    if (wcol_ticket_keys_import(&c->tls->tickets, m) == 0) {
        cl->key_id = m[0].id;
        cl->keys_loaded++;
        wcol_log_info("cluster: session ticket key %" PRIu32 " from the database in use",
                      cl->key_id);
    }
    mbedtls_platform_zeroize(m, sizeof(m));
}

/* The leader adds a fresh key once the newest is rotate_s old and keeps the newest two. */
static int send_rotate(struct wcol_cluster *cl, struct wcol_collector *c, uint64_t now)
{
    uint8_t key[WCOL_TICKET_KEY_BYTES];
    char sql[600];
    int64_t now_s = (int64_t)time(NULL);
    struct wcol_ticket_keys *k = &c->tls->tickets;
    int len;

    if (k->f_rng(k->p_rng, key, sizeof(key)) != 0) {
        return -EIO;
    }
    len = snprintf(sql, sizeof(sql),
                   "INSERT INTO ticket_keys (created_s, key) SELECT %" PRId64 ", decode('", now_s);
    for (size_t i = 0; i < sizeof(key); i++) {
        len += snprintf(sql + len, sizeof(sql) - (size_t)len, "%02x", key[i]);
    }
    snprintf(sql + len, sizeof(sql) - (size_t)len,
             "', 'hex') WHERE NOT EXISTS (SELECT 1 FROM ticket_keys WHERE created_s > %" PRId64
             "); DELETE FROM ticket_keys WHERE id < (SELECT max(id) - 1 FROM ticket_keys)",
             now_s - (int64_t)k->rotate_s);
    mbedtls_platform_zeroize(key, sizeof(key));
    int rc = send_query(cl, Q_ROTATE, sql, now);

    mbedtls_platform_zeroize(sql, sizeof(sql));
    return rc;
}

/* Start the next query that is due, if any. @return 1 sent, 0 nothing due, -EIO. */
static int next_query(struct wcol_cluster *cl, struct wcol_collector *c, uint64_t now)
{
    if (!wcol_cluster_is_leader(cl) && now >= cl->next_lock) {
        return send_query(cl, Q_LOCK,
                          "SELECT pg_try_advisory_lock(" STR(WCOL_CLUSTER_LOCK_CLASS) ", " STR(
                              WCOL_CLUSTER_LOCK_OBJ) ")",
                          now)
                   ?: 1;
    }
    if (wcol_cluster_is_leader(cl) && cl->rotate_due) {
        cl->rotate_due = false;
        return send_rotate(cl, c, now) ?: 1;
    }
    if (now >= cl->next_keys) {
        /* Also the leader's proof that its connection, and so its lock, is alive. */
        cl->next_keys = now + WCOL_CLUSTER_SYNC_MS;
        return send_query(cl, Q_KEYS,
                          "SELECT id, created_s, encode(key, 'hex') FROM ticket_keys "
                          "ORDER BY id DESC LIMIT 2",
                          now)
                   ?: 1;
    }
    return 0;
}

static void election_step(struct wcol_cluster *cl, struct wcol_collector *c, uint64_t now)
{
    /* Between queries the server may have closed the session (a stopped or failed-over
     * primary): the lock went with it, so leadership ends at once, not at the next query.
     * Once a tick: a query answered in this tick has just read the socket. */
    if (cl->pending == Q_NONE && wait_fd(cl->pg, POLLIN, 0) &&
        (PQconsumeInput(cl->pg) != 1 || PQstatus(cl->pg) == CONNECTION_BAD)) {
        drop(cl, now, "closed by the server");
        return;
    }
    for (int round = 0; round < 4 && cl->connected; round++) {
        PGresult *r = NULL;

        if (cl->pending == Q_NONE && next_query(cl, c, now) <= 0) {
            return;
        }
        enum query_kind kind = cl->pending;

        if (collect(cl, now, &r) <= 0) {
            return;
        }
        if (kind == Q_LOCK) {
            on_lock(cl, r, now);
        } else if (kind == Q_KEYS) {
            on_keys(cl, c, r);
        } else if (kind == Q_ROTATE) {
            cl->next_keys = now; /* read the new key back at once */
        }
        PQclear(r);
    }
}

/* ---- the fleet read back from the database ---- */

struct sync_ctx {
    struct wcol_collector *c;
    int64_t now_ms;
    uint64_t now_mono;
    unsigned full; /* devices that did not fit */
    uint64_t rows;
};

static int sync_one(void *ctx, const struct wcol_store_device *sd)
{
    struct sync_ctx *s = ctx;

    s->rows++;
    if (wcol_fleet_merge(&s->c->fleet, sd, s->now_ms, s->now_mono, s->c->start_mono) != 0) {
        s->full++;
    }
    return 0;
}

/* A backend without incremental reads: every device, every time. @return 0 done, -EIO. */
static int read_all(struct wcol_cluster *cl, struct wcol_collector *c, struct sync_ctx *s)
{
    int rc = c->store.ops->load_devices(c->store.impl, sync_one, s);

    cl->sync = (struct wcol_store_sync){ .full = true, .done = rc == 0 };
    return rc;
}

static uint64_t cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sync_done(struct wcol_cluster *cl, struct wcol_collector *c, uint64_t now)
{
    struct sync_stats *st = &cl->st;

    if (st->misfits > 0 && !st->warned) {
        wcol_log_warn("cluster: %u devices in the database do not fit --max-devices (%zu)",
                      st->misfits, c->fleet.max);
        st->warned = true;
    }
    st->full += cl->sync.full;
    st->last_rows = st->rows;
    st->last_wall_us = st->wall_us;
    st->last_cpu_us = st->cpu_us;
    cl->fleet_syncs++;
    cl->synced_mono = st->started;
    cl->next_sync = now + WCOL_CLUSTER_SYNC_MS;
}

/*
 * Read back what the other collectors wrote: the devices changed since the last read, a page
 * at a time, at most WCOL_CLUSTER_SYNC_PAGES pages per tick (a full read of a large fleet
 * goes on over the next ticks). While a full read is under way (start, reconnection,
 * failover) the leader does not judge silence: synced_mono is 0 until it ends.
 */
static void fleet_sync(struct wcol_cluster *cl, struct wcol_collector *c, uint64_t now)
{
    struct sync_ctx s = { .c = c, .now_ms = wcol_now_wall_ms(), .now_mono = now };
    uint64_t wall0 = wcol_now_us(), cpu0 = cpu_us();
    int rc = 0;

    if (!cl->sync.active) {
        cl->st.started = now;
        cl->st.rows = cl->st.wall_us = cl->st.cpu_us = 0;
        cl->st.misfits = 0;
    }
    for (unsigned page = 0; rc == 0 && page < WCOL_CLUSTER_SYNC_PAGES; page++) {
        if (c->store.ops->sync_devices == NULL) {
            rc = read_all(cl, c, &s);
        } else {
            rc = c->store.ops->sync_devices(c->store.impl, &cl->sync, WCOL_CLUSTER_SYNC_ROWS,
                                            sync_one, &s);
        }
        if (cl->sync.full) {
            cl->synced_mono = 0;
        }
        if (rc == 0 && cl->sync.done) {
            break;
        }
    }
    cl->st.misfits += s.full;
    cl->st.rows += s.rows;
    cl->st.rows_total += s.rows;
    cl->st.wall_us += wcol_now_us() - wall0;
    cl->st.cpu_us += cpu_us() - cpu0;
    if (rc != 0) {
        cl->fleet_sync_failures++;
        cl->next_sync = now + WCOL_CLUSTER_SYNC_MS;
    } else if (cl->sync.done) {
        sync_done(cl, c, now);
    } else {
        cl->next_sync = now; /* the next tick goes on with the next pages */
    }
}

void wcol_cluster_tick(struct wcol_collector *c, uint64_t now_mono)
{
    struct wcol_cluster *cl = c->cluster;

    if (cl == NULL) {
        return;
    }
    if (!cl->connected) {
        connect_step(cl, now_mono);
    }
    if (cl->connected) {
        election_step(cl, c, now_mono);
    }
    if (now_mono >= cl->next_sync) {
        fleet_sync(cl, c, now_mono);
    }
}

void wcol_cluster_health(const struct wcol_cluster *cl, struct wcol_jw *w)
{
    bool leader = wcol_cluster_is_leader(cl);

    wcol_jw_key(w, "cluster");
    wcol_jw_obj_begin(w);
    wcol_jw_kstr(w, "role", cl == NULL ? "standalone" : leader ? "leader" : "follower");
    wcol_jw_kuint(w, "leader", leader ? 1 : 0);
    if (cl != NULL) {
        wcol_jw_kstr(w, "election_connection", cl->connected ? "up" : "down");
        wcol_jw_kuint(w, "leader_changes", cl->leader_changes);
        wcol_jw_kuint(w, "leader_for_s", leader ? (wcol_now_mono() - cl->leader_since) / 1000 : 0);
        wcol_jw_kuint(w, "fleet_syncs", cl->fleet_syncs);
        wcol_jw_kuint(w, "fleet_sync_failures", cl->fleet_sync_failures);
        wcol_jw_kuint(w, "fleet_syncs_full", cl->st.full);
        wcol_jw_kuint(w, "fleet_sync_rows", cl->st.rows_total);
        wcol_jw_kuint(w, "fleet_sync_last_rows", cl->st.last_rows);
        wcol_jw_kuint(w, "fleet_sync_last_us", cl->st.last_wall_us);
        wcol_jw_kuint(w, "fleet_sync_last_cpu_us", cl->st.last_cpu_us);
        wcol_jw_kuint(w, "ticket_key", cl->key_id);
        wcol_jw_kuint(w, "ticket_keys_loaded", cl->keys_loaded);
    }
    wcol_jw_obj_end(w);
}

static void one(struct wcol_prom *w, const char *name, const char *type, const char *help,
                uint64_t v)
{
    wcol_prom_family(w, name, type, help);
    wcol_prom_sample_u64(w, name, NULL, 0, v);
}

void wcol_cluster_metrics(const struct wcol_cluster *cl, struct wcol_prom *w)
{
    one(w, "ward_collector_leader", "gauge",
        "1 when this collector runs the fleet-wide duties (silence detection, retention, "
        "backups): always with SQLite, the holder of the advisory lock with PostgreSQL.",
        wcol_cluster_is_leader(cl) ? 1 : 0);
    if (cl == NULL) {
        return;
    }
    one(w, "ward_collector_leader_changes_total", "counter",
        "Times this collector became or stopped being the leader.", cl->leader_changes);
    one(w, "ward_collector_fleet_syncs_total", "counter",
        "Reads of the devices' state and last-seen times back from PostgreSQL (the devices "
        "changed since the previous read; every device after a start or a reconnection).",
        cl->fleet_syncs);
    one(w, "ward_collector_fleet_syncs_full_total", "counter",
        "Fleet reads that read every device (start, reconnection, failover).", cl->st.full);
    one(w, "ward_collector_fleet_sync_rows_total", "counter",
        "Device rows read back from PostgreSQL by the fleet reads.", cl->st.rows_total);
    one(w, "ward_collector_fleet_sync_last_rows", "gauge",
        "Device rows the last complete fleet read took.", cl->st.last_rows);
    wcol_prom_family(w, "ward_collector_fleet_sync_last_seconds", "gauge",
                     "Time the last complete fleet read held the event loop (all its pages).");
    wcol_prom_sample(w, "ward_collector_fleet_sync_last_seconds", NULL, 0,
                     (double)cl->st.last_wall_us / 1e6);
    one(w, "ward_collector_fleet_sync_failures_total", "counter",
        "Fleet reads from PostgreSQL that failed (the database was unreachable).",
        cl->fleet_sync_failures);
    one(w, "ward_collector_ticket_keys_loaded_total", "counter",
        "Session ticket keys taken from the database (shared by every collector).",
        cl->keys_loaded);
}

void wcol_cluster_close(struct wcol_cluster *cl)
{
    if (cl == NULL) {
        return;
    }
    if (cl->pg != NULL) {
        PQfinish(cl->pg); /* ends the session: the lock is released at once */
    }
    free(cl);
}
