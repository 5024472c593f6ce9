#include <errno.h>
#include <string.h>

#include "provision.h"

extern const uint8_t __ward_provision_start[];
extern const uint8_t __ward_provision_end[];

static uint32_t le(const uint8_t *b, unsigned n)
{
    uint32_t v = 0;

    while (n-- > 0) {
        v = (v << 8) | b[n];
    }
    return v;
}

int cm_provision_get(struct cm_prov_view *v)
{
    const struct cm_provision *p =
        (const struct cm_provision *)(const void *)__ward_provision_start;
    size_t room = (size_t)(__ward_provision_end - __ward_provision_start);

    if (room < sizeof(*p) || memcmp(p->magic, CM_PROVISION_MAGIC, 4) != 0 ||
        memchr(p->host, '\0', sizeof(p->host)) == NULL ||
        memchr(p->server_name, '\0', sizeof(p->server_name)) == NULL ||
        memchr(p->device_id, '\0', sizeof(p->device_id)) == NULL || p->device_id[0] == '\0') {
        return -ENOENT;
    }
    memset(v, 0, sizeof(*v));
    v->hdr = p;
    v->ca_len = le(p->ca_len, 2);
    v->cert_len = le(p->cert_len, 2);
    v->key_len = le(p->key_len, 2);
    v->port = (uint16_t)le(p->port, 2);
    v->heartbeat_ms = le(p->heartbeat_ms, 4);
    if (v->port == 0 || v->ca_len + v->cert_len + v->key_len > room - sizeof(*p)) {
        return -ENOENT;
    }
    v->ca = __ward_provision_start + sizeof(*p);
    v->cert = v->ca + v->ca_len;
    v->key = v->cert + v->cert_len;
    return 0;
}
