/*
 * ward-agent run: what it says on stderr. One line per connection state change, per fault of
 * the reporting loop, for the journal recovered at start, and the statistics line (SIGUSR1,
 * exit). The first two go through log_repeat.h: a fault that recurs every loop pass (a full
 * disk) prints once, then "(repeated N times in 10 s)" every window. Below both run_setup.c
 * and cmd_run.c.
 */
#ifndef WARD_APPS_LINUX_RUN_LOG_H_
#define WARD_APPS_LINUX_RUN_LOG_H_

#include <stdint.h>

#include "run.h"

/* A line that repeats the last one within this window is counted, not printed (log_repeat.h). */
#define RUN_LOG_REPEAT_WINDOW_MS 10000

enum run_log_level;

/** The loop's lines below this level are dropped: backoff and faults are warn, other link
 * changes info (default info; start-up errors and requested statistics always print). */
void run_log_set_level(enum run_log_level level);

/** The start-up banner that follows is info, not an error (run_stderr.h). */
void run_log_banner_level(void);

/** The transport's on_link callback; user is the struct run. */
void run_log_link(void *user, enum ward_link from, enum ward_link to, int err);

/** The reporting loop's on_fault callback; user is the struct run. */
void run_log_fault(void *user, enum ward_uplink_fault fault, int err);

/** What journal recovery cut or skipped, and how many events it restored. */
void run_log_journal_recovery(const struct opts *o, const struct run *r, int restored);

/** Print the count of repeated lines once their window has passed (every loop pass). */
void run_log_tick(struct run *r, int64_t now);

/** The statistics line (after the count of any repeats not yet printed): counters of the transport,
 * the TLS pool, the journal and RSS. */
void run_log_stats(struct run *r, int64_t now);

#endif /* WARD_APPS_LINUX_RUN_LOG_H_ */
