/*
 * Entropy on a Cortex-M board without a TRNG (the AN385, the LM3S6965): mbedTLS's NV seed
 * (MBEDTLS_ENTROPY_NV_SEED).
 *
 * What it is. Each device gets 32 random bytes at provisioning (tools/mps2-provision, from
 * the provisioning host's /dev/urandom), stored with its credentials. mbedTLS's entropy
 * collector reads the current seed as a strong source, mixes in this board's weak source
 * (mbedtls_hardware_poll below: the SysTick counter and the board's free-running counter,
 * cm_jitter(), e.g. the LAN9118's at 25 MHz, sampled around busy loops) and, BEFORE it
 * returns any output, writes a new seed derived from its state (mbedtls_entropy_update_nv_seed).
 * Seeds are appended to a log in data flash (two alternating regions, ward_store_flash), so a power
 * cut while rewriting never loses the only seed. cm_entropy_init() runs that once per boot, so the
 * seed has moved on before the first handshake or boot id.
 *
 * What it protects. An attacker who never read the device's flash cannot predict its DRBG
 * state: ECDHE keys, ECDSA nonces are deterministic anyway (RFC 6979), client randoms, boot
 * ids. Two boots never start from the same seed as long as each boot's seed write lands.
 *
 * What it does not protect. Anyone who reads the seed log (or the provisioning data) can
 * compute every later seed and so the DRBG output of later boots up to the next contact with
 * a real entropy source: there is none, so that is forever; keep the flash read-protected.
 * The jitter source is weak and counted for nothing: under QEMU the timers follow the host
 * clock and on hardware a 25 MHz counter read in a tight loop carries little uncertainty. A
 * flash restored to an earlier image (or, under QEMU, a new process: its RAM "flash" starts
 * zeroed, so the provisioned seed is used again) replays the seed; then only the jitter
 * separates the two runs. The test provisions a fresh seed for each QEMU process.
 *
 * A blank (all 0xFF, never provisioned) or all-zero seed fails closed: every entropy request
 * fails, so no DRBG, handshake or boot id runs on a known state.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <mbedtls/entropy.h>
#include <mbedtls/sha256.h>

#include "board.h"
#include "cm_port.h"
#include "entropy.h"
#include "flash.h"
#include "provision.h"

static struct ward_store_flash s_log;
static struct ward_store s_store;
static const uint8_t *s_provisioned;
static bool s_log_ok;
static bool s_ready;
static uint8_t s_key[32];
static uint32_t s_counter;

static bool blank(const uint8_t *seed)
{
    bool ff = true;
    bool zero = true;

    for (size_t i = 0; i < CM_NV_SEED_LEN; i++) {
        ff = ff && seed[i] == 0xff;
        zero = zero && seed[i] == 0x00;
    }
    return ff || zero;
}

/* The newest seed: the log's last entry, else the provisioned one. 0 or -ENODEV. */
static int current_seed(uint8_t *out)
{
    uint64_t size = 0;

    if (s_log_ok && ward_store_size(&s_store, &size) == 0 && size >= CM_NV_SEED_LEN &&
        ward_store_read(&s_store, size - CM_NV_SEED_LEN, out, CM_NV_SEED_LEN) == CM_NV_SEED_LEN) {
        return blank(out) ? -ENODEV : 0;
    }
    if (s_provisioned == NULL) {
        return -ENODEV;
    }
    memcpy(out, s_provisioned, CM_NV_SEED_LEN);
    return blank(out) ? -ENODEV : 0;
}

/* MBEDTLS_PLATFORM_NV_SEED_READ_MACRO: bytes read or -1. */
int cm_nv_seed_read(unsigned char *buf, size_t len)
{
    uint8_t seed[CM_NV_SEED_LEN];

    if (len > sizeof(seed) || current_seed(seed) != 0) {
        return -1;
    }
    memcpy(buf, seed, len);
    return (int)len;
}

struct one {
    const unsigned char *seed;
    bool done;
};

static int one_next(void *arg, const void **rec, size_t *len)
{
    struct one *o = arg;

    if (o->done) {
        return 0;
    }
    o->done = true;
    *rec = o->seed;
    *len = CM_NV_SEED_LEN;
    return 1;
}

/* MBEDTLS_PLATFORM_NV_SEED_WRITE_MACRO: appended to the log; a full log is rewritten with
 * the new seed alone (in the other region, so the old one stays until the new is whole). */
int cm_nv_seed_write(unsigned char *buf, size_t len)
{
    struct one o = { buf, false };
    int rc;

    if (!s_log_ok || len != CM_NV_SEED_LEN) {
        return -1;
    }
    rc = ward_store_append(&s_store, buf, len);
    if (rc == -ENOSPC) {
        rc = ward_store_rewrite(&s_store, one_next, &o);
    }
    return rc == 0 ? (int)len : -1;
}

/* Weak timing jitter (see the top of this file); it claims what mbedTLS asks so the
 * collector proceeds, and the NV seed is what the strength rests on. */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
    uint32_t t = 0;

    (void)data;
    for (size_t i = 0; i < len; i++) {
        for (volatile uint32_t spin = (t & 0x3fu) + 1u; spin > 0; spin--) {
        }
        t = (t << 7) ^ (t >> 3) ^ SYST_CVR ^ cm_jitter();
        output[i] = (unsigned char)(t ^ (t >> 8) ^ (t >> 16) ^ (t >> 24));
    }
    *olen = len;
    return 0;
}

int cm_entropy_init(const uint8_t *provisioned)
{
    const struct ward_store_flash_config cfg = { &cm_flash_ops, NULL, CM_FLASH_SEED_OFF,
                                                 CM_FLASH_SEED_SIZE };
    mbedtls_entropy_context ctx;
    uint8_t seed[CM_NV_SEED_LEN];
    uint64_t size = 0;
    int rc;

    s_provisioned = provisioned;
    s_log_ok = ward_store_flash_init(&s_log, &cfg) == 0;
    s_store = ward_store_flash(&s_log);
    if (current_seed(seed) != 0) {
        cm_printf("ward: no entropy: the NV seed is blank or all zero (provision the device "
                  "with tools/mps2-provision); TLS and reporting disabled\n");
        return -ENODEV;
    }
    if (!s_log_ok) {
        cm_printf("ward: no entropy: the seed log in data flash cannot be opened\n");
        return -EIO;
    }
    mbedtls_entropy_init(&ctx);
    rc = mbedtls_entropy_func(&ctx, s_key, sizeof(s_key)); /* rewrites the seed first */
    mbedtls_entropy_free(&ctx);
    if (rc != 0) {
        cm_printf("ward: no entropy: the NV seed could not be rewritten (-0x%04x)\n",
                  (unsigned)-rc);
        return -EIO;
    }
    s_ready = true;
    (void)ward_store_size(&s_store, &size);
    cm_printf("ward: entropy seed rewritten (seed log %lu.%lu)\n", (unsigned long)s_log.seq,
              (unsigned long)(size / CM_NV_SEED_LEN));
    return 0;
}

int cm_entropy_read(void *buf, size_t len)
{
    uint8_t in[sizeof(s_key) + 4];
    uint8_t block[32];
    uint8_t *out = buf;

    if (buf == NULL) {
        return -EINVAL;
    }
    if (!s_ready) {
        return -ENODEV;
    }
    memcpy(in, s_key, sizeof(s_key));
    while (len > 0) {
        size_t n = len < sizeof(block) ? len : sizeof(block);

        s_counter++;
        memcpy(in + sizeof(s_key), &s_counter, 4);
        if (mbedtls_sha256(in, sizeof(in), block, 0) != 0) {
            return -EIO;
        }
        memcpy(out, block, n);
        out += n;
        len -= n;
    }
    return 0;
}
