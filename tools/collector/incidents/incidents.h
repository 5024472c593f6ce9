/*
 * Incidents, notifications and silences at the collector (docs/incidents.md).
 *
 * The collector's events become incidents off the ingest path: an after-commit subscriber
 * (commit/bus.h) only wakes the incident engine, a thread of its own that reads the stored
 * events after its cursor from the database, opens, joins and resolves incidents and writes
 * each change, its timeline row and its notifications (the outbox) in one transaction. A
 * second thread delivers the outbox to the receivers of the alerting file (policy.h) with
 * retries until they answer 2xx. The operator API (/v1/incidents..., /v1/silences) runs on
 * the event loop with a connection of its own.
 */
#ifndef WCOL_INCIDENTS_INCIDENTS_H_
#define WCOL_INCIDENTS_INCIDENTS_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wcol_incidents;
struct wcol_bus;
struct wcol_conn;
struct wcol_prom;

/**
 * Read the alerting file (NULL: defaults, no receivers), bring the incident tables to the
 * current schema and start the engine and the sender. The tables: incidents.db beside db_path,
 * or the store's PostgreSQL database (pg_conninfo non-NULL; idb.h).
 * @return 0, -EINVAL (alerting file, logged with its line), -EIO, -ENOMEM.
 */
int wcol_incidents_open(struct wcol_incidents **out, const char *db_path, const char *pg_conninfo,
                        const char *alerting, const char *api_addr);

/**
 * The cluster's election, from the event loop: only the leader runs the engine and delivers
 * notifications; every collector answers the operator API from the shared tables. With
 * SQLite the collector always leads (wcol_incidents_open).
 */
void wcol_incidents_set_leader(struct wcol_incidents *in, bool leader);

/**
 * SIGHUP: read the alerting file again (NULL: nothing to do) and put it in place once no
 * engine or sender pass is inside the running one; a file that does not load leaves the
 * running policy as it is (the "FILE:LINE: why" line is logged).
 * @return 0, -EINVAL (not loaded), -ENOMEM.
 */
int wcol_incidents_reload(struct wcol_incidents *in, const char *alerting);

/** Wake the engine on every stored event. @return as wcol_bus_subscribe. */
int wcol_incidents_subscribe(struct wcol_incidents *in, struct wcol_bus *bus);

/** Stop both threads (an attempt in flight ends within the send timeout) and free. */
void wcol_incidents_close(struct wcol_incidents *in);

/** An operator request: handled (answered) when its path is /v1/incidents... or
 *  /v1/silences...; who is the token's name. @return true when handled. */
bool wcol_incidents_request(struct wcol_incidents *in, struct wcol_conn *conn, const char *who,
                            const char *body, size_t len);

/**
 * A trend forecast (history/tpass.c), from any thread: firing opens (or reopens) a low-severity
 * incident on (device, "forecast:<sensor>") with `detail` in its timeline; not firing marks it
 * healthy (resolved after the hold-down). Call it on a change only.
 * @return 0, -EIO.
 */
int wcol_incidents_forecast(struct wcol_incidents *in, const char *device, const char *sensor,
                            bool firing, const char *detail);

/**
 * A condition the collector itself observes (a forecast, an outdated agent), from any thread:
 * firing opens (or reopens) a low-severity incident on (device, comp) as if a sensor had gone
 * from "ok" to state, with `detail` in its timeline; not firing marks it healthy (resolved
 * after the hold-down). Call it on a change only.
 * @return the incident's id when firing (0 when the component is too long to be one), 0 when
 *         not firing, -EINVAL (a NULL argument), -EIO.
 */
int64_t wcol_incidents_condition(struct wcol_incidents *in, const char *device, const char *comp,
                                 const char *state, bool firing, const char *detail);

/**
 * Ingest's drill hooks (drills.c), on the event loop. ack: add the device's pending drill
 * request to the acknowledgement (body, len bytes, cap); @return the new length (len when
 * nothing is added). heard: the device's heartbeat (a span of the batch) names a drill's state.
 */
int wcol_incidents_drill_ack(struct wcol_incidents *in, const char *device, char *body, size_t cap,
                             int len);
void wcol_incidents_drill_heard(struct wcol_incidents *in, const char *device, const char *hb,
                                size_t len);

/** How many times an incident row was written since start (any thread; a change counter). */
uint64_t wcol_incidents_changes(void);

/** The incident families of GET /metrics. */
void wcol_incidents_metrics(struct wcol_incidents *in, struct wcol_prom *w);

#endif /* WCOL_INCIDENTS_INCIDENTS_H_ */
