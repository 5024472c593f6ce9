/*
 * A writer of the Prometheus text exposition format 0.0.4 into one bounded heap buffer.
 *
 * Families are written as "# HELP", "# TYPE" and then their samples. Label values are escaped
 * as the format requires (backslash, double quote, newline); HELP text escapes backslash and
 * newline. Once the limit would be passed the writer stops and stays failed: a caller checks
 * `failed` once at the end, never gets a truncated document.
 */
#ifndef WCOL_EXPORT_PROM_H_
#define WCOL_EXPORT_PROM_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WCOL_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct wcol_prom {
    char *buf;
    size_t len;
    size_t cap;
    size_t limit;
    bool failed;
};

/* One label of a sample. */
struct wcol_prom_label {
    const char *name;  /* a valid label name, written as is */
    const char *value; /* any bytes, escaped */
};

void wcol_prom_init(struct wcol_prom *w, size_t limit);
void wcol_prom_free(struct wcol_prom *w);

/** "# HELP name help" and "# TYPE name type" (type: counter, gauge, ...). */
void wcol_prom_family(struct wcol_prom *w, const char *name, const char *type, const char *help);

/** One sample: name{labels} value. n may be 0 (no braces). */
void wcol_prom_sample(struct wcol_prom *w, const char *name, const struct wcol_prom_label *labels,
                      size_t n, double value);

/** A sample with an unsigned integer value, written exactly (a counter past 2^53). */
void wcol_prom_sample_u64(struct wcol_prom *w, const char *name,
                          const struct wcol_prom_label *labels, size_t n, uint64_t value);

/**
 * A histogram family: name_bucket{le} (cumulative, the bounds then +Inf), name_sum and
 * name_count. counts holds n + 1 per-bucket (not cumulative) counts, the last for +Inf.
 */
void wcol_prom_histogram(struct wcol_prom *w, const char *name, const char *help,
                         const double *bounds, const uint64_t *counts, size_t n, double sum);

#endif /* WCOL_EXPORT_PROM_H_ */
