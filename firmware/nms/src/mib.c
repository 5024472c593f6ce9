/*
 * ward's MIB views (ward/nms/mib.h). Every object is a column of a table: a scalar group is a
 * table with one row, index 0. A table is its entry's OID, its columns and two functions: the
 * next row index after a given one, and the value of (column, row) or -ENOENT. Get and
 * GetNext are written once over that, so lexicographic order holds for all of them.
 */
#include "ward/nms/mib.h"

#include <errno.h>
#include <string.h>

#include "ward/wire/state.h"

#include "mib_internal.h"

#define SENSOR_VALUE_MAX 1000000000 /* EntitySensorValue's range */

void mib_v_int(struct ward_agentx_value *v, int64_t x)
{
    v->type = WARD_AGENTX_V_INTEGER;
    v->u.i32 = x > INT32_MAX ? INT32_MAX : (x < INT32_MIN ? INT32_MIN : (int32_t)x);
}

void mib_v_u32(struct ward_agentx_value *v, uint16_t type, uint64_t x)
{
    v->type = type;
    v->u.u32 = x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
}

/* ---- sysUpTime ---- */

void ward_mib_sync_uptime(struct ward_mib *m, uint32_t sys_uptime, int64_t now_ms)
{
    m->uptime_at_sync = sys_uptime;
    m->sync_ms = now_ms;
    m->uptime_known = true;
}

uint32_t mib_timestamp(const struct ward_mib *m, int64_t t_ms)
{
    int64_t cs;

    if (!m->uptime_known) { /* no Response from a master yet: the agent's own run time */
        return t_ms > m->agent->start_ms ? (uint32_t)((uint64_t)(t_ms - m->agent->start_ms) / 10u)
                                         : 0;
    }
    /* Whole centiseconds toward the past: a reading 5 ms before the sync is 1 cs before it. */
    cs = t_ms >= m->sync_ms ? (t_ms - m->sync_ms) / 10 : -((m->sync_ms - t_ms + 9) / 10);
    cs += (int64_t)m->uptime_at_sync;
    /* Before the master's (re)initialization: TimeStamp says 0. sysUpTime wraps at 2^32. */
    return cs <= 0 ? 0 : (uint32_t)((uint64_t)cs & 0xffffffffu);
}

/* ---- device rows ---- */

/* Length of the device part of a sensor id: up to its second ':' ("disk:X:smart" -> "disk:X"),
 * or its first when it has only one ("host:cpu_busy_pct" -> "host"). */
static size_t group_len(const char *id)
{
    const char *c1 = strchr(id, ':');
    const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;

    return c2 != NULL ? (size_t)(c2 - id) : (c1 != NULL ? (size_t)(c1 - id) : strlen(id));
}

void ward_mib_init(struct ward_mib *m, const struct ward_agent *agent, const char *version,
                   const char *config_hex)
{
    memset(m, 0, sizeof(*m));
    m->agent = agent;
    m->version = version;
    m->config_hex = config_hex;
}

/* Sensors are never removed from the engine's table, so only the ones added since the last
 * refresh need a device row: a request costs nothing here once the table is complete. */
void ward_mib_refresh(struct ward_mib *m)
{
    const struct ward_health *h = &m->agent->health;
    unsigned n = ward_health_count(h);

    if (n < m->n_sensors) {
        m->n_groups = 0, m->n_sensors = 0; /* another engine: start over */
    }
    for (unsigned i = m->n_sensors; i < n; i++) {
        const char *id = h->sensor[i].id;
        size_t len = group_len(id);
        unsigned g;

        for (g = 0; g < m->n_groups; g++) {
            const char *other = h->sensor[m->group_first[g]].id;

            if (group_len(other) == len && memcmp(other, id, len) == 0) {
                break;
            }
        }
        if (g == m->n_groups) {
            m->group_first[m->n_groups++] = (uint16_t)i;
        }
        m->group_of[i] = (uint16_t)g;
    }
    m->n_sensors = (uint16_t)n;
}

/* ---- classification by sensor id ---- */

enum kind { K_OTHER, K_TEMP, K_FAN, K_PCT };

static bool has_word(const char *id, const char *word)
{
    size_t n = strlen(word);
    size_t len = strlen(id);

    return strncmp(id, word, n) == 0 ||
           (len > n && id[len - n - 1] == ':' && strcmp(id + len - n, word) == 0);
}

static enum kind sensor_kind(const char *id)
{
    size_t len = strlen(id);

    if (strncmp(id, "temp:", 5) == 0 || has_word(id, "temp")) {
        return K_TEMP;
    }
    if (strncmp(id, "fan:", 4) == 0) {
        return K_FAN;
    }
    if ((len > 4 && strcmp(id + len - 4, "_pct") == 0) || has_word(id, "percent_used")) {
        return K_PCT;
    }
    return K_OTHER;
}

/* entPhysicalClass of a device row: fan(7), port(10) for a NIC, cpu(12) for the host,
 * module(9) for a disk or a sensor chip, other(1) for the agent itself. */
static int group_class(const char *id)
{
    static const struct {
        const char *prefix;
        int cls;
    } k_map[] = { { "fan:", 7 }, { "nic:", 10 }, { "host", 12 }, { "disk:", 9 }, { "temp:", 9 } };

    for (unsigned i = 0; i < sizeof(k_map) / sizeof(k_map[0]); i++) {
        if (strncmp(id, k_map[i].prefix, strlen(k_map[i].prefix)) == 0) {
            return k_map[i].cls;
        }
    }
    return 1;
}

/* ---- ENTITY-MIB entPhysicalTable ---- */

static int64_t ent_next(const struct ward_mib *m, int64_t after)
{
    if (after < 1) {
        return 1;
    }
    if (after + 1 <= 1 + (int64_t)m->n_groups) {
        return after + 1;
    }
    if (after < (int64_t)WARD_MIB_SENSOR_BASE) {
        return m->n_sensors > 0 ? (int64_t)WARD_MIB_SENSOR_BASE : -1;
    }
    return after + 1 < (int64_t)WARD_MIB_SENSOR_BASE + m->n_sensors ? after + 1 : -1;
}

/* Position of sensor i among the sensors of its device, from 1. */
static int rel_pos(const struct ward_mib *m, unsigned i)
{
    int pos = 0;

    for (unsigned k = 0; k <= i; k++) {
        pos += m->group_of[k] == m->group_of[i];
    }
    return pos;
}

/* The identity the HAL discovered for the disk a device row names (kept since start-up: no
 * I/O). @return true when found. */
static bool disk_ident(const struct ward_mib *m, const char *name, struct ward_disk_info *out)
{
    const struct ward_hal *hal = m->agent->hal;

    for (unsigned d = 0; hal != NULL && d < hal->n_disk; d++) {
        int n = ward_disk_count(hal->disk[d]);

        for (int i = 0; i < n; i++) {
            if (ward_disk_info(hal->disk[d], (unsigned)i, out) == 0 &&
                strcmp(out->sensor.id, name) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* A disk row's firmware revision (9), serial number (11) and model (13), "" when unknown. */
static void disk_text(const struct ward_mib *m, unsigned col, const char *name,
                      struct ward_agentx_value *v)
{
    struct ward_disk_info info;

    if ((col != 9 && col != 11 && col != 13) || strncmp(name, "disk:", 5) != 0 ||
        !disk_ident(m, name, &info)) {
        return;
    }
    ward_agentx_value_str(v, col == 9 ? info.firmware : (col == 11 ? info.serial : info.model));
}

/* The row's class, container, position and whether it is a field-replaceable unit (a disk,
 * a fan), and its text column (descr, name, software revision) in v.
 * @return 0, -ENOENT for no such row. */
static int ent_row(const struct ward_mib *m, unsigned col, uint32_t row, int *cls, int *parent,
                   int *pos, bool *fru, struct ward_agentx_value *v)
{
    const struct ward_health *h = &m->agent->health;
    char name[WARD_HEALTH_ID_MAX];

    *fru = false;
    if (row == 1) {
        *cls = 3, *parent = 0, *pos = -1;
        ward_agentx_value_str(
            v, col == 2 ? "ward agent"
                        : (col == 7 ? m->agent->device_id : (col == 10 ? m->version : "")));
    } else if (row >= 2 && row < 2u + m->n_groups) {
        const char *id = h->sensor[m->group_first[row - 2]].id;
        size_t len = group_len(id);

        memcpy(name, id, len);
        name[len] = '\0';
        *cls = group_class(name), *parent = 1, *pos = (int)row - 1;
        *fru = strncmp(name, "disk:", 5) == 0 || strncmp(name, "fan:", 4) == 0;
        ward_agentx_value_str(v, col == 2 || col == 7 ? name : "");
        disk_text(m, col, name, v);
    } else if (row >= WARD_MIB_SENSOR_BASE && row < WARD_MIB_SENSOR_BASE + m->n_sensors) {
        unsigned i = row - WARD_MIB_SENSOR_BASE;

        *cls = 8, *parent = 2 + m->group_of[i], *pos = rel_pos(m, i);
        ward_agentx_value_str(v, col == 2 || col == 7 ? h->sensor[i].id : "");
    } else {
        return -ENOENT;
    }
    return 0;
}

static int ent_get(const struct ward_mib *m, unsigned col, uint32_t row, int64_t now,
                   struct ward_agentx_value *v)
{
    int cls, parent, pos;
    bool fru;

    (void)now;
    if (ent_row(m, col, row, &cls, &parent, &pos, &fru, v) != 0) {
        return -ENOENT;
    }
    switch (col) {
    case 3: /* entPhysicalVendorType: zeroDotZero, unknown */
        v->type = WARD_AGENTX_V_OID;
        memset(&v->u.oid, 0, sizeof(v->u.oid));
        v->u.oid.n = 2;
        break;
    case 4:
        mib_v_int(v, parent);
        break;
    case 5:
        mib_v_int(v, cls);
        break;
    case 6:
        mib_v_int(v, pos);
        break;
    case 16: /* entPhysicalIsFRU: true(1), false(2) */
        mib_v_int(v, fru ? 1 : 2);
        break;
    default: /* the texts, already set */
        break;
    }
    return 0;
}

/* ---- ENTITY-SENSOR-MIB entPhySensorTable ---- */

static int64_t sens_next(const struct ward_mib *m, int64_t after)
{
    int64_t first = WARD_MIB_SENSOR_BASE;

    if (after < first) {
        return m->n_sensors > 0 ? first : -1;
    }
    return after + 1 < first + m->n_sensors ? after + 1 : -1;
}

static int sens_get(const struct ward_mib *m, unsigned col, uint32_t row, int64_t now,
                    struct ward_agentx_value *v)
{
    static const uint8_t k_type[] = { [K_OTHER] = 1, [K_TEMP] = 8, [K_FAN] = 10, [K_PCT] = 1 };
    static const char *const k_units[] = {
        [K_OTHER] = "", [K_TEMP] = "C", [K_FAN] = "RPM", [K_PCT] = "%"
    };
    const struct ward_sensor *s;
    enum kind k;
    bool has;

    (void)now;
    if (row < WARD_MIB_SENSOR_BASE || row >= WARD_MIB_SENSOR_BASE + m->n_sensors) {
        return -ENOENT;
    }
    s = &m->agent->health.sensor[row - WARD_MIB_SENSOR_BASE];
    k = sensor_kind(s->id);
    has = (s->flags & WARD_SENSOR_HAS_VALUE) != 0;
    switch (col) {
    case 1: /* entPhySensorType */
        mib_v_int(v, k_type[k]);
        break;
    case 2: /* entPhySensorScale: units(9); milli-degrees are units with precision 3 */
        mib_v_int(v, 9);
        break;
    case 3: /* entPhySensorPrecision */
        mib_v_int(v, k == K_TEMP ? 3 : 0);
        break;
    case 4:
        mib_v_int(v, !has ? 0
                          : (s->value > SENSOR_VALUE_MAX
                                 ? SENSOR_VALUE_MAX
                                 : (s->value < -SENSOR_VALUE_MAX ? -SENSOR_VALUE_MAX : s->value)));
        break;
    case 5: /* entPhySensorOperStatus: ok(1), unavailable(2), nonoperational(3) */
        mib_v_int(v, s->state == WARD_STATE_FAILED
                         ? 3
                         : (!has || s->state == WARD_STATE_UNAVAILABLE ? 2 : 1));
        break;
    case 6:
        ward_agentx_value_str(v, k_units[k]);
        break;
    case 7: /* entPhySensorValueTimeStamp: sysUpTime (the master's) at the last reading */
        mib_v_u32(v, WARD_AGENTX_V_TIMETICKS, has ? mib_timestamp(m, s->last_ms) : 0);
        break;
    case 8: /* entPhySensorValueUpdateRate: 0, unknown */
        mib_v_u32(v, WARD_AGENTX_V_GAUGE32, 0);
        break;
    default:
        return -ENOENT;
    }
    return 0;
}

/* ---- WARD-MIB: agent scalars (wardAgent, one row 0) ---- */

static int64_t one_row(const struct ward_mib *m, int64_t after)
{
    (void)m;
    return after < 0 ? 0 : -1;
}

static int agent_get(const struct ward_mib *m, unsigned col, uint32_t row, int64_t now,
                     struct ward_agentx_value *v)
{
    const struct ward_evlog *log = &m->agent->log;

    (void)now;
    if (row != 0) {
        return -ENOENT;
    }
    switch (col) {
    case 1:
        ward_agentx_value_str(v, m->version);
        break;
    case 2:
        ward_agentx_value_str(v, m->config_hex);
        break;
    case 3:
        ward_agentx_value_str(v, m->agent->device_id);
        break;
    case 4:
        mib_v_u32(v, WARD_AGENTX_V_GAUGE32, m->journal_depth);
        break;
    case 5:
        mib_v_u32(v, WARD_AGENTX_V_GAUGE32, ward_evlog_pending(log));
        break;
    case 6:
    case 7:
    case 8: /* events dropped, low / medium / high */
        mib_v_u32(v, WARD_AGENTX_V_COUNTER32, log->dropped[WARD_SEV_LOW + (col - 6)]);
        break;
    case 9:
        mib_v_u32(v, WARD_AGENTX_V_GAUGE32, m->n_sensors);
        break;
    default: {
        enum ward_severity sev;

        mib_v_int(v, (int)ward_health_overall(&m->agent->health, &sev, NULL) + 1);
        break;
    }
    }
    return 0;
}

/* ---- WARD-MIB: wardSensorTable ---- */

static int64_t wsens_next(const struct ward_mib *m, int64_t after)
{
    int64_t next = after < 1 ? 1 : after + 1;

    return next <= (int64_t)m->n_sensors ? next : -1;
}

static int wsens_get(const struct ward_mib *m, unsigned col, uint32_t row, int64_t now,
                     struct ward_agentx_value *v)
{
    const struct ward_health *h = &m->agent->health;
    const struct ward_sensor *s = ward_health_sensor_at(h, row - 1u);
    struct ward_thresholds thr;

    (void)now;
    if (row == 0 || s == NULL) {
        return -ENOENT;
    }
    switch (col) {
    case 2:
        ward_agentx_value_str(v, s->id);
        break;
    case 3:
        mib_v_int(v, (int)s->state + 1);
        break;
    case 4:
        mib_v_int(v, (int)ward_health_sensor_severity(h, row - 1u) + 1);
        break;
    case 5:
        if (!(s->flags & WARD_SENSOR_HAS_VALUE)) {
            return -ENOENT;
        }
        mib_v_int(v, s->value);
        break;
    case 12:
        mib_v_int(v, (int64_t)WARD_MIB_SENSOR_BASE + row - 1);
        break;
    default: /* 6..11: the thresholds, in enum ward_threshold_kind order */
        if (ward_health_sensor_thresholds(h, row - 1u, &thr) != 0 ||
            !(thr.present & (1u << (col - 6)))) {
            return -ENOENT;
        }
        mib_v_int(v, thr.value[col - 6]);
        break;
    }
    return 0;
}

/* In lexicographic order of their entries. */
static const struct mib_table k_tables[] = {
    { { 1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1 }, 11, 2, 16, 1, ent_next, ent_get },
    { { 1, 3, 6, 1, 2, 1, 99, 1, 1, 1 }, 10, 1, 8, 1, sens_next, sens_get },
    { { WARD_MIB_OID, 1, 1 }, 10, 1, 10, 1, one_row, agent_get },
    { { WARD_MIB_OID, 1, 2, 1 }, 11, 2, 12, 1, wsens_next, wsens_get },
    { { WARD_MIB_OID, 1, 4, 1 }, 11, 2, 6, 1, mib_disk_next, mib_disk_get },
    { { WARD_MIB_OID, 1, 5, 1 }, 11, 2, 8, 2, mib_attr_next, mib_attr_get },
    { { WARD_MIB_OID, 1, 6, 1 }, 11, 1, 8, 1, mib_nvme_next, mib_nvme_get },
};
#define N_TABLES (sizeof(k_tables) / sizeof(k_tables[0]))

int ward_mib_subtree(unsigned i, struct ward_oid *out)
{
    static const uint32_t k_ent[] = { 1, 3, 6, 1, 2, 1, 47, 1, 1, 1 };
    static const uint32_t k_sens[] = { 1, 3, 6, 1, 2, 1, 99, 1, 1 };
    static const uint32_t k_ward[] = { WARD_MIB_OID };

    switch (i) {
    case 0:
        return ward_oid_set(out, k_ent, sizeof(k_ent) / sizeof(k_ent[0]));
    case 1:
        return ward_oid_set(out, k_sens, sizeof(k_sens) / sizeof(k_sens[0]));
    case 2:
        return ward_oid_set(out, k_ward, sizeof(k_ward) / sizeof(k_ward[0]));
    default:
        return -ENOENT;
    }
}

/* The row an instance OID of table tb names, or -1 when it cannot name one. */
static int64_t row_of(const struct mib_table *tb, const struct ward_oid *oid)
{
    const uint32_t *idx = &oid->sub[tb->len + 1];

    if (oid->n != tb->len + 1u + tb->n_index) {
        return -1;
    }
    if (tb->n_index == 1) {
        return idx[0];
    }
    return idx[0] > 0xffffu || idx[1] > 0xffu ? -1 : (int64_t)idx[0] << MIB_ATTR_BITS | idx[1];
}

/* The row after which GetNext from a start OID inside column col of table tb continues. */
static int64_t row_after(const struct mib_table *tb, const struct ward_oid *start)
{
    const uint32_t *idx = &start->sub[tb->len + 1];
    int64_t disk;

    if (start->n <= tb->len + 1u) {
        return -1;
    }
    if (tb->n_index == 1) {
        return idx[0];
    }
    disk = idx[0] > 0x10000u ? 0x10000 : (int64_t)idx[0];
    if (start->n == tb->len + 2u) {
        return (disk << MIB_ATTR_BITS) - 1; /* col.d: every attribute of disk d is after it */
    }
    return disk << MIB_ATTR_BITS | (idx[1] > 0xffu ? 0xff : idx[1]);
}

static void put_row(const struct mib_table *tb, int64_t row, struct ward_oid *out)
{
    if (tb->n_index == 1) {
        out->sub[tb->len + 1] = (uint32_t)row;
    } else {
        out->sub[tb->len + 1] = (uint32_t)(row >> MIB_ATTR_BITS);
        out->sub[tb->len + 2] = (uint32_t)row & 0xffu;
    }
    out->n = (uint8_t)(tb->len + 1u + tb->n_index);
}

void ward_mib_get(const struct ward_mib *m, const struct ward_oid *oid, int64_t now_ms,
                  struct ward_agentx_value *v)
{
    for (unsigned t = 0; t < N_TABLES; t++) {
        const struct mib_table *tb = &k_tables[t];
        unsigned col;
        int64_t row;

        if (!ward_oid_has_prefix(oid, tb->entry, tb->len) || oid->n == tb->len) {
            continue;
        }
        col = oid->sub[tb->len];
        if (col < tb->col_min || col > tb->col_max) {
            break;
        }
        row = row_of(tb, oid);
        if (row < 0 || tb->get(m, col, (uint32_t)row, now_ms, v) != 0) {
            v->type = WARD_AGENTX_V_NOSUCHINSTANCE;
        }
        return;
    }
    v->type = WARD_AGENTX_V_NOSUCHOBJECT;
}

/* The first instance of table tb at or after (col, row > after). @return 0 or -ENOENT. */
static int table_next(const struct ward_mib *m, const struct mib_table *tb, unsigned col,
                      int64_t after, int64_t now, struct ward_oid *out, struct ward_agentx_value *v)
{
    for (; col <= tb->col_max; col++, after = -1) {
        /* Bounded by the rows: next_row() is strictly increasing and ends with -1. */
        for (int64_t row = tb->next_row(m, after); row >= 0; row = tb->next_row(m, row)) {
            if (tb->get(m, col, (uint32_t)row, now, v) == 0) {
                (void)ward_oid_set(out, tb->entry, tb->len);
                out->sub[tb->len] = col;
                put_row(tb, row, out);
                return 0;
            }
        }
    }
    return -ENOENT;
}

/* Where GetNext starts inside table tb for a start OID: its column and the row to pass. */
static bool start_in(const struct mib_table *tb, const struct ward_oid *start, unsigned *col,
                     int64_t *after)
{
    struct ward_oid entry;

    (void)ward_oid_set(&entry, tb->entry, tb->len);
    *col = tb->col_min, *after = -1;
    if (ward_oid_cmp(start, &entry) < 0) {
        return true; /* before the table: its first instance */
    }
    if (!ward_oid_has_prefix(start, tb->entry, tb->len)) {
        return false; /* past it */
    }
    if (start->n == tb->len || start->sub[tb->len] < tb->col_min) {
        return true;
    }
    *col = start->sub[tb->len];
    *after = row_after(tb, start);
    return *col <= tb->col_max;
}

void ward_mib_next(const struct ward_mib *m, const struct ward_oid *start,
                   const struct ward_oid *end, int64_t now_ms, struct ward_oid *out,
                   struct ward_agentx_value *v)
{
    if (start->include) {
        ward_mib_get(m, start, now_ms, v);
        if (v->type < WARD_AGENTX_V_NOSUCHOBJECT) {
            *out = *start;
            out->include = 0;
            return;
        }
    }
    for (unsigned t = 0; t < N_TABLES; t++) {
        unsigned col;
        int64_t after;

        if (!start_in(&k_tables[t], start, &col, &after)) {
            continue;
        }
        if (table_next(m, &k_tables[t], col, after, now_ms, out, v) == 0) {
            if (end->n > 0 && ward_oid_cmp(out, end) >= 0) {
                break;
            }
            return;
        }
    }
    *out = *start;
    out->include = 0;
    v->type = WARD_AGENTX_V_ENDOFMIBVIEW;
}

/* The threshold the new state was reached past, or the old one's when it cleared. */
static int64_t crossed(const struct ward_thresholds *thr, unsigned state, int64_t value)
{
    unsigned lvl = state >= WARD_STATE_CAUTION && state <= WARD_STATE_FATAL ? state : 0;
    unsigned lo, hi;

    if (lvl == 0) {
        return 0;
    }
    lo = 2u * (lvl - 1u), hi = lo + 1u; /* lower_X, upper_X */
    if ((thr->present & (1u << hi)) && value > thr->value[hi]) {
        return thr->value[hi];
    }
    if (thr->present & (1u << lo)) {
        return thr->value[lo];
    }
    return (thr->present & (1u << hi)) ? thr->value[hi] : 0;
}

unsigned ward_mib_notification(const struct ward_mib *m, const struct ward_event *ev,
                               struct ward_oid names[7], struct ward_agentx_value vals[7])
{
    static const uint32_t k_trap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };
    static const uint32_t k_sensor_entry[] = { WARD_MIB_OID, 1, 2, 1 };
    static const uint32_t k_notify[] = { WARD_MIB_OID, 1, 3 };
    static const uint32_t k_change[] = { WARD_MIB_OID, 0, 1 };
    const struct ward_health *h = &m->agent->health;
    const struct ward_sensor *s = ward_health_sensor_at(h, ev->sensor);
    struct ward_thresholds thr = { 0 };
    uint32_t row = (uint32_t)ev->sensor + 1u;
    unsigned n = 0;

    (void)ward_oid_set(&names[n], k_trap_oid, 11);
    (void)ward_oid_set(&vals[n].u.oid, k_change, 10);
    vals[n++].type = WARD_AGENTX_V_OID;
    for (unsigned c = 2; c <= 5; c++) { /* id, state, severity, value */
        (void)ward_oid_set(&names[n], k_sensor_entry, 11);
        names[n].sub[11] = c, names[n].sub[12] = row, names[n].n = 13;
        if (c == 2) {
            ward_agentx_value_str(&vals[n], s != NULL ? s->id : "");
        } else {
            mib_v_int(&vals[n],
                      c == 3 ? (int64_t)ev->to + 1
                             : (c == 4 ? (int64_t)ev->severity + 1
                                       : ((ev->flags & WARD_EVENT_HAS_VALUE) ? ev->value : 0)));
        }
        n++;
    }
    (void)ward_health_sensor_thresholds(h, ev->sensor, &thr);
    for (unsigned c = 1; c <= 2; c++) { /* wardNotifyOldState.0, wardNotifyThreshold.0 */
        (void)ward_oid_set(&names[n], k_notify, 10);
        names[n].sub[10] = c, names[n].sub[11] = 0, names[n].n = 12;
        mib_v_int(&vals[n], c == 1
                                ? (int64_t)ev->from + 1
                                : crossed(&thr, ev->to > ev->from ? ev->to : ev->from, ev->value));
        n++;
    }
    return n;
}
