/*
 * The agent on this board: core + lwIP NIC counters + the transport (mutual TLS on the
 * transport's static pool, RAM journal) reporting to the collector named in the device's
 * provisioning block (an385.ld: .provision, written at manufacturing, never in the image).
 */
#ifndef WARD_BOARDS_MPS2_AN385_APP_H_
#define WARD_BOARDS_MPS2_AN385_APP_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/transport/mempool.h"

struct netif; /* lwIP's; only app.c needs its definition */

/**
 * Route mbedTLS's calloc/free to the transport's pool (CONFIG_WARD_TLS_POOL_SIZE). Call once,
 * before any mbedTLS use (the self-tests use it too). @return 0, -EIO.
 */
int an385_tls_pool_init(void);

/** The pool's counters (size, use, peak, refusals). */
const struct ward_mempool_stats *an385_tls_pool_stats(void);

/** Forget the peak (measurements of one phase). */
void an385_tls_pool_reset_peak(void);

/**
 * Start the agent: provisioning block, entropy (boot id, DRBG), TLS, NIC device, journal,
 * transport. Prints one line saying why when it cannot (not provisioned, no entropy source,
 * credentials rejected). @return 0, -ENOENT, -ENODEV, -EBADMSG, or another negative errno.
 */
int an385_app_start(struct netif *eth, int64_t now_ms);

/** One pass of the agent's work; call from the main loop after lwIP's timers and input. */
void an385_app_poll(int64_t now_ms);

#endif /* WARD_BOARDS_MPS2_AN385_APP_H_ */
