/*
 * The alerting file (ward-collector --alerting FILE): receivers, routes, runbooks and the
 * incident policy (hold-down, flapping, correlation, acknowledgement deadlines). A small
 * line format, one directive per line, '#' starts a comment; every value bounded, every
 * error one line "FILE:LINE: what" (docs/incidents.md, "Configuration").
 */
#ifndef WCOL_INCIDENTS_POLICY_H_
#define WCOL_INCIDENTS_POLICY_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WCOL_POL_RECEIVERS 16
#define WCOL_POL_ROUTES    32
#define WCOL_POL_RUNBOOKS  64
#define WCOL_POL_NAME_MAX  32
#define WCOL_POL_TEXT_MAX  256
#define WCOL_POL_SECRET    128
#define WCOL_POL_LINE_MAX  512

enum wcol_receiver_kind {
    WCOL_RECV_WEBHOOK = 0,
    WCOL_RECV_ALERTMANAGER,
};

struct wcol_receiver {
    char name[WCOL_POL_NAME_MAX];
    enum wcol_receiver_kind kind;
    char host[128];
    char port[8];
    char path[WCOL_POL_TEXT_MAX];
    unsigned char secret[WCOL_POL_SECRET]; /* webhook HMAC key (read from a file) */
    size_t secret_len;
    bool tls;                        /* https://: certificate verified against ca_file */
    bool insecure_http;              /* http:// on loopback, said explicitly (insecure-http) */
    char ca_file[WCOL_POL_TEXT_MAX]; /* PEM CAs (ca-file), else the system's bundle */
};

/* An https receiver's CAs when the file names no ca-file (Debian's ca-certificates). */
#define WCOL_POL_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"

struct wcol_route_rule {
    unsigned receiver;  /* index into receivers */
    int min_severity;   /* 1 low .. 3 high */
    char device[64];    /* glob, "" any */
    char component[64]; /* glob, "" any */
};

struct wcol_runbook {
    char glob[64]; /* over the component (sensor id, "device" for silence) */
    char text[WCOL_POL_TEXT_MAX];
};

struct wcol_policy {
    uint64_t hold_down_ms;                /* healthy this long before auto-resolve */
    unsigned flap_count;                  /* transitions ... */
    uint64_t flap_window_ms;              /* ... within this window: flapping */
    unsigned correlate_min;               /* devices silent ... */
    uint64_t correlate_window_ms;         /* ... within this window: one parent incident */
    uint64_t ack_deadline_ms[4];          /* by severity rank; 0 none */
    uint64_t resend_ms;                   /* Alertmanager re-post while firing */
    uint64_t send_timeout_ms;             /* one delivery attempt */
    uint64_t retry_max_ms;                /* backoff cap */
    char external_url[WCOL_POL_TEXT_MAX]; /* base of generatorURL / incident links */
    struct wcol_receiver receivers[WCOL_POL_RECEIVERS];
    unsigned n_receivers;
    struct wcol_route_rule routes[WCOL_POL_ROUTES];
    unsigned n_routes;
    int escalate; /* receiver index, -1 none */
    struct wcol_runbook runbooks[WCOL_POL_RUNBOOKS];
    unsigned n_runbooks;
    /* Drill targets (drills.c): [severity rank][WCOL_DRILL_DETECT..RESOLVE], 0 none. */
    uint64_t drill_target_ms[4][3];
    /* Outbox pruning (sender.c): delivered rows older than this go, in batches; 0 never. */
    uint64_t prune_after_ms;
};

enum { WCOL_DRILL_DETECT = 0, WCOL_DRILL_ACK, WCOL_DRILL_RESOLVE };

/** The defaults (no receivers): hold-down 5m, flapping 4 in 10m, 5 silent in 2m,
 *  high acknowledged within 15m, resend 1m, timeout 5s, retry up to 5m; drill targets (detect,
 *  acknowledge, resolve) high 2m 15m 1h, medium 5m 1h 4h, low 10m 4h 24h; delivered
 *  notifications pruned after 7d. */
void wcol_policy_defaults(struct wcol_policy *p);

/** Read FILE over the defaults. @return 0, or -EINVAL/-EIO after one "FILE:LINE: why" line. */
int wcol_policy_load(struct wcol_policy *p, const char *path);

/** The runbook of a component ("" none): the first glob that matches. */
const char *wcol_policy_runbook(const struct wcol_policy *p, const char *component);

/** Receiver index by name, -1 unknown. */
int wcol_policy_receiver(const struct wcol_policy *p, const char *name);

#endif /* WCOL_INCIDENTS_POLICY_H_ */
