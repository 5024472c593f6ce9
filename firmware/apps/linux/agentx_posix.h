/*
 * ward-agent run --agentx unix:PATH|tcp:HOST:PORT: the socket side of the AgentX subagent
 * (the protocol is the portable ward/nms/agentx.h). One non-blocking stream socket in the
 * run loop's poll(); when the master (snmpd) goes away or misbehaves the connection is
 * dropped and retried with backoff (0.5 s doubling to 30 s, reset once registered), and the
 * session opens and registers again. One stderr line per change of state.
 */
#ifndef WARD_APPS_LINUX_AGENTX_POSIX_H_
#define WARD_APPS_LINUX_AGENTX_POSIX_H_

#include <poll.h>
#include <stdint.h>

#include "log_repeat.h"
#include "ward/agent.h"

/**
 * Check and keep the address (before start-up, so a typo costs nothing). Prints one line for a
 * bad address. @return 0, -EINVAL, -ENOTSUP (built without AgentX).
 */
int agentx_posix_parse(const char *spec);

struct ward_nms_cache;

/** Attach the subagent to the started agent and its reading cache (NULL: no disk rows); the
 * loop connects from its next step. */
void agentx_posix_start(const struct ward_agent *agent, struct log_repeat *log,
                        const struct ward_nms_cache *cache);

/** The socket to poll and for what (fd -1 when there is none). */
void agentx_posix_pollfd(struct pollfd *pfd);

/** Connect, read, answer, notify, write, as due. journal_depth: records in the journal. */
void agentx_posix_step(int64_t now_ms, uint32_t journal_depth);

/** When agentx_posix_step() wants to run again at the latest. */
int64_t agentx_posix_next_wake(int64_t now_ms);

/** Close the connection (at exit). */
void agentx_posix_stop(void);

#endif /* WARD_APPS_LINUX_AGENTX_POSIX_H_ */
