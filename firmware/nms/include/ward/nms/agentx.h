/*
 * ward's AgentX subagent session: the protocol side of one connection to a master agent,
 * with no socket in it. A port (firmware/apps/linux/agentx_posix.c) connects, moves bytes and
 * calls in; the session opens, registers the MIB's subtrees (ward/nms/mib.h), answers Get,
 * GetNext and GetBulk from the agent's state and sends a Notify for every state change of
 * medium or high severity. An idle session pings the master every WARD_AGENTX_PING_MS; every
 * Response the master sends gives its sysUpTime to the MIB's TimeStamp columns.
 *
 *   ward_agentx_init(&ax, &agent, version, config_hex);
 *   on connect:      ward_agentx_connected(&ax, now);
 *   readable:        n = read(fd, ward_agentx_rx_space(&ax, &room), room);
 *                    rc = ward_agentx_input(&ax, n, now);      // rc < 0: drop the connection
 *   every loop:      rc = ward_agentx_tick(&ax, now);          // notifications, timeouts
 *   writable / any:  write(fd, ward_agentx_tx_data(&ax, &len), len); ward_agentx_tx_done(&ax, n);
 *
 * Everything lives in struct ward_agentx (statically allocated by the caller); nothing is
 * allocated. A PDU the session cannot parse ends the connection (-EPROTO): the port
 * reconnects with backoff and the session opens and registers again.
 */
#ifndef WARD_NMS_AGENTX_H_
#define WARD_NMS_AGENTX_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/agent.h"
#include "ward/nms/agentx_pdu.h"
#include "ward/nms/mib.h"

#define WARD_AGENTX_RX_SIZE      (WARD_AGENTX_HEADER_LEN + WARD_AGENTX_PAYLOAD_MAX)
#define WARD_AGENTX_TX_SIZE      (2u * 8192u)
#define WARD_AGENTX_RESPONSE_MAX 8192u /* largest Response ward writes */
#define WARD_AGENTX_TIMEOUT_MS   5000  /* a master that does not answer Open/Register/Ping */
#define WARD_AGENTX_PING_MS      15000 /* Ping when idle this long (net-snmp's agentxPingInterval) */

enum ward_agentx_state {
    WARD_AGENTX_DOWN = 0, /* no connection */
    WARD_AGENTX_OPENING,  /* Open sent */
    WARD_AGENTX_REGISTERING,
    WARD_AGENTX_READY,
};

struct ward_agentx_stats {
    uint32_t opens;      /* sessions opened */
    uint32_t requests;   /* Get/GetNext/GetBulk answered */
    uint32_t varbinds;   /* values answered */
    uint32_t notifies;   /* Notify PDUs sent */
    uint32_t refused;    /* PDUs refused (parse errors, unsupported) */
    uint32_t last_error; /* res.error of the last failed Open/Register */
};

struct ward_agentx {
    enum ward_agentx_state state;
    struct ward_mib mib;
    uint32_t session_id;
    uint32_t packet_id;   /* of the last PDU ward sent */
    uint32_t waiting_for; /* packet id of the Open/Register awaiting its Response, 0 none */
    int64_t waiting_since;
    int64_t pinged_ms;     /* when the last Ping was sent (or the session became ready) */
    uint8_t reg_next;      /* next subtree to register */
    uint32_t notified_seq; /* this run's events up to here are notified (or not notifiable) */
    struct ward_agentx_stats stats;
    size_t rx_len;
    size_t tx_len;
    size_t tx_off;
    struct ward_agentx_request req; /* the request being answered */
    uint8_t rx[WARD_AGENTX_RX_SIZE];
    uint8_t tx[WARD_AGENTX_TX_SIZE];
};

/** Attach a session to an agent; nothing is sent until ward_agentx_connected(). The disk
 * tables are served from ax->mib.cache: set it to the agent's reading cache (or leave NULL). */
void ward_agentx_init(struct ward_agentx *ax, const struct ward_agent *agent, const char *version,
                      const char *config_hex);

/** A connection is up: buffers cleared, an Open queued. */
void ward_agentx_connected(struct ward_agentx *ax, int64_t now_ms);

/** The connection is gone (closed by either side). */
void ward_agentx_disconnected(struct ward_agentx *ax);

/** Where to read into and how much fits (0: process what is there first). */
uint8_t *ward_agentx_rx_space(struct ward_agentx *ax, size_t *room);

/**
 * n bytes were read into the rx space: process every whole PDU.
 * @return 0, -EPROTO (a malformed PDU, or a header too large to buffer), -ECONNREFUSED (the
 *         master refused Open or Register, or closed the session): drop the connection.
 */
int ward_agentx_input(struct ward_agentx *ax, size_t n, int64_t now_ms);

/**
 * Queue Notify PDUs for new state changes and check the master answers in time.
 * @return 0, -ETIMEDOUT (drop the connection).
 */
int ward_agentx_tick(struct ward_agentx *ax, int64_t now_ms);

/** Bytes waiting to be written. */
const uint8_t *ward_agentx_tx_data(const struct ward_agentx *ax, size_t *len);

/** n of them were written. */
void ward_agentx_tx_done(struct ward_agentx *ax, size_t n);

#endif /* WARD_NMS_AGENTX_H_ */
