/*
 * ward-agent run's stderr: every line gets a UTC timestamp and its level in front
 * ("2026-12-06T03:20:00.123Z warn ward-agent: ..."), or, when stderr is the journal
 * (JOURNAL_STREAM names it), only the syslog level prefix "<4>" that journald reads, since
 * the journal stamps lines itself. The rest of the agent keeps writing to stderr: the stream
 * is swapped for one that adds the prefix as each line completes, with static buffers, so the
 * loop stays free of the heap.
 */
#ifndef WARD_APPS_LINUX_RUN_STDERR_H_
#define WARD_APPS_LINUX_RUN_STDERR_H_

#include "run_config.h"

/** Put the prefixing stream in place of stderr (start-up; allocates once). @return 0 or -errno. */
int run_stderr_install(void);

/** The level of lines written until run_stderr_unmark(); lines not marked have the default. */
void run_stderr_mark(enum run_log_level level);
void run_stderr_unmark(void);

/** The level of unmarked lines: error during start-up, info once running. */
void run_stderr_default(enum run_log_level level);

#endif /* WARD_APPS_LINUX_RUN_STDERR_H_ */
