#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ward/base/crc32.h"
#include "ward/transport/store_flash.h"

#define MAGIC      0x53464a57u /* "WJFS" little-endian */
#define REGION_HDR 12u
#define CHUNK_HDR  8u
#define COPY_BUF   64u

struct chunk {
    uint32_t pos; /* of its header in the region */
    uint16_t len;
    uint32_t crc;
};

static uint32_t region_off(const struct ward_store_flash *f, unsigned r)
{
    return f->cfg.offset + (uint32_t)r * f->cfg.region_size;
}

static uint32_t get32(const uint8_t *b)
{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static void put32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

static int fread_(const struct ward_store_flash *f, unsigned r, uint32_t pos, void *buf, size_t len)
{
    return f->cfg.ops->read(f->cfg.ctx, region_off(f, r) + pos, buf, len);
}

static int fwrite_(const struct ward_store_flash *f, unsigned r, uint32_t pos, const void *buf,
                   size_t len)
{
    return f->cfg.ops->write(f->cfg.ctx, region_off(f, r) + pos, buf, len);
}

/* 1 with *seq for a valid region header, 0 for none, -EIO. */
static int region_seq(const struct ward_store_flash *f, unsigned r, uint32_t *seq)
{
    uint8_t h[REGION_HDR];
    int rc = fread_(f, r, 0, h, sizeof(h));

    if (rc != 0) {
        return rc;
    }
    *seq = get32(h + 4);
    return get32(h) == MAGIC && (get32(h + 8) ^ *seq) == 0xffffffffu;
}

/* The chunk at pos: 1 valid, 0 end of log (erased), 2 torn, -EIO. Only recovery checks the
 * data's crc (verify): chunks found valid then stay valid, flash bits only clear on erase. */
static int chunk_at(const struct ward_store_flash *f, uint32_t pos, struct chunk *c, bool verify)
{
    uint8_t h[CHUNK_HDR];
    uint8_t buf[COPY_BUF];
    uint32_t crc = 0;
    int rc;

    memset(c, 0, sizeof(*c));
    if (pos + CHUNK_HDR > f->cfg.region_size) {
        return 0;
    }
    rc = fread_(f, f->cur, pos, h, sizeof(h));
    if (rc != 0) {
        return -EIO; /* the flash ops return 0 or a negative errno; never a chunk */
    }
    c->pos = pos;
    c->len = (uint16_t)(h[0] | (h[1] << 8));
    c->crc = get32(h + 4);
    if (get32(h) == 0xffffffffu && c->crc == 0xffffffffu) {
        return 0;
    }
    if (((uint32_t)(h[2] | (h[3] << 8)) ^ c->len) != 0xffffu || c->len == 0 ||
        c->len > f->cfg.region_size - pos - CHUNK_HDR) {
        return 2;
    }
    for (uint32_t done = 0; verify && done < c->len;) {
        size_t n = c->len - done < COPY_BUF ? c->len - done : COPY_BUF;

        if (fread_(f, f->cur, pos + CHUNK_HDR + done, buf, n) != 0) {
            return -EIO;
        }
        crc = ward_crc32(crc, buf, n);
        done += (uint32_t)n;
    }
    return !verify || crc == c->crc ? 1 : 2;
}

static uint32_t chunk_end(const struct chunk *c)
{
    return c->pos + CHUNK_HDR + (((uint32_t)c->len + 3u) & ~3u);
}

/* Write one chunk (header first) at *pos of region r. */
static int put_chunk(struct ward_store_flash *f, unsigned r, uint32_t *pos, const void *data,
                     size_t len)
{
    uint8_t h[CHUNK_HDR];
    int rc;

    if (len == 0) {
        return 0;
    }
    if (len > 0xffffu || *pos + CHUNK_HDR + ((len + 3u) & ~(size_t)3u) > f->cfg.region_size) {
        return -ENOSPC;
    }
    h[0] = (uint8_t)len;
    h[1] = (uint8_t)(len >> 8);
    h[2] = (uint8_t)~h[0];
    h[3] = (uint8_t)~h[1];
    put32(h + 4, ward_crc32(0, data, len));
    rc = fwrite_(f, r, *pos, h, sizeof(h));
    rc = rc != 0 ? rc : fwrite_(f, r, *pos + CHUNK_HDR, data, len);
    if (rc != 0) {
        return rc;
    }
    *pos += CHUNK_HDR + (uint32_t)((len + 3u) & ~(size_t)3u);
    return 0;
}

/* Copy the first `keep` logical bytes of the current region into region r at *pos. */
static int copy_prefix(struct ward_store_flash *f, unsigned r, uint32_t *pos, uint64_t keep)
{
    uint8_t buf[COPY_BUF];
    struct chunk c;
    uint32_t at = REGION_HDR;
    int rc = 0;

    while (keep > 0 && (rc = chunk_at(f, at, &c, false)) == 1) {
        for (uint32_t done = 0; done < c.len && keep > 0;) {
            size_t n = c.len - done < COPY_BUF ? c.len - done : COPY_BUF;

            n = n < keep ? n : (size_t)keep;
            rc = fread_(f, f->cur, c.pos + CHUNK_HDR + done, buf, n);
            rc = rc != 0 ? rc : put_chunk(f, r, pos, buf, n);
            if (rc != 0) {
                return rc;
            }
            done += (uint32_t)n;
            keep -= n;
        }
        at = chunk_end(&c);
    }
    return rc < 0 ? rc : 0;
}

/* Fill the other region with `keep` bytes of the current one plus what next() yields, then
 * make it current by writing its header. */
static int switch_region(struct ward_store_flash *f, uint64_t keep, ward_store_next_fn next,
                         void *arg)
{
    unsigned r = f->cur ^ 1u;
    uint32_t pos = REGION_HDR;
    uint64_t size = keep;
    uint8_t h[REGION_HDR];
    const void *rec;
    size_t len;
    int rc = f->cfg.ops->erase(f->cfg.ctx, region_off(f, r), f->cfg.region_size);

    rc = rc != 0 ? rc : copy_prefix(f, r, &pos, keep);
    while (rc == 0 && next != NULL && (rc = next(arg, &rec, &len)) == 1) {
        rc = put_chunk(f, r, &pos, rec, len);
        size += len;
    }
    if (rc < 0) {
        return rc;
    }
    put32(h, MAGIC);
    put32(h + 4, f->seq + 1u);
    put32(h + 8, ~(f->seq + 1u));
    rc = fwrite_(f, r, 0, h, sizeof(h));
    if (rc != 0) {
        return rc;
    }
    f->cur = (uint8_t)r;
    f->seq++;
    f->wpos = pos;
    f->size = size;
    f->rewrites++;
    return 0;
}

static int recover(struct ward_store_flash *f);

static int fl_size(void *ctx, uint64_t *size)
{
    *size = ((struct ward_store_flash *)ctx)->size;
    return 0;
}

static int fl_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct ward_store_flash *f = ctx;
    uint8_t *out = buf;
    uint64_t logical = 0;
    uint32_t at = REGION_HDR;
    size_t got = 0;
    struct chunk c;

    if (len > (size_t)INT32_MAX) {
        len = (size_t)INT32_MAX;
    }
    while (got < len && chunk_at(f, at, &c, false) == 1) {
        if (off + got < logical + c.len) {
            uint32_t skip = (uint32_t)(off + got - logical);
            size_t n = c.len - skip < len - got ? c.len - skip : len - got;

            if (fread_(f, f->cur, c.pos + CHUNK_HDR + skip, out + got, n) != 0) {
                return -EIO;
            }
            got += n;
        }
        logical += c.len;
        at = chunk_end(&c);
    }
    return (int)got;
}

static int fl_append(void *ctx, const void *buf, size_t len)
{
    struct ward_store_flash *f = ctx;
    int rc = put_chunk(f, f->cur, &f->wpos, buf, len);

    if (rc == 0) {
        f->size += len;
    } else if (rc != -ENOSPC) {
        (void)recover(f); /* a half-written chunk must not be written over */
        rc = -EIO;
    }
    return rc;
}

static int fl_truncate(void *ctx, uint64_t len)
{
    struct ward_store_flash *f = ctx;

    return len >= f->size ? 0 : switch_region(f, len, NULL, NULL);
}

static int fl_sync(void *ctx)
{
    (void)ctx; /* every append is programmed before it returns */
    return 0;
}

static int fl_rewrite(void *ctx, ward_store_next_fn next, void *arg)
{
    return switch_region(ctx, 0, next, arg);
}

static const struct ward_store_ops s_flash_ops = {
    .size = fl_size,
    .read = fl_read,
    .append = fl_append,
    .truncate = fl_truncate,
    .sync = fl_sync,
    .rewrite = fl_rewrite,
};

/* Walk the current region's chunks; a torn one ends the log and moves the rest. */
static int recover(struct ward_store_flash *f)
{
    struct chunk c;
    uint32_t at = REGION_HDR;
    int rc;

    f->size = 0;
    while ((rc = chunk_at(f, at, &c, true)) == 1) {
        f->size += c.len;
        at = chunk_end(&c);
    }
    f->wpos = at;
    if (rc < 0) {
        return rc;
    }
    return rc == 2 ? switch_region(f, f->size, NULL, NULL) : 0;
}

int ward_store_flash_init(struct ward_store_flash *f, const struct ward_store_flash_config *cfg)
{
    uint32_t s0 = 0;
    uint32_t s1 = 0;
    int v0;
    int v1;

    if (f == NULL || cfg == NULL || cfg->ops == NULL || cfg->ops->read == NULL ||
        cfg->ops->write == NULL || cfg->ops->erase == NULL || cfg->region_size < 64 ||
        cfg->region_size % 4 != 0) {
        return -EINVAL;
    }
    memset(f, 0, sizeof(*f));
    f->cfg = *cfg;
    v0 = region_seq(f, 0, &s0);
    v1 = region_seq(f, 1, &s1);
    if (v0 < 0 || v1 < 0) {
        return -EIO;
    }
    if (v0 == 0 && v1 == 0) {
        f->cur = 1; /* format: "switch" to region 0 with nothing in it */
        f->seq = 0;
        return switch_region(f, 0, NULL, NULL) == 0 ? 0 : -EIO;
    }
    f->cur = (uint8_t)(v1 == 1 && (v0 == 0 || (int32_t)(s1 - s0) > 0) ? 1 : 0);
    f->seq = f->cur != 0 ? s1 : s0;
    return recover(f) == 0 ? 0 : -EIO;
}

struct ward_store ward_store_flash(struct ward_store_flash *f)
{
    struct ward_store s = { .ops = &s_flash_ops, .ctx = f };

    return s;
}
