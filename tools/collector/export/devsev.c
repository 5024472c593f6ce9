/*
 * Events per device and severity (export/devsev.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "export/devsev.h"

/* FNV-1a of the id, reduced to the table. */
static size_t bucket_of(const struct wcol_devsev *d, const char *id)
{
    return wcol_fnv1a(WCOL_FNV1A_BASIS, id, strlen(id)) & (d->nbuckets - 1);
}

int wcol_devsev_init(struct wcol_devsev *d, size_t max)
{
    memset(d, 0, sizeof(*d));
    if (max == 0) {
        return -EINVAL;
    }
    d->nbuckets = 64;
    while (d->nbuckets < max && d->nbuckets < ((size_t)1 << 20)) {
        d->nbuckets <<= 1;
    }
    /* an array of pointers: each element is a pointer */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
    d->max = max;
    return d->buckets != NULL ? 0 : -ENOMEM;
}

void wcol_devsev_free(struct wcol_devsev *d)
{
    for (size_t b = 0; b < d->nbuckets; b++) {
        while (d->buckets[b] != NULL) {
            struct wcol_devsev_entry *e = d->buckets[b];

            d->buckets[b] = e->next;
            free(e);
        }
    }
    free(d->buckets);
    memset(d, 0, sizeof(*d));
}

static struct wcol_devsev_entry *find(const struct wcol_devsev *d, const char *id)
{
    if (d->buckets == NULL) {
        return NULL;
    }
    for (struct wcol_devsev_entry *e = d->buckets[bucket_of(d, id)]; e != NULL; e = e->next) {
        if (strcmp(e->id, id) == 0) {
            return e;
        }
    }
    return NULL;
}

void wcol_devsev_add(struct wcol_devsev *d, const char *id, int sev)
{
    struct wcol_devsev_entry *e = find(d, id);

    if (e == NULL && d->buckets != NULL && d->count < d->max && strlen(id) <= WCOL_DEVICE_ID_MAX &&
        (e = calloc(1, sizeof(*e))) != NULL) {
        size_t b = bucket_of(d, id);

        memcpy(e->id, id, strlen(id) + 1);
        e->next = d->buckets[b];
        d->buckets[b] = e;
        d->count++;
    }
    if (e == NULL || sev < 0 || sev >= WARD_SEV_COUNT) {
        d->untracked++;
        return;
    }
    e->n[sev]++;
}

const uint64_t *wcol_devsev_get(const struct wcol_devsev *d, const char *id)
{
    const struct wcol_devsev_entry *e = find(d, id);

    return e != NULL ? e->n : NULL;
}
