/*
 * The heartbeat's inventory (ward/inventory.h): read through the HAL one item at a time into
 * a stack scratch, made printable ASCII within the wire's bounds, and rendered as JSON into
 * the agent's fixed text buffer; a full heartbeat carries that text as one raw node.
 */
#include <errno.h>
#include <string.h>

#include "ward/base/fmt.h"
#include "ward/inventory.h"
#include "ward/wire/encode.h"
#include "ward_version_gen.h"

_Static_assert(sizeof(WARD_BUILD_STRING) <= 64, "the wire's build id is at most 63 characters");
_Static_assert(WARD_INVENTORY_TEXT_SIZE <= UINT16_MAX, "text lengths are 16 bits");

#define ITEM_MAX 512 /* one rendered item: the longest disk, every character escaped */

const char *ward_inventory_build(void)
{
    return WARD_BUILD_STRING;
}

/* ---- a bounded JSON text writer: once something does not fit, it stays over ---- */

struct tw {
    char *b;
    size_t cap;
    size_t len;
    bool over;
};

static void tw_ch(struct tw *w, char c)
{
    if (w->over || w->len + 2 > w->cap) {
        w->over = true;
        return;
    }
    w->b[w->len++] = c;
    w->b[w->len] = '\0';
}

static void tw_raw(struct tw *w, const char *s)
{
    while (*s != '\0') {
        tw_ch(w, *s++);
    }
}

/* "s", escaped; s is printable ASCII (printable() ran on it). */
static void tw_str(struct tw *w, const char *s)
{
    tw_ch(w, '"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\') {
            tw_ch(w, '\\');
        }
        tw_ch(w, *s);
    }
    tw_ch(w, '"');
}

/* ,"key":"value" (no comma first); an empty value is left out. */
static void tw_member(struct tw *w, const char *key, const char *value, bool first)
{
    if (value[0] == '\0') {
        return;
    }
    if (!first) {
        tw_ch(w, ',');
    }
    tw_str(w, key);
    tw_ch(w, ':');
    tw_str(w, value);
}

/* ---- items ---- */

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

/* Item i of a list rendered into w. @return 0, 1 (no such item here: skip it), -ENOENT
 * (past the last) or another negative errno (stop). */
typedef int (*item_fn)(const void *src, unsigned i, struct tw *w);

static int disk_item(const void *src, unsigned i, struct tw *w)
{
    struct ward_inv_disk d;
    int rc = ward_inventory_disk(src, i, &d);

    if (rc != 0) {
        return rc;
    }
    printable(d.name, sizeof(d.name));
    printable(d.model, sizeof(d.model));
    printable(d.serial, sizeof(d.serial));
    printable(d.firmware, sizeof(d.firmware));
    if (d.name[0] == '\0') {
        return 1;
    }
    tw_ch(w, '{');
    tw_member(w, "name", d.name, true);
    tw_member(w, "model", d.model, false);
    tw_member(w, "serial", d.serial, false);
    tw_member(w, "firmware", d.firmware, false);
    tw_ch(w, '}');
    return 0;
}

static int nic_item(const void *src, unsigned i, struct tw *w)
{
    struct ward_inv_nic n;
    int rc = ward_inventory_nic(src, i, &n);

    if (rc != 0) {
        return rc;
    }
    printable(n.name, sizeof(n.name));
    printable(n.mac, sizeof(n.mac));
    mac_or_empty(n.mac);
    printable(n.driver, sizeof(n.driver));
    if (n.name[0] == '\0') {
        return 1;
    }
    tw_ch(w, '{');
    tw_member(w, "name", n.name, true);
    tw_member(w, "mac", n.mac, false);
    tw_member(w, "driver", n.driver, false);
    tw_ch(w, '}');
    return 0;
}

static void chip_render(struct tw *w, struct ward_inv_chip *c)
{
    char num[WARD_FMT_INT64_MAX];

    ward_fmt_u64(num, sizeof(num), c->sensors);
    tw_ch(w, '{');
    tw_member(w, "name", c->name, true);
    tw_raw(w, ",\"sensors\":");
    tw_raw(w, num);
    tw_ch(w, '}');
}

static int chip_item(const void *src, unsigned i, struct tw *w)
{
    struct ward_inv_chip c;
    int rc = ward_inventory_chip(src, i, &c);

    if (rc != 0) {
        return rc;
    }
    printable(c.name, sizeof(c.name));
    if (c.name[0] == '\0') {
        return 1;
    }
    chip_render(w, &c);
    return 0;
}

/* No inventory device (bare metal): each temperature, then fan, device is a chip. */
static int device_chip_item(const void *src, unsigned i, struct tw *w)
{
    const struct ward_hal *hal = src;
    bool fan = i >= hal->n_temp;
    const struct ward_device *dev;
    struct ward_inv_chip c = { .sensors = 0 };
    size_t len;
    int count;

    if (i >= (unsigned)hal->n_temp + hal->n_fan) {
        return -ENOENT;
    }
    dev = fan ? hal->fan[i - hal->n_temp] : hal->temp[i];
    count = fan ? ward_fan_count(dev) : ward_temp_count(dev);
    len = dev->name != NULL ? strlen(dev->name) : 0;
    len = len < sizeof(c.name) - 1 ? len : sizeof(c.name) - 1;
    memcpy(c.name, dev->name != NULL ? dev->name : "", len);
    c.name[len] = '\0';
    printable(c.name, sizeof(c.name));
    if (c.name[0] == '\0') {
        return 1;
    }
    c.sensors = count > 0 ? (uint32_t)count : 0u;
    chip_render(w, &c);
    return 0;
}

/* ,"name":[item,...] with each item that fits whole (room kept for "]}"); none: nothing. */
static void put_list(struct ward_inventory *inv, struct tw *t, const char *name, item_fn fn,
                     const void *src)
{
    char buf[ITEM_MAX];
    unsigned put = 0;

    for (unsigned i = 0; put < WARD_INVENTORY_LIST_MAX && i < 4u * WARD_INVENTORY_LIST_MAX; i++) {
        struct tw it = { buf, sizeof(buf), 0, false };
        int rc = fn(src, i, &it);
        size_t head = put == 0 ? strlen(name) + 5u : 1u; /* ,"name":[ or , */

        if (rc < 0) {
            break;
        }
        if (rc > 0) {
            continue;
        }
        if (it.over || t->len + head + it.len + 3u > t->cap) {
            inv->left_out++;
            continue;
        }
        if (put == 0) {
            tw_raw(t, ",\"");
            tw_raw(t, name);
            tw_raw(t, "\":[");
        } else {
            tw_ch(t, ',');
        }
        tw_raw(t, buf);
        put++;
    }
    if (put > 0) {
        tw_ch(t, ']');
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

void ward_inventory_refresh(struct ward_inventory *inv, const struct ward_hal *hal, int64_t now_ms)
{
    struct tw t;

    if (inv == NULL || (inv->fresh && now_ms >= inv->read_ms &&
                        now_ms - inv->read_ms < WARD_INVENTORY_REFRESH_MS)) {
        return;
    }
    t = (struct tw){ inv->text, sizeof(inv->text), 0, false };
    inv->left_out = 0;
    tw_ch(&t, '{');
    tw_member(&t, "build", ward_inventory_build(), true);
    if (hal != NULL && hal->inventory != NULL && IS_ENABLED(CONFIG_WARD_INVENTORY_DISKS_NICS)) {
        put_list(inv, &t, "disks", disk_item, hal->inventory);
        put_list(inv, &t, "nics", nic_item, hal->inventory);
    }
    if (hal != NULL && hal->inventory != NULL) {
        put_list(inv, &t, "chips", chip_item, hal->inventory);
    } else if (hal != NULL) {
        put_list(inv, &t, "chips", device_chip_item, hal);
    }
    tw_ch(&t, '}');
    inv->hash = t.over ? 0u : fnv1a(2166136261u, inv->text, t.len);
    if (t.over) {
        inv->text[0] = '\0'; /* too small for even the build id: leave the member out */
    }
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

cJSON *ward_inventory_json(cJSON *hb, const struct ward_inventory *inv)
{
    cJSON *raw;

    if (hb == NULL || inv == NULL) {
        return NULL;
    }
    if (inv->text[0] == '\0') {
        return hb; /* never read (a standalone document before any batch) or too small */
    }
    /* One node referencing the agent's text: printed as is, never copied into the arena. */
    raw = cJSON_CreateNull();
    if (raw == NULL) {
        return NULL;
    }
    raw->type = cJSON_Raw | cJSON_IsReference;
    raw->valuestring = (char *)(uintptr_t)inv->text;
    return ward_wire_put(hb, "inventory", raw) ? hb : NULL;
}
