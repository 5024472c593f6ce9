/*
 * The sim inventory (ward/hal/inventory.h), from the scenario (docs/scenarios.md): its disks'
 * dev, model, serial and firmware, its NICs' name, mac and driver, and the sensor chips named
 * in its temperature and fan ids ("temp:CHIP:LABEL"), in scenario order. A test changes the
 * scenario (a disk's serial) to make the agent report replaced hardware.
 */
#include <errno.h>
#include <string.h>

#include "sim_internal.h"

static const struct ward_sim *sim_of(const struct ward_device *dev)
{
    return (const struct ward_sim *)dev->data;
}

static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    n = n < cap - 1 ? n : cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int inv_disk(const struct ward_device *dev, unsigned i, struct ward_inv_disk *out)
{
    const struct ward_sim *sim = sim_of(dev);

    if (out == NULL) {
        return -EINVAL;
    }
    if (i >= sim->n_disk) {
        return -ENOENT;
    }
    memset(out, 0, sizeof(*out));
    copy(out->name, sizeof(out->name), sim->disk[i].info.dev_name);
    copy(out->model, sizeof(out->model), sim->disk[i].info.model);
    copy(out->serial, sizeof(out->serial), sim->disk[i].info.serial);
    copy(out->firmware, sizeof(out->firmware), sim->disk[i].info.firmware);
    return 0;
}

static void hex2(char *p, uint8_t b)
{
    static const char k_hex[] = "0123456789abcdef";

    p[0] = k_hex[b >> 4];
    p[1] = k_hex[b & 15u];
}

static int inv_nic(const struct ward_device *dev, unsigned i, struct ward_inv_nic *out)
{
    const struct ward_sim *sim = sim_of(dev);
    const struct ward_sim_nic *n;

    if (out == NULL) {
        return -EINVAL;
    }
    if (i >= sim->n_nic) {
        return -ENOENT;
    }
    n = &sim->nic[i];
    memset(out, 0, sizeof(*out));
    copy(out->name, sizeof(out->name), n->info.name);
    copy(out->driver, sizeof(out->driver), n->driver);
    if (n->info.has_mac) {
        for (unsigned b = 0; b < 6; b++) {
            hex2(&out->mac[b * 3], n->info.mac[b]);
            out->mac[b * 3 + 2] = b < 5 ? ':' : '\0';
        }
    }
    return 0;
}

/* The chip part of sensor s's id ("coretemp.isa0000" of "temp:coretemp.isa0000:core_0"). */
static size_t chip_of(const struct ward_sim *sim, unsigned s, const char **chip)
{
    const char *id = sim->sensor[s].info.id;
    const char *a = strchr(id, ':');
    const char *b = a != NULL ? strchr(a + 1, ':') : NULL;

    *chip = a != NULL ? a + 1 : id;
    return b != NULL && b > a + 1 ? (size_t)(b - a - 1) : 0;
}

static bool same_chip(const struct ward_sim *sim, unsigned s, const char *chip, size_t len)
{
    const char *c;

    return chip_of(sim, s, &c) == len && memcmp(c, chip, len) == 0;
}

/* The i-th distinct chip in order of first appearance and the number of its sensors. */
static int inv_chip(const struct ward_device *dev, unsigned i, struct ward_inv_chip *out)
{
    const struct ward_sim *sim = sim_of(dev);
    unsigned n = (unsigned)sim->n_temp + sim->n_fan, seen = 0;

    if (out == NULL) {
        return -EINVAL;
    }
    for (unsigned s = 0; s < n; s++) {
        const char *chip;
        size_t len = chip_of(sim, s, &chip);
        bool first = len > 0;

        for (unsigned t = 0; first && t < s; t++) {
            first = !same_chip(sim, t, chip, len);
        }
        if (!first || seen++ != i) {
            continue;
        }
        memset(out, 0, sizeof(*out));
        len = len < sizeof(out->name) - 1 ? len : sizeof(out->name) - 1;
        memcpy(out->name, chip, len);
        for (unsigned t = s; t < n; t++) {
            out->sensors += same_chip(sim, t, chip, len);
        }
        return 0;
    }
    return -ENOENT;
}

const struct ward_inventory_ops ward_sim_inventory_ops = {
    .disk = inv_disk,
    .nic = inv_nic,
    .chip = inv_chip,
};
