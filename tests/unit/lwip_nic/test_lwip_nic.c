/*
 * hal/lwip's NIC device over lwIP's real netif code (built for the host): the loopback
 * interface lwIP creates and a test Ethernet netif whose "driver" counts what it sends the
 * way lwIP drivers do (MIB2_STATS_NETIF_ADD/INC). Traffic is real UDP through lwIP's stack,
 * to 127.0.0.1 and to an address on the test netif's subnet (198.18.0.0/24, nothing leaves
 * the process).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <lwip/init.h>
#include <lwip/ip4_addr.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/snmp.h>
#include <lwip/sys.h>
#include <lwip/udp.h>

#include "ward/hal/lwip_nic.h"

static struct netif s_et;
static struct ward_lwip_nic s_nic;
static struct ward_hal s_hal;
static unsigned s_sent;
static unsigned s_received;
static u32_t s_now;

u32_t sys_now(void)
{
    return s_now;
}

/* The test "driver": counts like a real one and drops the frame. */
static err_t et_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *ip)
{
    (void)ip;
    MIB2_STATS_NETIF_ADD(netif, ifoutoctets, p->tot_len);
    MIB2_STATS_NETIF_INC(netif, ifoutucastpkts);
    s_sent++;
    return ERR_OK;
}

static err_t et_init(struct netif *netif)
{
    static const u8_t mac[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };

    netif->name[0] = 'e';
    netif->name[1] = 't';
    netif->mtu = 1500;
    netif->hwaddr_len = 6;
    memcpy(netif->hwaddr, mac, 6);
    netif->output = et_output;
    netif->flags = NETIF_FLAG_BROADCAST;
    MIB2_INIT_NETIF(netif, snmp_ifType_ethernet_csmacd, 100000000u);
    return ERR_OK;
}

static void on_udp(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                   u16_t port)
{
    (void)arg;
    (void)pcb;
    (void)addr;
    (void)port;
    s_received++;
    pbuf_free(p);
}

static void send_udp(const char *dst, size_t payload)
{
    struct udp_pcb *pcb = udp_new();
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)payload, PBUF_RAM);
    ip_addr_t addr;

    assert_non_null(pcb);
    assert_non_null(p);
    memset(p->payload, 0xa5, payload);
    assert_true(ipaddr_aton(dst, &addr));
    assert_int_equal(udp_sendto(pcb, p, &addr, 9), ERR_OK);
    pbuf_free(p);
    udp_remove(pcb);
}

static struct ward_nic_reading read_ch(unsigned ch)
{
    struct ward_nic_reading r;

    memset(&r, 0xee, sizeof(r));
    assert_int_equal(ward_nic_read(s_hal.nic[0], ch, &r), 0);
    return r;
}

static int group_setup(void **state)
{
    ip4_addr_t ip, mask, gw;

    (void)state;
    lwip_init();
    IP4_ADDR(&ip, 198, 18, 0, 2);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    IP4_ADDR(&gw, 198, 18, 0, 1);
    if (netif_add(&s_et, &ip, &mask, &gw, NULL, et_init, netif_input) == NULL) {
        return -1;
    }
    netif_set_up(&s_et);
    netif_set_link_up(&s_et);
    /* a listener on port 9, so looped-back datagrams are taken (no ICMP unreachable) */
    struct udp_pcb *sink = udp_new();

    if (sink == NULL || udp_bind(sink, IP_ADDR_ANY, 9) != ERR_OK) {
        return -1;
    }
    udp_recv(sink, on_udp, NULL);
    return 0;
}

static void test_init_lists_netifs(void **state)
{
    struct ward_nic_info info;

    (void)state;
    /* netif_list: the newest first */
    assert_int_equal(ward_lwip_nic_init(&s_nic, &s_hal, NULL, 0), 0);
    assert_int_equal(s_hal.n_nic, 1);
    assert_int_equal(ward_nic_count(s_hal.nic[0]), 2);
    assert_int_equal(ward_nic_info(s_hal.nic[0], 0, &info), 0);
    assert_string_equal(info.name, "et1");
    assert_string_equal(info.sensor.id, "nic:et1");
    assert_true(info.has_mac);
    assert_int_equal(info.mac[3], 0x10);
    assert_int_equal(info.mtu, 1500);
    assert_int_equal(ward_nic_info(s_hal.nic[0], 1, &info), 0);
    assert_string_equal(info.name, "lo0");
    assert_false(info.has_mac);
    assert_int_equal(ward_nic_info(s_hal.nic[0], 2, &info), -EINVAL);
}

static void test_counters_follow_traffic(void **state)
{
    struct ward_nic_reading et0 = read_ch(0), lo0 = read_ch(1), r;

    (void)state;
    assert_int_equal(et0.counter[WARD_NIC_TX_BYTES].status, WARD_STATUS_OK);
    /* MAC-level counts lwIP does not keep */
    assert_int_equal(et0.counter[WARD_NIC_RX_CRC_ERRORS].status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(et0.counter[WARD_NIC_RX_CRC_ERRORS].reason, WARD_REASON_NOT_SUPPORTED);
    assert_int_equal(et0.counter[WARD_NIC_COLLISIONS].status, WARD_STATUS_UNAVAILABLE);

    send_udp("198.18.0.9", 100); /* out through the test driver */
    r = read_ch(0);
    assert_int_equal(s_sent, 1);
    assert_int_equal(r.counter[WARD_NIC_TX_BYTES].value - et0.counter[WARD_NIC_TX_BYTES].value,
                     20 + 8 + 100);
    assert_int_equal(r.counter[WARD_NIC_TX_PACKETS].value - et0.counter[WARD_NIC_TX_PACKETS].value,
                     1);
    assert_int_equal(r.counter[WARD_NIC_RX_BYTES].value, et0.counter[WARD_NIC_RX_BYTES].value);

    send_udp("127.0.0.1", 40); /* lwIP's own loopback code counts both directions */
    netif_poll(netif_get_by_index(1));
    assert_int_equal(s_received, 1);
    r = read_ch(1);
    assert_int_equal(r.counter[WARD_NIC_TX_BYTES].value - lo0.counter[WARD_NIC_TX_BYTES].value,
                     20 + 8 + 40);
    assert_int_equal(r.counter[WARD_NIC_RX_BYTES].value - lo0.counter[WARD_NIC_RX_BYTES].value,
                     20 + 8 + 40);
    assert_int_equal(r.counter[WARD_NIC_RX_PACKETS].value - lo0.counter[WARD_NIC_RX_PACKETS].value,
                     1);
}

static void test_32bit_wrap_extends(void **state)
{
    struct ward_nic_reading r;
    int64_t before;

    (void)state;
    s_et.mib2_counters.ifinoctets = 0xfffffff0u;
    ward_lwip_nic_poll(&s_nic);
    before = read_ch(0).counter[WARD_NIC_RX_BYTES].value;
    s_et.mib2_counters.ifinoctets += 0x20u; /* wraps to 0x10 */
    r = read_ch(0);
    assert_int_equal(r.counter[WARD_NIC_RX_BYTES].value - before, 0x20);
    assert_true(r.counter[WARD_NIC_RX_BYTES].value > (int64_t)0xffffffffu);
    /* and again, a whole wrap later (seen by a poll in between) */
    s_et.mib2_counters.ifinoctets += 0x80000000u;
    ward_lwip_nic_poll(&s_nic);
    s_et.mib2_counters.ifinoctets += 0x80000000u;
    assert_int_equal(read_ch(0).counter[WARD_NIC_RX_BYTES].value - before, 0x20 + 0x100000000ll);
}

static void test_link_state(void **state)
{
    struct ward_nic_reading r = read_ch(0);
    int64_t changes = r.counter[WARD_NIC_CARRIER_CHANGES].value;

    (void)state;
    assert_int_equal(r.carrier.value, 1);
    assert_int_equal(r.oper, WARD_NIC_OPER_UP);
    assert_int_equal(r.speed_mbps.status, WARD_STATUS_OK);
    assert_int_equal(r.speed_mbps.value, 100);
    netif_set_link_down(&s_et);
    r = read_ch(0);
    assert_int_equal(r.carrier.value, 0);
    assert_int_equal(r.oper, WARD_NIC_OPER_DOWN);
    assert_int_equal(r.speed_mbps.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(r.counter[WARD_NIC_CARRIER_CHANGES].value, changes + 1);
    netif_set_link_up(&s_et);
    assert_int_equal(read_ch(0).counter[WARD_NIC_CARRIER_CHANGES].value, changes + 2);
    /* a flap between two reads */
    netif_set_link_down(&s_et);
    netif_set_link_up(&s_et);
#if WARD_TEST_EXT_CALLBACK
    assert_int_equal(read_ch(0).counter[WARD_NIC_CARRIER_CHANGES].value, changes + 4);
#else
    /* without the callback only what a read sees is counted */
    assert_int_equal(read_ch(0).counter[WARD_NIC_CARRIER_CHANGES].value, changes + 2);
#endif
    /* administratively down: no carrier matters */
    netif_set_down(&s_et);
    assert_int_equal(read_ch(0).oper, WARD_NIC_OPER_DOWN);
    netif_set_up(&s_et);
    assert_int_equal(read_ch(0).oper, WARD_NIC_OPER_UP);
}

static void mac_hook(struct netif *netif, void *ctx, struct ward_nic_reading *out)
{
    assert_ptr_equal(netif, &s_et);
    ward_reading_ok(&out->counter[WARD_NIC_RX_CRC_ERRORS], *(const int *)ctx);
    out->duplex = WARD_NIC_DUPLEX_FULL;
}

static void test_mac_hook(void **state)
{
    static int crc = 7;
    struct ward_nic_reading r;

    (void)state;
    assert_int_equal(ward_lwip_nic_set_mac_hook(&s_nic, 0, mac_hook, &crc), 0);
    assert_int_equal(ward_lwip_nic_set_mac_hook(&s_nic, 5, mac_hook, &crc), -EINVAL);
    r = read_ch(0);
    assert_int_equal(r.counter[WARD_NIC_RX_CRC_ERRORS].status, WARD_STATUS_OK);
    assert_int_equal(r.counter[WARD_NIC_RX_CRC_ERRORS].value, 7);
    assert_int_equal(r.duplex, WARD_NIC_DUPLEX_FULL);
    assert_int_equal(r.counter[WARD_NIC_TX_BYTES].status, WARD_STATUS_OK); /* lwIP's, kept */
    assert_int_equal(read_ch(1).duplex, WARD_NIC_DUPLEX_UNKNOWN);
}

static void test_init_errors(void **state)
{
    struct ward_lwip_nic other;
    struct ward_hal hal;
    struct netif *five[5] = { &s_et, &s_et, &s_et, &s_et, &s_et };
    struct netif *one[1] = { &s_et };
    struct netif *null_one[1] = { NULL };

    (void)state;
    memset(&hal, 0, sizeof(hal));
    assert_int_equal(ward_lwip_nic_init(NULL, &hal, NULL, 0), -EINVAL);
    assert_int_equal(ward_lwip_nic_init(&other, NULL, NULL, 0), -EINVAL);
    assert_int_equal(ward_lwip_nic_init(&other, &hal, one, 0), -EINVAL);
    assert_int_equal(ward_lwip_nic_init(&other, &hal, null_one, 1), -EINVAL);
    assert_int_equal(ward_lwip_nic_init(&other, &hal, five, WARD_LWIP_NIC_MAX + 1), -ENOSPC);
    assert_int_equal(hal.n_nic, 0);
    hal.n_nic = WARD_HAL_MAX_DEVICES_PER_CLASS;
    assert_int_equal(ward_lwip_nic_init(&other, &hal, one, 1), -ENOSPC);
}

/* Last: the netif goes away, the device says so instead of reading freed memory. */
static void test_removed_netif(void **state)
{
    struct ward_nic_reading r;

    (void)state;
    netif_remove(&s_et);
    r = read_ch(0);
    assert_int_equal(r.oper, WARD_NIC_OPER_NOT_PRESENT);
    assert_int_equal(r.carrier.status, WARD_STATUS_UNAVAILABLE);
    assert_int_equal(r.counter[WARD_NIC_TX_BYTES].reason, WARD_REASON_MISSING);
    assert_int_equal(read_ch(1).oper, WARD_NIC_OPER_UP); /* lo0 is still there */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_lists_netifs),  cmocka_unit_test(test_counters_follow_traffic),
        cmocka_unit_test(test_32bit_wrap_extends), cmocka_unit_test(test_link_state),
        cmocka_unit_test(test_mac_hook),           cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_removed_netif),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
