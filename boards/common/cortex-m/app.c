/*
 * The reporting agent on a Cortex-M board: the same start-up as `ward-agent run` on Linux
 * (firmware/apps/linux/run_setup.c) and the same reporting loop, the core's
 * (ward/transport/uplink.h), with this board's glue: lwIP over the board's Ethernet driver
 * (firmware/ports/lwip, cm_port.h), the journal in data flash (flash.h, ward_store_flash),
 * credentials, collector and address from the provisioning block (provision.h).
 */
#include <errno.h>
#include <string.h>

#include <lwip/netif.h>

#include "ward/agent.h"
#include "ward/base/config.h"
#include "ward/hal/lwip_nic.h"
#include "ward/base/json_arena.h"
#include "ward/transport/backoff.h"
#include "ward/transport/config.h"
#include "ward/transport/journal.h"
#include "ward/transport/outbox.h"
#include "ward/transport/store_flash.h"
#include "ward/transport/tls.h"
#include "ward/transport/transport.h"
#include "ward/transport/uplink.h"
#include "app.h"
#include "board.h"
#include "entropy.h"
#include "flash.h"
#include "net_lwip.h"
#include "provision.h"

/* Everything the agent owns, in .bss: the budget counts all of it. */
struct app {
    struct ward_agent agent;
    struct ward_hal hal;
    struct ward_lwip_nic nics;
    struct ward_net_lwip np;
    struct ward_net net;
    struct ward_tls tls;
    struct ward_transport tp;
    struct ward_store_flash store;
    struct ward_journal journal;
    struct ward_outbox outbox;
    struct ward_json_arena arena;
    struct ward_uplink up;
    char host[16];
    char server_name[48];
    char device_id[WARD_DEVICE_ID_MAX];
    bool started;
    bool reported_handshake;
    uint32_t journaled; /* events in the journal when last printed */
    uint8_t tx[WARD_TRANSPORT_TX_BUF_SIZE];
    uint8_t rx[WARD_TRANSPORT_RX_BUF_SIZE];
    uint8_t arena_mem[WARD_JSON_ARENA_SIZE];
    struct ward_journal_entry idx[WARD_JOURNAL_MAX_RECORDS];
};

static struct app s_app;
static struct ward_mempool s_pool;
static uint8_t s_pool_mem[WARD_TLS_POOL_SIZE] __attribute__((aligned(8)));

int cm_tls_pool_init(void)
{
    if (ward_mempool_init(&s_pool, s_pool_mem, sizeof(s_pool_mem)) != 0) {
        return -EIO;
    }
    return ward_mempool_install_mbedtls(&s_pool) == 0 ? 0 : -EIO;
}

const struct ward_mempool_stats *cm_tls_pool_stats(void)
{
    return &s_pool.stats;
}

void cm_tls_pool_reset_peak(void)
{
    ward_mempool_reset_peak(&s_pool);
}

struct ward_hal *cm_app_hal(void)
{
    return &s_app.hal;
}

static int start_agent(struct app *a, const struct cm_prov_view *pv, struct netif *eth,
                       int64_t now_ms)
{
    struct ward_agent_config cfg;
    uint8_t boot_id[WARD_BOOT_ID_LEN];
    int rc;

    /* A boot id must never repeat, so it needs the entropy source TLS needs. */
    rc = cm_entropy_read(boot_id, sizeof(boot_id));
    if (rc != 0) {
        cm_printf("ward: no entropy (%d): reporting disabled\n", rc);
        return -ENODEV;
    }
    rc = ward_lwip_nic_init(&a->nics, &a->hal, eth != NULL ? &eth : NULL, eth != NULL ? 1 : 0);
    if (rc != 0) {
        return rc;
    }
    memset(&cfg, 0, sizeof(cfg));
    /* The block's field is shorter than the agent's id buffer: copy it (NUL-terminated, checked).
     */
    memcpy(a->device_id, pv->hdr->device_id, sizeof(pv->hdr->device_id));
    cfg.device_id = a->device_id;
    cfg.boot_id = boot_id;
    cfg.seed = ward_backoff_seed(boot_id, sizeof(boot_id));
    cfg.hal = &a->hal;
    cfg.hooks.heartbeat = ward_uplink_on_heartbeat;
    cfg.hooks.user = &a->up;
    rc = ward_agent_init(&a->agent, &cfg, now_ms);
    if (rc == 0 && pv->heartbeat_ms != 0) {
        rc = ward_sched_set_interval(&a->agent.sched, WARD_CLASS_HEARTBEAT, pv->heartbeat_ms,
                                     now_ms);
    }
    return rc != 0 ? rc : ward_json_arena_init(&a->arena, a->arena_mem, sizeof(a->arena_mem));
}

/* The journal in data flash: it survives a lost connection, a reset and a power cut. */
static int start_journal(struct app *a)
{
    const struct ward_store_flash_config fc = { &cm_flash_ops, NULL, CM_FLASH_JOURNAL_OFF,
                                                CM_FLASH_JOURNAL_SIZE };
    int rc = ward_store_flash_init(&a->store, &fc);

    if (rc != 0) {
        cm_printf("ward: the journal in data flash cannot be opened (%d)\n", rc);
        return rc;
    }
    rc = ward_journal_open(&a->journal, ward_store_flash(&a->store), a->idx,
                           WARD_JOURNAL_MAX_RECORDS, WARD_JOURNAL_MAX_BYTES);
    return rc != 0 ? rc : ward_outbox_init(&a->outbox, &a->journal);
}

static int start_transport(struct app *a, uint16_t port)
{
    struct ward_transport_config cfg;

    ward_transport_config_defaults(&cfg);
    cfg.host = a->host;
    cfg.port = port;
    cfg.seed = ward_backoff_seed(a->agent.boot_id, sizeof(a->agent.boot_id));
    return ward_transport_init(&a->tp, &cfg, &a->net, ward_tls_chan(&a->tls), a->tx, sizeof(a->tx),
                               a->rx, sizeof(a->rx));
}

static void on_fault(void *user, enum ward_uplink_fault fault, int err)
{
    (void)user;
    if (fault == WARD_UPLINK_BAD_ACK) {
        cm_printf("ward: malformed acknowledgement; events kept\n");
    } else if (fault == WARD_UPLINK_BUILD_FAILED) {
        cm_printf("ward: cannot build the report batch (%d)\n", err);
    } else {
        cm_printf("ward: journal error (%d)\n", err);
    }
}

static int start_uplink(struct app *a, int64_t now_ms)
{
    const struct ward_uplink_parts parts = { &a->agent, &a->outbox, &a->tp, &a->arena };
    int rc = ward_uplink_init(&a->up, NULL, &parts, now_ms);

    a->up.on_fault = on_fault;
    return rc;
}

int cm_app_start(const struct cm_prov_view *pv, struct netif *eth, int64_t now_ms)
{
    struct app *a = &s_app;
    struct ward_tls_creds creds;
    int rc;

    memset(&creds, 0, sizeof(creds));
    creds.ca = pv->ca;
    creds.ca_len = pv->ca_len;
    creds.cert = pv->cert;
    creds.cert_len = pv->cert_len;
    creds.key = pv->key;
    creds.key_len = pv->key_len;
    memcpy(a->host, pv->hdr->host, sizeof(a->host));
    memcpy(a->server_name, pv->hdr->server_name, sizeof(a->server_name));
    creds.server_name = a->server_name;
    rc = start_agent(a, pv, eth, now_ms);
    rc = rc != 0 ? rc : start_journal(a);
    if (rc != 0) {
        return rc;
    }
    a->net = ward_net_lwip(&a->np);
    rc = ward_tls_init(&a->tls, &creds, &a->net, a->agent.device_id);
    if (rc != 0) {
        cm_printf("ward: TLS set-up failed (%d): credentials rejected or the pool of %u "
                  "bytes is too small\n",
                  rc, (unsigned)sizeof(s_pool_mem));
        return rc;
    }
    rc = start_transport(a, pv->port);
    rc = rc != 0 ? rc : start_uplink(a, now_ms);
    if (rc != 0) {
        ward_tls_free(&a->tls);
        return rc;
    }
    (void)ward_outbox_restore(&a->outbox, &a->agent);
    a->started = true;
    cm_printf("ward: reporting to %s:%u as %s; journal %u events from flash\n", a->host,
              (unsigned)a->tp.cfg.port, a->agent.device_id,
              (unsigned)ward_journal_count(&a->journal));
    cm_tls_pool_reset_peak();
    return 0;
}

/* After the first full handshake with the collector: what it cost (docs/benchmarks.md). */
static void report_handshake(struct app *a)
{
    const struct ward_mempool_stats *st = cm_tls_pool_stats();

    a->reported_handshake = true;
    cm_printf("ward: first handshake done: TLS pool peak %lu of %lu bytes, stack high-water "
              "mark %lu of %lu bytes\n",
              (unsigned long)st->peak, (unsigned long)st->size, (unsigned long)cm_stack_used(),
              (unsigned long)cm_stack_size());
}

void cm_app_poll(int64_t now_ms)
{
    struct app *a = &s_app;

    if (!a->started) {
        return;
    }
    ward_lwip_nic_poll(&a->nics);
    ward_uplink_step(&a->up, now_ms);
    if (!a->reported_handshake && a->tp.stats.full_handshakes > 0) {
        report_handshake(a);
    }
    if (ward_journal_count(&a->journal) != a->journaled) {
        a->journaled = ward_journal_count(&a->journal);
        cm_printf("ward: journal holds %u events; stack high-water mark %lu bytes\n",
                  (unsigned)a->journaled, (unsigned long)cm_stack_used());
    }
}
