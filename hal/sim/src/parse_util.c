/* Scenario parser helpers: JSON path tracking, one-line errors, typed and range-checked fields. */
#include <errno.h>
#include <string.h>

#include "ward/base/fmt.h"

#include "parse_util.h"

#define USER_TEXT_MAX 40

static void path_append(struct sim_parse *p, const char *s)
{
    size_t n = strlen(s);

    if (p->path_len + n >= sizeof(p->path)) {
        n = sizeof(p->path) - 1 - p->path_len;
    }
    memcpy(p->path + p->path_len, s, n);
    p->path_len += n;
    p->path[p->path_len] = '\0';
}

size_t sim_path_key(struct sim_parse *p, const char *key)
{
    size_t old = p->path_len;

    if (p->path_len > 0) {
        path_append(p, ".");
    }
    path_append(p, key);
    return old;
}

size_t sim_path_index(struct sim_parse *p, unsigned i)
{
    size_t old = p->path_len;
    char num[WARD_FMT_INT64_MAX];

    (void)ward_fmt_u64(num, sizeof(num), i);
    path_append(p, "[");
    path_append(p, num);
    path_append(p, "]");
    return old;
}

void sim_path_pop(struct sim_parse *p, size_t old_len)
{
    p->path_len = old_len;
    p->path[old_len] = '\0';
}

void sim_msg_str(struct sim_msg *m, const char *s)
{
    while (m->buf != NULL && *s != '\0' && m->pos + 1 < m->len) {
        m->buf[m->pos++] = *s++;
    }
    if (m->buf != NULL && m->len > 0) {
        m->buf[m->pos] = '\0';
    }
}

void sim_msg_int(struct sim_msg *m, int64_t v)
{
    char num[WARD_FMT_INT64_MAX];

    (void)ward_fmt_i64(num, sizeof(num), v);
    sim_msg_str(m, num);
}

void sim_msg_user(struct sim_msg *m, const char *s)
{
    char clean[USER_TEXT_MAX + 4];
    size_t n = 0;

    while (n < USER_TEXT_MAX && s[n] != '\0') {
        unsigned char c = (unsigned char)s[n];

        clean[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (s[n] != '\0') {
        memcpy(clean + n, "...", 3);
        n += 3;
    }
    clean[n] = '\0';
    sim_msg_str(m, "\"");
    sim_msg_str(m, clean);
    sim_msg_str(m, "\"");
}

struct sim_msg sim_err_begin(struct sim_parse *p)
{
    struct sim_msg m = { .buf = p->err, .len = p->err_len, .pos = 0 };

    if (m.len == 0) {
        m.buf = NULL;
    }
    sim_msg_str(&m, "scenario");
    if (p->path_len > 0) {
        sim_msg_str(&m, " ");
        sim_msg_str(&m, p->path);
    }
    if (p->owner != NULL && p->owner[0] != '\0') {
        sim_msg_str(&m, " (");
        sim_msg_user(&m, p->owner);
        sim_msg_str(&m, ")");
    }
    sim_msg_str(&m, ": ");
    return m;
}

int sim_fail(struct sim_parse *p, int rc, const char *what)
{
    struct sim_msg m = sim_err_begin(p);

    sim_msg_str(&m, what);
    return rc;
}

int sim_expect_object(struct sim_parse *p, const cJSON *item)
{
    return cJSON_IsObject(item) ? 0 : sim_fail(p, -EINVAL, "expected an object");
}

static bool key_allowed(const char *key, const char *const *allowed)
{
    for (; *allowed != NULL; allowed++) {
        if (strcmp(key, *allowed) == 0) {
            return true;
        }
    }
    return strcmp(key, "comment") == 0; /* JSON has no comments: any object may carry one */
}

int sim_check_keys(struct sim_parse *p, const cJSON *obj, const char *const *allowed)
{
    const cJSON *a;

    if (sim_expect_object(p, obj) != 0) {
        return -EINVAL;
    }
    cJSON_ArrayForEach(a, obj)
    {
        struct sim_msg m;

        if (!key_allowed(a->string, allowed)) {
            m = sim_err_begin(p);
            sim_msg_str(&m, "unknown key ");
            sim_msg_user(&m, a->string);
            sim_msg_str(&m, " (allowed:");
            for (const char *const *k = allowed; *k != NULL; k++) {
                sim_msg_str(&m, " ");
                sim_msg_str(&m, *k);
            }
            sim_msg_str(&m, ")");
            return -EINVAL;
        }
        for (const cJSON *b = a->next; b != NULL; b = b->next) {
            if (strcmp(a->string, b->string) == 0) {
                m = sim_err_begin(p);
                sim_msg_str(&m, "key ");
                sim_msg_user(&m, a->string);
                sim_msg_str(&m, " appears twice");
                return -EINVAL;
            }
        }
    }
    return 0;
}

int sim_int_value(struct sim_parse *p, const cJSON *item, int64_t lo, int64_t hi, int64_t *out)
{
    double d;
    struct sim_msg m;

    if (cJSON_IsNumber(item)) {
        d = item->valuedouble;
        /* The range test first: it also rejects NaN and values a cast could not hold. */
        if (d >= (double)lo && d <= (double)hi && d == (double)(int64_t)d) {
            *out = (int64_t)d;
            return 0;
        }
    }
    m = sim_err_begin(p);
    sim_msg_str(&m, "expected an integer in [");
    sim_msg_int(&m, lo);
    sim_msg_str(&m, ", ");
    sim_msg_int(&m, hi);
    sim_msg_str(&m, "]");
    return -EINVAL;
}

int sim_get_int(struct sim_parse *p, const cJSON *obj, const char *key, int64_t lo, int64_t hi,
                bool required, int64_t def, int64_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t mark = sim_path_key(p, key);
    int rc = 0;

    if (item == NULL) {
        *out = def;
        rc = required ? sim_fail(p, -EINVAL, "missing") : 0;
    } else {
        rc = sim_int_value(p, item, lo, hi, out);
    }
    sim_path_pop(p, mark);
    return rc;
}

int sim_get_str(struct sim_parse *p, const cJSON *obj, const char *key, bool required, char *out,
                size_t cap)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t mark = sim_path_key(p, key);
    int rc = 0;
    struct sim_msg m;

    out[0] = '\0';
    if (item == NULL) {
        rc = required ? sim_fail(p, -EINVAL, "missing") : 0;
    } else if (!cJSON_IsString(item)) {
        rc = sim_fail(p, -EINVAL, "expected a string");
    } else if (strlen(item->valuestring) >= cap) {
        m = sim_err_begin(p);
        sim_msg_str(&m, "longer than ");
        sim_msg_int(&m, (int64_t)cap - 1);
        sim_msg_str(&m, " bytes");
        rc = -EINVAL;
    } else if (required && item->valuestring[0] == '\0') {
        rc = sim_fail(p, -EINVAL, "must not be empty");
    } else {
        for (const char *c = item->valuestring; *c != '\0'; c++) {
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                rc = sim_fail(p, -EINVAL, "control characters are not allowed");
                break;
            }
        }
        if (rc == 0) {
            memcpy(out, item->valuestring, strlen(item->valuestring) + 1);
        }
    }
    sim_path_pop(p, mark);
    return rc;
}

int sim_get_bool(struct sim_parse *p, const cJSON *obj, const char *key, bool def, bool *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t mark = sim_path_key(p, key);
    int rc = 0;

    *out = def;
    if (item != NULL) {
        if (cJSON_IsBool(item)) {
            *out = cJSON_IsTrue(item);
        } else {
            rc = sim_fail(p, -EINVAL, "expected true or false");
        }
    }
    sim_path_pop(p, mark);
    return rc;
}

int sim_reason(struct sim_parse *p, const cJSON *item, uint8_t *out)
{
    struct sim_msg m;

    if (cJSON_IsString(item)) {
        for (int r = WARD_REASON_MISSING; r <= WARD_REASON_BAD_DATA; r++) {
            if (strcmp(item->valuestring, ward_reason_name((enum ward_reason)r)) == 0) {
                *out = (uint8_t)r;
                return 0;
            }
        }
    }
    m = sim_err_begin(p);
    sim_msg_str(&m, "expected a reason:");
    for (int r = WARD_REASON_MISSING; r <= WARD_REASON_BAD_DATA; r++) {
        sim_msg_str(&m, " ");
        sim_msg_str(&m, ward_reason_name((enum ward_reason)r));
    }
    return -EINVAL;
}

int sim_window(struct sim_parse *p, const cJSON *obj, bool until_required, int64_t *at,
               int64_t *until)
{
    int rc = sim_get_int(p, obj, "at", 0, WARD_SIM_INT_MAX, true, 0, at);

    if (rc == 0) {
        rc = sim_get_int(p, obj, "until", 0, WARD_SIM_INT_MAX, until_required, WARD_SIM_FOREVER,
                         until);
    }
    if (rc == 0 && *until <= *at) {
        size_t mark = sim_path_key(p, "until");

        rc = sim_fail(p, -EINVAL, "must be later than at");
        sim_path_pop(p, mark);
    }
    return rc;
}

static bool id_in_use(const struct ward_sim *sim, const char *id)
{
    for (unsigned i = 0; i < (unsigned)sim->n_temp + sim->n_fan; i++) {
        if (strcmp(sim->sensor[i].info.id, id) == 0) {
            return true;
        }
    }
    for (unsigned i = 0; i < sim->n_nic; i++) {
        if (strcmp(sim->nic[i].info.sensor.id, id) == 0) {
            return true;
        }
    }
    for (unsigned i = 0; i < sim->n_disk; i++) {
        if (strcmp(sim->disk[i].info.sensor.id, id) == 0) {
            return true;
        }
    }
    for (unsigned i = 0; i < sim->host.n_blk; i++) {
        if (strcmp(sim->host.blk[i].info.sensor.id, id) == 0) {
            return true;
        }
    }
    for (unsigned i = 0; i < sim->host.n_fs; i++) {
        if (strcmp(sim->host.fs[i].info.sensor.id, id) == 0) {
            return true;
        }
    }
    return false;
}

int sim_check_id(struct sim_parse *p, const char *id)
{
    struct sim_msg m;

    if (!id_in_use(p->sim, id)) {
        return 0;
    }
    m = sim_err_begin(p);
    sim_msg_str(&m, "id ");
    sim_msg_user(&m, id);
    sim_msg_str(&m, " is already used by another device; ids must be unique");
    return -EINVAL;
}

int sim_default_id(struct sim_parse *p, char *id, const char *prefix, const char *name)
{
    size_t lp = strlen(prefix), ln = strlen(name);
    struct sim_msg m;

    if (lp + ln < WARD_SENSOR_ID_MAX) {
        /* ln + 1 copies name's terminating NUL */
        // NOLINTNEXTLINE(bugprone-not-null-terminated-result)
        memcpy(id, prefix, lp);
        memcpy(id + lp, name, ln + 1);
        /* ids are one token: spaces in models and mount points become '_' */
        for (char *c = id; *c != '\0'; c++) {
            *c = *c == ' ' ? '_' : *c;
        }
        return 0;
    }
    m = sim_err_begin(p);
    sim_msg_str(&m, "the default id ");
    sim_msg_str(&m, prefix);
    sim_msg_str(&m, "... would be longer than ");
    sim_msg_int(&m, WARD_SENSOR_ID_MAX - 1);
    sim_msg_str(&m, " bytes; give an \"id\"");
    return -EINVAL;
}

/* Walk root[key] (an array), parse each element into slot i of a table of elem bytes. */
int sim_parse_array(struct sim_parse *p, const cJSON *root, const char *key, void *table,
                    size_t elem, unsigned max, const char *pool, sim_item_fn fn, unsigned *count)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key);
    const cJSON *it;
    size_t mark = sim_path_key(p, key);
    unsigned i = 0;
    int rc = 0;

    if (arr != NULL && !cJSON_IsArray(arr)) {
        rc = sim_fail(p, -EINVAL, "expected an array");
    } else if (arr != NULL && (unsigned)cJSON_GetArraySize(arr) > max - *count) {
        struct sim_msg m = sim_err_begin(p);

        sim_msg_str(&m, "too many entries: ");
        sim_msg_int(&m, cJSON_GetArraySize(arr));
        sim_msg_str(&m, ", room for ");
        sim_msg_int(&m, max - *count);
        sim_msg_str(&m, " (");
        sim_msg_str(&m, pool);
        sim_msg_str(&m, ")");
        rc = -ENOSPC;
    }
    for (it = arr != NULL ? arr->child : NULL; rc == 0 && it != NULL; it = it->next) {
        size_t m2 = sim_path_index(p, i++);

        memset((uint8_t *)table + elem * *count, 0, elem);
        rc = fn(p, it, (uint8_t *)table + elem * *count);
        if (rc == 0) {
            (*count)++;
            p->owner = NULL;
            sim_path_pop(p, m2);
        }
    }
    if (rc == 0) {
        sim_path_pop(p, mark);
    }
    return rc;
}
