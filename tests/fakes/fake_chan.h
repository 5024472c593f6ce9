/*
 * A pass-through ward_chan for the transport's tests: no encryption, bytes go straight to
 * the ward_net, so the state machine can be checked byte by byte. It exists only under
 * tests/: nothing the agent links has a clear-text channel.
 */
#ifndef WARD_TESTS_FAKES_FAKE_CHAN_H_
#define WARD_TESTS_FAKES_FAKE_CHAN_H_

#include <stdbool.h>

#include "ward/transport/chan.h"
#include "ward/transport/net.h"

struct fake_chan {
    struct ward_net *net;
    unsigned handshake_eagain; /* -EAGAIN this many times per handshake before the result */
    int handshake_rc;          /* the handshake's result (0 = success) */
    bool resume;               /* report the handshake as resumed */
    unsigned left;             /* -EAGAINs left in this handshake */
    unsigned starts;
    unsigned finishes;
    unsigned graceful_finishes;
    unsigned wants;
};

void fake_chan_init(struct fake_chan *c, struct ward_net *net);
struct ward_chan fake_chan_as_chan(struct fake_chan *c);

#endif /* WARD_TESTS_FAKES_FAKE_CHAN_H_ */
