/*
 * Recorded readings, one JSON object per line (TRACE.jsonl), as `ward-agent replay` reads
 * them and docs/config.md documents:
 *
 *   {"t_ms": 0, "sensor": "temp:cpu0", "value": 71000}
 *   {"t_ms": 5000, "sensor": "temp:cpu0", "status": "unavailable", "reason": "missing"}
 *   {"t_ms": 9000, "sensor": "fan:cpu", "status": "fault"}
 *
 * Values are integers in the interface's unit; counters may use the full uint64 range.
 * Portable (no allocation), so a board can also play a trace into its engine.
 */
#ifndef WARD_TRACE_H_
#define WARD_TRACE_H_

#include <stddef.h>
#include <stdint.h>

#include "ward/base/config.h"
#include "ward/hal/reading.h"

struct ward_trace_rec {
    int64_t t_ms;
    char sensor[WARD_HEALTH_ID_MAX];
    struct ward_reading reading;
};

/**
 * Parse one line (without or with its trailing newline).
 * @param why  on failure, a static description of the problem (may be NULL)
 * @return 0, -ENODATA for a line that is empty or only whitespace (skip it), -EPROTO for
 *         malformed JSON, -EINVAL for a well-formed line that is not a valid reading,
 *         -ERANGE for a number out of range, -ENAMETOOLONG for a sensor id too long.
 */
int ward_trace_parse_line(const char *line, size_t len, struct ward_trace_rec *out,
                          const char **why);

#endif /* WARD_TRACE_H_ */
