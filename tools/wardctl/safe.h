/*
 * wardctl's output guard: most of what it prints was sent by devices (ids, firmware, board,
 * sensor ids, reasons), and a terminal acts on control characters in it. Every string of a
 * document goes through here on its way to the terminal, in every view:
 * - text: C0 controls, DEL, C1 controls (U+0080-U+009F) and bytes that are not UTF-8 show
 *   as '?';
 * - JSON (--json): the collector's document as received, with any such raw byte escaped
 *   (\u00XX, or \ufffd for a byte that is not UTF-8): still the same JSON, nothing raw.
 */
#ifndef WARD_TOOLS_WARDCTL_SAFE_H_
#define WARD_TOOLS_WARDCTL_SAFE_H_

#include <stddef.h>
#include <stdio.h>

#define SAFE_TEXT_MAX 255 /* longer text is cut (on a character boundary) */

/** Copy s into dst (cap bytes, NUL included) with every control or invalid byte as '?'. */
void safe_copy(char *dst, size_t cap, const char *s);

/**
 * s (dflt when s is NULL) as safe_copy() makes it, in one of 8 rotating buffers: valid
 * until the 8th next call, enough for one line's fields (wardctl is single-threaded).
 */
const char *shown(const char *s, const char *dflt);

/** Print a JSON document (NUL-terminated) with every raw control or invalid byte escaped. */
void print_json_safe(FILE *out, const char *json);

#endif /* WARD_TOOLS_WARDCTL_SAFE_H_ */
