#include <errno.h>
#include <string.h>

#include "ward/base/config.h"
#include "ward/sched.h"

void ward_prng_seed(struct ward_prng *p, uint64_t seed)
{
    p->state = seed;
}

uint64_t ward_prng_next(struct ward_prng *p)
{
    uint64_t z = (p->state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t ward_prng_below(struct ward_prng *p, uint32_t n)
{
    /* 64 random bits reduced by multiply-shift: the bias is below 2^-32, irrelevant here. */
    return n == 0 ? 0 : (uint32_t)(((ward_prng_next(p) >> 32) * (uint64_t)n) >> 32);
}

uint32_t ward_sched_default_interval(enum ward_class cls)
{
    static const uint32_t dflt[WARD_CLASS_COUNT] = {
        [WARD_CLASS_TEMP] = WARD_INTERVAL_TEMP_MS,
        [WARD_CLASS_FAN] = WARD_INTERVAL_FAN_MS,
        [WARD_CLASS_NIC] = WARD_INTERVAL_NIC_MS,
        [WARD_CLASS_DISK] = WARD_INTERVAL_DISK_MS,
        [WARD_CLASS_HOST] = WARD_INTERVAL_HOST_MS,
        [WARD_CLASS_AGENT] = WARD_INTERVAL_AGENT_MS,
        [WARD_CLASS_HEARTBEAT] = WARD_INTERVAL_HEARTBEAT_MS,
    };

    return (unsigned)cls < WARD_CLASS_COUNT ? dflt[cls] : 0;
}

/* One period: the interval +/- half the jitter share. */
static int64_t period(struct ward_sched *s, uint32_t interval)
{
    uint32_t span = (uint32_t)(((uint64_t)interval * WARD_SCHED_JITTER_PCT) / 100u);

    return (int64_t)interval - (int64_t)(span / 2u) + (int64_t)ward_prng_below(&s->prng, span + 1u);
}

int ward_sched_init(struct ward_sched *s, int64_t now_ms, uint64_t seed)
{
    if (s == NULL) {
        return -EINVAL;
    }
    memset(s, 0, sizeof(*s));
    ward_prng_seed(&s->prng, seed);
    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        uint32_t iv = ward_sched_default_interval((enum ward_class)c);
        uint32_t spread = (uint32_t)(((uint64_t)iv * WARD_SCHED_JITTER_PCT) / 100u);

        s->task[c].interval_ms = iv;
        /* Samplers start within their jitter share; the heartbeat within its first period. */
        s->task[c].due_ms =
            now_ms + ward_prng_below(&s->prng, (c == WARD_CLASS_HEARTBEAT ? iv : spread) + 1u);
    }
    return 0;
}

int ward_sched_set_interval(struct ward_sched *s, enum ward_class cls, uint32_t interval_ms,
                            int64_t now_ms)
{
    if (s == NULL || (unsigned)cls >= WARD_CLASS_COUNT) {
        return -EINVAL;
    }
    s->task[cls].interval_ms = interval_ms;
    if (interval_ms != 0) {
        s->task[cls].due_ms = now_ms + period(s, interval_ms);
    }
    return 0;
}

int ward_sched_poll(struct ward_sched *s, int64_t now_ms)
{
    int best = -1;

    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        const struct ward_sched_task *t = &s->task[c];

        if (t->interval_ms != 0 && t->due_ms <= now_ms &&
            (best < 0 || t->due_ms < s->task[best].due_ms)) {
            best = (int)c;
        }
    }
    if (best < 0) {
        return -EAGAIN;
    }
    struct ward_sched_task *t = &s->task[best];
    int64_t lag = now_ms - t->due_ms;

    s->lag_ms = lag;
    s->lag_max_ms = lag > s->lag_max_ms ? lag : s->lag_max_ms;
    s->lag_ever_ms = lag > s->lag_ever_ms ? lag : s->lag_ever_ms;
    t->runs++;
    t->due_ms += period(s, t->interval_ms);
    if (t->due_ms <= now_ms) {
        /* More than a whole period late: count what was missed and restart from now. */
        int64_t missed = (now_ms - t->due_ms) / t->interval_ms + 1;

        t->skipped += (uint32_t)missed;
        t->due_ms = now_ms + period(s, t->interval_ms);
    }
    return best;
}

int64_t ward_sched_next_due(const struct ward_sched *s)
{
    int64_t next = INT64_MAX;

    for (unsigned c = 0; c < WARD_CLASS_COUNT; c++) {
        if (s->task[c].interval_ms != 0 && s->task[c].due_ms < next) {
            next = s->task[c].due_ms;
        }
    }
    return next;
}

int64_t ward_sched_take_lag(struct ward_sched *s)
{
    int64_t lag = s->lag_max_ms;

    s->lag_max_ms = 0;
    return lag;
}
