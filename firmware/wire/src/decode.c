#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ward/base/jscan.h"
#include "ward/base/word.h"
#include "ward/wire/state.h"

#include "ward/wire/decode.h"

#define KEY_MAX (WARD_WIRE_KEY_MAX + 1)

/* A member name and its length: names are told apart by length first, then by a memcmp of a
 * length the compiler knows (a compare or two inline), not by a chain of strcmp calls. */
struct key {
    size_t n;
    char s[KEY_MAX];
};

#define KEY_IS(k, lit) ((k)->n == sizeof(lit) - 1 && memcmp((k)->s, (lit), sizeof(lit) - 1) == 0)

struct dec {
    struct ward_jscan s;
    char *scratch;
    size_t scratch_len;
    const char *why; /* a schema error (the scanner's own errors carry their text) */
    bool shallow;    /* read_identity()'s pass: text is checked by the full pass, field by field */
    bool one_pass;   /* read_batch() reads the batch's device and boot itself (see below) */
};

static int schema(struct dec *d, const char *why)
{
    if (d->s.err == 0) {
        d->why = why;
    }
    return ward_jscan_fail(&d->s, -EPROTO, why);
}

/* Whether a word holds a byte that is not printable ASCII (0x20-0x7e). */
static inline bool word_unsafe(uint64_t w)
{
    return ((w & WARD_WORD_HIGHS) | ward_word_below(w, 0x20) | ward_word_has(w, 0x7f)) != 0;
}

/*
 * No terminal control in n bytes of valid UTF-8: no C0 (< 0x20), DEL or C1 (U+0080-U+009F,
 * 0xc2 0x80-0x9f) character. Any string a device sends may end up on an operator's terminal.
 */
static bool text_safe(const char *text, size_t n)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;

    /* Words of printable ASCII (0x20-0x7e) at once, up to the first other one: most strings
     * are all of it. The rest byte by byte. */
    while (n - i >= 8 && !word_unsafe(ward_word_load(text + i))) {
        i += 8;
    }
    for (; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f || (p[i] == 0xc2 && i + 1 < n && p[i + 1] < 0xa0)) {
            return false;
        }
    }
    return true;
}

/* A string decoded into buf (rc: its length, or the scanner's error) must be text_safe. */
static int safe_string(struct dec *d, const char *buf, int rc)
{
    if (rc < 0) {
        return d->s.err;
    }
    return d->shallow || text_safe(buf, (size_t)rc)
               ? 0
               : schema(d, "a string holds a control character");
}

/* The next member of an object (ward_jscan_member()), its name text_safe. */
static int member(struct dec *d, struct key *key)
{
    int rc = ward_jscan_member(&d->s, key->s, sizeof(key->s));

    key->n = rc > 0 ? d->s.key_len : 0;
    if (rc > 0 && !d->shallow && !text_safe(key->s, key->n)) {
        return schema(d, "a member name holds a control character");
    }
    return rc;
}

bool ward_utf8_valid(const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;

    while (i < len) {
        unsigned char c = p[i];
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
            /* ASCII a word at a time: bodies are almost all ASCII. */
            while (len - i >= 8 && (ward_word_load(text + i) & WARD_WORD_HIGHS) == 0) {
                i += 8;
            }
            i += i < len && p[i] < 0x80;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (len - i <= n) {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + k] & 0x3fu);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

/* Skip one value of any type, validating it. */
static int skip_value(struct dec *d)
{
    struct ward_jscan *s = &d->s;
    struct key key;
    int64_t n;
    bool b;
    int rc;

    switch (ward_jscan_peek(s)) {
    case '{':
        if (ward_jscan_object(s) != 0) {
            return s->err;
        }
        while ((rc = member(d, &key)) > 0) {
            if (skip_value(d) != 0) {
                return s->err;
            }
        }
        return rc;
    case '[':
        if (ward_jscan_array(s) != 0) {
            return s->err;
        }
        while ((rc = ward_jscan_element(s)) > 0) {
            if (skip_value(d) != 0) {
                return s->err;
            }
        }
        return rc;
    case '"':
        return safe_string(d, d->scratch, ward_jscan_string(s, d->scratch, d->scratch_len));
    case 't':
    case 'f':
        return ward_jscan_bool(s, &b);
    case 'n':
        return ward_jscan_null(s) ? 0 : schema(d, "expected a value");
    default:
        return ward_jscan_counter(s, &n);
    }
}

/* Start of the next value (after whitespace), for keeping a document's span. */
static const char *value_start(struct dec *d)
{
    (void)ward_jscan_peek(&d->s);
    return d->s.p;
}

static int read_string(struct dec *d, char *buf, size_t len, const char *too_long)
{
    int rc = ward_jscan_string(&d->s, buf, len);

    if (rc == -ENAMETOOLONG) {
        d->s.err = 0; /* replace the scanner's generic text with the member's */
        return schema(d, too_long);
    }
    return rc < 0 ? d->s.err : 0;
}

static int read_int(struct dec *d, int64_t *v, int64_t min, int64_t max, const char *why)
{
    if (ward_jscan_int64(&d->s, v) != 0) {
        return d->s.err;
    }
    return *v < min || *v > max ? schema(d, why) : 0;
}

/* 1..max characters, each printable ASCII (0x20-0x7e): ids and the heartbeat's build text. */
static bool printable(const char *text, size_t max)
{
    size_t n = strlen(text);

    if (n == 0 || n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (text[i] < 0x20 || text[i] > 0x7e) {
            return false;
        }
    }
    return true;
}

static bool sensor_valid(const char *id)
{
    return printable(id, WARD_WIRE_SENSOR_MAX);
}

static bool boot_valid(const char *b)
{
    if (strlen(b) != WARD_WIRE_BOOT_HEX_LEN) {
        return false;
    }
    for (const char *p = b; *p != '\0'; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            return false;
        }
    }
    return true;
}

static int read_boot(struct dec *d, char out[WARD_WIRE_BOOT_HEX_LEN + 1])
{
    if (read_string(d, out, WARD_WIRE_BOOT_HEX_LEN + 1, "boot must be 32 lower-case hex digits") !=
        0) {
        return d->s.err;
    }
    return boot_valid(out) ? 0 : schema(d, "boot must be 32 lower-case hex digits");
}

/* Mark a member seen; a second occurrence is refused. */
static int seen(struct dec *d, unsigned *mask, unsigned bit)
{
    if (*mask & bit) {
        return schema(d, "duplicate member");
    }
    *mask |= bit;
    return 0;
}

/* The members every document starts with: "v", "type", "device", "boot". */
static int common_member(struct dec *d, const struct key *key, unsigned *mask, const char *type,
                         const char *device, const char *boot, bool *handled)
{
    char buf[WARD_WIRE_DEVICE_MAX + 1];
    int64_t v;

    *handled = true;
    if (KEY_IS(key, WARD_WIRE_M_V)) {
        if (seen(d, mask, 1u << 0) != 0 ||
            read_int(d, &v, WARD_WIRE_V1, WARD_WIRE_V_MAX, "unsupported version (1 or 2)") != 0) {
            return d->s.err;
        }
    } else if (KEY_IS(key, WARD_WIRE_M_TYPE)) {
        if (seen(d, mask, 1u << 1) != 0 || read_string(d, buf, sizeof(buf), "bad type") != 0) {
            return d->s.err;
        }
        if (strcmp(buf, type) != 0) {
            return schema(d, "document has the wrong type");
        }
    } else if (KEY_IS(key, WARD_WIRE_M_DEVICE) && device != NULL) {
        if (seen(d, mask, 1u << 2) != 0 ||
            read_string(d, buf, sizeof(buf), "device id too long") != 0) {
            return d->s.err;
        }
        if (!printable(buf, WARD_WIRE_DEVICE_MAX)) {
            return schema(d, "device id: 1-63 printable ASCII");
        }
        if (strcmp(buf, device) != 0) {
            return schema(d, "document names another device than the batch");
        }
    } else if (KEY_IS(key, WARD_WIRE_M_BOOT) && boot != NULL) {
        char b[WARD_WIRE_BOOT_HEX_LEN + 1];

        if (seen(d, mask, 1u << 3) != 0 || read_boot(d, b) != 0) {
            return d->s.err;
        }
        if (strcmp(b, boot) != 0) {
            return schema(d, "document names another boot than the batch");
        }
    } else {
        *handled = false;
    }
    return 0;
}

static int read_hb_health(struct dec *d, struct ward_ingest_batch *b)
{
    struct key key;
    unsigned mask = 0;
    int rc;

    if (ward_jscan_object(&d->s) != 0) {
        return d->s.err;
    }
    while ((rc = member(d, &key)) > 0) {
        if (KEY_IS(&key, WARD_WIRE_M_STATE)) {
            if (seen(d, &mask, 1) != 0 ||
                read_string(d, b->health, sizeof(b->health), "unknown health state") != 0) {
                return d->s.err;
            }
            if (ward_state_parse(b->health) < 0) {
                return schema(d, "unknown health state");
            }
        } else if (skip_value(d) != 0) {
            return d->s.err;
        }
    }
    return rc;
}

/* v seq t_ms; "health" may be left out of a compact heartbeat (unchanged, docs/protocol.md) */
#define HB_REQUIRED (1u << 0 | 1u << 4 | 1u << 5)

/* The heartbeat's build text (sticky): 1..WARD_WIRE_TEXT_MAX printable ASCII each. */
#define HB_TEXT(m)                                                                                 \
    {                                                                                              \
        m, sizeof(m) - 1, m ": 1-63 printable ASCII characters"                                    \
    }
static const struct {
    const char *name;
    size_t len;
    const char *why;
} s_hb_text[] = { HB_TEXT(WARD_WIRE_M_FIRMWARE), HB_TEXT(WARD_WIRE_M_BOARD),
                  HB_TEXT(WARD_WIRE_M_ARCH) };

/* @return 1 when key is not build text, else 0 or the error of reading it. */
static int hb_text(struct dec *d, const struct key *key)
{
    char text[WARD_WIRE_TEXT_MAX + 1];

    for (size_t i = 0; i < sizeof(s_hb_text) / sizeof(s_hb_text[0]); i++) {
        if (key->n != s_hb_text[i].len || memcmp(key->s, s_hb_text[i].name, key->n) != 0) {
            continue;
        }
        if (read_string(d, text, sizeof(text), s_hb_text[i].why) != 0) {
            return d->s.err;
        }
        return printable(text, WARD_WIRE_TEXT_MAX) ? 0 : schema(d, s_hb_text[i].why);
    }
    return 1;
}

static int read_heartbeat(struct dec *d, struct ward_ingest_batch *b)
{
    struct key key;
    unsigned mask = 0;
    bool handled;
    int rc;

    b->heartbeat = value_start(d);
    if (ward_jscan_object(&d->s) != 0) {
        return d->s.err;
    }
    while ((rc = member(d, &key)) > 0) {
        if (common_member(d, &key, &mask, WARD_WIRE_TYPE_HEARTBEAT, b->device, b->boot, &handled) !=
            0) {
            return d->s.err;
        }
        if (handled) {
            continue;
        }
        if (KEY_IS(&key, WARD_WIRE_M_SEQ)) {
            rc = seen(d, &mask, 1u << 4);
            rc = rc
                     ?: read_int(d, &b->hb_seq, 1, WARD_WIRE_SEQ_MAX,
                                 "heartbeat seq must be 1..4294967295");
        } else if (KEY_IS(&key, WARD_WIRE_M_T_MS)) {
            rc = seen(d, &mask, 1u << 5);
            rc = rc ?: read_int(d, &b->hb_t_ms, INT64_MIN, INT64_MAX, "bad t_ms");
        } else if (KEY_IS(&key, WARD_WIRE_M_INTERVAL)) {
            rc = seen(d, &mask, 1u << 6);
            rc = rc
                     ?: read_int(d, &b->interval_ms, 1, WARD_WIRE_INTERVAL_MAX_MS,
                                 "interval_ms must be 1 ms .. 7 days");
        } else if (KEY_IS(&key, WARD_WIRE_M_HEALTH)) {
            rc = seen(d, &mask, 1u << 7);
            rc = rc ?: read_hb_health(d, b);
        } else if ((rc = hb_text(d, &key)) > 0) {
            rc = skip_value(d);
        }
        if (rc != 0) {
            return d->s.err;
        }
    }
    if (rc < 0) {
        return rc;
    }
    if ((mask & HB_REQUIRED) != HB_REQUIRED) {
        return schema(d, "a heartbeat needs v, seq and t_ms");
    }
    b->heartbeat_len = (size_t)(d->s.p - b->heartbeat);
    b->has_heartbeat = true;
    return 0;
}

/* A string member read leniently: copied when it fits out, left "" otherwise. */
static int lenient_string(struct dec *d, char *out, size_t cap)
{
    int n = ward_jscan_string(&d->s, d->scratch, d->scratch_len);

    if (safe_string(d, d->scratch, n) != 0) {
        return d->s.err;
    }
    if ((size_t)n < cap) {
        memcpy(out, d->scratch, (size_t)n + 1);
    }
    return 0;
}

static bool is_number(char c)
{
    return c == '-' || (c >= '0' && c <= '9');
}

/* A number or null member read leniently (null: none); another type is skipped. */
static int lenient_int(struct dec *d, int64_t *v, bool *has)
{
    char c = ward_jscan_peek(&d->s);

    if (c == 'n' && ward_jscan_null(&d->s)) {
        *has = false;
        return 0;
    }
    if (!is_number(c)) {
        return skip_value(d);
    }
    *has = true;
    return ward_jscan_counter(&d->s, v);
}

/* The typed members of one snapshot sensor; anything else, or of another type, is skipped. */
static int sensor_member(struct dec *d, const struct key *key, struct ward_ingest_sensor *s)
{
    struct ward_wire_reading *r = &s->reading;
    bool is_state = KEY_IS(key, WARD_WIRE_M_STATE);
    char name[WARD_WIRE_NAME_MAX + 1] = "";
    bool has = false;
    int rc;

    if (ward_jscan_peek(&d->s) == '"' && (is_state || KEY_IS(key, WARD_WIRE_M_SEVERITY))) {
        rc = lenient_string(d, name, sizeof(name));
        int v = is_state ? ward_state_parse(name) : ward_severity_parse(name);

        *(is_state ? &r->state : &r->severity) = v < 0 ? WARD_WIRE_UNKNOWN : (uint8_t)v;
        return rc;
    }
    if (ward_jscan_peek(&d->s) == '"' && KEY_IS(key, WARD_WIRE_M_ID)) {
        return lenient_string(d, s->id, sizeof(s->id));
    }
    if (ward_jscan_peek(&d->s) == '"' && KEY_IS(key, WARD_WIRE_M_KIND)) {
        return lenient_string(d, r->kind, sizeof(r->kind));
    }
    if (KEY_IS(key, WARD_WIRE_M_VALUE)) {
        return lenient_int(d, &r->value, &r->has_value);
    }
    if (KEY_IS(key, WARD_WIRE_M_SINCE_MS) || KEY_IS(key, WARD_WIRE_M_LAST_MS)) {
        int64_t *t = KEY_IS(key, WARD_WIRE_M_SINCE_MS) ? &s->since_ms : &s->last_ms;

        rc = lenient_int(d, t, &has);
        *t = has ? *t : WARD_WIRE_TIME_NONE;
        return rc;
    }
    if (KEY_IS(key, WARD_WIRE_M_STANDBY) && ward_jscan_peek(&d->s) != 'n') {
        char c = ward_jscan_peek(&d->s);

        return c == 't' || c == 'f' ? ward_jscan_bool(&d->s, &s->standby) : skip_value(d);
    }
    return skip_value(d);
}

static int read_sensor(struct dec *d, struct ward_ingest_sensor *s)
{
    struct key key;
    int rc;

    memset(s, 0, sizeof(*s));
    s->reading.state = WARD_WIRE_UNKNOWN;
    s->reading.severity = WARD_WIRE_UNKNOWN;
    s->since_ms = WARD_WIRE_TIME_NONE;
    s->last_ms = WARD_WIRE_TIME_NONE;
    if (ward_jscan_object(&d->s) != 0) {
        return d->s.err;
    }
    while ((rc = member(d, &key)) > 0) {
        if (sensor_member(d, &key, s) != 0) {
            return d->s.err;
        }
    }
    return rc;
}

/* The snapshot's sensors: typed into the caller's room, the rest validated and counted. */
static int read_sensors(struct dec *d, struct ward_ingest_batch *b)
{
    int rc;

    if (ward_jscan_array(&d->s) != 0) {
        return d->s.err;
    }
    while ((rc = ward_jscan_element(&d->s)) > 0) {
        b->sensors_seen++;
        if (b->n_sensors < b->max_sensors && ward_jscan_peek(&d->s) == '{') {
            rc = read_sensor(d, &b->sensors[b->n_sensors]);
            b->n_sensors += rc == 0;
        } else {
            rc = skip_value(d);
        }
        if (rc != 0) {
            return d->s.err;
        }
    }
    return rc;
}

static int read_snapshot(struct dec *d, struct ward_ingest_batch *b)
{
    struct key key;
    unsigned mask = 0;
    bool handled;
    int rc;

    b->snapshot = value_start(d);
    if (ward_jscan_object(&d->s) != 0) {
        return d->s.err;
    }
    while ((rc = member(d, &key)) > 0) {
        if (common_member(d, &key, &mask, WARD_WIRE_TYPE_HEALTH, b->device, b->boot, &handled) !=
            0) {
            return d->s.err;
        }
        if (handled) {
            continue;
        }
        if (KEY_IS(&key, WARD_WIRE_M_DELTA) &&
            (ward_jscan_peek(&d->s) == 't' || ward_jscan_peek(&d->s) == 'f')) {
            if (ward_jscan_bool(&d->s, &b->snapshot_delta) != 0) {
                return d->s.err;
            }
            continue;
        }
        if (KEY_IS(&key, WARD_WIRE_M_SENSORS)) {
            if (seen(d, &mask, 1u << 4) != 0 || ward_jscan_peek(&d->s) != '[') {
                return schema(d, "sensors must be an array");
            }
            if (read_sensors(d, b) != 0) {
                return d->s.err;
            }
            continue;
        }
        if (skip_value(d) != 0) {
            return d->s.err;
        }
    }
    if (rc < 0) {
        return rc;
    }
    b->snapshot_len = (size_t)(d->s.p - b->snapshot);
    return 0;
}

static int read_state_name(struct dec *d, char *out, bool severity, uint8_t *typed)
{
    const char *why = severity ? "unknown severity" : "unknown state";

    if (read_string(d, out, WARD_WIRE_NAME_MAX + 1, why) != 0) {
        return d->s.err;
    }
    int v = severity ? ward_severity_parse(out) : ward_state_parse(out);

    *typed = (uint8_t)v;
    return v < 0 ? schema(d, why) : 0;
}

static int event_member(struct dec *d, const struct key *key, struct ward_ingest_event *e,
                        unsigned *mask)
{
    int64_t v;
    int rc;

    if (KEY_IS(key, WARD_WIRE_M_BOOT)) {
        rc = seen(d, mask, 1u << 0);
        return rc ?: read_boot(d, e->boot);
    }
    if (KEY_IS(key, WARD_WIRE_M_SEQ)) {
        rc = seen(d, mask, 1u << 1);
        return rc ?: read_int(d, &e->seq, 1, WARD_WIRE_SEQ_MAX, "event seq must be 1..4294967295");
    }
    if (KEY_IS(key, WARD_WIRE_M_T_MS)) {
        rc = seen(d, mask, 1u << 2);
        return rc ?: read_int(d, &e->t_ms, INT64_MIN, INT64_MAX, "bad t_ms");
    }
    if (KEY_IS(key, WARD_WIRE_M_WALL_MS)) {
        rc = seen(d, mask, 1u << 3);
        return rc ?: read_int(d, &e->wall_ms, 1, INT64_MAX, "wall_ms must be positive");
    }
    if (KEY_IS(key, WARD_WIRE_M_SENSOR)) {
        rc = seen(d, mask, 1u << 4);
        rc = rc ?: read_string(d, e->sensor, sizeof(e->sensor), "sensor id too long");
        return rc ?: (sensor_valid(e->sensor) ? 0 : schema(d, "sensor id: 1-63 printable ASCII"));
    }
    if (KEY_IS(key, WARD_WIRE_M_FROM)) {
        rc = seen(d, mask, 1u << 5);
        return rc ?: read_state_name(d, e->from, false, &e->from_state);
    }
    if (KEY_IS(key, WARD_WIRE_M_TO)) {
        rc = seen(d, mask, 1u << 6);
        return rc ?: read_state_name(d, e->to, false, &e->reading.state);
    }
    if (KEY_IS(key, WARD_WIRE_M_SEVERITY)) {
        rc = seen(d, mask, 1u << 7);
        rc = rc ?: read_state_name(d, e->severity, true, &e->reading.severity);
        return rc
                   ?: (strcmp(e->severity, "none") != 0 ? 0
                                                        : schema(d, "an event's severity is "
                                                                    "low, medium or high"));
    }
    if (KEY_IS(key, WARD_WIRE_M_COUNT)) {
        rc = seen(d, mask, 1u << 8);
        rc = rc ?: read_int(d, &v, 1, WARD_WIRE_SEQ_MAX, "count must be 1..4294967295");
        e->count = rc == 0 ? (uint32_t)v : 0;
        return rc;
    }
    if (KEY_IS(key, WARD_WIRE_M_VALUE)) {
        rc = seen(d, mask, 1u << 9);
        if (rc != 0 || ward_jscan_null(&d->s)) {
            return rc;
        }
        e->reading.has_value = true;
        return read_int(d, &e->reading.value, INT64_MIN, INT64_MAX,
                        "value must be an integer or null");
    }
    return skip_value(d);
}

/* boot seq t_ms sensor from to severity count value (wall_ms is optional) */
#define EVENT_REQUIRED 0x3f7u

static int read_event(struct dec *d, struct ward_ingest_event *e)
{
    struct key key;
    unsigned mask = 0;
    int rc;

    memset(e, 0, sizeof(*e));
    e->doc = value_start(d);
    if (ward_jscan_object(&d->s) != 0) {
        return d->s.err;
    }
    while ((rc = member(d, &key)) > 0) {
        if (event_member(d, &key, e, &mask) != 0) {
            return d->s.err;
        }
    }
    if (rc < 0) {
        return rc;
    }
    if ((mask & EVENT_REQUIRED) != EVENT_REQUIRED) {
        return schema(d, "an event needs boot, seq, t_ms, sensor, from, to, severity, value and "
                         "count");
    }
    e->doc_len = (size_t)(d->s.p - e->doc);
    return 0;
}

static int read_events(struct dec *d, struct ward_ingest_batch *b, bool *too_many)
{
    int rc;

    if (ward_jscan_array(&d->s) != 0) {
        return d->s.err;
    }
    while ((rc = ward_jscan_element(&d->s)) > 0) {
        if (b->n_events >= b->max_events) {
            *too_many = true;
            return schema(d, "too many events in one batch");
        }
        if (read_event(d, &b->events[b->n_events]) != 0) {
            return d->s.err;
        }
        b->n_events++;
    }
    return rc;
}

/* "device" or "boot" of the batch itself, into b; their mask bits are 1 << bit and 2 << bit.
 * @return 1 when key is neither, else 0 or the error of reading it. */
static int identity_member(struct dec *d, const struct key *key, unsigned *mask, unsigned bit,
                           struct ward_ingest_batch *b)
{
    int rc;

    if (KEY_IS(key, WARD_WIRE_M_DEVICE)) {
        rc = seen(d, mask, 1u << bit);
        rc = rc ?: read_string(d, b->device, sizeof(b->device), "device id too long");
        return rc
                   ?: (printable(b->device, WARD_WIRE_DEVICE_MAX)
                           ? 0
                           : schema(d, "device id: 1-63 printable ASCII"));
    }
    if (KEY_IS(key, WARD_WIRE_M_BOOT)) {
        rc = seen(d, mask, 2u << bit);
        return rc ?: read_boot(d, b->boot);
    }
    return 1;
}

/*
 * The documents inside a batch must name the batch's device and boot, but JSON members come
 * in any order: read "device" and "boot" of the batch in a first, shallow pass.
 */
static int read_identity(struct dec *d, const char *body, size_t len, struct ward_ingest_batch *b)
{
    struct key key;
    unsigned mask = 0;
    int rc;

    ward_jscan_init(&d->s, body, len);
    d->shallow = true;
    if (ward_jscan_object(&d->s) != 0) {
        return d->s.err;
    }
    while ((rc = member(d, &key)) > 0) {
        if ((rc = identity_member(d, &key, &mask, 0, b)) > 0) {
            rc = skip_value(d);
        }
        if (rc != 0) {
            return d->s.err;
        }
    }
    if (rc < 0 || ward_jscan_end(&d->s) != 0) {
        return d->s.err;
    }
    return mask == 3u ? 0 : schema(d, "a batch needs device and boot");
}

/* A member of the batch that holds documents naming the batch's device and boot. */
static bool is_document(const struct key *key)
{
    return KEY_IS(key, WARD_WIRE_M_HEARTBEAT) || KEY_IS(key, WARD_WIRE_M_HEALTH) ||
           KEY_IS(key, WARD_WIRE_M_EVENTS);
}

/* v type heartbeat; "events" may be left out when there are none (protocol 2) */
#define BATCH_REQUIRED (1u << 0 | 1u << 1 | 1u << 4)

static int read_batch(struct dec *d, const char *body, size_t len, struct ward_ingest_batch *b,
                      bool *too_many)
{
    struct key key;
    unsigned mask = 0;
    bool handled;
    int rc;

    ward_jscan_init(&d->s, body, len);
    d->shallow = false;
    if (ward_jscan_object(&d->s) != 0) {
        return d->s.err;
    }
    while ((rc = member(d, &key)) > 0) {
        if (common_member(d, &key, &mask, WARD_WIRE_TYPE_BATCH, d->one_pass ? NULL : b->device,
                          d->one_pass ? NULL : b->boot, &handled) != 0) {
            return d->s.err;
        }
        if (handled) {
            continue;
        }
        if (d->one_pass && (rc = identity_member(d, &key, &mask, 2, b)) <= 0) {
            if (rc != 0) {
                return d->s.err;
            }
            continue;
        }
        if (d->one_pass && (mask & 0xcu) != 0xcu && is_document(&key)) {
            return schema(d, "a document before the batch's device and boot"); /* two passes */
        }
        if (KEY_IS(&key, WARD_WIRE_M_HEARTBEAT)) {
            rc = seen(d, &mask, 1u << 4);
            rc = rc ?: read_heartbeat(d, b);
        } else if (KEY_IS(&key, WARD_WIRE_M_HEALTH)) {
            rc = seen(d, &mask, 1u << 5);
            rc = rc ?: read_snapshot(d, b);
        } else if (KEY_IS(&key, WARD_WIRE_M_EVENTS)) {
            rc = seen(d, &mask, 1u << 6);
            rc = rc ?: read_events(d, b, too_many);
        } else {
            rc = skip_value(d);
        }
        if (rc != 0) {
            return d->s.err;
        }
    }
    if (rc < 0 || ward_jscan_end(&d->s) != 0) {
        return d->s.err;
    }
    if ((mask & BATCH_REQUIRED) != BATCH_REQUIRED || (d->one_pass && (mask & 0xcu) != 0xcu)) {
        return schema(d, "a batch needs v, type, device, boot and heartbeat");
    }
    return 0;
}

/* b emptied but for the caller's room for events and sensors. */
static void batch_reset(struct ward_ingest_batch *b)
{
    struct ward_ingest_event *events = b->events;
    unsigned max_events = b->max_events;
    struct ward_ingest_sensor *sensors = b->sensors;
    unsigned max_sensors = sensors != NULL ? b->max_sensors : 0;

    memset(b, 0, sizeof(*b));
    b->events = events;
    b->max_events = max_events;
    b->sensors = sensors;
    b->max_sensors = max_sensors;
}

/*
 * Decode in one pass when the batch names its device and boot before its documents, as every
 * agent writes it: the documents are then checked against them as they come. Otherwise, or
 * when the batch is refused, decode it again in two passes (read_identity(), then read_batch()),
 * as before: so a batch is accepted, and a refusal says why, exactly as with two passes. (The
 * shallow pass accepts whatever the full pass accepts; the one pass checks device and boot as
 * it does.) The first pass was half the decoder's time (docs/benchmarks.md).
 */
static int decode_batch(struct dec *d, const char *body, size_t len, struct ward_ingest_batch *b,
                        bool *too_many, bool one_pass)
{
    int rc;

    d->one_pass = one_pass;
    if (one_pass && read_batch(d, body, len, b, too_many) == 0 && d->s.err == 0) {
        return 0;
    }
    char *scratch = d->scratch;
    size_t scratch_len = d->scratch_len;

    memset(d, 0, sizeof(*d));
    d->scratch = scratch;
    d->scratch_len = scratch_len;
    *too_many = false;
    batch_reset(b);
    rc = read_identity(d, body, len, b);
    return rc ?: read_batch(d, body, len, b, too_many);
}

static int decode(const char *body, size_t len, struct ward_ingest_batch *b, char *scratch,
                  size_t scratch_len, const char **why, bool one_pass)
{
    struct dec d;
    bool too_many = false;

    if (body == NULL || b == NULL || scratch == NULL || scratch_len == 0 || why == NULL) {
        return -EINVAL;
    }
    batch_reset(b);
    memset(&d, 0, sizeof(d));
    d.scratch = scratch;
    d.scratch_len = scratch_len;
    *why = NULL;
    if (!ward_utf8_valid(body, len)) {
        *why = "body is not valid UTF-8";
        return -EPROTO;
    }
    int rc = decode_batch(&d, body, len, b, &too_many, one_pass);

    if (rc != 0) {
        *why = d.why != NULL ? d.why : (d.s.why != NULL ? d.s.why : "malformed JSON");
        b->n_events = 0;
        b->n_sensors = 0;
        return too_many ? -E2BIG : -EPROTO;
    }
    return 0;
}

int ward_ingest_decode(const char *body, size_t len, struct ward_ingest_batch *b, char *scratch,
                       size_t scratch_len, const char **why)
{
    return decode(body, len, b, scratch, scratch_len, why, true);
}

int ward_ingest_decode_two_pass(const char *body, size_t len, struct ward_ingest_batch *b,
                                char *scratch, size_t scratch_len, const char **why)
{
    return decode(body, len, b, scratch, scratch_len, why, false);
}
