#include <errno.h>
#include <stddef.h>

#include "commit/bus.h"

int wcol_bus_subscribe(struct wcol_bus *bus, enum wcol_topic topic, wcol_subscriber_fn fn,
                       void *ctx)
{
    if (fn == NULL || (unsigned)topic >= WCOL_TOPIC_COUNT) {
        return -EINVAL;
    }
    if (bus->n == WCOL_BUS_MAX) {
        return -ENOSPC;
    }
    bus->subs[bus->n].topic = topic;
    bus->subs[bus->n].fn = fn;
    bus->subs[bus->n].ctx = ctx;
    bus->n++;
    return 0;
}

void wcol_bus_publish(const struct wcol_bus *bus, const struct wcol_msg *msg)
{
    for (unsigned i = 0; i < bus->n; i++) {
        if (bus->subs[i].topic == msg->topic) {
            bus->subs[i].fn(bus->subs[i].ctx, msg);
        }
    }
}
