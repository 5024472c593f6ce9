/*
 * The device provisioning block (the board's linker script: __ward_provision_start, 2 KiB of flash
 * the image leaves erased), written per device by tools/mps2-provision. Layout, little-endian, no
 * padding (struct cm_provision), then the CA, the device certificate and its key (DER)
 * back to back. Addresses are in network byte order.
 */
#ifndef WARD_BOARDS_COMMON_CORTEX_M_PROVISION_H_
#define WARD_BOARDS_COMMON_CORTEX_M_PROVISION_H_

#include <stddef.h>
#include <stdint.h>

#define CM_PROVISION_MAGIC "WPR2"
#define CM_NV_SEED_LEN     32 /* MBEDTLS_ENTROPY_BLOCK_SIZE with SHA-256 only */

struct cm_provision {
    char magic[4];
    uint8_t ca_len[2];
    uint8_t cert_len[2];
    uint8_t key_len[2];
    uint8_t port[2];
    uint8_t ip[4];
    uint8_t netmask[4];
    uint8_t gateway[4];
    uint8_t heartbeat_ms[4]; /* 0: the build's CONFIG_WARD_INTERVAL_HEARTBEAT_MS */
    char host[16];           /* the collector's IPv4 address, dotted */
    char server_name[48];    /* in the collector's certificate */
    char device_id[32];      /* the device certificate's CN */
    uint8_t nv_seed[CM_NV_SEED_LEN];
};

struct cm_prov_view {
    const struct cm_provision *hdr;
    const uint8_t *ca, *cert, *key;
    size_t ca_len, cert_len, key_len;
    uint16_t port;
    uint32_t heartbeat_ms;
};

/**
 * The provisioning block, checked: magic, NUL-terminated strings, blob lengths within the
 * block, a port. @return 0, -ENOENT when blank (never provisioned) or malformed.
 */
int cm_provision_get(struct cm_prov_view *v);

#endif /* WARD_BOARDS_COMMON_CORTEX_M_PROVISION_H_ */
