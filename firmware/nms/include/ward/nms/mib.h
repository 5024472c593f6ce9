/*
 * The MIB views ward's AgentX subagent serves, read from the agent's own state (the health
 * engine's sensors and the event log): nothing here touches a device. Three subtrees:
 *
 *   ENTITY-MIB entPhysicalTable      1.3.6.1.2.1.47.1.1.1
 *     index 1: the chassis; 2..: one row per device a sensor id names ("disk:ST4000_Z1",
 *     "temp:coretemp.isa0000", "nic:eth0", "host"), in order of first appearance;
 *     WARD_MIB_SENSOR_BASE + i: health sensor i (class sensor, contained in its device).
 *   ENTITY-SENSOR-MIB entPhySensorTable 1.3.6.1.2.1.99.1.1, indexed by the sensor's
 *     entPhysicalIndex.
 *   WARD-MIB (tools/mibs/WARD-MIB.txt) 1.3.6.1.4.1.32473.1: agent scalars,
 *     wardSensorTable (index i + 1): state, severity, value and the six thresholds;
 *     wardDiskTable (index: the disk's cache slot + 1), wardSmartAttrTable (disk, attribute
 *     id) and wardNvmeTable (disk), read from the agent's reading cache (ward/nms/cache.h).
 *
 * TimeStamp columns (entPhySensorValueTimeStamp, wardDiskTimeStamp) are the master's
 * sysUpTime when the value was read: every Response a master sends carries its sysUpTime
 * (RFC 2741 6.2.16, res.sysUpTime), which the session hands to ward_mib_sync_uptime().
 *
 * Get and GetNext follow SNMP's lexicographic order; a column with no value for a row (a
 * threshold that is not set, a value not read yet) has no instance.
 */
#ifndef WARD_NMS_MIB_H_
#define WARD_NMS_MIB_H_

#include <stdbool.h>
#include <stdint.h>

#include "ward/agent.h"
#include "ward/nms/agentx_pdu.h"
#include "ward/nms/cache.h"

#define WARD_MIB_SENSOR_BASE (2u + (uint32_t)WARD_HEALTH_MAX_SENSORS)
#define WARD_MIB_SUBTREES    3u

/* WARD-MIB: enterprises.32473 is the documentation PEN of RFC 5612, a placeholder. */
#define WARD_MIB_OID 1, 3, 6, 1, 4, 1, 32473, 1

struct ward_mib {
    const struct ward_agent *agent;
    const char *version;    /* agent version text */
    const char *config_hex; /* configuration digest, hex */
    uint32_t journal_depth; /* records in the store-and-forward journal (the app sets it) */
    /* The agent's reading cache (SMART, NVMe health) for the disk tables; NULL: no rows. */
    const struct ward_nms_cache *cache;
    /* The name of an ATA attribute id (wardSmartAttrName), given by the application (e.g.
     * hal/smart's ward_smart_ata_attr_name); NULL: the column has no instances. */
    const char *(*attr_name)(uint8_t id);
    /* The master's sysUpTime (centiseconds) at agent time sync_ms, from its last Response:
     * TimeStamp columns are sysUpTime by the master's clock (ward_mib_sync_uptime). */
    uint32_t uptime_at_sync;
    int64_t sync_ms;
    bool uptime_known;
    /* Device rows, rebuilt by ward_mib_refresh() before a request is served. */
    uint16_t group_of[WARD_HEALTH_MAX_SENSORS];    /* sensor i -> its device row */
    uint16_t group_first[WARD_HEALTH_MAX_SENSORS]; /* device row g -> first sensor naming it */
    uint16_t n_groups;
    uint16_t n_sensors;
};

/** Attach a MIB to an agent. The strings are kept by reference. */
void ward_mib_init(struct ward_mib *m, const struct ward_agent *agent, const char *version,
                   const char *config_hex);

/**
 * A master's Response said its sysUpTime is sys_uptime (centiseconds) at agent time now_ms:
 * TimeStamp values are computed from it from now on.
 */
void ward_mib_sync_uptime(struct ward_mib *m, uint32_t sys_uptime, int64_t now_ms);

/** Rebuild the device rows from the sensor table (call before serving a request). */
void ward_mib_refresh(struct ward_mib *m);

/** The i-th subtree to register (i < WARD_MIB_SUBTREES). @return 0, -ENOENT. */
int ward_mib_subtree(unsigned i, struct ward_oid *out);

/**
 * Get: v receives the value, or noSuchObject / noSuchInstance.
 */
void ward_mib_get(const struct ward_mib *m, const struct ward_oid *oid, int64_t now_ms,
                  struct ward_agentx_value *v);

/**
 * GetNext within a search range: the first instance after start (or at it, when
 * start->include), before end when end->n > 0. out and v receive it, or v is endOfMibView
 * and out is start.
 */
void ward_mib_next(const struct ward_mib *m, const struct ward_oid *start,
                   const struct ward_oid *end, int64_t now_ms, struct ward_oid *out,
                   struct ward_agentx_value *v);

/**
 * The varbinds of a wardStateChange notification for one event (sensor id, old and new
 * state, severity, value, threshold), after snmpTrapOID.0.
 * @return the number of varbinds written into names[] and vals[] (at most 7).
 */
unsigned ward_mib_notification(const struct ward_mib *m, const struct ward_event *ev,
                               struct ward_oid names[7], struct ward_agentx_value vals[7]);

#endif /* WARD_NMS_MIB_H_ */
