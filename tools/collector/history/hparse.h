/*
 * The readings of a stored snapshot page or event, for the history writer (history.c): read
 * in place with the firmware's pull scanner (ward/base/jscan.h), as ingest reads the batch,
 * instead of SQLite's JSON functions (docs/benchmarks.md, "History writer cost").
 *
 * What counts as a reading is what it was with SQLite's json_extract/json_type: a sensor of
 * the page's "sensors" array whose "value" is an integer in the int64 range; its "last_ms" and
 * the page's "t_ms" only when they are such integers too. Its "id" must be a non-empty string
 * (SQLite turned a number into text and kept an empty id as a series named "").
 * The documents reached the store through the ingest decoder (ward/wire/decode.h), so they
 * are valid JSON; one that does not scan gives no reading at all.
 */
#ifndef WCOL_HISTORY_HPARSE_H_
#define WCOL_HISTORY_HPARSE_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history/hist.h"

#define WCOL_HPAGE_MAX 100000u /* sensors of one page read at most */

struct wcol_hreading {
    char id[WCOL_HIST_SENSOR_MAX + 1];
    int64_t value;
    int64_t last_ms;
    bool has_last; /* last_ms was an integer */
};

/* What one page holds; the buffers are the reader's, grown as needed and reused. */
struct wcol_hpage {
    int64_t t_ms;
    bool has_t; /* t_ms was an integer */
    struct wcol_hreading *r;
    unsigned n, cap;
    char *scratch; /* strings skipped over (as long as the document at most) */
    size_t scratch_cap;
};

/**
 * Read a snapshot page into pg (pg->n readings, ids longer than WCOL_HIST_SENSOR_MAX left
 * out). @return 0; -EPROTO (not a JSON object, or malformed: pg->n is 0), -ENOMEM.
 */
int wcol_hparse_page(struct wcol_hpage *pg, const char *doc, size_t len);

/**
 * An event's "value" when it is an integer. @return 0 (*value set), -ENODATA (none, or not an
 * integer), -EPROTO, -ENOMEM.
 */
int wcol_hparse_event(struct wcol_hpage *pg, const char *doc, size_t len, int64_t *value);

/** Free pg's buffers. */
void wcol_hpage_free(struct wcol_hpage *pg);

#endif /* WCOL_HISTORY_HPARSE_H_ */
