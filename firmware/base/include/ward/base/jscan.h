/*
 * A pull scanner for JSON input the agent reads: rules files, replay traces, collector
 * acknowledgements.
 *
 * Why not cJSON for input: cJSON builds a tree (arena memory proportional to the input) and
 * stores numbers as doubles, so 64-bit counters lose precision and errors have no line.
 * This scanner walks the text in place, allocates nothing, reads integers exactly (the full
 * int64 range, and uint64 where a caller allows it), rejects fractions and exponents, and
 * reports the line of the first error. Callers drive it with the grammar they expect:
 *
 *   ward_jscan_init(&s, text, len);
 *   ward_jscan_object(&s);
 *   while (ward_jscan_member(&s, key, sizeof(key)) > 0) { ...read the value... }
 *   ward_jscan_end(&s);
 *
 * The first error sticks: every later call returns it, so a caller may check once at the
 * end. Output (cJSON documents) is a separate path (ward/report.h).
 */
#ifndef WARD_BASE_JSCAN_H_
#define WARD_BASE_JSCAN_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ward_jscan {
    const char *p;   /* next unread byte */
    const char *end; /* one past the last byte */
    unsigned line;   /* 1-based line of p */
    unsigned err_line;
    int err;         /* first error (negative errno), 0 while all is well */
    const char *why; /* static text of the first error */
    uint8_t depth;   /* containers open (bounded by the caller's grammar) */
    bool need_comma; /* a value was read inside the innermost container */
    size_t key_len;  /* length of the key the last ward_jscan_member() read */
};

/** Start scanning len bytes at text (need not be NUL-terminated). */
void ward_jscan_init(struct ward_jscan *s, const char *text, size_t len);

/** Record an error at the current line (first error wins). @return err. */
int ward_jscan_fail(struct ward_jscan *s, int err, const char *why);

/** @return the next significant character without consuming it, or 0 at the end. */
char ward_jscan_peek(struct ward_jscan *s);

/** Consume '{'. @return 0 or -EPROTO. */
int ward_jscan_object(struct ward_jscan *s);

/** Consume '['. @return 0 or -EPROTO. */
int ward_jscan_array(struct ward_jscan *s);

/**
 * Next member of the innermost object: reads the key into key (NUL-terminated, its length in
 * s->key_len) and the ':'.
 * @return 1 when a member follows (read its value next), 0 at '}' (consumed),
 *         -EPROTO on malformed input, -ENAMETOOLONG when the key does not fit.
 */
int ward_jscan_member(struct ward_jscan *s, char *key, size_t key_len);

/** Next element of the innermost array. @return 1 when one follows, 0 at ']', -EPROTO. */
int ward_jscan_element(struct ward_jscan *s);

/**
 * A string value, unescaped into buf as UTF-8 (\\u escapes and surrogate pairs decoded;
 * NUL refused). @return its length, -EPROTO, or -ENAMETOOLONG when it does not fit.
 */
int ward_jscan_string(struct ward_jscan *s, char *buf, size_t len);

/** An integer value in [INT64_MIN, INT64_MAX]. @return 0, -EPROTO, -ERANGE. */
int ward_jscan_int64(struct ward_jscan *s, int64_t *out);

/**
 * An integer in [INT64_MIN, UINT64_MAX]; values above INT64_MAX are stored as their
 * two's-complement int64, as the HAL stores uint64_t counters. @return 0, -EPROTO, -ERANGE.
 */
int ward_jscan_counter(struct ward_jscan *s, int64_t *out);

/** true or false. @return 0 or -EPROTO. */
int ward_jscan_bool(struct ward_jscan *s, bool *out);

/** @return true (and consumes it) when the next value is the literal null. */
bool ward_jscan_null(struct ward_jscan *s);

/** Nothing but whitespace may remain. @return 0 or -EPROTO. */
int ward_jscan_end(struct ward_jscan *s);

#endif /* WARD_BASE_JSCAN_H_ */
