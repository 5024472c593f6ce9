/*
 * After-commit subscribers: how a subsystem that reacts to stored data (metrics export,
 * incidents and alerts, audit, history) attaches without touching ingest.
 *
 * The group commit (commit/group.c) publishes only after the store's COMMIT returned 0, in
 * this order for each batch: every stored device state change, then for each request in
 * arrival order its report and each event it newly stored. A failed commit publishes
 * nothing. Subscribers run on the event loop: they must not block; what they need beyond the
 * call they copy (the pointers die when it returns).
 *
 * The table is static and bounded (WCOL_BUS_MAX); subscribers are called in the order they
 * subscribed.
 */
#ifndef WCOL_COMMIT_BUS_H_
#define WCOL_COMMIT_BUS_H_

#include <stdint.h>

#include "store/store.h"

#define WCOL_BUS_MAX 16

enum wcol_topic {
    WCOL_TOPIC_EVENT_STORED = 0, /* an event newly stored (not a duplicate) */
    WCOL_TOPIC_DEVICE_STATE,     /* the collector stored a device's new state (up, silent) */
    WCOL_TOPIC_REPORT_RECEIVED,  /* a device's request was stored */
    WCOL_TOPIC_COUNT,
};

struct wcol_msg {
    enum wcol_topic topic;
    union {
        /* WCOL_TOPIC_EVENT_STORED */
        const struct wcol_store_event *event;
        /* WCOL_TOPIC_DEVICE_STATE */
        struct {
            const char *device;
            const char *from;
            const char *to;
            int64_t at_ms;
        } state;
        /* WCOL_TOPIC_REPORT_RECEIVED */
        struct {
            const struct wcol_store_report *report;
            uint32_t stored;     /* events newly stored */
            uint32_t duplicates; /* events already stored before */
        } report;
    } u;
};

typedef void (*wcol_subscriber_fn)(void *ctx, const struct wcol_msg *msg);

struct wcol_bus {
    struct {
        enum wcol_topic topic;
        wcol_subscriber_fn fn;
        void *ctx;
    } subs[WCOL_BUS_MAX];
    unsigned n;
};

/** @return 0, -EINVAL (no function, unknown topic), -ENOSPC (WCOL_BUS_MAX reached). */
int wcol_bus_subscribe(struct wcol_bus *bus, enum wcol_topic topic, wcol_subscriber_fn fn,
                       void *ctx);

/** Call every subscriber of msg->topic. */
void wcol_bus_publish(const struct wcol_bus *bus, const struct wcol_msg *msg);

#endif /* WCOL_COMMIT_BUS_H_ */
