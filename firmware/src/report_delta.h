/*
 * Delta snapshot pages (private to report.c; docs/protocol.md "Delta pages"): what each
 * sensor last went out as, and whether it changed enough since to go out again.
 */
#ifndef WARD_SRC_REPORT_DELTA_H_
#define WARD_SRC_REPORT_DELTA_H_

#include <stdbool.h>
#include <stdint.h>

#include "ward/agent.h"

/** The next cycle may be a delta: a full cycle went out on this connection, and began less
 * than WARD_REPORT_FULL_EVERY_S ago. */
bool report_delta_allowed(const struct ward_agent *a, int64_t now_ms);

/** Sensor i differs from what last went out: never sent, another state, severity, reason,
 * value presence or standby, or a value moved by at least its dead band. */
bool report_delta_changed(const struct ward_agent *a, unsigned i);

/** Whether any sensor in [first, end) changed. */
bool report_delta_any(const struct ward_agent *a, unsigned first, unsigned end);

/** Sensor i went out as it is now. */
void report_delta_mark(struct ward_agent *a, unsigned i);

#endif /* WARD_SRC_REPORT_DELTA_H_ */
