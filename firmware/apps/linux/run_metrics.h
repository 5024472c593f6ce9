/*
 * ward-agent run --metrics ADDR:PORT: the Prometheus listener on the run loop's poll(). One
 * thread, no allocation: a fixed number of connection slots (CONFIG_WARD_NMS_PROM_MAX_CONNS,
 * more are answered 503 and closed), each with a request buffer (head capped, 431 beyond)
 * and an answer buffer, and one deadline per connection (a request not complete in time is
 * answered 408, an answer not taken in time is cut). One request per connection
 * (Connection: close). Answers come from the agent's cached state (ward/nms/metrics.h).
 *
 * A listener on anything but loopback requires --metrics-tls (mutual TLS, run_metrics_tls.h)
 * or --metrics-token FILE (mode 0600; the Bearer token is compared in constant time), else
 * start-up refuses.
 */
#ifndef WARD_APPS_LINUX_RUN_METRICS_H_
#define WARD_APPS_LINUX_RUN_METRICS_H_

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "ward/base/config.h"
#include "ward/nms/cache.h"
#include "ward/nms/metrics.h"

#include "run_metrics_tls.h"

struct run;
struct opts;

enum metrics_phase {
    METRICS_FREE = 0,
    METRICS_READING,
    METRICS_WRITING,
    METRICS_DRAINING, /* answer sent, write side shut: read until the client closes */
};

struct metrics_conn {
    int fd;
    uint8_t phase;   /* enum metrics_phase */
    bool want_write; /* TLS: the last call waits for the socket to take bytes */
    int64_t deadline_ms;
    uint32_t in_len;
    uint32_t hdr_len;
    uint32_t hdr_off;
    uint32_t body_len;
    uint32_t body_off;
    char in[WARD_NMS_PROM_REQUEST_MAX];
    char hdr[320];
    char body[WARD_NMS_PROM_RESPONSE_MAX];
};

/* Connections refused for want of a slot: answered 503, then drained until closed. */
#define RUN_METRICS_REFUSING 8

struct run_metrics {
    int lfd; /* -1: no listener */
    int refusing_fd[RUN_METRICS_REFUSING];
    int64_t refusing_deadline_ms[RUN_METRICS_REFUSING];
    bool token_required;
    uint8_t token_len;
    char token[128];
    uint32_t acks_seen;
    struct ward_nms_agent_stats st;
    char digest_hex[65];
    struct ward_nms_cache cache;
    struct metrics_conn conn[WARD_NMS_PROM_MAX_CONNS];
    struct metrics_tls tls; /* --metrics-tls; tls.on false: plain HTTP */
    struct metrics_tls_conn tconn[WARD_NMS_PROM_MAX_CONNS];
};

/** The pollfds the listener needs at most. */
#define RUN_METRICS_POLLFDS (1 + WARD_NMS_PROM_MAX_CONNS + RUN_METRICS_REFUSING)

/** Before anything else: no listener, an empty cache. */
void run_metrics_init(struct run_metrics *m);

/**
 * --metrics, --metrics-token: check the rules (loopback or a token), read the token, bind.
 * Prints one line for any failure. @return 0 (also when --metrics is absent) or a negative errno.
 */
int run_metrics_start(struct run_metrics *m, const struct opts *o);

/**
 * --metrics-tls: serve mutual TLS with the device's parsed credentials (after start-up has
 * set them up). Prints one line on failure. @return 0 or a negative errno.
 */
int run_metrics_tls_attach(struct run_metrics *m, struct ward_tls *dev);

/** Fill pfd with what the listener waits for. @return how many were filled. */
unsigned run_metrics_pollfds(const struct run_metrics *m, struct pollfd *pfd, unsigned cap);

/** The earliest connection deadline, or INT64_MAX. */
int64_t run_metrics_next_wake(const struct run_metrics *m);

/** Accept, read, answer, cut what is late. pfd/n as filled by run_metrics_pollfds(). */
void run_metrics_service(struct run_metrics *m, struct run *r, const struct pollfd *pfd, unsigned n,
                         int64_t now_ms);

/** Close the listener and every connection. */
void run_metrics_stop(struct run_metrics *m);

#endif /* WARD_APPS_LINUX_RUN_METRICS_H_ */
