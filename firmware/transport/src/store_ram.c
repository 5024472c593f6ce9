#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ward/transport/store_ram.h"

static int ram_size(void *ctx, uint64_t *size)
{
    *size = ((struct ward_store_ram *)ctx)->len;
    return 0;
}

static int ram_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct ward_store_ram *r = ctx;

    if (off >= r->len) {
        return 0;
    }
    if (len > r->len - (size_t)off) {
        len = r->len - (size_t)off;
    }
    if (len > (size_t)INT32_MAX) {
        len = (size_t)INT32_MAX;
    }
    memcpy(buf, r->buf + off, len);
    return (int)len;
}

static int ram_append(void *ctx, const void *buf, size_t len)
{
    struct ward_store_ram *r = ctx;

    if (len > r->cap - r->len) {
        return -ENOSPC;
    }
    memcpy(r->buf + r->len, buf, len);
    r->len += len;
    return 0;
}

static int ram_truncate(void *ctx, uint64_t len)
{
    struct ward_store_ram *r = ctx;

    if (len < r->len) {
        r->len = (size_t)len;
    }
    if (r->synced > r->len) {
        r->synced = r->len;
    }
    return 0;
}

static int ram_sync(void *ctx)
{
    struct ward_store_ram *r = ctx;

    r->synced = r->len;
    r->syncs++;
    return 0;
}

static int ram_rewrite(void *ctx, ward_store_next_fn next, void *arg)
{
    struct ward_store_ram *r = ctx;
    size_t w = 0;
    const void *rec;
    size_t len;
    int rc;

    /* Records come back in order from offsets at or beyond w, copied out by the iterator
     * before they are written here, so compacting in place never overwrites unread data. */
    while ((rc = next(arg, &rec, &len)) == 1) {
        if (len > r->cap - w) {
            return -ENOSPC;
        }
        memmove(r->buf + w, rec, len);
        w += len;
    }
    if (rc < 0) {
        return rc;
    }
    r->len = w;
    r->synced = w;
    r->syncs++;
    return 0;
}

static const struct ward_store_ops s_ram_ops = {
    .size = ram_size,
    .read = ram_read,
    .append = ram_append,
    .truncate = ram_truncate,
    .sync = ram_sync,
    .rewrite = ram_rewrite,
};

int ward_store_ram_init(struct ward_store_ram *ram, void *storage, size_t cap)
{
    if (ram == NULL || storage == NULL) {
        return -EINVAL;
    }
    memset(ram, 0, sizeof(*ram));
    ram->buf = storage;
    ram->cap = cap;
    return 0;
}

struct ward_store ward_store_ram(struct ward_store_ram *ram)
{
    struct ward_store s = { .ops = &s_ram_ops, .ctx = ram };

    return s;
}
