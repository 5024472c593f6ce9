/*
 * The scenario parser's shared state and helpers: the JSON path of what is being parsed
 * (for one-line errors), typed field readers with range checks, and the signal grammar.
 */
#ifndef WARD_HAL_SIM_SRC_PARSE_UTIL_H_
#define WARD_HAL_SIM_SRC_PARSE_UTIL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "sim_internal.h"

/* JSON numbers are doubles: integers are exact up to 2^53, so that bounds every value. */
#define WARD_SIM_INT_MAX ((int64_t)1 << 53)

struct sim_parse {
    struct ward_sim *sim;
    char *err;
    size_t err_len;
    char path[160];
    size_t path_len;
    const char *owner; /* id of the device being parsed: in messages and noise streams */
    uint64_t seed;     /* scenario seed, the default of every noise stream */
};

/* One error message under construction; writes nothing when err is NULL. */
struct sim_msg {
    char *buf;
    size_t len;
    size_t pos;
};

size_t sim_path_key(struct sim_parse *p, const char *key);
size_t sim_path_index(struct sim_parse *p, unsigned i);
void sim_path_pop(struct sim_parse *p, size_t old_len);

/** Start "scenario <path> (<owner>): " in p->err. */
struct sim_msg sim_err_begin(struct sim_parse *p);
void sim_msg_str(struct sim_msg *m, const char *s);
void sim_msg_int(struct sim_msg *m, int64_t v);
/** A string from the scenario, quoted, control characters replaced, shortened. */
void sim_msg_user(struct sim_msg *m, const char *s);

/** "<path>: <what>" and return rc. */
int sim_fail(struct sim_parse *p, int rc, const char *what);

/** obj must be an object whose keys are all in allowed (NULL-terminated), each once. */
int sim_check_keys(struct sim_parse *p, const cJSON *obj, const char *const *allowed);
int sim_expect_object(struct sim_parse *p, const cJSON *item);

/** Integer field key of obj in [lo, hi]; absent gives def, or an error when required. */
int sim_get_int(struct sim_parse *p, const cJSON *obj, const char *key, int64_t lo, int64_t hi,
                bool required, int64_t def, int64_t *out);
/** The item itself as an integer in [lo, hi] (path already pushed). */
int sim_int_value(struct sim_parse *p, const cJSON *item, int64_t lo, int64_t hi, int64_t *out);
/** String field copied into out[cap]; absent gives "" or an error when required. */
int sim_get_str(struct sim_parse *p, const cJSON *obj, const char *key, bool required, char *out,
                size_t cap);
/** Boolean field; absent gives def. */
int sim_get_bool(struct sim_parse *p, const cJSON *obj, const char *key, bool def, bool *out);

/** Reason name as ward_reason_name() spells it ("missing", "io-error", ...). */
int sim_reason(struct sim_parse *p, const cJSON *item, uint8_t *out);

/* What a signal may be: its range, whether it is a monotonic counter, its default. */
struct sim_sig_spec {
    const char *field; /* name within its owner: part of the noise stream key */
    int64_t lo;
    int64_t hi;
    bool counter; /* must never decrease */
    bool required;
    bool nullable;    /* JSON null means "not offered" (WARD_SIM_SIG_NONE) */
    bool has_default; /* absent gives a constant def (else SIG_ZERO, or SIG_NONE if nullable) */
    int64_t def;
    unsigned events; /* allowed event kinds: bit (1u << enum ward_sim_event_kind) */
};

#define SIM_EV(k) (1u << (k))
#define SIM_EV_VALUE                                                                               \
    (SIM_EV(WARD_SIM_EV_ADD) | SIM_EV(WARD_SIM_EV_RATE) | SIM_EV(WARD_SIM_EV_STUCK) |              \
     SIM_EV(WARD_SIM_EV_UNAVAILABLE) | SIM_EV(WARD_SIM_EV_FAULT))
#define SIM_EV_SENSOR (SIM_EV_VALUE | SIM_EV(WARD_SIM_EV_ALARM))
#define SIM_EV_SHAPE                                                                               \
    (SIM_EV(WARD_SIM_EV_ADD) | SIM_EV(WARD_SIM_EV_RATE) | SIM_EV(WARD_SIM_EV_STUCK))
#define SIM_EV_DISK                                                                                \
    (SIM_EV(WARD_SIM_EV_STANDBY) | SIM_EV(WARD_SIM_EV_UNAVAILABLE) | SIM_EV(WARD_SIM_EV_FAILING))

/** Parse obj[spec->field] as a signal into *out. */
int sim_get_signal(struct sim_parse *p, const cJSON *obj, const struct sim_sig_spec *spec,
                   ward_sim_sig_t *out);
/** Parse item (already located, path pushed) as a signal. */
int sim_signal(struct sim_parse *p, const cJSON *item, const struct sim_sig_spec *spec,
               ward_sim_sig_t *out);
/** A constant signal, for defaults that are not zero. */
int sim_const_signal(struct sim_parse *p, int64_t v, int64_t lo, int64_t hi, ward_sim_sig_t *out);

/** Parse an "events" array of allowed kinds into consecutive pool slots. */
int sim_events(struct sim_parse *p, const cJSON *arr, unsigned allowed, bool counter,
               uint16_t *first, uint8_t *count);
/** A [at, until) window object: {"at": ms, "until": ms}. */
int sim_window(struct sim_parse *p, const cJSON *obj, bool until_required, int64_t *at,
               int64_t *until);

/** Fail unless id is unused by every device parsed so far. */
int sim_check_id(struct sim_parse *p, const char *id);

/** "<prefix><name>" into id[WARD_SENSOR_ID_MAX], or an error naming what to give instead. */
int sim_default_id(struct sim_parse *p, char *id, const char *prefix, const char *name);

/* Device sections (parse_devices.c). */
typedef int (*sim_item_fn)(struct sim_parse *p, const cJSON *obj, void *slot);
int sim_parse_array(struct sim_parse *p, const cJSON *root, const char *key, void *table,
                    size_t elem, unsigned max, const char *pool, sim_item_fn fn, unsigned *count);
int sim_parse_disks(struct sim_parse *p, const cJSON *root);
int sim_parse_host(struct sim_parse *p, const cJSON *root);

#endif /* WARD_HAL_SIM_SRC_PARSE_UTIL_H_ */
