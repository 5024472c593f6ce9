/* The PostgreSQL connections' states in /metrics (store/pglink.h). */
#ifndef WCOL_EXPORT_PG_METRICS_H_
#define WCOL_EXPORT_PG_METRICS_H_

#include "export/prom.h"

/** ward_collector_storage_{up,down_seconds,reconnects_total,...}{connection="..."}; nothing
 *  with no PostgreSQL connection (SQLite). */
void wcol_pg_metrics(struct wcol_prom *w);

#endif /* WCOL_EXPORT_PG_METRICS_H_ */
