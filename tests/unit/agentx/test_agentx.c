/*
 * The AgentX subagent (firmware/nms): the PDU decoder in both byte orders and its bounds, the
 * MIB's lexicographic order (a GetNext walk visits every instance once, in order, and ends in
 * endOfMibView; Get answers noSuchObject / noSuchInstance), GetBulk, and the session: Open,
 * Register of every subtree, answers, a Notify for a state change of medium severity, and a
 * refused Open or a garbage header ending the connection. No heap anywhere.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "heap_count.h"
#include "ward/agent.h"
#include "ward/hal/smart.h"
#include "ward/nms/agentx.h"

static struct ward_agent s_agent;
static struct ward_agentx s_ax;
static struct ward_agentx_request s_req;
static uint8_t s_buf[4096];

static const uint32_t k_ward[] = { WARD_MIB_OID };

static void feed(const char *id, int64_t v, int64_t t)
{
    struct ward_reading r;

    ward_reading_ok(&r, v);
    assert_true(ward_agent_feed(&s_agent, id, &r, t) >= 0);
}

static int setup(void **state)
{
    static const uint8_t boot[WARD_BOOT_ID_LEN] = { 7 };
    struct ward_agent_config cfg = { .device_id = "unit", .boot_id = boot };
    struct ward_thresholds thr = { .present = 1u << WARD_THR_UPPER_CRITICAL,
                                   .value = { [WARD_THR_UPPER_CRITICAL] = 90000 } };

    (void)state;
    assert_int_equal(ward_agent_init(&s_agent, &cfg, 0), 0);
    assert_int_equal(ward_health_set_hw_thresholds(&s_agent.health, "temp:chip:t1", &thr), 0);
    feed("temp:chip:t1", 45000, 10);
    feed("fan:chip:fan1", 1200, 10);
    feed("host:cpu_busy_pct", 12, 10);
    ward_agentx_init(&s_ax, &s_agent, "1.2.3", "abcd");
    ward_mib_refresh(&s_ax.mib);
    heap_count_start();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(heap_count_stop(), 0);
    return 0;
}

/* A PDU header in either byte order. */
static size_t header(uint8_t *b, uint8_t type, bool be, uint32_t payload, uint32_t pid)
{
    uint32_t v[4] = { 3, 4, pid, payload };

    b[0] = 1, b[1] = type, b[2] = be ? WARD_AGENTX_F_NETWORK_BYTE_ORDER : 0, b[3] = 0;
    for (unsigned i = 0; i < 4; i++) {
        for (unsigned k = 0; k < 4; k++) {
            b[4 + 4 * i + k] = (uint8_t)(v[i] >> (be ? 24 - 8 * k : 8 * k));
        }
    }
    return WARD_AGENTX_HEADER_LEN;
}

static void test_header(void **state)
{
    struct ward_agentx_header h;

    (void)state;
    header(s_buf, WARD_AGENTX_GET, false, 8, 9);
    assert_int_equal(ward_agentx_header_decode(s_buf, 20, &h), 28);
    assert_int_equal(h.packet_id, 9);
    assert_int_equal(h.session_id, 3);
    header(s_buf, WARD_AGENTX_GET, true, 8, 9);
    assert_int_equal(ward_agentx_header_decode(s_buf, 20, &h), 28);
    assert_int_equal(h.packet_id, 9);
    assert_int_equal(ward_agentx_header_decode(s_buf, 19, &h), -EAGAIN);
    header(s_buf, WARD_AGENTX_GET, true, 6, 9); /* not a multiple of 4 */
    assert_int_equal(ward_agentx_header_decode(s_buf, 20, &h), -EPROTO);
    header(s_buf, WARD_AGENTX_GET, true, WARD_AGENTX_PAYLOAD_MAX + 4, 9);
    assert_int_equal(ward_agentx_header_decode(s_buf, 20, &h), -EPROTO);
    header(s_buf, 19, true, 0, 9); /* no such type */
    assert_int_equal(ward_agentx_header_decode(s_buf, 20, &h), -EPROTO);
    header(s_buf, WARD_AGENTX_GET, true, 0, 9);
    s_buf[0] = 2;
    assert_int_equal(ward_agentx_header_decode(s_buf, 20, &h), -EPROTO);
}

/* A little-endian GetBulk (non-repeaters 0, max-repetitions 3) of the compact OID
 * 1.3.6.1.4.1.32473.1 with an empty end. */
static size_t le_getbulk(uint8_t *b)
{
    static const uint8_t payload[] = {
        0, 0, 3, 0, /* non_repeaters 0, max_repetitions 3 */
        3, 4, 0, 0, 1, 0, 0, 0, 0xd9, 0x7e, 0, 0, 1, 0, 0, 0, /* 4.1.32473.1, prefix 4 */
        0, 0, 0, 0,                                           /* end: null OID */
    };

    header(b, WARD_AGENTX_GETBULK, false, sizeof(payload), 5);
    memcpy(b + WARD_AGENTX_HEADER_LEN, payload, sizeof(payload));
    return WARD_AGENTX_HEADER_LEN + sizeof(payload);
}

static void test_request_decode(void **state)
{
    struct ward_oid want;
    size_t n = le_getbulk(s_buf);

    (void)state;
    assert_int_equal(ward_agentx_request_decode(s_buf, n, &s_req), 0);
    assert_int_equal(s_req.n, 1);
    assert_int_equal(s_req.max_repetitions, 3);
    assert_int_equal(ward_oid_set(&want, k_ward, 8), 0);
    assert_int_equal(ward_oid_cmp(&s_req.start[0], &want), 0);
    assert_int_equal(s_req.end[0].n, 0);
    /* Every shorter prefix of the PDU is refused, never read past. */
    for (size_t cut = WARD_AGENTX_HEADER_LEN; cut < n; cut += 4) {
        header(s_buf, WARD_AGENTX_GETBULK, false, (uint32_t)(cut - WARD_AGENTX_HEADER_LEN), 5);
        assert_int_equal(ward_agentx_request_decode(s_buf, cut, &s_req),
                         cut == WARD_AGENTX_HEADER_LEN + 4 ? 0 : -EPROTO);
    }
    /* An OID longer than the limit. */
    n = le_getbulk(s_buf);
    s_buf[WARD_AGENTX_HEADER_LEN + 4] = WARD_AGENTX_OID_MAX + 1;
    assert_int_equal(ward_agentx_request_decode(s_buf, n, &s_req), -EPROTO);
}

static void test_walk_order(void **state)
{
    struct ward_oid cur = { .n = 2, .sub = { 1, 3 } };
    struct ward_oid end = { 0 }, out, prev;
    struct ward_agentx_value v;
    unsigned n = 0, sensors = 0;

    (void)state;
    for (;;) {
        ward_mib_next(&s_ax.mib, &cur, &end, 0, &out, &v);
        if (v.type == WARD_AGENTX_V_ENDOFMIBVIEW) {
            break;
        }
        assert_true(ward_oid_cmp(&out, &cur) > 0);
        if (n > 0) {
            assert_true(ward_oid_cmp(&out, &prev) > 0);
        }
        if (ward_oid_has_prefix(&out, (const uint32_t[]){ 1, 3, 6, 1, 2, 1, 99, 1, 1, 1, 4 }, 11)) {
            sensors++;
        }
        prev = out;
        cur = out;
        assert_true(++n < 2000);
    }
    assert_int_equal(sensors, 3); /* one entPhySensorValue per sensor */
    /* entPhysicalTable: chassis + 3 devices + 3 sensors, 15 columns; entPhySensorTable 3 x 8;
     * wardAgent 10; wardSensorTable: id, state, severity, value, row of 3, and two
     * thresholds: t1's hardware upper critical, the host's board default upper caution. */
    assert_int_equal(n, 7 * 15 + 3 * 8 + 10 + 3 * 5 + 2);
}

static void test_get(void **state)
{
    struct ward_oid oid;
    struct ward_agentx_value v;
    uint32_t sub[13];

    (void)state;
    memcpy(sub, k_ward, sizeof(k_ward));
    sub[8] = 1, sub[9] = 2, sub[10] = 1, sub[11] = 9, sub[12] = 1; /* wardSensorUpperCritical.1 */
    ward_oid_set(&oid, sub, 13);
    ward_mib_get(&s_ax.mib, &oid, 0, &v);
    assert_int_equal(v.type, WARD_AGENTX_V_INTEGER);
    assert_int_equal(v.u.i32, 90000);
    sub[12] = 2; /* the fan has no upper critical threshold */
    ward_oid_set(&oid, sub, 13);
    ward_mib_get(&s_ax.mib, &oid, 0, &v);
    assert_int_equal(v.type, WARD_AGENTX_V_NOSUCHINSTANCE);
    sub[11] = 40; /* no such column */
    ward_oid_set(&oid, sub, 13);
    ward_mib_get(&s_ax.mib, &oid, 0, &v);
    assert_int_equal(v.type, WARD_AGENTX_V_NOSUCHOBJECT);
    sub[9] = 1, sub[10] = 1, sub[11] = 0; /* wardAgentVersion.0 */
    ward_oid_set(&oid, sub, 12);
    ward_mib_get(&s_ax.mib, &oid, 0, &v);
    assert_int_equal(v.type, WARD_AGENTX_V_OCTETS);
    assert_memory_equal(v.u.octets.data, "1.2.3", 5);
}

/* Feed bytes the master sent; @return the session's verdict. */
static int input(const uint8_t *b, size_t n, int64_t now)
{
    size_t room;
    uint8_t *dst = ward_agentx_rx_space(&s_ax, &room);

    assert_true(n <= room);
    memcpy(dst, b, n);
    return ward_agentx_input(&s_ax, n, now);
}

/* The one PDU the session wrote: its header, and it is consumed. */
static const uint8_t *take(struct ward_agentx_header *h, size_t *len)
{
    const uint8_t *p = ward_agentx_tx_data(&s_ax, len);
    int total;

    assert_true(*len >= WARD_AGENTX_HEADER_LEN);
    total = ward_agentx_header_decode(p, *len, h);
    assert_int_equal((size_t)total, *len);
    memcpy(s_buf, p, *len);
    ward_agentx_tx_done(&s_ax, *len);
    return s_buf;
}

static void respond(uint32_t session, uint32_t pid, uint16_t error)
{
    uint8_t r[32];

    header(r, WARD_AGENTX_RESPONSE, true, 8, pid);
    r[4] = (uint8_t)(session >> 24), r[5] = (uint8_t)(session >> 16);
    r[6] = (uint8_t)(session >> 8), r[7] = (uint8_t)session;
    memset(r + 20, 0, 8);
    r[24] = (uint8_t)(error >> 8), r[25] = (uint8_t)error;
    assert_int_equal(input(r, 28, 100), error == 0 ? 0 : -ECONNREFUSED);
}

static void open_session(void)
{
    struct ward_agentx_header h;
    size_t len;

    ward_agentx_connected(&s_ax, 0);
    take(&h, &len);
    assert_int_equal(h.type, WARD_AGENTX_OPEN);
    respond(42, h.packet_id, 0);
    for (unsigned i = 0; i < WARD_MIB_SUBTREES; i++) {
        take(&h, &len);
        assert_int_equal(h.type, WARD_AGENTX_REGISTER);
        assert_int_equal(h.session_id, 42);
        respond(42, h.packet_id, 0);
    }
    assert_int_equal(s_ax.state, WARD_AGENTX_READY);
}

static void test_session(void **state)
{
    struct ward_agentx_header h;
    struct ward_agentx_response res;
    struct ward_reading r;
    size_t len, n;
    const uint8_t *p;

    (void)state;
    open_session();
    /* GetBulk of WARD-MIB, 3 repetitions: 3 varbinds in the Response. */
    n = le_getbulk(s_buf);
    assert_int_equal(input(s_buf, n, 200), 0);
    p = take(&h, &len);
    assert_int_equal(h.type, WARD_AGENTX_RESPONSE);
    assert_int_equal(h.packet_id, 5);
    assert_int_equal(ward_agentx_response_decode(p, len, &res), 0);
    assert_int_equal(res.error, 0);
    assert_int_equal(s_ax.stats.varbinds, 3);
    /* A state change of medium severity (ok -> critical): one Notify. */
    ward_reading_ok(&r, 95000);
    assert_int_equal(ward_agent_feed(&s_agent, "temp:chip:t1", &r, 300), 1);
    assert_int_equal(ward_agentx_tick(&s_ax, 300), 0);
    take(&h, &len);
    assert_int_equal(h.type, WARD_AGENTX_NOTIFY);
    assert_int_equal(s_ax.stats.notifies, 1);
    assert_int_equal(ward_agentx_tick(&s_ax, 400), 0);
    ward_agentx_tx_data(&s_ax, &len);
    assert_int_equal(len, 0); /* once */
    /* A broken header ends the connection. */
    memset(s_buf, 0xff, 24);
    assert_int_equal(input(s_buf, 24, 500), -EPROTO);
    ward_agentx_disconnected(&s_ax);
}

/* Two disks in a reading cache: an ATA one whose page lists ids out of order, an NVMe one. */
static struct ward_nms_cache s_cache;

static void fill_cache(void)
{
    static const uint8_t ids[] = { 194, 5, 9 };
    struct ward_nms_disk *d = &s_cache.disk[0];

    memset(&s_cache, 0, sizeof(s_cache));
    s_cache.n_disks = 2;
    strcpy(d->info.sensor.id, "disk:A_1");
    d->info.kind = WARD_DISK_ATA;
    d->t_ms = 6000;
    d->smart.status = WARD_STATUS_OK;
    d->smart.kind = WARD_DISK_ATA;
    d->smart.verdict = WARD_SMART_PASSED;
    d->smart.u.ata.n_attrs = 3;
    for (unsigned i = 0; i < 3; i++) {
        d->smart.u.ata.attr[i].id = ids[i];
        d->smart.u.ata.attr[i].value = (uint8_t)(100 + i);
        d->smart.u.ata.attr[i].raw = 281474976710655u; /* 2^48 - 1 */
    }
    d = &s_cache.disk[1];
    strcpy(d->info.sensor.id, "disk:N_2");
    d->info.kind = WARD_DISK_NVME;
    d->t_ms = 4000;
    d->smart.status = WARD_STATUS_OK;
    d->smart.kind = WARD_DISK_NVME;
    d->smart.verdict = WARD_SMART_FAILING;
    d->smart.u.nvme.critical_warning = 4;
    d->smart.u.nvme.power_on_hours[0] = 5000000000u;
    s_ax.mib.cache = &s_cache;
    s_ax.mib.attr_name = ward_smart_ata_attr_name;
}

/* GetNext from WARD-MIB.1.t.1.sub...; @return the OID's sub-identifiers after wardObjects. */
static void next_of(const uint32_t *sub, unsigned n, struct ward_oid *out,
                    struct ward_agentx_value *v)
{
    struct ward_oid start, end = { 0 };
    uint32_t full[WARD_AGENTX_OID_MAX];

    memcpy(full, k_ward, sizeof(k_ward));
    full[8] = 1;
    memcpy(full + 9, sub, n * sizeof(sub[0]));
    ward_oid_set(&start, full, 9 + n);
    ward_mib_next(&s_ax.mib, &start, &end, 0, out, v);
}

static void expect_at(const struct ward_oid *o, const uint32_t *sub, unsigned n)
{
    assert_int_equal(o->n, 9 + n);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(o->sub[9 + i], sub[i]);
    }
}

static void test_disk_tables(void **state)
{
    struct ward_agentx_value v;
    struct ward_oid o;

    (void)state;
    fill_cache();
    /* wardSmartAttrTable: (disk, id) in order although the page is not sorted. */
    next_of((const uint32_t[]){ 5, 1, 3 }, 3, &o, &v);
    expect_at(&o, (const uint32_t[]){ 5, 1, 3, 1, 5 }, 5);
    assert_int_equal(v.u.i32, 101);
    next_of((const uint32_t[]){ 5, 1, 3, 1, 5 }, 5, &o, &v);
    expect_at(&o, (const uint32_t[]){ 5, 1, 3, 1, 9 }, 5);
    next_of((const uint32_t[]){ 5, 1, 3, 1 }, 4, &o, &v); /* col.disk: its first attribute */
    expect_at(&o, (const uint32_t[]){ 5, 1, 3, 1, 5 }, 5);
    /* Past disk 1's last id (and an id past 255): the NVMe disk has none, next column. */
    next_of((const uint32_t[]){ 5, 1, 3, 1, 300 }, 5, &o, &v);
    expect_at(&o, (const uint32_t[]){ 5, 1, 4, 1, 5 }, 5);
    next_of((const uint32_t[]){ 5, 1, 6, 1, 194 }, 5, &o, &v);
    expect_at(&o, (const uint32_t[]){ 5, 1, 7, 1, 5 }, 5);
    next_of((const uint32_t[]){ 5, 1, 2, 1, 5 }, 5, &o, &v);
    assert_int_equal(v.type, WARD_AGENTX_V_OCTETS);
    assert_memory_equal(v.u.octets.data, "Power_On_Hours", 14);
    next_of((const uint32_t[]){ 5, 1, 6, 1, 5 }, 5, &o, &v);
    assert_int_equal(v.u.octets.len, 15);
    assert_memory_equal(v.u.octets.data, "281474976710655", 15);
    /* wardNvmeTable: only disk 2; Counter64 keeps 64 bits. */
    next_of((const uint32_t[]){ 6 }, 1, &o, &v);
    expect_at(&o, (const uint32_t[]){ 6, 1, 1, 2 }, 4);
    assert_int_equal(v.u.i32, 4);
    next_of((const uint32_t[]){ 6, 1, 2 }, 3, &o, &v); /* no composite temperature: skipped */
    expect_at(&o, (const uint32_t[]){ 6, 1, 3, 2 }, 4);
    next_of((const uint32_t[]){ 6, 1, 6, 2 }, 4, &o, &v);
    assert_int_equal(v.type, WARD_AGENTX_V_COUNTER64);
    assert_int_equal(v.u.u64, 5000000000u);
    /* wardDiskTable: verdict failing(4); time stamps by the master's sysUpTime. */
    next_of((const uint32_t[]){ 4, 1, 5, 1 }, 4, &o, &v);
    assert_int_equal(v.u.i32, 4);
    ward_mib_sync_uptime(&s_ax.mib, 1000, 5000); /* sysUpTime 10 s at agent time 5 s */
    next_of((const uint32_t[]){ 4, 1, 6 }, 3, &o, &v);
    assert_int_equal(v.type, WARD_AGENTX_V_TIMETICKS);
    assert_int_equal(v.u.u32, 1100); /* read at 6 s */
    next_of((const uint32_t[]){ 4, 1, 6, 1 }, 4, &o, &v);
    assert_int_equal(v.u.u32, 900);            /* read at 4 s */
    ward_mib_sync_uptime(&s_ax.mib, 50, 5000); /* snmpd restarted 0.5 s ago */
    next_of((const uint32_t[]){ 4, 1, 6, 1 }, 4, &o, &v);
    assert_int_equal(v.u.u32, 0); /* before it started */
    next_of((const uint32_t[]){ 4, 1, 6 }, 3, &o, &v);
    assert_int_equal(v.u.u32, 150);
    s_ax.mib.cache = NULL;
}

/* An idle session pings; the Response's sysUpTime becomes the clock of the time stamps. */
static void test_ping_uptime(void **state)
{
    struct ward_agentx_header h;
    size_t len;
    uint8_t r[28];

    (void)state;
    open_session();
    assert_int_equal(ward_agentx_tick(&s_ax, 100 + WARD_AGENTX_PING_MS - 1), 0);
    ward_agentx_tx_data(&s_ax, &len);
    assert_int_equal(len, 0);
    assert_int_equal(ward_agentx_tick(&s_ax, 100 + WARD_AGENTX_PING_MS), 0);
    take(&h, &len);
    assert_int_equal(h.type, WARD_AGENTX_PING);
    header(r, WARD_AGENTX_RESPONSE, true, 8, h.packet_id);
    memset(r + 20, 0, 8);
    r[22] = 0x30, r[23] = 0x39; /* sysUpTime 12345 */
    assert_int_equal(input(r, 28, 20000), 0);
    assert_true(s_ax.mib.uptime_known);
    assert_int_equal(s_ax.mib.uptime_at_sync, 12345);
    assert_int_equal(s_ax.mib.sync_ms, 20000);
    /* No answer to the next Ping within the timeout: the connection is dropped. */
    assert_int_equal(ward_agentx_tick(&s_ax, 20000 + WARD_AGENTX_PING_MS), 0);
    take(&h, &len);
    assert_int_equal(
        ward_agentx_tick(&s_ax, 20000 + WARD_AGENTX_PING_MS + WARD_AGENTX_TIMEOUT_MS + 1),
        -ETIMEDOUT);
    ward_agentx_disconnected(&s_ax);
}

static void test_refused_open(void **state)
{
    struct ward_agentx_header h;
    size_t len;

    (void)state;
    ward_agentx_connected(&s_ax, 0);
    take(&h, &len);
    respond(0, h.packet_id, WARD_AGENTX_E_OPENFAILED);
    assert_int_equal(s_ax.stats.last_error, WARD_AGENTX_E_OPENFAILED);
    ward_agentx_disconnected(&s_ax);
    /* A master that never answers. */
    ward_agentx_connected(&s_ax, 0);
    take(&h, &len);
    assert_int_equal(ward_agentx_tick(&s_ax, WARD_AGENTX_TIMEOUT_MS + 1), -ETIMEDOUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_uptime, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
