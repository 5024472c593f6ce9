/*
 * The agent on this board: core + lwIP NIC counters + the transport (mutual TLS on the
 * transport's static pool, journal in data flash) reporting to the collector named in the
 * device's provisioning block (provision.h, written per device by tools/mps2-provision).
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_APP_H_
#define WARD_BOARDS_COMMON_CORTEX_M_APP_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/transport/mempool.h"

struct netif; /* lwIP's; only app.c needs its definition */
struct cm_prov_view;
struct ward_hal;

/**
 * Route mbedTLS's calloc/free to the transport's pool (CONFIG_WARD_TLS_POOL_SIZE). Call once,
 * before any mbedTLS use (the self-tests use it too). @return 0, -EIO.
 */
int cm_tls_pool_init(void);

/** The pool's counters (size, use, peak, refusals). */
const struct ward_mempool_stats *cm_tls_pool_stats(void);

/** Forget the peak (measurements of one phase). */
void cm_tls_pool_reset_peak(void);

/** The agent's device table: a test image may add devices (a scenario) before the start. */
struct ward_hal *cm_app_hal(void);

/**
 * Start the agent with the provisioned identity: boot id (cm_entropy_init() first), TLS,
 * NIC device for eth, journal, transport. Prints one line saying why when it cannot
 * (credentials rejected, journal unreadable). @return 0, -ENODEV, -EBADMSG, or another
 * negative errno.
 */
int cm_app_start(const struct cm_prov_view *pv, struct netif *eth, int64_t now_ms);

/** One pass of the agent's work; call from the main loop after lwIP's timers and input. */
void cm_app_poll(int64_t now_ms);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_APP_H_ */
