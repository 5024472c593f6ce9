/*
 * A scenario file: parse the JSON on the fixed arena, check it, copy what the devices need
 * into struct ward_sim, leave the arena. The grammar is documented in docs/scenarios.md.
 */
#include <errno.h>
#include <string.h>

#include "ward/base/hex.h"
#include "ward/base/json_arena.h"

#include "parse_util.h"

#define MDEG_MIN (-273150)     /* absolute zero */
#define MDEG_MAX (1000 * 1000) /* 1000 degrees C: beyond any sensor */

static const struct sim_sig_spec s_temp_value = {
    .field = "value", .lo = MDEG_MIN, .hi = MDEG_MAX, .required = true, .events = SIM_EV_SENSOR
};

static int parse_thresholds(struct sim_parse *p, const cJSON *obj, struct ward_thresholds *thr)
{
    static const char *const keys[] = { "lower_caution",
                                        "upper_caution",
                                        "lower_critical",
                                        "upper_critical",
                                        "lower_fatal",
                                        "upper_fatal",
                                        NULL };
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "thresholds");
    size_t mark;
    int rc;

    memset(thr, 0, sizeof(*thr));
    if (t == NULL) {
        return 0;
    }
    mark = sim_path_key(p, "thresholds");
    rc = sim_check_keys(p, t, keys);
    /* keys[] is in enum ward_threshold_kind order */
    for (int k = 0; rc == 0 && k < WARD_THR_COUNT; k++) {
        if (cJSON_GetObjectItemCaseSensitive(t, keys[k]) != NULL) {
            rc = sim_get_int(p, t, keys[k], -WARD_SIM_INT_MAX, WARD_SIM_INT_MAX, true, 0,
                             &thr->value[k]);
            thr->present |= (uint8_t)(1u << k);
        }
    }
    sim_path_pop(p, mark);
    return rc;
}

/* id, label and thresholds: what every sensor channel has. */
static int parse_sensor_info(struct sim_parse *p, const cJSON *obj, struct ward_sensor_info *info)
{
    int rc = sim_get_str(p, obj, "id", true, info->id, sizeof(info->id));

    if (rc == 0) {
        p->owner = info->id;
        rc = sim_check_id(p, info->id);
    }
    if (rc == 0) {
        rc = sim_get_str(p, obj, "label", false, info->label, sizeof(info->label));
    }
    return rc != 0 ? rc : parse_thresholds(p, obj, &info->thresholds);
}

static int parse_temp(struct sim_parse *p, const cJSON *obj, struct ward_sim_sensor *s)
{
    static const char *const keys[] = { "id", "label", "value", "thresholds", NULL };
    int rc = sim_check_keys(p, obj, keys);

    s->pwm = WARD_SIM_SIG_NONE;
    if (rc == 0) {
        rc = parse_sensor_info(p, obj, &s->info);
    }
    return rc != 0 ? rc : sim_get_signal(p, obj, &s_temp_value, &s->value);
}

static int parse_fan(struct sim_parse *p, const cJSON *obj, struct ward_sim_sensor *s)
{
    static const char *const keys[] = { "id", "label", "rpm", "pwm", "thresholds", NULL };
    static const struct sim_sig_spec rpm = {
        .field = "rpm", .lo = 0, .hi = 1000000, .required = true, .events = SIM_EV_SENSOR
    };
    static const struct sim_sig_spec pwm = {
        .field = "pwm", .lo = 0, .hi = 100, .nullable = true, .events = SIM_EV_VALUE
    };
    int rc = sim_check_keys(p, obj, keys);

    if (rc == 0) {
        rc = parse_sensor_info(p, obj, &s->info);
    }
    if (rc == 0) {
        rc = sim_get_signal(p, obj, &rpm, &s->value);
    }
    return rc != 0 ? rc : sim_get_signal(p, obj, &pwm, &s->pwm);
}

static int temp_item(struct sim_parse *p, const cJSON *obj, void *slot)
{
    return parse_temp(p, obj, slot);
}

static int fan_item(struct sim_parse *p, const cJSON *obj, void *slot)
{
    return parse_fan(p, obj, slot);
}

static int parse_sensors(struct sim_parse *p, const cJSON *root)
{
    struct ward_sim *sim = p->sim;
    unsigned n = 0;
    int rc =
        sim_parse_array(p, root, "temps", sim->sensor, sizeof(sim->sensor[0]), WARD_SIM_MAX_SENSORS,
                        "CONFIG_WARD_SIM_MAX_SENSORS counts temps and fans", temp_item, &n);

    sim->n_temp = (uint16_t)n;
    if (rc != 0) {
        return rc;
    }
    rc = sim_parse_array(p, root, "fans", sim->sensor, sizeof(sim->sensor[0]), WARD_SIM_MAX_SENSORS,
                         "CONFIG_WARD_SIM_MAX_SENSORS counts temps and fans", fan_item, &n);
    sim->n_fan = (uint16_t)(n - sim->n_temp);
    return rc;
}

/* "02:00:5e:10:00:01" */
static int parse_mac(struct sim_parse *p, const cJSON *obj, struct ward_nic_info *info)
{
    char text[18];
    int rc = sim_get_str(p, obj, "mac", false, text, sizeof(text));

    if (rc != 0 || text[0] == '\0') {
        return rc;
    }
    for (int i = 0; i < 6; i++) {
        unsigned v = 0;

        for (int j = 0; j < 2; j++) {
            int d = ward_hex_digit(text[i * 3 + j]);

            if (d < 0) {
                size_t mark = sim_path_key(p, "mac");

                rc = sim_fail(p, -EINVAL, "expected six hex bytes like \"02:00:5e:10:00:01\"");
                sim_path_pop(p, mark);
                return rc;
            }
            v = v * 16 + (unsigned)d;
        }
        if (i < 5 && text[i * 3 + 2] != ':') {
            size_t mark = sim_path_key(p, "mac");

            rc = sim_fail(p, -EINVAL, "expected six hex bytes like \"02:00:5e:10:00:01\"");
            sim_path_pop(p, mark);
            return rc;
        }
        info->mac[i] = (uint8_t)v;
    }
    info->has_mac = true;
    return 0;
}

static int parse_counters(struct sim_parse *p, const cJSON *obj, struct ward_sim_nic *n)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, "counters");
    const char *keys[WARD_NIC_COUNTER_COUNT];
    size_t mark;
    int rc;

    for (int i = 0; i < WARD_NIC_COUNTER_COUNT; i++) {
        n->counter[i] = WARD_SIM_SIG_ZERO;
    }
    if (c == NULL) {
        return 0;
    }
    mark = sim_path_key(p, "counters");
    /* carrier_changes is counted from the link's events, so it is not a key here */
    for (int i = 0; i < WARD_NIC_COUNTER_COUNT - 1; i++) {
        keys[i] = ward_nic_counter_name((enum ward_nic_counter)i);
    }
    keys[WARD_NIC_COUNTER_COUNT - 1] = NULL;
    rc = sim_check_keys(p, c, keys);
    for (int i = 0; rc == 0 && i < WARD_NIC_COUNTER_COUNT - 1; i++) {
        struct sim_sig_spec spec = {
            .field = keys[i],
            .lo = 0,
            .hi = INT64_MAX,
            .counter = true,
            .nullable = true,
            .events = SIM_EV_VALUE,
        };

        if (cJSON_GetObjectItemCaseSensitive(c, keys[i]) != NULL) {
            rc = sim_get_signal(p, c, &spec, &n->counter[i]);
        }
    }
    sim_path_pop(p, mark);
    return rc;
}

static bool overlaps(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    return a0 < b1 && b0 < a1;
}

static int parse_down_windows(struct sim_parse *p, const cJSON *link, struct ward_sim_nic *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(link, "down");
    const cJSON *w;
    unsigned i = 0;
    int rc = 0;

    n->down_first = p->sim->n_events;
    if (arr == NULL) {
        return 0;
    }
    if (!cJSON_IsArray(arr)) {
        return sim_fail(p, -EINVAL, "\"down\" must be an array of {\"at\", \"until\"} windows");
    }
    cJSON_ArrayForEach(w, arr)
    {
        static const char *const keys[] = { "at", "until", NULL };
        struct ward_sim_event *e = &p->sim->event[p->sim->n_events];
        size_t mark = sim_path_key(p, "down");

        sim_path_index(p, i++);
        if (p->sim->n_events >= WARD_SIM_MAX_EVENTS || n->down_count == UINT8_MAX) {
            return sim_fail(p, -ENOSPC, "too many events (CONFIG_WARD_SIM_MAX_EVENTS)");
        }
        memset(e, 0, sizeof(*e));
        e->kind = WARD_SIM_EV_LINK_DOWN;
        rc = sim_check_keys(p, w, keys);
        if (rc == 0) {
            rc = sim_window(p, w, true, &e->at, &e->until);
        }
        for (unsigned j = 0; rc == 0 && j < n->down_count; j++) {
            const struct ward_sim_event *o = &p->sim->event[n->down_first + j];

            if (overlaps(o->at, o->until, e->at, e->until)) {
                rc = sim_fail(p, -EINVAL, "overlaps an earlier down window");
            }
        }
        if (rc != 0) {
            return rc;
        }
        p->sim->n_events++;
        n->down_count++;
        sim_path_pop(p, mark);
    }
    return 0;
}

static int parse_flap(struct sim_parse *p, const cJSON *link, struct ward_sim_nic *n)
{
    static const char *const keys[] = { "at", "until", "period", "down", NULL };
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(link, "flap");
    size_t mark;
    int rc;

    if (f == NULL) {
        return 0;
    }
    mark = sim_path_key(p, "flap");
    rc = sim_check_keys(p, f, keys);
    if (rc == 0) {
        rc = sim_window(p, f, false, &n->flap_at, &n->flap_until);
    }
    if (rc == 0) {
        rc = sim_get_int(p, f, "period", 2, WARD_SIM_INT_MAX, true, 0, &n->flap_period);
    }
    if (rc == 0) {
        rc = sim_get_int(p, f, "down", 1, n->flap_period - 1, true, 0, &n->flap_down);
    }
    for (unsigned j = 0; rc == 0 && j < n->down_count; j++) {
        const struct ward_sim_event *o = &p->sim->event[n->down_first + j];

        if (overlaps(o->at, o->until, n->flap_at, n->flap_until)) {
            rc = sim_fail(p, -EINVAL, "overlaps a down window; keep them apart");
        }
    }
    if (rc == 0) {
        sim_path_pop(p, mark);
    }
    return rc;
}

static int parse_link(struct sim_parse *p, const cJSON *obj, struct ward_sim_nic *n)
{
    static const char *const keys[] = { "speed_mbps", "duplex", "carrier_changes",
                                        "down",       "flap",   NULL };
    const cJSON *link = cJSON_GetObjectItemCaseSensitive(obj, "link");
    char duplex[8];
    int64_t v = 0;
    size_t mark;
    int rc;

    n->carrier_changes_base = 1; /* the link came up once, at boot */
    n->down_first = p->sim->n_events;
    if (link == NULL) {
        return 0;
    }
    mark = sim_path_key(p, "link");
    rc = sim_check_keys(p, link, keys);
    if (rc == 0) {
        rc = sim_get_int(p, link, "speed_mbps", 0, 10000000, false, 0, &n->speed_mbps);
    }
    if (rc == 0) {
        rc = sim_get_int(p, link, "carrier_changes", 0, UINT32_MAX, false, 1, &v);
        n->carrier_changes_base = (uint32_t)v;
    }
    if (rc == 0) {
        rc = sim_get_str(p, link, "duplex", false, duplex, sizeof(duplex));
    }
    if (rc == 0) {
        n->duplex = strcmp(duplex, "full") == 0   ? WARD_NIC_DUPLEX_FULL
                    : strcmp(duplex, "half") == 0 ? WARD_NIC_DUPLEX_HALF
                                                  : WARD_NIC_DUPLEX_UNKNOWN;
        if (duplex[0] != '\0' && n->duplex == WARD_NIC_DUPLEX_UNKNOWN &&
            strcmp(duplex, "unknown") != 0) {
            size_t m2 = sim_path_key(p, "duplex");

            rc = sim_fail(p, -EINVAL, "expected \"full\", \"half\" or \"unknown\"");
            sim_path_pop(p, m2);
        }
    }
    if (rc == 0) {
        rc = parse_down_windows(p, link, n);
    }
    if (rc == 0) {
        rc = parse_flap(p, link, n);
    }
    if (rc == 0) {
        sim_path_pop(p, mark);
    }
    return rc;
}

static int nic_item(struct sim_parse *p, const cJSON *obj, void *slot)
{
    static const char *const keys[] = { "id",   "name",     "label",  "mac", "mtu",
                                        "link", "counters", "driver", NULL };
    struct ward_sim_nic *n = slot;
    int64_t mtu = 0;
    int rc = sim_check_keys(p, obj, keys);

    if (rc == 0) {
        rc = sim_get_str(p, obj, "name", true, n->info.name, sizeof(n->info.name));
    }
    if (rc == 0) {
        rc = sim_get_str(p, obj, "id", false, n->info.sensor.id, sizeof(n->info.sensor.id));
    }
    if (rc == 0 && n->info.sensor.id[0] == '\0') {
        rc = sim_default_id(p, n->info.sensor.id, "nic:", n->info.name);
    }
    if (rc == 0) {
        p->owner = n->info.sensor.id;
        rc = sim_check_id(p, n->info.sensor.id);
    }
    if (rc == 0) {
        rc =
            sim_get_str(p, obj, "label", false, n->info.sensor.label, sizeof(n->info.sensor.label));
    }
    if (rc == 0) {
        rc = parse_mac(p, obj, &n->info);
    }
    if (rc == 0) {
        rc = sim_get_str(p, obj, "driver", false, n->driver, sizeof(n->driver));
    }
    if (rc == 0) {
        rc = sim_get_int(p, obj, "mtu", 68, 65535, false, 1500, &mtu);
        n->info.mtu = (uint32_t)mtu;
    }
    if (rc == 0) {
        rc = parse_link(p, obj, n);
    }
    return rc != 0 ? rc : parse_counters(p, obj, n);
}

static int parse_root_fields(struct sim_parse *p, const cJSON *root)
{
    static const char *const keys[] = { "name", "description", "seed",  "duration_ms", "temps",
                                        "fans", "nics",        "disks", "host",        NULL };
    const cJSON *description = cJSON_GetObjectItemCaseSensitive(root, "description");
    int64_t seed = 0;
    int rc = sim_check_keys(p, root, keys);

    if (rc == 0) {
        rc = sim_get_str(p, root, "name", false, p->sim->name, sizeof(p->sim->name));
    }
    if (rc == 0 && description != NULL && !cJSON_IsString(description)) {
        /* free text for people, not kept: only its type is checked */
        size_t mark = sim_path_key(p, "description");

        rc = sim_fail(p, -EINVAL, "expected a string");
        sim_path_pop(p, mark);
    }
    if (rc == 0) {
        rc = sim_get_int(p, root, "seed", 0, WARD_SIM_INT_MAX, false, 0, &seed);
        p->seed = (uint64_t)seed;
    }
    if (rc == 0) {
        rc = sim_get_int(p, root, "duration_ms", 0, WARD_SIM_INT_MAX, false, 0,
                         &p->sim->duration_ms);
    }
    return rc;
}

static int parse_root(struct sim_parse *p, const cJSON *root)
{
    struct ward_sim *sim = p->sim;
    unsigned n = 0;
    int rc = parse_root_fields(p, root);

    if (rc == 0) {
        rc = parse_sensors(p, root);
    }
    if (rc == 0) {
        rc = sim_parse_array(p, root, "nics", sim->nic, sizeof(sim->nic[0]), WARD_SIM_MAX_NICS,
                             "CONFIG_WARD_SIM_MAX_NICS", nic_item, &n);
        sim->n_nic = (uint8_t)n;
    }
    if (rc == 0) {
        rc = sim_parse_disks(p, root);
    }
    if (rc == 0) {
        rc = sim_parse_host(p, root);
    }
    if (rc == 0 && sim->n_temp + sim->n_fan + sim->n_nic + sim->n_disk == 0 && !sim->host.present) {
        rc = sim_fail(p, -EINVAL, "no temps, fans, nics, disks or host: nothing to simulate");
    }
    return rc;
}

/* Line and column of byte offset pos, for syntax errors. */
static void text_position(const char *text, size_t pos, int64_t *line, int64_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int syntax_error(struct sim_parse *p, const char *text, size_t len, size_t pos,
                        const char *what)
{
    struct sim_msg m = sim_err_begin(p);
    int64_t line, col;

    if (pos > len) {
        pos = len;
    }
    text_position(text, pos, &line, &col);
    sim_msg_str(&m, what);
    sim_msg_str(&m, " at line ");
    sim_msg_int(&m, line);
    sim_msg_str(&m, ", column ");
    sim_msg_int(&m, col);
    return -EINVAL;
}

/* Static: needed only inside ward_sim_init(), and cJSON's hooks are process-wide anyway. */
static uint8_t s_arena_storage[WARD_SIM_ARENA_SIZE] __attribute__((aligned(8)));

static int parse_text(struct sim_parse *p, const char *text, size_t len,
                      struct ward_json_arena *arena)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    size_t pos;

    if (root == NULL) {
        if (arena->failures > 0) {
            struct sim_msg m = sim_err_begin(p);

            sim_msg_str(&m, "too large to parse in CONFIG_WARD_SIM_ARENA_SIZE=");
            sim_msg_int(&m, WARD_SIM_ARENA_SIZE);
            sim_msg_str(&m, " bytes; raise it or shorten the scenario");
            return -ENOSPC;
        }
        if (len == 0) {
            return sim_fail(p, -EINVAL, "empty");
        }
        return syntax_error(p, text, len, end != NULL ? (size_t)(end - text) : 0,
                            "JSON syntax error");
    }
    for (pos = (size_t)(end - text); pos < len; pos++) {
        if (text[pos] != ' ' && text[pos] != '\t' && text[pos] != '\n' && text[pos] != '\r') {
            return syntax_error(p, text, len, pos, "unexpected text after the JSON document");
        }
    }
    if (!cJSON_IsObject(root)) {
        return sim_fail(p, -EINVAL, "expected a JSON object at the top level");
    }
    return parse_root(p, root);
}

int ward_sim_parse(struct ward_sim *sim, const char *text, size_t len, char *err, size_t err_len)
{
    struct sim_parse p = { .sim = sim, .err = err, .err_len = err_len };
    struct ward_json_arena arena;
    int rc = ward_json_arena_init(&arena, s_arena_storage, sizeof(s_arena_storage));

    if (rc != 0) {
        return rc;
    }
    ward_json_arena_enter(&arena);
    rc = parse_text(&p, text, len, &arena);
    sim->arena_used = (uint32_t)arena.high_water;
    ward_json_arena_leave(&arena);
    return rc;
}
