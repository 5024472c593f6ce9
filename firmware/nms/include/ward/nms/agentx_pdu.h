/*
 * AgentX (RFC 2741) PDUs: the encoder and decoder ward's subagent speaks with a master agent
 * (Net-SNMP's snmpd). Only what a read-only subagent needs: Open, Close, Register, Response,
 * Get, GetNext, GetBulk, Notify and Ping; the Set family and index allocation are answered
 * "not writable" by the session (agentx.h).
 *
 * Nothing here allocates or keeps state: a decoder reads one PDU out of a caller's buffer into
 * a caller's struct, checking every length against the header, the buffer and the limits
 * below; an encoder writes into a caller's buffer and fails (-ENOSPC) rather than overrun it.
 * Byte order: the NETWORK_BYTE_ORDER flag of each received PDU is honoured; ward always sends
 * in network byte order (and sets the flag).
 */
#ifndef WARD_NMS_AGENTX_PDU_H_
#define WARD_NMS_AGENTX_PDU_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WARD_AGENTX_HEADER_LEN  20u
#define WARD_AGENTX_OID_MAX     40u   /* sub-identifiers of one OID (RFC limit: 128) */
#define WARD_AGENTX_RANGES_MAX  48u   /* search ranges of one Get/GetNext/GetBulk */
#define WARD_AGENTX_PAYLOAD_MAX 8192u /* largest payload accepted */
#define WARD_AGENTX_OCTETS_MAX  255u  /* longest octet string a value carries here */

enum ward_agentx_type {
    WARD_AGENTX_OPEN = 1,
    WARD_AGENTX_CLOSE = 2,
    WARD_AGENTX_REGISTER = 3,
    WARD_AGENTX_UNREGISTER = 4,
    WARD_AGENTX_GET = 5,
    WARD_AGENTX_GETNEXT = 6,
    WARD_AGENTX_GETBULK = 7,
    WARD_AGENTX_TESTSET = 8,
    WARD_AGENTX_COMMITSET = 9,
    WARD_AGENTX_UNDOSET = 10,
    WARD_AGENTX_CLEANUPSET = 11,
    WARD_AGENTX_NOTIFY = 12,
    WARD_AGENTX_PING = 13,
    WARD_AGENTX_INDEXALLOCATE = 14,
    WARD_AGENTX_INDEXDEALLOCATE = 15,
    WARD_AGENTX_ADDAGENTCAPS = 16,
    WARD_AGENTX_REMOVEAGENTCAPS = 17,
    WARD_AGENTX_RESPONSE = 18,
};

/* Header flags. */
#define WARD_AGENTX_F_INSTANCE_REGISTRATION 0x01u
#define WARD_AGENTX_F_NEW_INDEX             0x02u
#define WARD_AGENTX_F_ANY_INDEX             0x04u
#define WARD_AGENTX_F_NON_DEFAULT_CONTEXT   0x08u
#define WARD_AGENTX_F_NETWORK_BYTE_ORDER    0x10u

/* Varbind types (SMIv2 through AgentX). */
enum ward_agentx_vtype {
    WARD_AGENTX_V_INTEGER = 2,
    WARD_AGENTX_V_OCTETS = 4,
    WARD_AGENTX_V_NULL = 5,
    WARD_AGENTX_V_OID = 6,
    WARD_AGENTX_V_IPADDRESS = 64,
    WARD_AGENTX_V_COUNTER32 = 65,
    WARD_AGENTX_V_GAUGE32 = 66,
    WARD_AGENTX_V_TIMETICKS = 67,
    WARD_AGENTX_V_OPAQUE = 68,
    WARD_AGENTX_V_COUNTER64 = 70,
    WARD_AGENTX_V_NOSUCHOBJECT = 128,
    WARD_AGENTX_V_NOSUCHINSTANCE = 129,
    WARD_AGENTX_V_ENDOFMIBVIEW = 130,
};

/* Response errors (res.error). */
enum ward_agentx_error {
    WARD_AGENTX_E_NONE = 0,
    WARD_AGENTX_E_TOOBIG = 1,
    WARD_AGENTX_E_GENERR = 5,
    WARD_AGENTX_E_NOTWRITABLE = 17,
    WARD_AGENTX_E_OPENFAILED = 256,
    WARD_AGENTX_E_NOTOPEN = 257,
    WARD_AGENTX_E_DUPLICATE_REGISTRATION = 263,
    WARD_AGENTX_E_UNKNOWN_REGISTRATION = 264,
    WARD_AGENTX_E_PARSE = 266,
    WARD_AGENTX_E_REQUEST_DENIED = 267,
    WARD_AGENTX_E_PROCESSING = 268,
};

struct ward_agentx_header {
    uint8_t version; /* 1 */
    uint8_t type;    /* enum ward_agentx_type */
    uint8_t flags;   /* WARD_AGENTX_F_* */
    uint32_t session_id;
    uint32_t transaction_id;
    uint32_t packet_id;
    uint32_t payload_len; /* bytes after the header, a multiple of 4 */
};

struct ward_oid {
    uint8_t n;       /* sub-identifiers used */
    uint8_t include; /* a search range's start: include it */
    uint32_t sub[WARD_AGENTX_OID_MAX];
};

/* A Get/GetNext/GetBulk request. */
struct ward_agentx_request {
    struct ward_agentx_header h;
    uint16_t non_repeaters; /* GetBulk */
    uint16_t max_repetitions;
    uint16_t n;       /* search ranges */
    bool has_context; /* a non-default context was named (ward serves none) */
    bool too_many;    /* more ranges than WARD_AGENTX_RANGES_MAX: answer tooBig */
    struct ward_oid start[WARD_AGENTX_RANGES_MAX];
    struct ward_oid end[WARD_AGENTX_RANGES_MAX]; /* n == 0: no end */
};

/* A master's Response (to Open, Register, Notify, Ping, Close). */
struct ward_agentx_response {
    struct ward_agentx_header h;
    uint32_t sys_uptime;
    uint16_t error; /* enum ward_agentx_error */
    uint16_t index;
};

/* One value to encode in a varbind. */
struct ward_agentx_value {
    uint16_t type; /* enum ward_agentx_vtype */
    union {
        int32_t i32;         /* INTEGER */
        uint32_t u32;        /* Counter32, Gauge32, TimeTicks */
        uint64_t u64;        /* Counter64 */
        struct ward_oid oid; /* OBJECT IDENTIFIER */
        struct {
            uint16_t len;
            uint8_t data[WARD_AGENTX_OCTETS_MAX];
        } octets;
    } u;
};

/* An encoder: a caller's buffer and how much of it is written. */
struct ward_agentx_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    size_t start; /* of the PDU being written (its header) */
    int err;      /* first error (-ENOSPC, -EINVAL); later writes do nothing */
};

/**
 * Decode a PDU header from the first bytes of buf.
 * @return the PDU's total length (header + payload) when buf holds a whole valid header,
 *         -EAGAIN when fewer than 20 bytes are there, -EPROTO when the header is invalid
 *         (version not 1, reserved type, payload not a multiple of 4 or larger than
 *         WARD_AGENTX_PAYLOAD_MAX).
 */
int ward_agentx_header_decode(const uint8_t *buf, size_t len, struct ward_agentx_header *h);

/**
 * Decode a whole Get, GetNext or GetBulk PDU (header included, len = its total length).
 * @return 0, -EPROTO (malformed: a length past the payload, a bad OID, trailing bytes,
 *         another type), -EINVAL (NULL arguments).
 */
int ward_agentx_request_decode(const uint8_t *pdu, size_t len, struct ward_agentx_request *req);

/** Decode a whole Response PDU (varbinds skipped). @return as ward_agentx_request_decode(). */
int ward_agentx_response_decode(const uint8_t *pdu, size_t len, struct ward_agentx_response *res);

/** Start writing a PDU of this type into w (header filled by ward_agentx_end()). */
void ward_agentx_begin(struct ward_agentx_writer *w, uint8_t type, uint8_t flags,
                       uint32_t session_id, uint32_t transaction_id, uint32_t packet_id);

/** Finish the PDU begun last: fill in its payload length. @return its length or w->err. */
int ward_agentx_end(struct ward_agentx_writer *w);

void ward_agentx_put_u8x4(struct ward_agentx_writer *w, uint8_t a, uint8_t b, uint8_t c, uint8_t d);
void ward_agentx_put_u16(struct ward_agentx_writer *w, uint16_t v);
void ward_agentx_put_u32(struct ward_agentx_writer *w, uint32_t v);
void ward_agentx_put_oid(struct ward_agentx_writer *w, const struct ward_oid *oid);
void ward_agentx_put_octets(struct ward_agentx_writer *w, const void *data, size_t len);
void ward_agentx_put_varbind(struct ward_agentx_writer *w, const struct ward_oid *name,
                             const struct ward_agentx_value *v);

/** Fill oid from sub-identifiers. @return 0, -EINVAL when n > WARD_AGENTX_OID_MAX. */
int ward_oid_set(struct ward_oid *oid, const uint32_t *sub, size_t n);

/** Lexicographic order of two OIDs: <0, 0, >0. */
int ward_oid_cmp(const struct ward_oid *a, const struct ward_oid *b);

/** true when prefix is a prefix of (or equal to) oid. */
bool ward_oid_has_prefix(const struct ward_oid *oid, const uint32_t *prefix, size_t n);

/** Set an octet-string value from a NUL-terminated string (cut at WARD_AGENTX_OCTETS_MAX). */
void ward_agentx_value_str(struct ward_agentx_value *v, const char *s);

#endif /* WARD_NMS_AGENTX_PDU_H_ */
