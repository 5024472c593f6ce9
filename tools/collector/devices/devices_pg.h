/*
 * Device revocations and enrolment tokens in PostgreSQL (tables op_device_revocations and
 * op_enrol_tokens, store/store_pg.c) when the collectors share a database: a revocation made
 * through one collector's API is read by every other within WCOL_DEVICES_SYNC_MS
 * (wcol_devices_tick), which then refuses the device's handshakes and closes its live
 * connections; an enrolment token made on one is spent once on any. One blocking round trip
 * per call, as the store's API reads.
 */
#ifndef WCOL_DEVICES_DEVICES_PG_H_
#define WCOL_DEVICES_DEVICES_PG_H_

#include <stdbool.h>
#include <stdint.h>

#include "store/pgconn.h"

#define WCOL_DEVICES_SYNC_MS 2000u /* how often the revocations are read back */

/** Record a revocation; the first time of a device stays. *at_ms: the recorded time.
 *  @return 0, -EIO. */
int wcol_devicespg_revoke(struct wcol_pgconn *q, const char *id, bool removed, int64_t *at_ms,
                          const char *actor, const char *reason);

/** Every revocation, to cb. @return 0, -EIO, or cb's first non-zero return. */
int wcol_devicespg_load(struct wcol_pgconn *q,
                        int (*cb)(void *ctx, const char *id, int64_t at_ms, bool removed),
                        void *ctx);

/** @return 0, -EIO. */
int wcol_devicespg_token_add(struct wcol_pgconn *q, const char *sha_hex, const char *id,
                             int64_t expires_ms, const char *who);
/** Spend the token for id now: @return true when it was valid, unused and unexpired. */
bool wcol_devicespg_token_spend(struct wcol_pgconn *q, const char *sha_hex, const char *id,
                                int64_t now_ms);

#endif /* WCOL_DEVICES_DEVICES_PG_H_ */
