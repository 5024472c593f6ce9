/*
 * A small JSON writer into a growable heap buffer, for the collector's responses. It
 * escapes every string, tracks commas itself, and refuses to grow past a limit: once a write
 * fails, the writer stays failed and the caller answers 500 instead of sending half a
 * document.
 */
#ifndef WARD_TOOLS_COLLECTOR_JW_H_
#define WARD_TOOLS_COLLECTOR_JW_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WARD_JW_MAX_DEPTH 16

struct ward_jw {
    char *buf;
    size_t len;
    size_t cap;
    size_t limit;
    bool failed;
    unsigned depth;
    bool first[WARD_JW_MAX_DEPTH]; /* no value written yet at this depth */
    bool after_key;
};

/** Start an empty document that may grow to limit bytes. */
void ward_jw_init(struct ward_jw *w, size_t limit);
/** Free the buffer. */
void ward_jw_free(struct ward_jw *w);
/** Hand the buffer to the caller (who frees it) and reset the writer. */
char *ward_jw_take(struct ward_jw *w, size_t *len);

void ward_jw_obj_begin(struct ward_jw *w);
void ward_jw_obj_end(struct ward_jw *w);
void ward_jw_arr_begin(struct ward_jw *w);
void ward_jw_arr_end(struct ward_jw *w);
void ward_jw_key(struct ward_jw *w, const char *key);
void ward_jw_str(struct ward_jw *w, const char *s);
void ward_jw_strn(struct ward_jw *w, const char *s, size_t n);
void ward_jw_int(struct ward_jw *w, int64_t v);
void ward_jw_uint(struct ward_jw *w, uint64_t v);
void ward_jw_bool(struct ward_jw *w, bool v);
void ward_jw_null(struct ward_jw *w);
/** Insert text that is already valid JSON (a stored document). */
void ward_jw_raw(struct ward_jw *w, const char *json, size_t n);

/* key + value in one call */
void ward_jw_kstr(struct ward_jw *w, const char *key, const char *s);
void ward_jw_kint(struct ward_jw *w, const char *key, int64_t v);
void ward_jw_kuint(struct ward_jw *w, const char *key, uint64_t v);
void ward_jw_kbool(struct ward_jw *w, const char *key, bool v);

#endif /* WARD_TOOLS_COLLECTOR_JW_H_ */
