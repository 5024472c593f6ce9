/*
 * Prometheus exposition, written without the heap into a caller's bounded buffer: the text
 * format 0.0.4 or OpenMetrics 1.0 (with its "# EOF"). Every family gets HELP and TYPE;
 * label values and help texts are escaped for the format, bytes that are not UTF-8 become
 * '?'. When the buffer fills, the sink's flush callback (if any) takes the bytes and the
 * buffer is reused (chunked output); without one, writing stops and the writer remembers
 * -ENOSPC. Values are integers or exact decimal fractions (no floating point).
 *
 *   struct ward_prom w;
 *   ward_prom_init(&w, WARD_PROM_TEXT, buf, sizeof(buf), NULL, NULL);
 *   ward_prom_family(&w, "ward_fan_rpm", WARD_PROM_GAUGE, "Fan speed.");
 *   ward_prom_sample(&w, labels, 2, ward_prom_int(1200));
 *   n = ward_prom_finish(&w);       // bytes written, or -ENOSPC / the flush's error
 */
#ifndef WARD_NMS_PROM_H_
#define WARD_NMS_PROM_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ward_prom_format {
    WARD_PROM_TEXT = 0,    /* text/plain; version=0.0.4 */
    WARD_PROM_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
};

enum ward_prom_type {
    WARD_PROM_GAUGE = 0,
    WARD_PROM_COUNTER, /* family named without _total; samples get it */
};

/** Called with each full buffer (and the rest at the end). @return 0 or a negative errno. */
typedef int (*ward_prom_flush_fn)(void *user, const char *data, size_t len);

struct ward_prom {
    char *buf;
    size_t cap;
    size_t len;
    size_t total; /* bytes produced, flushed or not */
    ward_prom_flush_fn flush;
    void *user;
    int err;
    enum ward_prom_format format;
    enum ward_prom_type type; /* of the current family */
    const char *family;
};

struct ward_prom_label {
    const char *name;
    const char *value;
};

/* A sample value: num / den, printed exactly with up to 6 decimals (den 1: an integer). */
struct ward_prom_value {
    int64_t num;
    uint64_t den;
    bool is_unsigned; /* num holds a uint64_t */
};

static inline struct ward_prom_value ward_prom_int(int64_t v)
{
    return (struct ward_prom_value){ v, 1u, false };
}

static inline struct ward_prom_value ward_prom_uint(uint64_t v)
{
    return (struct ward_prom_value){ (int64_t)v, 1u, true };
}

static inline struct ward_prom_value ward_prom_frac(int64_t num, uint64_t den)
{
    return (struct ward_prom_value){ num, den == 0 ? 1u : den, false };
}

/** Start writing into buf (cap >= 64). flush may be NULL. */
void ward_prom_init(struct ward_prom *w, enum ward_prom_format format, char *buf, size_t cap,
                    ward_prom_flush_fn flush, void *user);

/** HELP and TYPE of a family; the samples that follow belong to it. */
void ward_prom_family(struct ward_prom *w, const char *name, enum ward_prom_type type,
                      const char *help);

/** One sample of the current family. */
void ward_prom_sample(struct ward_prom *w, const struct ward_prom_label *labels, unsigned n,
                      struct ward_prom_value v);

/** Raw text (for other documents written through the same sink, e.g. /health's JSON). */
void ward_prom_raw(struct ward_prom *w, const char *s, size_t n);

/** Write s as the inside of a JSON string (escaped). */
void ward_prom_json_string(struct ward_prom *w, const char *s);

/**
 * End the document ("# EOF" for OpenMetrics) and flush what is left.
 * @return bytes produced (>= 0), -ENOSPC (no flush and the buffer filled), or the flush's error.
 */
long ward_prom_finish(struct ward_prom *w);

/** Like ward_prom_finish() for a document that is not an exposition (no "# EOF"). */
long ward_prom_end(struct ward_prom *w);

/** The Content-Type of a format. */
const char *ward_prom_content_type(enum ward_prom_format format);

#endif /* WARD_NMS_PROM_H_ */
