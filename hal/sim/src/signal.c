/*
 * Signals: a base behaviour + seeded noise + events, evaluated as a pure function of
 * virtual time, so the same scenario and seed give the same readings whatever the order or
 * number of reads. Integer arithmetic only (the Cortex-M3 has no FPU); products that may
 * not fit 64 bits go through a 128-bit intermediate.
 */
#include <stdint.h>

#include "sim_internal.h"

uint64_t ward_sim_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

uint64_t ward_sim_hash_str(uint64_t h, const char *s)
{
    while (*s != '\0') {
        h ^= (uint8_t)*s++;
        h *= 0x100000001b3ull;
    }
    return h;
}

int64_t ward_sim_add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b) {
        return INT64_MAX;
    }
    if (b < 0 && a < INT64_MIN - b) {
        return INT64_MIN;
    }
    return a + b;
}

/* Full 64 x 64 -> 128-bit product from 32-bit halves (no __int128 on 32-bit targets). */
static void mul_u64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t a0 = (uint32_t)a, a1 = a >> 32;
    uint64_t b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;

    *lo = (mid << 32) | (uint32_t)p00;
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* (hi:lo) / d by restoring division; the caller guarantees hi < d so the quotient fits. */
static uint64_t div_u128(uint64_t hi, uint64_t lo, uint64_t d)
{
    uint64_t q = 0;

    for (int i = 0; i < 64; i++) {
        uint64_t carry = hi >> 63;

        hi = (hi << 1) | (lo >> 63);
        lo <<= 1;
        q <<= 1;
        if (carry != 0 || hi >= d) {
            hi -= d;
            q |= 1;
        }
    }
    return q;
}

int64_t ward_sim_muldiv(int64_t a, int64_t b, int64_t c)
{
    uint64_t mag = a < 0 ? (uint64_t)0 - (uint64_t)a : (uint64_t)a;
    uint64_t hi, lo, q;

    if (b <= 0 || c <= 0 || a == 0) {
        return 0;
    }
    mul_u64(mag, (uint64_t)b, &hi, &lo);
    if (hi >= (uint64_t)c) {
        return a < 0 ? INT64_MIN : INT64_MAX;
    }
    q = hi == 0 ? lo / (uint64_t)c : div_u128(hi, lo, (uint64_t)c);
    if (q > (uint64_t)INT64_MAX) {
        return a < 0 ? INT64_MIN : INT64_MAX;
    }
    return a < 0 ? -(int64_t)q : (int64_t)q;
}

/* from + (to - from) * elapsed / span, for 0 <= elapsed <= span. */
static int64_t lerp(int64_t from, int64_t to, int64_t elapsed, int64_t span)
{
    return ward_sim_add_sat(from, ward_sim_muldiv(to - from, elapsed, span));
}

/* Exponential approach to `to`: the distance halves every half_life ms, linear in between. */
static int64_t decay(int64_t from, int64_t to, int64_t elapsed, int64_t half_life)
{
    int64_t d = from - to;
    int64_t k = elapsed / half_life;
    int64_t dk, dk1;

    if (k >= 62) {
        return to;
    }
    dk = d / ((int64_t)1 << k);
    dk1 = d / ((int64_t)1 << (k + 1));
    return to + lerp(dk, dk1, elapsed % half_life, half_life);
}

int64_t ward_sim_base(const struct ward_sim_signal *s, int64_t t)
{
    const int64_t *p = s->p;

    switch (s->behaviour) {
    case WARD_SIM_RAMP:
        if (t <= p[2]) {
            return p[0];
        }
        return t - p[2] >= p[3] ? p[1] : lerp(p[0], p[1], t - p[2], p[3]);
    case WARD_SIM_STEP:
        return t < p[2] ? p[0] : p[1];
    case WARD_SIM_SQUARE:
        if (t < p[2]) {
            return p[0];
        }
        return (t - p[2]) % p[3] < p[4] ? p[1] : p[0];
    case WARD_SIM_RATE:
        return t <= p[2] ? p[0] : ward_sim_add_sat(p[0], ward_sim_muldiv(p[1], t - p[2], p[3]));
    case WARD_SIM_DECAY:
        return t <= p[2] ? p[0] : decay(p[0], p[1], t - p[2], p[3]);
    case WARD_SIM_CONSTANT:
    default:
        return p[0];
    }
}

/* Sample n of the stream: uniform in [-amp, amp], a hash of (key, n) so any n is O(1). */
static int64_t noise_sample(const struct ward_sim_signal *s, uint64_t n)
{
    uint64_t x = ward_sim_mix64(s->noise_key + (n + 1u) * 0x9e3779b97f4a7c15ull);
    uint64_t span = 2u * (uint64_t)s->noise_amp + 1u;

    return (int64_t)(x % span) - s->noise_amp;
}

int64_t ward_sim_noise(const struct ward_sim_signal *s, int64_t t)
{
    return s->noise_amp > 0 ? noise_sample(s, (uint64_t)(t / s->noise_every)) : 0;
}

/*
 * A noisy counter (rate base): points P_n = base(at + n * every) + noise sample n (none at
 * n = 0), joined by straight lines. The parser keeps the amplitude <= half the growth between
 * points, so every segment rises or stays flat: the counter never decreases.
 */
static int64_t noisy_counter(const struct ward_sim_signal *s, int64_t t)
{
    int64_t at = s->p[2], step = s->noise_every;
    int64_t e, n, t0, t1, p0, p1;

    if (t <= at) {
        return s->p[0];
    }
    e = t - at;
    n = e / step;
    t0 = ward_sim_add_sat(at, ward_sim_muldiv(n, step, 1));
    t1 = ward_sim_add_sat(t0, step);
    p0 = ward_sim_add_sat(ward_sim_base(s, t0), n > 0 ? noise_sample(s, (uint64_t)n) : 0);
    p1 = ward_sim_add_sat(ward_sim_base(s, t1), noise_sample(s, (uint64_t)n + 1u));
    return ward_sim_add_sat(p0, ward_sim_muldiv(p1 - p0, e % step, step));
}

bool ward_sim_event_active(const struct ward_sim_event *ev, int64_t t)
{
    return t >= ev->at && t < ev->until;
}

/* The earliest time the value is frozen at, or t when no stuck event is in force. */
static int64_t stuck_time(const struct ward_sim_event *ev, unsigned n, int64_t t)
{
    int64_t te = t;

    for (unsigned i = 0; i < n; i++) {
        if (ev[i].kind == WARD_SIM_EV_STUCK && ward_sim_event_active(&ev[i], t) && ev[i].at < te) {
            te = ev[i].at;
        }
    }
    return te;
}

static int64_t value_at(const struct ward_sim_signal *s, const struct ward_sim_event *ev, int64_t t)
{
    int64_t v = s->counter && s->noise_amp > 0
                    ? noisy_counter(s, t)
                    : ward_sim_add_sat(ward_sim_base(s, t), ward_sim_noise(s, t));

    for (unsigned i = 0; i < s->ev_count; i++) {
        if (ev[i].kind == WARD_SIM_EV_ADD && ward_sim_event_active(&ev[i], t)) {
            v = ward_sim_add_sat(v, ev[i].a);
        } else if (ev[i].kind == WARD_SIM_EV_RATE && t > ev[i].at) {
            int64_t end = t < ev[i].until ? t : ev[i].until;

            v = ward_sim_add_sat(v, ward_sim_muldiv(ev[i].a, end - ev[i].at, ev[i].b));
        }
    }
    return v;
}

void ward_sim_eval(const struct ward_sim *sim, ward_sim_sig_t sig, int64_t t,
                   struct ward_sim_sample *out)
{
    const struct ward_sim_signal *s;
    const struct ward_sim_event *ev;
    int64_t v;

    out->alarm = false;
    out->value = 0;
    if (sig == WARD_SIM_SIG_ZERO) {
        out->status = WARD_STATUS_OK;
        out->reason = WARD_REASON_NONE;
        return;
    }
    if (sig >= sim->n_signals) {
        out->status = WARD_STATUS_UNAVAILABLE;
        out->reason = sig == WARD_SIM_SIG_NONE ? WARD_REASON_NOT_SUPPORTED : WARD_REASON_MISSING;
        return;
    }
    s = &sim->signal[sig];
    ev = &sim->event[s->ev_first];
    v = value_at(s, ev, stuck_time(ev, s->ev_count, t));
    out->value = v < s->lo ? s->lo : (v > s->hi ? s->hi : v);
    out->status = WARD_STATUS_OK;
    out->reason = WARD_REASON_NONE;
    for (unsigned i = 0; i < s->ev_count; i++) {
        if (!ward_sim_event_active(&ev[i], t)) {
            continue;
        }
        if (ev[i].kind == WARD_SIM_EV_ALARM) {
            out->alarm = true;
        } else if (ev[i].kind == WARD_SIM_EV_FAULT && out->status == WARD_STATUS_OK) {
            out->status = WARD_STATUS_FAULT;
        } else if (ev[i].kind == WARD_SIM_EV_UNAVAILABLE) {
            /* Unreadable wins over a fault: nobody can tell a fault through a dead bus. */
            out->status = WARD_STATUS_UNAVAILABLE;
            out->reason = (enum ward_reason)ev[i].reason;
        }
    }
    if (out->status != WARD_STATUS_OK) {
        out->value = 0;
    }
}
