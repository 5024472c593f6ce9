/*
 * Fuzz harness for the AgentX subagent (firmware/nms): the PDU decoders on the raw input, then
 * a registered session fed the input as a master's byte stream in uneven pieces. Never
 * crashes; a request it accepts decodes the same way twice and within its limits; whatever
 * the session writes back is whole, valid PDUs that fit its buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/agent.h"
#include "ward/nms/agentx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ward_agent s_agent;
static struct ward_agentx s_ax;
static struct ward_agentx_request s_req[2];

static void setup(void)
{
    static const uint8_t boot[WARD_BOOT_ID_LEN] = { 1 };
    static int done;
    struct ward_agent_config cfg = { .device_id = "fuzz", .boot_id = boot };
    struct ward_reading r;

    if (done) {
        return;
    }
    done = 1;
    if (ward_agent_init(&s_agent, &cfg, 0) != 0) {
        abort();
    }
    ward_reading_ok(&r, 45000);
    (void)ward_agent_feed(&s_agent, "temp:chip:t1", &r, 10);
    ward_reading_ok(&r, 1200);
    (void)ward_agent_feed(&s_agent, "fan:chip:fan1", &r, 10);
    ward_reading_unavailable(&r, WARD_REASON_MISSING);
    (void)ward_agent_feed(&s_agent, "disk:X:smart", &r, 10);
}

static void check_decoders(const uint8_t *data, size_t size)
{
    struct ward_agentx_header h;
    struct ward_agentx_response res;
    int total = ward_agentx_header_decode(data, size, &h);

    if (total > 0 && (size_t)total > WARD_AGENTX_HEADER_LEN + WARD_AGENTX_PAYLOAD_MAX) {
        abort();
    }
    if (total <= 0 || (size_t)total > size) {
        return;
    }
    if (ward_agentx_request_decode(data, (size_t)total, &s_req[0]) == 0) {
        if (s_req[0].n > WARD_AGENTX_RANGES_MAX ||
            ward_agentx_request_decode(data, (size_t)total, &s_req[1]) != 0 ||
            s_req[1].n != s_req[0].n) {
            abort();
        }
        for (unsigned i = 0; i < s_req[0].n; i++) {
            if (s_req[0].start[i].n > WARD_AGENTX_OID_MAX ||
                ward_oid_cmp(&s_req[0].start[i], &s_req[1].start[i]) != 0) {
                abort();
            }
        }
    }
    (void)ward_agentx_response_decode(data, (size_t)total, &res);
}

/* Everything queued for the master: whole PDUs with valid headers. */
static void drain(void)
{
    size_t len;
    const uint8_t *p = ward_agentx_tx_data(&s_ax, &len);
    size_t off = 0;

    if (len > WARD_AGENTX_TX_SIZE) {
        abort();
    }
    while (off < len) {
        struct ward_agentx_header h;
        int total = ward_agentx_header_decode(p + off, len - off, &h);

        if (total <= 0 || (size_t)total > len - off) {
            abort();
        }
        off += (size_t)total;
    }
    ward_agentx_tx_done(&s_ax, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    int64_t now = 100;

    setup();
    check_decoders(data, size);
    ward_agentx_init(&s_ax, &s_agent, "fuzz", "00");
    ward_agentx_connected(&s_ax, now);
    drain();
    s_ax.state = WARD_AGENTX_READY; /* as after Open and Register: requests are served */
    s_ax.waiting_for = 0;
    while (off < size) {
        size_t room;
        uint8_t *dst = ward_agentx_rx_space(&s_ax, &room);
        size_t n = 1u + (size_t)(data[off] % 97u) * 13u; /* uneven pieces */

        n = n < size - off ? n : size - off;
        n = n < room ? n : room;
        if (n == 0) {
            break; /* nothing taken: cannot happen while the output is drained */
        }
        memcpy(dst, data + off, n);
        off += n;
        if (ward_agentx_input(&s_ax, n, now) != 0 || ward_agentx_tick(&s_ax, now) != 0) {
            break; /* the port would drop the connection */
        }
        drain();
        now += 10;
    }
    drain();
    ward_agentx_disconnected(&s_ax);
    return 0;
}
