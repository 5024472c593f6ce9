/*
 * Events stored per device and severity, counted by the export from the after-commit bus
 * (the fleet keeps only a device's total). A hash of device ids, bounded: at most `max`
 * devices (the fleet's limit); events of devices past it are counted in `untracked`.
 */
#ifndef WCOL_EXPORT_DEVSEV_H_
#define WCOL_EXPORT_DEVSEV_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/wire/state.h"

#include "common/ident.h"

struct wcol_devsev_entry {
    struct wcol_devsev_entry *next;
    uint64_t n[WARD_SEV_COUNT];
    char id[WCOL_DEVICE_ID_MAX + 1];
};

struct wcol_devsev {
    struct wcol_devsev_entry **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
    size_t max;
    uint64_t untracked;
};

/** @return 0, -EINVAL (max 0), -ENOMEM. */
int wcol_devsev_init(struct wcol_devsev *d, size_t max);
void wcol_devsev_free(struct wcol_devsev *d);

/** Count one stored event of device id at severity rank sev (0..WARD_SEV_COUNT-1). */
void wcol_devsev_add(struct wcol_devsev *d, const char *id, int sev);

/** The counts of a device, NULL when it has none. */
const uint64_t *wcol_devsev_get(const struct wcol_devsev *d, const char *id);

#endif /* WCOL_EXPORT_DEVSEV_H_ */
