/*
 * Drills at the collector (docs/incidents.md, "Drills"). An operator asks for one
 * (POST /v1/drills); the request rides in the acknowledgement of the device's next reports
 * (ward/wire/ack.h) until its heartbeat names the drill (running, or refused with a reason);
 * the drill's sensors ("drill:<id>") open incidents marked drill, tied to the drill, whose
 * notifications say drill=true; GET /v1/drills/{id}/report sets the times to detect,
 * acknowledge and resolve against the alerting file's drill-target values.
 *
 * The ingest hooks (wcol_incidents_drill_ack/heard, incidents.h) run on the event loop for
 * every report: they cost one atomic load while no drill is live.
 */
#ifndef WCOL_INCIDENTS_DRILLS_H_
#define WCOL_INCIDENTS_DRILLS_H_

#include "incidents/idb.h"
#include <stdbool.h>
#include <stddef.h>

#include "common/log.h"

struct wcol_incidents;
struct wcol_incident;
struct wcol_conn;
struct wcol_prom;

/* Drill start and stop are audited (audit/audit.h, docs/security.md). */
#include "audit/audit.h"

/** Load the drills still waiting for their device from the table. @return 0, -EIO, -ENOMEM. */
int wcol_drills_open(struct wcol_incidents *in);
void wcol_drills_free(struct wcol_incidents *in);

/** /v1/drills...; who is the token's name. @return true when handled (answered). */
bool wcol_drills_request(struct wcol_incidents *in, struct wcol_conn *conn, const char *who,
                         const char *body, size_t len);

/** The engine, for an incident it just inserted: a drill sensor's marks it (drill, drill_id).
 *  @return 0, -EIO. */
int wcol_drill_mark(struct wcol_idb *db, struct wcol_incident *x);

/** ward_drills{state} and ward_drill_refusals_total for GET /metrics. */
void wcol_drills_metrics(struct wcol_incidents *in, struct wcol_prom *w);

#endif /* WCOL_INCIDENTS_DRILLS_H_ */
