/* The readings of a snapshot page or an event, scanned in place (hparse.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "history/hparse.h"
#include "ward/base/jscan.h"
#include "ward/wire/protocol.h"

struct rd {
    struct ward_jscan s;
    struct wcol_hpage *pg;
};

/* Skip one value of any type (containers nest at most as deep as the scanner allows). */
static int skip(struct rd *d)
{
    char key[WARD_WIRE_KEY_MAX + 1];
    int64_t n;
    bool b;
    int rc;

    switch (ward_jscan_peek(&d->s)) {
    case '{':
        rc = ward_jscan_object(&d->s);
        while (rc == 0 && (rc = ward_jscan_member(&d->s, key, sizeof(key))) > 0) {
            rc = skip(d);
        }
        return rc;
    case '[':
        rc = ward_jscan_array(&d->s);
        while (rc == 0 && (rc = ward_jscan_element(&d->s)) > 0) {
            rc = skip(d);
        }
        return rc;
    case '"':
        rc = ward_jscan_string(&d->s, d->pg->scratch, d->pg->scratch_cap);
        return rc < 0 ? rc : 0;
    case 't':
    case 'f':
        return ward_jscan_bool(&d->s, &b);
    case 'n':
        return ward_jscan_null(&d->s) ? 0 : ward_jscan_fail(&d->s, -EPROTO, "expected a value");
    default:
        return ward_jscan_counter(&d->s, &n);
    }
}

/*
 * An integer as SQLite's json_type() calls one: in the int64 range (the scanner also takes
 * counters up to UINT64_MAX, which SQLite reads as real). Anything else is skipped.
 */
static int read_int(struct rd *d, int64_t *v, bool *is_int)
{
    char c = ward_jscan_peek(&d->s);

    *is_int = false;
    if (c != '-' && (c < '0' || c > '9')) {
        return skip(d);
    }
    if (ward_jscan_counter(&d->s, v) != 0) {
        return d->s.err;
    }
    *is_int = c == '-' || *v >= 0;
    return 0;
}

/* A string id that fits WCOL_HIST_SENSOR_MAX into out; "" for anything else. */
static int read_id(struct rd *d, char *out, size_t cap)
{
    int n;

    if (ward_jscan_peek(&d->s) != '"') {
        return skip(d);
    }
    n = ward_jscan_string(&d->s, d->pg->scratch, d->pg->scratch_cap);
    if (n < 0) {
        return n;
    }
    if ((size_t)n < cap) {
        memcpy(out, d->pg->scratch, (size_t)n + 1);
    }
    return 0;
}

/* One element of "sensors": its first id, value and last_ms (as json_extract finds them). */
static int read_sensor(struct rd *d, struct wcol_hreading *r, bool *is_reading)
{
    char key[WARD_WIRE_KEY_MAX + 1];
    bool seen_id = false, seen_value = false, seen_last = false, has_value = false;
    int rc;

    memset(r, 0, sizeof(*r));
    *is_reading = false;
    if (ward_jscan_peek(&d->s) != '{') {
        return skip(d);
    }
    rc = ward_jscan_object(&d->s);
    while (rc == 0 && (rc = ward_jscan_member(&d->s, key, sizeof(key))) > 0) {
        if (!seen_id && strcmp(key, WARD_WIRE_M_ID) == 0) {
            seen_id = true;
            rc = read_id(d, r->id, sizeof(r->id));
        } else if (!seen_value && strcmp(key, WARD_WIRE_M_VALUE) == 0) {
            seen_value = true;
            rc = read_int(d, &r->value, &has_value);
        } else if (!seen_last && strcmp(key, WARD_WIRE_M_LAST_MS) == 0) {
            seen_last = true;
            rc = read_int(d, &r->last_ms, &r->has_last);
        } else {
            rc = skip(d);
        }
    }
    *is_reading = rc == 0 && has_value && r->id[0] != '\0';
    return rc;
}

static int grow(struct wcol_hpage *pg)
{
    unsigned cap = pg->cap ? pg->cap * 2 : 64;
    struct wcol_hreading *r;

    if (cap > WCOL_HPAGE_MAX) {
        cap = WCOL_HPAGE_MAX;
    }
    r = realloc(pg->r, cap * sizeof(*r));
    if (r == NULL) {
        return -ENOMEM;
    }
    pg->r = r;
    pg->cap = cap;
    return 0;
}

static int read_sensors(struct rd *d)
{
    struct wcol_hpage *pg = d->pg;
    unsigned seen = 0;
    bool ok;
    int rc;

    rc = ward_jscan_array(&d->s);
    while (rc == 0 && (rc = ward_jscan_element(&d->s)) > 0) {
        if (++seen > WCOL_HPAGE_MAX) {
            rc = skip(d);
            continue;
        }
        if (pg->n == pg->cap && grow(pg) != 0) {
            return -ENOMEM;
        }
        rc = read_sensor(d, &pg->r[pg->n], &ok);
        pg->n += ok;
    }
    return rc;
}

/* Room for strings as long as the document. */
static int start(struct rd *d, struct wcol_hpage *pg, const char *doc, size_t len)
{
    if (pg->scratch_cap < len + 1) {
        char *p = realloc(pg->scratch, len + 1);

        if (p == NULL) {
            return -ENOMEM;
        }
        pg->scratch = p;
        pg->scratch_cap = len + 1;
    }
    d->pg = pg;
    ward_jscan_init(&d->s, doc, len);
    return ward_jscan_object(&d->s);
}

int wcol_hparse_page(struct wcol_hpage *pg, const char *doc, size_t len)
{
    char key[WARD_WIRE_KEY_MAX + 1];
    bool seen_t = false, seen_sensors = false;
    struct rd d;
    int rc;

    pg->n = 0;
    pg->has_t = false;
    rc = start(&d, pg, doc, len);
    while (rc == 0 && (rc = ward_jscan_member(&d.s, key, sizeof(key))) > 0) {
        if (!seen_t && strcmp(key, WARD_WIRE_M_T_MS) == 0) {
            seen_t = true;
            rc = read_int(&d, &pg->t_ms, &pg->has_t);
        } else if (!seen_sensors && strcmp(key, WARD_WIRE_M_SENSORS) == 0 &&
                   ward_jscan_peek(&d.s) == '[') {
            seen_sensors = true;
            rc = read_sensors(&d);
        } else {
            rc = skip(&d);
        }
    }
    rc = rc ?: ward_jscan_end(&d.s);
    if (rc != 0) {
        pg->n = 0;
        return rc == -ENOMEM ? rc : -EPROTO;
    }
    return 0;
}

int wcol_hparse_event(struct wcol_hpage *pg, const char *doc, size_t len, int64_t *value)
{
    char key[WARD_WIRE_KEY_MAX + 1];
    bool seen = false, is_int = false;
    struct rd d;
    int rc;

    rc = start(&d, pg, doc, len);
    while (rc == 0 && (rc = ward_jscan_member(&d.s, key, sizeof(key))) > 0) {
        if (!seen && strcmp(key, WARD_WIRE_M_VALUE) == 0) {
            seen = true;
            rc = read_int(&d, value, &is_int);
        } else {
            rc = skip(&d);
        }
    }
    rc = rc ?: ward_jscan_end(&d.s);
    if (rc != 0) {
        return rc == -ENOMEM ? rc : -EPROTO;
    }
    return is_int ? 0 : -ENODATA;
}

void wcol_hpage_free(struct wcol_hpage *pg)
{
    free(pg->r);
    free(pg->scratch);
    memset(pg, 0, sizeof(*pg));
}
