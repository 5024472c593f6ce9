/*
 * The reporting agent on the AN385: the same start-up as `ward-agent run` on Linux
 * (firmware/apps/linux/run_setup.c) and the same reporting loop, the core's
 * (ward/transport/uplink.h), with this board's glue: lwIP for the network
 * (firmware/ports/lwip), RAM for the journal, the provisioning block for credentials.
 *
 * Provisioning block (an385.ld: .provision, WARD_PROVISION_SIZE bytes of flash, filled at
 * manufacturing): "WPRV", then little-endian u16 lengths of the CA, the device certificate
 * and its key (DER or PEM with its NUL), u16 collector port, the collector's IPv4 address
 * and the server name (NUL-terminated, 16 and 48 bytes), then the three blobs in order.
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
#include "ward/transport/store_ram.h"
#include "ward/transport/tls.h"
#include "ward/transport/transport.h"
#include "ward/transport/uplink.h"
#include "app.h"
#include "board.h"
#include "entropy.h"
#include "net_lwip.h"

struct provision {
    char magic[4];
    uint8_t ca_len[2];
    uint8_t cert_len[2];
    uint8_t key_len[2];
    uint8_t port[2];
    char host[16];
    char server_name[48];
};

/* Everything the agent owns, in .bss: the budget counts all of it. */
struct app {
    struct ward_agent agent;
    struct ward_hal hal;
    struct ward_lwip_nic nics;
    struct ward_net_lwip np;
    struct ward_net net;
    struct ward_tls tls;
    struct ward_transport tp;
    struct ward_store_ram store;
    struct ward_journal journal;
    struct ward_outbox outbox;
    struct ward_json_arena arena;
    struct ward_uplink up;
    char host[16];
    char server_name[48];
    bool started;
    uint8_t tx[WARD_TRANSPORT_TX_BUF_SIZE];
    uint8_t rx[WARD_TRANSPORT_RX_BUF_SIZE];
    uint8_t arena_mem[WARD_JSON_ARENA_SIZE];
    uint8_t journal_mem[WARD_JOURNAL_MAX_BYTES];
    struct ward_journal_entry idx[WARD_JOURNAL_MAX_RECORDS];
};

static struct app s_app;
static struct ward_mempool s_pool;
static uint8_t s_pool_mem[WARD_TLS_POOL_SIZE] __attribute__((aligned(8)));

extern const uint8_t __ward_provision_start[];
extern const uint8_t __ward_provision_end[];

int an385_tls_pool_init(void)
{
    if (ward_mempool_init(&s_pool, s_pool_mem, sizeof(s_pool_mem)) != 0) {
        return -EIO;
    }
    return ward_mempool_install_mbedtls(&s_pool) == 0 ? 0 : -EIO;
}

const struct ward_mempool_stats *an385_tls_pool_stats(void)
{
    return &s_pool.stats;
}

void an385_tls_pool_reset_peak(void)
{
    ward_mempool_reset_peak(&s_pool);
}

static size_t le16(const uint8_t b[2])
{
    return (size_t)b[0] | ((size_t)b[1] << 8);
}

/* Credentials and collector from the provisioning block; -ENOENT when it is blank or torn. */
static int read_provision(struct app *a, struct ward_tls_creds *c)
{
    const struct provision *p = (const struct provision *)(const void *)__ward_provision_start;
    size_t room = (size_t)(__ward_provision_end - __ward_provision_start);
    const uint8_t *blob = __ward_provision_start + sizeof(*p);

    if (room < sizeof(*p) || memcmp(p->magic, "WPRV", 4) != 0 || le16(p->port) == 0 ||
        memchr(p->host, '\0', sizeof(p->host)) == NULL ||
        memchr(p->server_name, '\0', sizeof(p->server_name)) == NULL) {
        return -ENOENT;
    }
    memset(c, 0, sizeof(*c));
    c->ca_len = le16(p->ca_len);
    c->cert_len = le16(p->cert_len);
    c->key_len = le16(p->key_len);
    if (c->ca_len + c->cert_len + c->key_len > room - sizeof(*p)) {
        return -ENOENT;
    }
    c->ca = blob;
    c->cert = blob + c->ca_len;
    c->key = blob + c->ca_len + c->cert_len;
    memcpy(a->host, p->host, sizeof(a->host));
    memcpy(a->server_name, p->server_name, sizeof(a->server_name));
    c->server_name = a->server_name;
    return 0;
}

static int start_agent(struct app *a, struct netif *eth, int64_t now_ms)
{
    struct ward_agent_config cfg;
    uint8_t boot_id[WARD_BOOT_ID_LEN];
    int rc;

    /* A boot id must never repeat, so it needs the entropy source TLS needs. */
    rc = an385_entropy_read(boot_id, sizeof(boot_id));
    if (rc != 0) {
        an385_printf("ward: no entropy source on this board (%d): reporting disabled; a board "
                     "that reports needs a TRNG in entropy.c\n",
                     rc);
        return -ENODEV;
    }
    memset(&a->hal, 0, sizeof(a->hal));
    rc = ward_lwip_nic_init(&a->nics, &a->hal, eth != NULL ? &eth : NULL, eth != NULL ? 1 : 0);
    if (rc != 0) {
        return rc;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.boot_id = boot_id;
    cfg.seed = ward_backoff_seed(boot_id, sizeof(boot_id));
    cfg.hal = &a->hal;
    cfg.hooks.heartbeat = ward_uplink_on_heartbeat;
    cfg.hooks.user = &a->up;
    rc = ward_agent_init(&a->agent, &cfg, now_ms);
    return rc != 0 ? rc : ward_json_arena_init(&a->arena, a->arena_mem, sizeof(a->arena_mem));
}

/* The journal in RAM: it survives a lost connection, not a reset (no flash store yet). */
static int start_journal(struct app *a)
{
    int rc = ward_store_ram_init(&a->store, a->journal_mem, sizeof(a->journal_mem));

    if (rc != 0) {
        return rc;
    }
    rc = ward_journal_open(&a->journal, ward_store_ram(&a->store), a->idx, WARD_JOURNAL_MAX_RECORDS,
                           WARD_JOURNAL_MAX_BYTES);
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
        an385_printf("ward: malformed acknowledgement; events kept\n");
    } else if (fault == WARD_UPLINK_BUILD_FAILED) {
        an385_printf("ward: cannot build the report batch (%d)\n", err);
    } else {
        an385_printf("ward: journal error (%d)\n", err);
    }
}

static int start_uplink(struct app *a, int64_t now_ms)
{
    const struct ward_uplink_parts parts = { &a->agent, &a->outbox, &a->tp, &a->arena };
    int rc = ward_uplink_init(&a->up, NULL, &parts, now_ms);

    a->up.on_fault = on_fault;
    return rc;
}

int an385_app_start(struct netif *eth, int64_t now_ms)
{
    struct app *a = &s_app;
    struct ward_tls_creds creds;
    int rc;

    if (read_provision(a, &creds) != 0) {
        an385_printf("ward: no provisioning block (credentials, collector): reporting "
                     "disabled\n");
        return -ENOENT;
    }
    rc = start_agent(a, eth, now_ms);
    rc = rc != 0 ? rc : start_journal(a);
    if (rc != 0) {
        return rc;
    }
    a->net = ward_net_lwip(&a->np);
    rc = ward_tls_init(&a->tls, &creds, &a->net, a->agent.device_id);
    if (rc != 0) {
        an385_printf("ward: TLS set-up failed (%d): credentials rejected or the pool of %u "
                     "bytes is too small\n",
                     rc, (unsigned)sizeof(s_pool_mem));
        return rc;
    }
    rc = start_transport(
        a, (uint16_t)le16(((const struct provision *)(const void *)__ward_provision_start)->port));
    rc = rc != 0 ? rc : start_uplink(a, now_ms);
    if (rc != 0) {
        ward_tls_free(&a->tls);
        return rc;
    }
    (void)ward_outbox_restore(&a->outbox, &a->agent);
    a->started = true;
    an385_printf("ward: reporting to %s:%u as %s\n", a->host, (unsigned)a->tp.cfg.port,
                 a->agent.device_id);
    return 0;
}

void an385_app_poll(int64_t now_ms)
{
    struct app *a = &s_app;

    if (!a->started) {
        return;
    }
    ward_lwip_nic_poll(&a->nics);
    ward_uplink_step(&a->up, now_ms);
}
