/*
 * AgentX PDU encoder and decoder (RFC 2741, section 5 and 6). A reader walks the payload with a
 * cursor that never passes its end: every field is taken through rd_*(), which fails once and
 * for all (rd.bad) when the bytes are not there.
 */
#include "ward/nms/agentx_pdu.h"

#include <errno.h>
#include <string.h>

struct rd {
    const uint8_t *p;
    size_t left;
    bool nbo;
    bool bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
    const uint8_t *p = r->p;

    if (r->bad || n > r->left) {
        r->bad = true;
        return NULL;
    }
    r->p += n;
    r->left -= n;
    return p;
}

static uint32_t get32(const uint8_t *b, bool nbo)
{
    if (nbo) {
        return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    }
    return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static uint16_t get16(const uint8_t *b, bool nbo)
{
    return nbo ? (uint16_t)(b[0] << 8 | b[1]) : (uint16_t)(b[1] << 8 | b[0]);
}

static uint32_t rd_u32(struct rd *r)
{
    const uint8_t *b = rd_take(r, 4);

    return b != NULL ? get32(b, r->nbo) : 0;
}

static uint16_t rd_u16(struct rd *r)
{
    const uint8_t *b = rd_take(r, 2);

    return b != NULL ? get16(b, r->nbo) : 0;
}

/* An OID (5.1): n_subid, prefix, include, reserved, then n_subid sub-identifiers. */
static void rd_oid(struct rd *r, struct ward_oid *oid)
{
    const uint8_t *h = rd_take(r, 4);
    unsigned n, extra;

    memset(oid, 0, sizeof(*oid));
    if (h == NULL) {
        return;
    }
    n = h[0];
    extra = h[1] != 0 ? 5u : 0u; /* prefix x: 1.3.6.1.x */
    if (n + extra > WARD_AGENTX_OID_MAX || h[2] > 1) {
        r->bad = true;
        return;
    }
    if (extra != 0) {
        static const uint32_t internet[4] = { 1, 3, 6, 1 };

        memcpy(oid->sub, internet, sizeof(internet));
        oid->sub[4] = h[1];
    }
    for (unsigned i = 0; i < n && !r->bad; i++) {
        oid->sub[extra + i] = rd_u32(r);
    }
    oid->n = (uint8_t)(n + extra);
    oid->include = h[2];
}

/* An octet string (5.3): length, data, padding to 4; only skipped here. */
static void rd_skip_octets(struct rd *r)
{
    uint32_t len = rd_u32(r);

    if (!r->bad && len > r->left) {
        r->bad = true;
        return;
    }
    (void)rd_take(r, (len + 3u) & ~3u);
}

int ward_agentx_header_decode(const uint8_t *buf, size_t len, struct ward_agentx_header *h)
{
    bool nbo;

    if (buf == NULL || h == NULL) {
        return -EINVAL;
    }
    if (len < WARD_AGENTX_HEADER_LEN) {
        return -EAGAIN;
    }
    nbo = (buf[2] & WARD_AGENTX_F_NETWORK_BYTE_ORDER) != 0;
    h->version = buf[0];
    h->type = buf[1];
    h->flags = buf[2];
    h->session_id = get32(buf + 4, nbo);
    h->transaction_id = get32(buf + 8, nbo);
    h->packet_id = get32(buf + 12, nbo);
    h->payload_len = get32(buf + 16, nbo);
    if (h->version != 1 || h->type < WARD_AGENTX_OPEN || h->type > WARD_AGENTX_RESPONSE ||
        (h->payload_len & 3u) != 0 || h->payload_len > WARD_AGENTX_PAYLOAD_MAX) {
        return -EPROTO;
    }
    return (int)(WARD_AGENTX_HEADER_LEN + h->payload_len);
}

/* Header of a whole PDU, and a reader over exactly its payload. */
static int open_pdu(const uint8_t *pdu, size_t len, struct ward_agentx_header *h, struct rd *r)
{
    int total;

    if (pdu == NULL || h == NULL) {
        return -EINVAL;
    }
    total = ward_agentx_header_decode(pdu, len, h);
    if (total < 0 || (size_t)total != len) {
        return -EPROTO;
    }
    r->p = pdu + WARD_AGENTX_HEADER_LEN;
    r->left = h->payload_len;
    r->nbo = (h->flags & WARD_AGENTX_F_NETWORK_BYTE_ORDER) != 0;
    r->bad = false;
    return 0;
}

int ward_agentx_request_decode(const uint8_t *pdu, size_t len, struct ward_agentx_request *req)
{
    struct rd r;

    if (req == NULL || open_pdu(pdu, len, &req->h, &r) != 0) {
        return req == NULL ? -EINVAL : -EPROTO;
    }
    if (req->h.type != WARD_AGENTX_GET && req->h.type != WARD_AGENTX_GETNEXT &&
        req->h.type != WARD_AGENTX_GETBULK) {
        return -EPROTO;
    }
    req->n = 0;
    req->too_many = false;
    req->non_repeaters = req->max_repetitions = 0;
    req->has_context = (req->h.flags & WARD_AGENTX_F_NON_DEFAULT_CONTEXT) != 0;
    if (req->has_context) {
        rd_skip_octets(&r);
    }
    if (req->h.type == WARD_AGENTX_GETBULK) {
        req->non_repeaters = rd_u16(&r);
        req->max_repetitions = rd_u16(&r);
    }
    while (!r.bad && r.left > 0) {
        struct ward_oid scratch[2];
        bool room = req->n < WARD_AGENTX_RANGES_MAX;

        rd_oid(&r, room ? &req->start[req->n] : &scratch[0]);
        rd_oid(&r, room ? &req->end[req->n] : &scratch[1]);
        if (room) {
            req->n++;
        } else {
            req->too_many = true;
        }
    }
    return r.bad ? -EPROTO : 0;
}

int ward_agentx_response_decode(const uint8_t *pdu, size_t len, struct ward_agentx_response *res)
{
    struct rd r;

    if (res == NULL || open_pdu(pdu, len, &res->h, &r) != 0) {
        return res == NULL ? -EINVAL : -EPROTO;
    }
    if (res->h.type != WARD_AGENTX_RESPONSE) {
        return -EPROTO;
    }
    res->sys_uptime = rd_u32(&r);
    res->error = rd_u16(&r);
    res->index = rd_u16(&r);
    return r.bad ? -EPROTO : 0; /* varbinds, if any, are not needed */
}

/* ---- encoder (always network byte order) ---- */

static uint8_t *wr_take(struct ward_agentx_writer *w, size_t n)
{
    uint8_t *p;

    if (w->err != 0) {
        return NULL;
    }
    if (w->buf == NULL || n > w->cap - w->len) {
        w->err = -ENOSPC;
        return NULL;
    }
    p = w->buf + w->len;
    w->len += n;
    return p;
}

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

void ward_agentx_put_u8x4(struct ward_agentx_writer *w, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    uint8_t *p = wr_take(w, 4);

    if (p != NULL) {
        p[0] = a, p[1] = b, p[2] = c, p[3] = d;
    }
}

void ward_agentx_put_u16(struct ward_agentx_writer *w, uint16_t v)
{
    uint8_t *p = wr_take(w, 2);

    if (p != NULL) {
        p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
    }
}

void ward_agentx_put_u32(struct ward_agentx_writer *w, uint32_t v)
{
    uint8_t *p = wr_take(w, 4);

    if (p != NULL) {
        put32(p, v);
    }
}

void ward_agentx_begin(struct ward_agentx_writer *w, uint8_t type, uint8_t flags,
                       uint32_t session_id, uint32_t transaction_id, uint32_t packet_id)
{
    w->start = w->len;
    ward_agentx_put_u8x4(w, 1, type, (uint8_t)(flags | WARD_AGENTX_F_NETWORK_BYTE_ORDER), 0);
    ward_agentx_put_u32(w, session_id);
    ward_agentx_put_u32(w, transaction_id);
    ward_agentx_put_u32(w, packet_id);
    ward_agentx_put_u32(w, 0); /* payload length, filled by ward_agentx_end() */
}

int ward_agentx_end(struct ward_agentx_writer *w)
{
    size_t total;

    if (w->err != 0) {
        return w->err;
    }
    total = w->len - w->start;
    put32(w->buf + w->start + 16, (uint32_t)(total - WARD_AGENTX_HEADER_LEN));
    return (int)total;
}

/* The compact form (prefix) when the OID is 1.3.6.1.x.... with 0 < x < 256. */
void ward_agentx_put_oid(struct ward_agentx_writer *w, const struct ward_oid *oid)
{
    static const uint32_t internet[4] = { 1, 3, 6, 1 };
    unsigned skip = 0;
    uint8_t prefix = 0;

    if (oid->n >= 5 && memcmp(oid->sub, internet, sizeof(internet)) == 0 && oid->sub[4] > 0 &&
        oid->sub[4] < 256) {
        skip = 5;
        prefix = (uint8_t)oid->sub[4];
    }
    ward_agentx_put_u8x4(w, (uint8_t)(oid->n - skip), prefix, oid->include, 0);
    for (unsigned i = skip; i < oid->n; i++) {
        ward_agentx_put_u32(w, oid->sub[i]);
    }
}

void ward_agentx_put_octets(struct ward_agentx_writer *w, const void *data, size_t len)
{
    size_t padded = (len + 3u) & ~(size_t)3u;
    uint8_t *p;

    if (len > UINT32_MAX) {
        w->err = w->err != 0 ? w->err : -EINVAL;
        return;
    }
    ward_agentx_put_u32(w, (uint32_t)len);
    p = wr_take(w, padded);
    if (p != NULL) {
        memset(p, 0, padded);
        if (len > 0) {
            memcpy(p, data, len);
        }
    }
}

void ward_agentx_put_varbind(struct ward_agentx_writer *w, const struct ward_oid *name,
                             const struct ward_agentx_value *v)
{
    ward_agentx_put_u16(w, v->type);
    ward_agentx_put_u16(w, 0);
    ward_agentx_put_oid(w, name);
    switch (v->type) {
    case WARD_AGENTX_V_INTEGER:
        ward_agentx_put_u32(w, (uint32_t)v->u.i32);
        break;
    case WARD_AGENTX_V_COUNTER32:
    case WARD_AGENTX_V_GAUGE32:
    case WARD_AGENTX_V_TIMETICKS:
        ward_agentx_put_u32(w, v->u.u32);
        break;
    case WARD_AGENTX_V_COUNTER64:
        ward_agentx_put_u32(w, (uint32_t)(v->u.u64 >> 32));
        ward_agentx_put_u32(w, (uint32_t)v->u.u64);
        break;
    case WARD_AGENTX_V_OID:
        ward_agentx_put_oid(w, &v->u.oid);
        break;
    case WARD_AGENTX_V_OCTETS:
    case WARD_AGENTX_V_IPADDRESS:
    case WARD_AGENTX_V_OPAQUE:
        ward_agentx_put_octets(w, v->u.octets.data,
                               v->u.octets.len < WARD_AGENTX_OCTETS_MAX ? v->u.octets.len
                                                                        : WARD_AGENTX_OCTETS_MAX);
        break;
    default: /* Null, noSuchObject, noSuchInstance, endOfMibView: no data */
        break;
    }
}

/* ---- OIDs and values ---- */

int ward_oid_set(struct ward_oid *oid, const uint32_t *sub, size_t n)
{
    if (oid == NULL || n > WARD_AGENTX_OID_MAX || (n > 0 && sub == NULL)) {
        return -EINVAL;
    }
    memset(oid, 0, sizeof(*oid));
    if (n > 0) {
        memcpy(oid->sub, sub, n * sizeof(sub[0]));
    }
    oid->n = (uint8_t)n;
    return 0;
}

int ward_oid_cmp(const struct ward_oid *a, const struct ward_oid *b)
{
    unsigned n = a->n < b->n ? a->n : b->n;

    for (unsigned i = 0; i < n; i++) {
        if (a->sub[i] != b->sub[i]) {
            return a->sub[i] < b->sub[i] ? -1 : 1;
        }
    }
    return a->n == b->n ? 0 : (a->n < b->n ? -1 : 1);
}

bool ward_oid_has_prefix(const struct ward_oid *oid, const uint32_t *prefix, size_t n)
{
    if (oid->n < n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (oid->sub[i] != prefix[i]) {
            return false;
        }
    }
    return true;
}

void ward_agentx_value_str(struct ward_agentx_value *v, const char *s)
{
    size_t n = strlen(s);

    n = n < WARD_AGENTX_OCTETS_MAX ? n : WARD_AGENTX_OCTETS_MAX;
    v->type = WARD_AGENTX_V_OCTETS;
    v->u.octets.len = (uint16_t)n;
    memcpy(v->u.octets.data, s, n);
}
