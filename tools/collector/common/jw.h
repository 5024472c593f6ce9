/*
 * A small JSON writer into a growable heap buffer, for the collector's responses. It
 * escapes every string, tracks commas itself, and refuses to grow past a limit: once a write
 * fails, the writer stays failed and the caller answers 500 instead of sending half a
 * document. Much of what it writes comes from devices, so nothing a terminal acts on leaves
 * raw: C0 controls, DEL and C1 controls are \u-escaped (in stored documents inserted with
 * wcol_jw_raw() too), and a byte that is not UTF-8 becomes U+FFFD.
 */
#ifndef WCOL_COMMON_JW_H_
#define WCOL_COMMON_JW_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WCOL_JW_MAX_DEPTH 16

struct wcol_jw {
    char *buf;
    size_t len;
    size_t cap;
    size_t limit;
    bool failed;
    unsigned depth;
    bool first[WCOL_JW_MAX_DEPTH]; /* no value written yet at this depth */
    bool after_key;
};

/** Start an empty document that may grow to limit bytes. */
void wcol_jw_init(struct wcol_jw *w, size_t limit);
/** Free the buffer. */
void wcol_jw_free(struct wcol_jw *w);
/** Hand the buffer to the caller (who frees it) and reset the writer. */
char *wcol_jw_take(struct wcol_jw *w, size_t *len);

void wcol_jw_obj_begin(struct wcol_jw *w);
void wcol_jw_obj_end(struct wcol_jw *w);
void wcol_jw_arr_begin(struct wcol_jw *w);
void wcol_jw_arr_end(struct wcol_jw *w);
void wcol_jw_key(struct wcol_jw *w, const char *key);
void wcol_jw_str(struct wcol_jw *w, const char *s);
void wcol_jw_strn(struct wcol_jw *w, const char *s, size_t n);
void wcol_jw_int(struct wcol_jw *w, int64_t v);
void wcol_jw_uint(struct wcol_jw *w, uint64_t v);
void wcol_jw_bool(struct wcol_jw *w, bool v);
void wcol_jw_null(struct wcol_jw *w);
/** Insert text that is already valid JSON (a stored document); controls escaped as above. */
void wcol_jw_raw(struct wcol_jw *w, const char *json, size_t n);

/* key + value in one call */
void wcol_jw_kstr(struct wcol_jw *w, const char *key, const char *s);
void wcol_jw_kint(struct wcol_jw *w, const char *key, int64_t v);
void wcol_jw_kuint(struct wcol_jw *w, const char *key, uint64_t v);

#endif /* WCOL_COMMON_JW_H_ */
