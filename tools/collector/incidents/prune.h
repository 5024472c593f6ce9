/* Outbox pruning (prune.c), from the sender thread between its passes. */
#ifndef WCOL_INCIDENTS_PRUNE_H_
#define WCOL_INCIDENTS_PRUNE_H_

#include "incidents/idb.h"
#include <stdint.h>

struct wcol_incidents;

/** Remove delivered rows older than the policy's prune-delivered, in bounded batches, when
 *  *next_mono_ms has passed (then moved on). Inside a pass (reads in->pol). */
void wcol_inc_prune(struct wcol_incidents *in, struct wcol_idb *db, int64_t *next_mono_ms);

#endif /* WCOL_INCIDENTS_PRUNE_H_ */
