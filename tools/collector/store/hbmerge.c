/*
 * The heartbeat merge of store_sqlite.c done in C (store/hbmerge.h).
 *
 * It follows SQLite 3.40's own steps rather than the RFC: json_extract of the stored
 * heartbeat's sticky members (true and false become 1 and 0, strings lose their quotes),
 * json_object of them (the patch: built here as the nodes json_patch gets when it parses
 * json_object's text), then json_patch's merge over parsed nodes with its two marks (a member
 * removed, a node replaced by a patch node) and its appended members, and its renderer (no
 * whitespace, strings and numbers exactly as they were written). Where SQLite would re-render a
 * value differently from how it was written (escapes, reals, integers past 18 digits, duplicate
 * keys) the merge declines and the SQL does it.
 */
#include "store/hbmerge.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/hbmerge_sticky.h"

enum { T_NULL, T_TRUE, T_FALSE, T_INT, T_REAL, T_STRING, T_ARRAY, T_OBJECT };

#define F_REMOVE     1u /* an object member not rendered (json_remove, a null in the patch) */
#define F_PATCH      2u /* rendered as node->patch instead */
#define F_NULLS_GONE 4u /* remove_all_nulls() ran over this object */
#define F_CHANGED    8u /* an object that renders otherwise than its text: see copy_span() */
#define DEPTH_MAX    64
#define DIGITS_MAX   18 /* an integer json_extract returns as itself, whatever its digits */

struct node {
    uint8_t type;
    uint8_t flags;
    uint8_t height;     /* array, object: 1 + the largest height below (a scalar's is 0) */
    uint32_t n;         /* array, object: the nodes below this one */
    const char *s;      /* a scalar's text as written (a string with its quotes); an array's or */
    uint32_t len;       /* object's, when it has no whitespace (else len is 0); its length */
    struct node *patch; /* F_PATCH */
    int32_t app_head;   /* object: members the patch appended, -1 none */
    int32_t app_tail;
};

struct appended {
    const struct node *key;
    struct node *val;
    int32_t next;
};

enum { DOC_NEW, DOC_OLD, DOC_PATCH, DOCS };

/*
 * A device's sticky state: the document stored for it, to check that the stored one is still
 * this one, and the members of it that the patch is built from (s_sticky_keys), as the nodes
 * parsing that document would give, under an object of their own.
 */
#define STICKY_NODES 64
#define STICKY_DOC   1024

struct cnode {
    uint8_t type;
    uint8_t height;
    uint16_t n;
    uint16_t off; /* a scalar's text: doc + off, len bytes */
    uint16_t len;
};

struct sticky {
    bool valid;
    bool pure;    /* doc is the merge of a heartbeat with only v, seq, t_ms and config */
    uint32_t gen; /* the context's gen when kept (wcol_hbmerge_distrust()) */
    uint16_t n_nodes, doc_len;
    struct cnode nodes[STICKY_NODES];
    char doc[STICKY_DOC];
};

struct wcol_hbmerge {
    struct node nodes[DOCS][WCOL_HBMERGE_NODES];
    struct appended app[WCOL_HBMERGE_NODES];
    unsigned n_app;
    char patch[256]; /* the patch's integers */
    char out[WCOL_HBMERGE_BYTES];
    struct wcol_sticky_table *devices; /* NULL: no sticky state kept */
    struct sticky *spare;              /* where the next state is built, then swapped in */
    uint64_t hits, misses, stale, liveness;
    uint32_t gen; /* advanced by wcol_hbmerge_distrust() */
};

struct parse {
    const char *p, *end;
    struct node *nodes;
    unsigned n;
    unsigned ws;     /* whitespace bytes skipped so far */
    unsigned height; /* of the value parsed last */
};

struct out {
    char *b;
    size_t n, cap;
    bool over;
    bool deep;           /* a value nested deeper than parsing it again accepts */
    unsigned level;      /* of the value being rendered: the top is 0 */
    unsigned count;      /* nodes rendered: what parsing the text again would make */
    struct sticky *keep; /* NULL, or where the sticky members' nodes go as they are rendered */
    bool keeping;        /* within a sticky member of the top object */
    bool keep_over;      /* they did not fit */
};

struct wcol_hbmerge *wcol_hbmerge_new(unsigned devices)
{
    struct wcol_hbmerge *m = calloc(1, sizeof(struct wcol_hbmerge));

    if (m != NULL && devices > 0) {
        m->devices = wcol_sticky_new(devices, sizeof(struct sticky));
        m->spare = malloc(sizeof(struct sticky));
        if (m->devices == NULL || m->spare == NULL) {
            wcol_hbmerge_free(m);
            return NULL;
        }
    }
    return m;
}

void wcol_hbmerge_free(struct wcol_hbmerge *m)
{
    if (m != NULL) {
        wcol_sticky_free(m->devices);
        free(m->spare);
    }
    free(m);
}

void wcol_hbmerge_stats(const struct wcol_hbmerge *m, struct wcol_hbmerge_stats *out)
{
    *out = (struct wcol_hbmerge_stats){
        .hits = m->hits, .misses = m->misses, .stale = m->stale, .liveness = m->liveness
    };
    if (m->devices != NULL) {
        out->devices = wcol_sticky_devices(m->devices);
        out->evictions = wcol_sticky_evictions(m->devices);
    }
}

static uint32_t node_size(const struct node *nd)
{
    return nd->type >= T_ARRAY ? nd->n + 1 : 1;
}

/* ---- parsing: strict JSON, a subset of what SQLite 3.40 reads, read the same way ---- */

/* Inline, with the common case first: the documents the collector stores have no whitespace,
 * and this runs between every two tokens. */
static inline void skip_ws(struct parse *ps)
{
    if (ps->p < ps->end && (unsigned char)*ps->p > ' ') {
        return;
    }
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) {
        ps->p++;
        ps->ws++;
    }
}

static int add(struct parse *ps, uint8_t type, const char *s, size_t len)
{
    if (ps->n >= WCOL_HBMERGE_NODES) {
        return -E2BIG;
    }
    struct node *nd = &ps->nodes[ps->n++];

    *nd =
        (struct node){ .type = type, .s = s, .len = (uint32_t)len, .app_head = -1, .app_tail = -1 };
    return 0;
}

/* The bytes that end a plain run of a string: control characters, '"' and '\\'. */
static const bool s_stop[256] = {
    [0x00 ... 0x1f] = true,
    ['"'] = true,
    ['\\'] = true,
};

/* A string without escapes or control characters: SQLite hands those back as written. */
static int parse_string(struct parse *ps)
{
    const char *start = ps->p, *p = start + 1, *end = ps->end;

    while (p < end && !s_stop[(unsigned char)*p]) {
        p++;
    }
    if (p >= end || *p != '"') {
        return -ENOTSUP; /* an escape, a control character, or no end */
    }
    ps->p = p + 1;
    return add(ps, T_STRING, start, (size_t)(ps->p - start));
}

static size_t digits(const char **p, const char *end)
{
    const char *s = *p;

    while (*p < end && **p >= '0' && **p <= '9') {
        (*p)++;
    }
    return (size_t)(*p - s);
}

static int parse_number(struct parse *ps)
{
    const char *start = ps->p;
    uint8_t type = T_INT;

    if (*ps->p == '-') {
        ps->p++;
    }
    const char *first = ps->p;
    size_t n = digits(&ps->p, ps->end);

    if (n == 0 || (n > 1 && *first == '0')) {
        return -ENOTSUP;
    }
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        type = T_REAL;
        if (digits(&ps->p, ps->end) == 0) {
            return -ENOTSUP;
        }
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        type = T_REAL;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) {
            ps->p++;
        }
        if (digits(&ps->p, ps->end) == 0) {
            return -ENOTSUP;
        }
    }
    return add(ps, type, start, (size_t)(ps->p - start));
}

static int parse_literal(struct parse *ps)
{
    static const struct {
        const char *text;
        uint8_t type;
    } lit[] = { { "null", T_NULL }, { "true", T_TRUE }, { "false", T_FALSE } };

    for (size_t i = 0; i < sizeof(lit) / sizeof(lit[0]); i++) {
        size_t len = strlen(lit[i].text);

        if ((size_t)(ps->end - ps->p) >= len && memcmp(ps->p, lit[i].text, len) == 0) {
            ps->p += len;
            return add(ps, lit[i].type, NULL, 0);
        }
    }
    return -ENOTSUP;
}

/* Keys are quoted (len >= 2): the first character after the quote settles most unequal ones
 * without a call. */
static bool same_key(const struct node *a, const struct node *b)
{
    return a->len == b->len && a->s[1] == b->s[1] && memcmp(a->s, b->s, a->len) == 0;
}

/* json_patch and json_extract use the first of two equal keys, json_remove too: declined. */
static bool has_duplicate_keys(const struct node *obj)
{
    for (uint32_t i = 1; i <= obj->n; i += 1 + node_size(&obj[i + 1])) {
        for (uint32_t j = 1; j < i; j += 1 + node_size(&obj[j + 1])) {
            if (same_key(&obj[i], &obj[j])) {
                return true;
            }
        }
    }
    return false;
}

static int parse_value(struct parse *ps, int depth);

/* An array's elements or an object's members, after the opening bracket. */
static int parse_members(struct parse *ps, int depth, bool object)
{
    char close = object ? '}' : ']';
    unsigned height = 0;
    int rc = 0;

    skip_ws(ps);
    ps->height = 0;
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        skip_ws(ps);
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') {
                return -ENOTSUP;
            }
            rc = parse_string(ps);
            skip_ws(ps);
            if (rc != 0 || ps->p >= ps->end || *ps->p != ':') {
                return rc ?: -ENOTSUP;
            }
            ps->p++;
        }
        rc = parse_value(ps, depth + 1);
        height = ps->height > height ? ps->height : height;
        ps->height = height;
        skip_ws(ps);
        if (rc != 0 || ps->p >= ps->end) {
            return rc ?: -ENOTSUP;
        }
        if (*ps->p++ == close) {
            return 0;
        }
        if (ps->p[-1] != ',') {
            return -ENOTSUP;
        }
    }
}

static int parse_value(struct parse *ps, int depth)
{
    skip_ws(ps);
    if (ps->p >= ps->end || depth > DEPTH_MAX) {
        return -ENOTSUP;
    }
    char c = *ps->p;

    ps->height = 0;
    if (c == '{' || c == '[') {
        const char *start = ps->p;
        unsigned at = ps->n, ws = ps->ws;
        int rc = add(ps, c == '{' ? T_OBJECT : T_ARRAY, NULL, 0);

        ps->p++;
        rc = rc ?: parse_members(ps, depth, c == '{');
        if (rc != 0) {
            return rc;
        }
        struct node *nd = &ps->nodes[at];

        nd->n = ps->n - at - 1;
        nd->height = (uint8_t)(ps->height + 1);
        ps->height = nd->height;
        if (ps->ws == ws) { /* rendered, it is this text: copy_span() */
            nd->s = start;
            nd->len = (uint32_t)(ps->p - start);
        }
        return c == '{' && has_duplicate_keys(nd) ? -ENOTSUP : 0;
    }
    if (c == '"') {
        return parse_string(ps);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        return parse_number(ps);
    }
    return parse_literal(ps);
}

/* @return 0 and the document's top node, an object; else why it is declined. */
static int parse_doc(struct node *nodes, const char *text, size_t len, struct node **root)
{
    struct parse ps = { .p = text, .end = text + len, .nodes = nodes };
    int rc = parse_value(&ps, 0);

    skip_ws(&ps);
    if (rc == 0 && (ps.p != ps.end || nodes[0].type != T_OBJECT)) {
        rc = -ENOTSUP;
    }
    *root = nodes;
    return rc;
}

/* The value of an object's member, as json_extract's '$.key' finds it; NULL if absent.
 * Inline: key is a literal at every call, so its length is known when compiling. */
static inline struct node *member(struct node *obj, const char *key)
{
    size_t len = strlen(key);

    if (obj == NULL || obj->type != T_OBJECT) {
        return NULL;
    }
    for (uint32_t j = 1; j <= obj->n; j += 1 + node_size(&obj[j + 1])) {
        if (obj[j].len == len + 2 && obj[j].s[1] == key[0] && memcmp(obj[j].s + 1, key, len) == 0) {
            return &obj[j + 1];
        }
    }
    return NULL;
}

/* ---- rendering, as jsonRenderNode ---- */

static void put(struct out *o, const char *s, size_t len)
{
    if (len > o->cap - o->n) {
        o->over = true;
        return;
    }
    memcpy(o->b + o->n, s, len);
    o->n += len;
}

/* One character of punctuation: most of what is written, and not worth a memcpy call. */
static void put_char(struct out *o, char c)
{
    if (o->n >= o->cap) {
        o->over = true;
        return;
    }
    o->b[o->n++] = c;
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* The members (an array's elements) a node renders, in order: its own but those removed,
 * then those the patch appended. key is NULL for an array's elements. */
struct members {
    const struct node *nd;
    uint32_t j;
    int32_t a;
    bool object;
};

static struct members members_of(const struct node *nd)
{
    bool object = nd->type == T_OBJECT;

    return (struct members){ .nd = nd, .j = 1, .a = object ? nd->app_head : -1, .object = object };
}

static bool next_member(const struct wcol_hbmerge *m, struct members *it, const struct node **key,
                        const struct node **val)
{
    while (it->j <= it->nd->n) {
        const struct node *v = &it->nd[it->j + it->object];

        *key = it->object ? &it->nd[it->j] : NULL;
        *val = v;
        it->j += node_size(v) + it->object;
        if ((v->flags & F_REMOVE) == 0) {
            return true;
        }
    }
    if (it->a < 0) {
        return false;
    }
    *key = m->app[it->a].key;
    *val = m->app[it->a].val;
    it->a = m->app[it->a].next;
    return true;
}

/* Every member of the stored heartbeat build_patch() reads: their order does not matter
 * (a stored document has no duplicate keys, and member() finds a key wherever it is). */
#define KEY(k)                                                                                     \
    {                                                                                              \
        "\"" k "\"", sizeof(k) + 1                                                                 \
    }
static const struct {
    const char *key; /* quoted, as a key node's text */
    uint32_t len;
} s_sticky_keys[] = {
    KEY("t_ms"),  KEY("uptime_ms"), KEY("interval_ms"),   KEY("firmware"),
    KEY("board"), KEY("arch"),      KEY("config_sha256"), KEY("rules_sha256"),
    KEY("loop"),  KEY("events"),    KEY("health"),        KEY("memory"),
};
#undef KEY

static bool sticky_key(const struct node *key)
{
    for (size_t i = 0; i < sizeof(s_sticky_keys) / sizeof(s_sticky_keys[0]); i++) {
        if (key->len == s_sticky_keys[i].len && key->s[1] == s_sticky_keys[i].key[1] &&
            memcmp(key->s, s_sticky_keys[i].key, key->len) == 0) {
            return true;
        }
    }
    return false;
}

/* A node of a sticky member as it is rendered: its text is where the output is now. */
static unsigned keep_rendered(struct out *o, const struct node *nd)
{
    struct sticky *st = o->keep;
    unsigned at = st->n_nodes;

    if (at >= STICKY_NODES) {
        o->keep_over = true;
        return at;
    }
    st->nodes[at] = (struct cnode){ .type = nd->type,
                                    .off = (uint16_t)o->n,
                                    .len = (uint16_t)(nd->type < T_ARRAY ? nd->len : 0) };
    st->n_nodes++;
    return at;
}

/* The nodes of a subtree copied as its text (copy_span()), now at o->b + at. */
static void keep_copied(struct out *o, const struct node *nd, size_t at)
{
    struct sticky *st = o->keep;
    uint32_t size = node_size(nd);

    if (size > (uint32_t)(STICKY_NODES - st->n_nodes)) {
        o->keep_over = true;
        return;
    }
    for (uint32_t k = 0; k < size; k++) {
        const struct node *c = &nd[k];

        st->nodes[st->n_nodes++] =
            (struct cnode){ .type = c->type,
                            .height = c->height,
                            .n = (uint16_t)c->n,
                            .off = (uint16_t)(c->len > 0 ? at + (size_t)(c->s - nd->s) : 0),
                            .len = (uint16_t)c->len };
    }
}

/*
 * An array or object that renders as the text it was parsed from, copied at once instead of
 * token by token (most of the stored "memory" and "health" of every heartbeat): one that has
 * that text (no whitespace: node.len), none of whose nodes the merge marked (it marks every
 * object it merges into or takes a member from, F_CHANGED, and so every object above one it
 * changed), and that is not nested so deep that rendering it sets o->deep.
 * @return whether it did.
 */
static bool copy_span(struct out *o, const struct node *nd)
{
    if (nd->len == 0 || (nd->flags & F_CHANGED) || nd->app_head >= 0 || o->level == 0 ||
        o->level + nd->height > DEPTH_MAX) {
        return false;
    }
    size_t at = o->n;

    put(o, nd->s, nd->len);
    o->count += node_size(nd);
    if (o->keep != NULL && o->keeping && !o->keep_over) { /* keeping implies keep */
        keep_copied(o, nd, at);
    }
    return true;
}

/* @return the height of what it rendered (node.height) */
static unsigned render(const struct wcol_hbmerge *m, struct out *o, const struct node *nd)
{
    static const char *const lit[] = { "null", "true", "false" };

    if (nd->flags & F_PATCH) {
        nd = nd->patch;
    }
    if (nd->type >= T_ARRAY && copy_span(o, nd)) {
        return nd->height;
    }
    o->count++;
    bool kept = o->keep != NULL && o->keeping && !o->keep_over; /* keeping implies keep */
    unsigned at = kept ? keep_rendered(o, nd) : 0;

    if (nd->type <= T_FALSE) {
        put_str(o, lit[nd->type]);
        return 0;
    }
    if (nd->type < T_ARRAY) {
        put(o, nd->s, nd->len);
        return 0;
    }
    struct members it = members_of(nd);
    const struct node *key, *val;
    bool first = true, top = o->keep != NULL && o->level == 0;
    size_t start = o->n;
    unsigned height = 0;

    put_char(o, it.object ? '{' : '[');
    o->deep |= ++o->level > DEPTH_MAX;
    while (next_member(m, &it, &key, &val)) {
        if (!first) {
            put_char(o, ',');
        }
        first = false;
        o->keeping = top ? key != NULL && sticky_key(key) : o->keeping;
        if (key != NULL) {
            render(m, o, key);
            put_char(o, ':');
        }
        unsigned h = render(m, o, val);

        height = h > height ? h : height;
    }
    o->keeping = top ? false : o->keeping;
    o->level--;
    put_char(o, it.object ? '}' : ']');
    if (kept && !o->keep_over) { /* rendered without whitespace: the text copy_span() takes */
        struct cnode *c = &o->keep->nodes[at];

        c->n = (uint16_t)(o->keep->n_nodes - at - 1);
        c->height = (uint8_t)(height + 1);
        c->len = (uint16_t)(o->over ? 0 : o->n - start);
    }
    return height + 1;
}

/* The merged document, and into keep (if not NULL) the state of it (see below). */
static void render_top(const struct wcol_hbmerge *m, struct out *o, const struct node *root,
                       struct sticky *keep)
{
    o->keep = keep;
    if (keep != NULL) {
        keep->n_nodes = 1;
        keep->nodes[0] = (struct cnode){ .type = T_OBJECT };
    }
    render(m, o, root);
    if (keep != NULL && !o->keep_over && o->n <= sizeof(keep->doc)) {
        keep->nodes[0].n = (uint16_t)(keep->n_nodes - 1);
        memcpy(keep->doc, o->b, o->n);
        keep->doc_len = (uint16_t)o->n;
    }
}

/*
 * ---- the patch: json_object(...) of HEARTBEAT_MERGE_OF ----
 * json_patch parses the text json_object wrote; that text's nodes are built here directly:
 * an extracted object or array is the stored one's nodes copied (json_object writes it as it
 * is, and parsing it again gives the same nodes), a scalar the node SQL's value would give.
 */

struct build {
    struct node *nodes;
    unsigned n;
    char *text; /* the digits of integers SQL printed */
    size_t text_n, text_cap;
};

static int b_add(struct build *b, uint8_t type, const char *s, size_t len)
{
    if (b->n >= WCOL_HBMERGE_NODES) {
        return -E2BIG;
    }
    b->nodes[b->n++] =
        (struct node){ .type = type, .s = s, .len = (uint32_t)len, .app_head = -1, .app_tail = -1 };
    return 0;
}

/* A member's key, as json_object writes it: with its quotes. */
static int b_key(struct build *b, const char *quoted)
{
    return b_add(b, T_STRING, quoted, strlen(quoted));
}

/* The nodes of src's subtree, without the member `skip` (a value node of src, or NULL). */
static int b_copy(struct build *b, const struct node *src, const struct node *skip)
{
    uint32_t size = node_size(src);
    unsigned at = b->n;

    if (size > WCOL_HBMERGE_NODES - b->n) {
        return -E2BIG;
    }
    memcpy(&b->nodes[at], src, size * sizeof(*src));
    b->n += size;
    if (skip != NULL) { /* json_remove of a member of the top object: its key and value go */
        uint32_t from = (uint32_t)(skip - src) - 1, gone = 1 + node_size(skip);

        memmove(&b->nodes[at + from], &b->nodes[at + from + gone],
                (size - from - gone) * sizeof(*src));
        b->n -= gone;
        b->nodes[at].n -= gone;
        b->nodes[at].len = 0; /* its text has the member: not copy_span()'s */
    }
    return 0;
}

/* An integer json_extract returns exactly (true and false are 1 and 0). */
static int as_int(const struct node *nd, int64_t *v)
{
    if (nd->type == T_TRUE || nd->type == T_FALSE) {
        *v = nd->type == T_TRUE;
        return 0;
    }
    size_t neg = nd->type == T_INT && nd->s[0] == '-';

    if (nd->type != T_INT || nd->len - neg > DIGITS_MAX) {
        return -ENOTSUP;
    }
    *v = 0;
    for (size_t i = neg; i < nd->len; i++) {
        *v = *v * 10 + (nd->s[i] - '0');
    }
    *v = neg ? -*v : *v;
    return 0;
}

/* An integer as SQL prints it ("%lld"). */
static int b_int(struct build *b, int64_t v)
{
    char buf[24];
    size_t i = sizeof(buf);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        buf[--i] = '-';
    }
    if (sizeof(buf) - i > b->text_cap - b->text_n) {
        return -E2BIG;
    }
    char *at = b->text + b->text_n;

    memcpy(at, buf + i, sizeof(buf) - i);
    b->text_n += sizeof(buf) - i;
    return b_add(b, T_INT, at, sizeof(buf) - i);
}

/* json_object's argument json_extract(doc, '$.key'): a value as SQL has it. */
static int b_extracted(struct build *b, const struct node *nd)
{
    int64_t v;

    if (nd == NULL || nd->type == T_NULL) {
        return b_add(b, T_NULL, NULL, 0);
    }
    if (nd->type == T_STRING) {
        return b_add(b, T_STRING, nd->s, nd->len); /* quoted again as it was: no escapes */
    }
    if (nd->type >= T_ARRAY) {
        return b_copy(b, nd, NULL);
    }
    if (as_int(nd, &v) == 0) {
        return b_int(b, v);
    }
    return -ENOTSUP; /* a real: SQLite prints the double again */
}

/* json(json_extract(doc, '$.key')): an object or an array as it is; json() of a scalar
 * parses the scalar's SQL text as JSON again: declined. */
static int b_json(struct build *b, const struct node *nd)
{
    if (nd == NULL || nd->type == T_NULL) {
        return b_add(b, T_NULL, NULL, 0);
    }
    return nd->type >= T_ARRAY ? b_copy(b, nd, NULL) : -ENOTSUP;
}

/* new.t_ms - old.t_ms + old.uptime_ms, in SQL: NULL if one is, a real past 64 bits. */
static int b_uptime(struct build *b, const struct node *t_new, const struct node *t_old,
                    const struct node *up_old)
{
    const struct node *in[] = { t_new, t_old, up_old };
    int64_t v[3];

    for (size_t i = 0; i < 3; i++) {
        if (in[i] == NULL || in[i]->type == T_NULL) {
            return b_add(b, T_NULL, NULL, 0);
        }
        if (as_int(in[i], &v[i]) != 0) {
            return -ENOTSUP;
        }
    }
    if (__builtin_sub_overflow(v[0], v[1], &v[0]) || __builtin_add_overflow(v[0], v[2], &v[0])) {
        return -ENOTSUP;
    }
    return b_int(b, v[0]);
}

/* "events": the new heartbeat's, else the stored ones without "pending" (json_remove). */
static int b_events(struct build *b, struct node *nw, struct node *old)
{
    struct node *ev = member(nw, "events");

    if (ev != NULL && ev->type != T_NULL) {
        return b_json(b, ev);
    }
    ev = member(old, "events");
    if (ev != NULL && ev->type == T_OBJECT) {
        return b_copy(b, ev, member(ev, "pending"));
    }
    return ev == NULL || ev->type == T_NULL ? b_add(b, T_NULL, NULL, 0) : -ENOTSUP;
}

static const char *const s_sticky[][2] = {
    { "\"interval_ms\"", "interval_ms" },
    { "\"firmware\"", "firmware" },
    { "\"board\"", "board" },
    { "\"arch\"", "arch" },
    { "\"config_sha256\"", "config_sha256" },
    { "\"rules_sha256\"", "rules_sha256" },
};

static int build_patch(struct wcol_hbmerge *m, struct node *nw, struct node *old)
{
    struct build b = { .nodes = m->nodes[DOC_PATCH],
                       .text = m->patch,
                       .text_cap = sizeof(m->patch) };
    struct node *health = member(nw, "health");
    unsigned loop;
    int rc = b_add(&b, T_OBJECT, NULL, 0);

    rc = rc ?: b_key(&b, "\"uptime_ms\"");
    rc = rc ?: b_uptime(&b, member(nw, "t_ms"), member(old, "t_ms"), member(old, "uptime_ms"));
    for (size_t i = 0; rc == 0 && i < sizeof(s_sticky) / sizeof(s_sticky[0]); i++) {
        rc = b_key(&b, s_sticky[i][0]);
        rc = rc ?: b_extracted(&b, member(old, s_sticky[i][1]));
    }
    rc = rc ?: b_key(&b, "\"loop\"");
    loop = b.n;
    rc = rc ?: b_add(&b, T_OBJECT, NULL, 0);
    rc = rc ?: b_key(&b, "\"lag_max_ms\"");
    rc = rc ?: b_extracted(&b, member(member(old, "loop"), "lag_max_ms"));
    if (rc == 0) {
        b.nodes[loop].n = b.n - loop - 1;
    }
    rc = rc ?: b_key(&b, "\"events\"");
    rc = rc ?: b_events(&b, nw, old);
    rc = rc ?: b_key(&b, "\"health\"");
    rc =
        rc ?: b_json(&b, health != NULL && health->type != T_NULL ? health : member(old, "health"));
    rc = rc ?: b_key(&b, "\"memory\"");
    rc = rc ?: b_json(&b, member(old, "memory"));
    if (rc == 0) {
        b.nodes[0].n = b.n - 1;
    }
    return rc;
}

/* ---- json_patch ---- */

/* @return whether it removed a member of obj or below (then obj is F_CHANGED). */
static bool remove_all_nulls(struct node *obj)
{
    bool changed = false;

    if (obj->flags & F_NULLS_GONE) {
        return (obj->flags & F_CHANGED) != 0; /* done before: it only ever sets marks */
    }
    obj->flags |= F_NULLS_GONE;
    for (uint32_t i = 2; i <= obj->n; i += node_size(&obj[i]) + 1) {
        if (obj[i].type == T_NULL) {
            obj[i].flags |= F_REMOVE;
            changed = true;
        } else if (obj[i].type == T_OBJECT) {
            changed |= remove_all_nulls(&obj[i]);
        }
    }
    obj->flags |= changed ? F_CHANGED : 0;
    return changed;
}

static int append(struct wcol_hbmerge *m, struct node *target, const struct node *key,
                  struct node *val)
{
    if (m->n_app >= WCOL_HBMERGE_NODES) {
        return -E2BIG;
    }
    int32_t a = (int32_t)m->n_app++;

    m->app[a] = (struct appended){ .key = key, .val = val, .next = -1 };
    if (target->app_tail >= 0) {
        m->app[target->app_tail].next = a;
    } else {
        target->app_head = a;
    }
    target->app_tail = a;
    return 0;
}

/* jsonMergePatch: the node to render for target (target itself, or a patch node). */
static int merge(struct wcol_hbmerge *m, struct node *target, struct node *patch,
                 struct node **result)
{
    *result = patch;
    if (patch->type != T_OBJECT) {
        return 0;
    }
    if (target->type != T_OBJECT) {
        remove_all_nulls(patch);
        return 0;
    }
    *result = target;
    target->flags |= F_CHANGED; /* whether it changes or not: every object above a change is */
    for (uint32_t i = 1; i < patch->n; i += node_size(&patch[i + 1]) + 1) {
        struct node *key = &patch[i], *val = &patch[i + 1];
        uint32_t j = 1;

        for (; j < target->n; j += node_size(&target[j + 1]) + 1) {
            struct node *tv = &target[j + 1];

            if (!same_key(&target[j], key)) {
                continue;
            }
            if (tv->flags & (F_REMOVE | F_PATCH)) {
                break;
            }
            if (val->type == T_NULL) {
                tv->flags |= F_REMOVE;
            } else {
                struct node *r;
                int rc = merge(m, tv, val, &r);

                if (rc != 0) {
                    return rc;
                }
                if (r != tv) {
                    tv->patch = r;
                    tv->flags |= F_PATCH;
                }
            }
            break;
        }
        if (j >= target->n && val->type != T_NULL) {
            int rc = append(m, target, key, val);

            if (rc != 0) {
                return rc;
            }
            remove_all_nulls(patch);
        }
    }
    return 0;
}

/*
 * ---- the sticky state: the stored document's members the patch is built from ----
 * After a merge the state of the document just made is kept for the device; the next merge
 * uses it instead of parsing the stored document, if that document is byte for byte the one
 * the state was taken from. Anything that wrote it since (the SQL merge, a rolled-back
 * request, a restore, another process on the same file) makes it differ: the stored document
 * is parsed then, as without the state. The state is made from the merged nodes (as they are
 * rendered) and is the nodes parsing the rendered text would give for these members, so the
 * patch, and the document, are the same either way.
 */

/* The state of a document just parsed (doc, its top object root): every node of a sticky
 * member is a node of root's, its text in doc. */
static bool keep_parsed(struct sticky *st, const struct node *root, const char *doc, size_t doc_len)
{
    if (doc_len > sizeof(st->doc)) {
        return false;
    }
    st->n_nodes = 1;
    st->nodes[0] = (struct cnode){ .type = T_OBJECT };
    for (uint32_t j = 1; j <= root->n; j += 1 + node_size(&root[j + 1])) {
        uint32_t end = j + 1 + node_size(&root[j + 1]);

        if (!sticky_key(&root[j])) {
            continue;
        }
        if (end - j > (uint32_t)(STICKY_NODES - st->n_nodes)) {
            return false;
        }
        for (uint32_t k = j; k < end; k++) {
            const struct node *nd = &root[k];

            st->nodes[st->n_nodes++] =
                (struct cnode){ .type = nd->type,
                                .height = nd->height,
                                .n = (uint16_t)nd->n,
                                .off = (uint16_t)(nd->len > 0 ? nd->s - doc : 0),
                                .len = (uint16_t)nd->len };
        }
    }
    st->nodes[0].n = (uint16_t)(st->n_nodes - 1);
    memcpy(st->doc, doc, doc_len);
    st->doc_len = (uint16_t)doc_len;
    return true;
}

/* The state as the stored document's nodes (only its sticky members): DOC_OLD. */
static struct node *load_state(struct wcol_hbmerge *m, const struct sticky *st)
{
    struct node *nodes = m->nodes[DOC_OLD];

    for (unsigned i = 0; i < st->n_nodes; i++) {
        const struct cnode *c = &st->nodes[i];

        nodes[i] = (struct node){ .type = c->type,
                                  .height = c->height,
                                  .n = c->n,
                                  .s = st->doc + c->off,
                                  .len = c->len,
                                  .app_head = -1,
                                  .app_tail = -1 };
    }
    return nodes;
}

/* Forget the device's state: the document stored now is not one this merge made. */
static void forget(struct wcol_hbmerge *m, const char *dev, size_t dev_len)
{
    struct sticky *st =
        m->devices != NULL && dev != NULL ? wcol_sticky_find(m->devices, dev, dev_len) : NULL;

    if (st != NULL) {
        st->valid = false;
    }
}

/* Make st, filled in, the device's state; if `valid` (parsing its document again would
 * succeed), else forget the device's. */
static void remember(struct wcol_hbmerge *m, const char *dev, size_t dev_len, struct sticky *st,
                     bool valid)
{
    if (!valid) {
        forget(m, dev, dev_len);
        return;
    }
    st->valid = true;
    st->gen = m->gen;
    m->spare = wcol_sticky_put(m->devices, dev, dev_len, st);
}

/* The stored document's nodes: the device's state if old is its document, else parsed. */
static int stored_doc(struct wcol_hbmerge *m, const char *dev, size_t dev_len, const char *old,
                      size_t old_len, struct node **root)
{
    const struct sticky *st =
        m->devices != NULL && dev != NULL ? wcol_sticky_find(m->devices, dev, dev_len) : NULL;

    if (st != NULL && st->valid && st->doc_len == old_len && memcmp(st->doc, old, old_len) == 0) {
        m->hits++;
        *root = load_state(m, st);
        return 0;
    }
    if (m->devices != NULL && dev != NULL) {
        *(st != NULL && st->valid ? &m->stale : &m->misses) += 1;
    }
    return parse_doc(m->nodes[DOC_OLD], old, old_len, root);
}

/*
 * ---- liveness: a heartbeat that changes only seq, t_ms and uptime_ms ----
 * An idle agent's compact heartbeat is {"v":V,"seq":S,"t_ms":T,"config":"C"}. Merged, it is
 * those four members, then the patch built from the stored document: uptime_ms (T minus the
 * stored t_ms plus the stored uptime_ms), then the stored sticky members, events, health and
 * memory as the stored document has them. When the stored document is itself such a merge
 * (with the same V and C), the patch renders its own tail again: the merge changes seq, t_ms
 * and uptime_ms only, and S and T are all the caller needs to keep.
 */
struct lv_head {
    const char *v, *config, *rest; /* spans in the document; rest: after C's closing quote */
    size_t v_len, config_len;
    int64_t seq, t_ms;
};

static bool lv_lit(const char **p, const char *end, const char *lit, size_t n)
{
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0) {
        return false;
    }
    *p += n;
    return true;
}

/* An integer as the agents write it: no sign, no leading zero, at most 15 digits. */
static bool lv_int(const char **p, const char *end, int64_t *v)
{
    const char *s = *p;
    int64_t x = 0;

    while (*p < end && **p >= '0' && **p <= '9' && *p - s < 16) {
        x = x * 10 + (**p - '0');
        (*p)++;
    }
    if (*p == s || *p - s > 15 || (*p - s > 1 && *s == '0') ||
        (*p < end && **p >= '0' && **p <= '9')) {
        return false;
    }
    *v = x;
    return true;
}

/* A string without escapes or control bytes, quotes included. */
static bool lv_str(const char **p, const char *end)
{
    const char *s = *p;

    if (s >= end || *s != '"') {
        return false;
    }
    for (s++; s < end && *s != '"'; s++) {
        if (*s == '\\' || (unsigned char)*s < 0x20) {
            return false;
        }
    }
    if (s >= end) {
        return false;
    }
    *p = s + 1;
    return true;
}

/* {"v":V,"seq":S,"t_ms":T,"config":"C" at the start of d. */
static bool lv_parse(const char *d, size_t len, struct lv_head *h)
{
    const char *p = d, *end = d + len;
    int64_t v;

    if (!lv_lit(&p, end, "{\"v\":", 5)) {
        return false;
    }
    h->v = p;
    if (!lv_int(&p, end, &v)) {
        return false;
    }
    h->v_len = (size_t)(p - h->v);
    if (!lv_lit(&p, end, ",\"seq\":", 7) || !lv_int(&p, end, &h->seq) ||
        !lv_lit(&p, end, ",\"t_ms\":", 8) || !lv_int(&p, end, &h->t_ms) ||
        !lv_lit(&p, end, ",\"config\":", 10)) {
        return false;
    }
    h->config = p;
    if (!lv_str(&p, end)) {
        return false;
    }
    h->config_len = (size_t)(p - h->config);
    h->rest = p;
    return p < end && (*p == '}' || *p == ',');
}

bool wcol_hbmerge_liveness(struct wcol_hbmerge *m, const char *dev, size_t dev_len, const char *nw,
                           size_t nw_len, int64_t *seq, int64_t *t_ms)
{
    struct lv_head n, o;
    const struct sticky *st;
    const char *p, *end;
    int64_t uptime;

    if (m->devices == NULL || dev == NULL || !lv_parse(nw, nw_len, &n) ||
        n.rest != nw + nw_len - 1) {
        return false;
    }
    st = wcol_sticky_find(m->devices, dev, dev_len);
    if (st == NULL || !st->valid || !st->pure || st->gen != m->gen ||
        !lv_parse(st->doc, st->doc_len, &o) || o.v_len != n.v_len ||
        memcmp(o.v, n.v, n.v_len) != 0 || o.config_len != n.config_len ||
        memcmp(o.config, n.config, n.config_len) != 0) {
        return false;
    }
    p = o.rest;
    end = st->doc + st->doc_len;
    if (!lv_lit(&p, end, ",\"uptime_ms\":", 13) || !lv_int(&p, end, &uptime) || p >= end ||
        (*p != ',' && *p != '}')) {
        return false;
    }
    m->liveness++;
    *seq = n.seq;
    *t_ms = n.t_ms;
    return true;
}

void wcol_hbmerge_distrust(struct wcol_hbmerge *m)
{
    m->gen++;
}

void wcol_hbmerge_forget(struct wcol_hbmerge *m, const char *dev, size_t dev_len)
{
    forget(m, dev, dev_len);
}

int wcol_hbmerge_run(struct wcol_hbmerge *m, const char *dev, size_t dev_len, const char *old,
                     size_t old_len, const char *nw, size_t nw_len, const char **out,
                     size_t *out_len)
{
    struct node *n_root, *o_root, *result;
    struct out o = { .b = m->out, .cap = sizeof(m->out) };
    bool keep = m->devices != NULL && dev != NULL;
    int rc = parse_doc(m->nodes[DOC_NEW], nw, nw_len, &n_root);

    if (rc != 0) {
        forget(m, dev, dev_len);
        return rc;
    }
    struct node *config = member(n_root, "config_sha256");

    if (config != NULL && config->type != T_NULL) {
        if (keep) { /* stored as it came, and parsed (n_root): its state is at hand */
            m->spare->pure = false;
            remember(m, dev, dev_len, m->spare, keep_parsed(m->spare, n_root, nw, nw_len));
        }
        return 1; /* a full heartbeat is stored as it came */
    }
    m->n_app = 0;
    rc = stored_doc(m, dev, dev_len, old, old_len, &o_root);
    rc = rc ?: build_patch(m, n_root, o_root);
    rc = rc ?: merge(m, n_root, m->nodes[DOC_PATCH], &result);
    if (rc == 0) {
        render_top(m, &o, result, keep ? m->spare : NULL);
        rc = o.over ? -E2BIG : 0;
    }
    if (rc != 0) {
        forget(m, dev, dev_len);
        return rc;
    }
    if (keep) { /* parsing the text again declines past these bounds: then no state */
        struct lv_head h;

        o.keep->pure = lv_parse(nw, nw_len, &h) && h.rest == nw + nw_len - 1;
        remember(m, dev, dev_len, o.keep,
                 !o.keep_over && o.n <= sizeof(o.keep->doc) && o.count <= WCOL_HBMERGE_NODES &&
                     !o.deep);
    }
    *out = o.b;
    *out_len = o.n;
    return 0;
}
