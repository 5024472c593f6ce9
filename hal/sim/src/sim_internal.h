/* Internal interfaces of the sim backend: signal evaluation, the scenario parser, the devices. */
#ifndef WARD_HAL_SIM_SRC_SIM_INTERNAL_H_
#define WARD_HAL_SIM_SRC_SIM_INTERNAL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward/hal/sim_impl.h"

#define WARD_SIM_FOREVER INT64_MAX

/* One evaluated value: what a read reports. */
struct ward_sim_sample {
    int64_t value;
    enum ward_status status;
    enum ward_reason reason;
    bool alarm; /* an alarm event is active */
};

/** Evaluate signal sig at virtual time t (>= 0). SIG_ZERO gives 0, SIG_NONE not-supported. */
void ward_sim_eval(const struct ward_sim *sim, ward_sim_sig_t sig, int64_t t,
                   struct ward_sim_sample *out);

/** The base behaviour alone at time t (no noise, no events, no clamping). */
int64_t ward_sim_base(const struct ward_sim_signal *s, int64_t t);

/** The noise term at time t: uniform in [-noise_amp, +noise_amp], a pure function of t. */
int64_t ward_sim_noise(const struct ward_sim_signal *s, int64_t t);

/** True when event ev is in force at time t: at <= t < until. */
bool ward_sim_event_active(const struct ward_sim_event *ev, int64_t t);

/** a * b / c rounded toward zero, for b >= 0, c > 0; saturates at INT64_MIN/MAX. */
int64_t ward_sim_muldiv(int64_t a, int64_t b, int64_t c);

/** a + b saturating at INT64_MIN/MAX. */
int64_t ward_sim_add_sat(int64_t a, int64_t b);

/** A 64-bit mixing function (the splitmix64 finalizer): a bijection with good avalanche. */
uint64_t ward_sim_mix64(uint64_t x);

/** FNV-1a over a string, continuing from h (start with WARD_SIM_FNV_OFFSET). */
#define WARD_SIM_FNV_OFFSET 0xcbf29ce484222325ull
uint64_t ward_sim_hash_str(uint64_t h, const char *s);

/**
 * Parse a scenario into sim (zeroed by the caller). On failure err holds one line naming
 * the JSON path and the problem. @return 0, -EINVAL, -ENOSPC.
 */
int ward_sim_parse(struct ward_sim *sim, const char *text, size_t len, char *err, size_t err_len);

/* The ops tables the devices use. */
extern const struct ward_temp_ops ward_sim_temp_ops;
extern const struct ward_fan_ops ward_sim_fan_ops;
extern const struct ward_nic_ops ward_sim_nic_ops;
extern const struct ward_disk_ops ward_sim_disk_ops;
extern const struct ward_host_ops ward_sim_host_ops;
extern const struct ward_inventory_ops ward_sim_inventory_ops;

#endif /* WARD_HAL_SIM_SRC_SIM_INTERNAL_H_ */
