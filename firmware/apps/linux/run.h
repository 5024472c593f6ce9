/*
 * ward-agent run: what the command owns (struct run, in .bss like on a board) and its start-up
 * (run_setup.c). The reporting loop is the core's (ward/transport/uplink.h); cmd_run.c wires
 * it to poll() and signals.
 */
#ifndef WARD_APPS_LINUX_RUN_H_
#define WARD_APPS_LINUX_RUN_H_

#include <stdbool.h>
#include <stdint.h>

#include "journal_posix.h"
#include "log_repeat.h"
#include "run_certwatch.h"
#include "net_posix.h"
#include "run_drill.h"
#include "ward/agent.h"
#include "ward/base/json_arena.h"
#include "ward/transport/config.h"
#include "ward/transport/mempool.h"
#include "ward/transport/outbox.h"
#include "ward/transport/tls.h"
#include "ward/transport/transport.h"
#include "ward/transport/uplink.h"
#if IS_ENABLED(CONFIG_WARD_NMS_PROM)
#include "run_metrics.h"
#endif
#if IS_ENABLED(CONFIG_WARD_HAL_LINUX)
#include "ward/hal/linux.h"
#include "ward/hal/linux_impl.h"
#endif
#if IS_ENABLED(CONFIG_WARD_HAL_SIM)
#include "ward/hal/sim.h"
#include "ward/hal/sim_impl.h"
#endif

#define RUN_PEM_MAX (16u * 1024u)

struct opts {
    const char *collector;
    const char *ca;
    const char *cert;
    const char *key;
    const char *state_dir;
    const char *device_id;
    const char *server_name;
    const char *scenario;
    const char *root;
    const char *rules;
    long run_for_s;
    const char *agentx;        /* --agentx unix:PATH|tcp:HOST:PORT, or NULL */
    const char *metrics;       /* --metrics ADDR:PORT (run_metrics.h) */
    const char *metrics_token; /* --metrics-token FILE */
    bool metrics_tls;          /* --metrics-tls: mutual TLS with --cert, --key, --ca */
    const char *config;        /* run_config.h */
    bool check_config;
    const char *log_level;
    const char *drill_dir; /* run_drill.h */
    bool no_drills;
    long drill_speed;
};

/* Everything the agent owns, in .bss like on a board. */
struct run {
    struct ward_agent agent;
    struct ward_hal hal;
#if IS_ENABLED(CONFIG_WARD_HAL_LINUX)
    struct ward_linux_hal linux_hal;
#endif
#if IS_ENABLED(CONFIG_WARD_HAL_SIM)
    struct ward_sim sim;
#endif
    struct ward_mempool pool;
    struct ward_net_posix np;
    struct ward_net net;
    struct ward_tls tls;
    struct ward_transport tp;
    struct ward_store_posix store;
    struct ward_journal journal;
    struct ward_outbox outbox;
    struct ward_json_arena arena;
    char host[256];
    char server_name[256];
    uint16_t port;
    struct ward_uplink up;
    struct log_repeat log; /* the loop's stderr lines, repeats counted (run_log.h) */
    bool pull_only;        /* no --collector: no TLS uplink, no journal; pull endpoints only */
#if IS_ENABLED(CONFIG_WARD_NMS_PROM)
    struct run_metrics metrics;
#endif
    int64_t start_ms;
    struct run_drill drill;
    struct run_certwatch certwatch; /* a renewed certificate, hot-loaded */
    uint8_t pem_ca[RUN_PEM_MAX];
    uint8_t pem_cert[RUN_PEM_MAX];
    uint8_t pem_key[RUN_PEM_MAX];
    uint8_t pool_mem[WARD_TLS_POOL_SIZE];
    uint8_t tx[WARD_TRANSPORT_TX_BUF_SIZE];
    uint8_t rx[WARD_TRANSPORT_RX_BUF_SIZE];
    uint8_t arena_mem[WARD_JSON_ARENA_SIZE];
    struct ward_journal_entry idx[WARD_JOURNAL_MAX_RECORDS];
};

/**
 * Everything before the loop: credentials (key mode checked), TLS with mbedTLS on its static
 * pool, the HAL backend, the agent (boot id, rules), the journal (recovered and restored into
 * the event log), the transport and the reporting loop. Prints one line for any failure.
 * @return 0 or a negative errno.
 */
int run_startup(const struct opts *o, struct run *r, int64_t now);

/**
 * A secret (private key, token) must not be accessible to group or others: says so in one
 * line with the chmod to run. @return 0, -EPERM, or -errno of stat().
 */
int run_check_key_mode(const char *path);

/** Read a small file (PEM) into buf with a terminating NUL counted in *len.
 *  @return 0, -EFBIG when it does not fit, or -errno of open()/read(). */
int run_read_small(const char *path, uint8_t *buf, size_t cap, size_t *len);

/** One pass of the loop: the reporting loop, or (pull-only) sampling alone. */
void run_step(struct run *r, int64_t now);

/** When run_step() must run next at the latest. */
int64_t run_next_wake(const struct run *r, int64_t now);

struct ward_nms_cache;

/** The agent's reading cache (fed with --metrics or --agentx), NULL when not built in. */
const struct ward_nms_cache *run_reading_cache(const struct run *r);

#endif /* WARD_APPS_LINUX_RUN_H_ */
