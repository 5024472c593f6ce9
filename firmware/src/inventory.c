/*
 * The heartbeat's inventory (ward/inventory.h): read through the HAL into the agent's fixed
 * tables, each string made printable ASCII within the wire's bounds, and put on a full
 * heartbeat by reference.
 */
#include <string.h>

#include "ward/base/fmt.h"
#include "ward/inventory.h"
#include "ward/wire/encode.h"
#include "ward_version_gen.h"

_Static_assert(WARD_INVENTORY_MAX <= 64, "the wire lists at most 64 of each");
_Static_assert(sizeof(WARD_BUILD_STRING) <= 64, "the wire's build id is at most 63 characters");

const char *ward_inventory_build(void)
{
    return WARD_BUILD_STRING;
}

/* Printable ASCII only: anything else a backend handed over becomes '?'. */
static void printable(char *s, size_t cap)
{
    s[cap - 1] = '\0';
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) {
            *s = '?';
        }
    }
}

/* A MAC as the wire spells it (lower-case xx:xx:xx:xx:xx:xx), else "" (left out). */
static void mac_or_empty(char *m)
{
    bool ok = strlen(m) == WARD_INV_MAC_LEN - 1;

    for (unsigned i = 0; ok && i < WARD_INV_MAC_LEN - 1; i++) {
        char c = m[i];

        if (c >= 'A' && c <= 'F') {
            m[i] = (char)(c - 'A' + 'a');
            c = m[i];
        }
        ok = i % 3 == 2 ? c == ':' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }
    if (!ok) {
        m[0] = '\0';
    }
}

static void read_disks(struct ward_inventory *inv, const struct ward_device *dev)
{
    for (unsigned i = 0; inv->n_disk < WARD_INVENTORY_MAX_HW && i < 64; i++) {
        struct ward_inv_disk *d = &inv->disk[inv->n_disk];

        if (ward_inventory_disk(dev, i, d) != 0) {
            break;
        }
        printable(d->name, sizeof(d->name));
        printable(d->model, sizeof(d->model));
        printable(d->serial, sizeof(d->serial));
        printable(d->firmware, sizeof(d->firmware));
        inv->n_disk += d->name[0] != '\0';
    }
}

static void read_nics(struct ward_inventory *inv, const struct ward_device *dev)
{
    for (unsigned i = 0; inv->n_nic < WARD_INVENTORY_MAX_HW && i < 64; i++) {
        struct ward_inv_nic *n = &inv->nic[inv->n_nic];

        if (ward_inventory_nic(dev, i, n) != 0) {
            break;
        }
        printable(n->name, sizeof(n->name));
        printable(n->mac, sizeof(n->mac));
        mac_or_empty(n->mac);
        printable(n->driver, sizeof(n->driver));
        inv->n_nic += n->name[0] != '\0';
    }
}

static void read_chips(struct ward_inventory *inv, const struct ward_device *dev)
{
    for (unsigned i = 0; inv->n_chip < WARD_INVENTORY_MAX && i < 64; i++) {
        struct ward_inv_chip *c = &inv->chip[inv->n_chip];

        if (ward_inventory_chip(dev, i, c) != 0) {
            break;
        }
        printable(c->name, sizeof(c->name));
        inv->n_chip += c->name[0] != '\0';
    }
}

/* No inventory device (bare metal): each temperature and fan device is a chip. */
static void chips_of_devices(struct ward_inventory *inv, const struct ward_device *const *devs,
                             unsigned n, bool fan)
{
    for (unsigned i = 0; i < n && inv->n_chip < WARD_INVENTORY_MAX; i++) {
        struct ward_inv_chip *c = &inv->chip[inv->n_chip];
        int count = fan ? ward_fan_count(devs[i]) : ward_temp_count(devs[i]);
        const char *name = devs[i]->name != NULL ? devs[i]->name : "";
        size_t len = strlen(name);

        len = len < sizeof(c->name) - 1 ? len : sizeof(c->name) - 1;
        memcpy(c->name, name, len);
        c->name[len] = '\0';
        printable(c->name, sizeof(c->name));
        c->sensors = count > 0 ? (uint32_t)count : 0u;
        inv->n_chip += c->name[0] != '\0';
    }
}

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

static uint32_t fnv_str(uint32_t h, const char *s)
{
    return fnv1a(h, s, strlen(s) + 1u);
}

static uint32_t hash_of(const struct ward_inventory *inv)
{
    uint32_t h = 2166136261u;

    for (unsigned i = 0; i < inv->n_disk; i++) {
        h = fnv_str(fnv_str(fnv_str(fnv_str(h, inv->disk[i].name), inv->disk[i].model),
                            inv->disk[i].serial),
                    inv->disk[i].firmware);
    }
    h = fnv1a(h, "|", 1u);
    for (unsigned i = 0; i < inv->n_nic; i++) {
        h = fnv_str(fnv_str(fnv_str(h, inv->nic[i].name), inv->nic[i].mac), inv->nic[i].driver);
    }
    h = fnv1a(h, "|", 1u);
    for (unsigned i = 0; i < inv->n_chip; i++) {
        h = fnv1a(fnv_str(h, inv->chip[i].name), &inv->chip[i].sensors,
                  sizeof(inv->chip[i].sensors));
    }
    return h;
}

void ward_inventory_refresh(struct ward_inventory *inv, const struct ward_hal *hal, int64_t now_ms)
{
    if (inv == NULL || (inv->fresh && now_ms >= inv->read_ms &&
                        now_ms - inv->read_ms < WARD_INVENTORY_REFRESH_MS)) {
        return;
    }
    inv->n_disk = inv->n_nic = inv->n_chip = 0;
    if (hal != NULL && hal->inventory != NULL) {
        if (IS_ENABLED(CONFIG_WARD_INVENTORY_DISKS_NICS)) {
            read_disks(inv, hal->inventory);
            read_nics(inv, hal->inventory);
        }
        read_chips(inv, hal->inventory);
    }
    if (hal != NULL && (hal->inventory == NULL || inv->n_chip == 0)) {
        chips_of_devices(inv, hal->temp, hal->n_temp, false);
        chips_of_devices(inv, hal->fan, hal->n_fan, true);
    }
    inv->hash = hash_of(inv);
    inv->read_ms = now_ms;
    inv->fresh = true;
}

void ward_inventory_stale(struct ward_inventory *inv)
{
    if (inv != NULL) {
        inv->fresh = false;
    }
}

uint32_t ward_inventory_mix(const struct ward_inventory *inv, uint32_t h)
{
    return inv != NULL ? fnv1a(h, &inv->hash, sizeof(inv->hash)) : h;
}

/* Member s of o unless s is "" (the protocol sends no empty strings it can leave out). */
static bool put_str(cJSON *o, const char *member, const char *s)
{
    return s[0] == '\0' || ward_wire_put(o, member, cJSON_CreateStringReference(s));
}

static cJSON *disks_json(const struct ward_inventory *inv)
{
    cJSON *a = cJSON_CreateArray();
    bool ok = a != NULL;

    for (unsigned i = 0; ok && i < inv->n_disk; i++) {
        const struct ward_inv_disk *d = &inv->disk[i];
        cJSON *o = cJSON_CreateObject();

        ok = o != NULL && cJSON_AddItemToArray(a, o) && put_str(o, "name", d->name) &&
             put_str(o, "model", d->model) && put_str(o, "serial", d->serial) &&
             put_str(o, "firmware", d->firmware);
    }
    return ok ? a : NULL;
}

static cJSON *nics_json(const struct ward_inventory *inv)
{
    cJSON *a = cJSON_CreateArray();
    bool ok = a != NULL;

    for (unsigned i = 0; ok && i < inv->n_nic; i++) {
        const struct ward_inv_nic *n = &inv->nic[i];
        cJSON *o = cJSON_CreateObject();

        ok = o != NULL && cJSON_AddItemToArray(a, o) && put_str(o, "name", n->name) &&
             put_str(o, "mac", n->mac) && put_str(o, "driver", n->driver);
    }
    return ok ? a : NULL;
}

static cJSON *chips_json(const struct ward_inventory *inv)
{
    cJSON *a = cJSON_CreateArray();
    bool ok = a != NULL;

    for (unsigned i = 0; ok && i < inv->n_chip; i++) {
        char num[WARD_FMT_INT64_MAX];
        cJSON *o = cJSON_CreateObject();

        ward_fmt_u64(num, sizeof(num), inv->chip[i].sensors);
        ok = o != NULL && cJSON_AddItemToArray(a, o) && put_str(o, "name", inv->chip[i].name) &&
             ward_wire_put(o, "sensors", cJSON_CreateRaw(num));
    }
    return ok ? a : NULL;
}

cJSON *ward_inventory_json(cJSON *hb, const struct ward_inventory *inv)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = hb != NULL && inv != NULL && ward_wire_put(hb, "inventory", o);

    ok = ok && put_str(o, "build", ward_inventory_build());
    ok = ok && (inv->n_disk == 0 || ward_wire_put(o, "disks", disks_json(inv)));
    ok = ok && (inv->n_nic == 0 || ward_wire_put(o, "nics", nics_json(inv)));
    ok = ok && (inv->n_chip == 0 || ward_wire_put(o, "chips", chips_json(inv)));
    return ok ? hb : NULL;
}
