/* Configuration file scanner (ward/base/conf.h). */
#include <errno.h>
#include <string.h>

#include "ward/base/conf.h"

void ward_conf_init(struct ward_conf *c, const char *text, size_t len)
{
    c->text = text;
    c->len = len;
    c->pos = 0;
    c->line = 0;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static bool is_key_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* [*b, *e) without blanks at either end. */
static void trim(const char **b, const char **e)
{
    while (*b < *e && is_blank(**b)) {
        (*b)++;
    }
    while (*e > *b && is_blank((*e)[-1])) {
        (*e)--;
    }
}

static int copy(char *dst, size_t cap, const char *b, const char *e)
{
    size_t n = (size_t)(e - b);

    if (n > cap) {
        return -E2BIG;
    }
    memcpy(dst, b, n);
    dst[n] = '\0';
    return 0;
}

/* One line [b, e) that is neither blank nor a comment. */
static int parse_line(const char *b, const char *e, struct ward_conf_setting *s, const char **why)
{
    const char *k = b;
    const char *eq = memchr(b, '=', (size_t)(e - b));
    const char *ke;

    if (eq == NULL) {
        *why = "expected 'key = value'";
        return -EINVAL;
    }
    ke = eq;
    trim(&k, &ke);
    for (const char *p = k; p < ke; p++) {
        if (!is_key_char(*p)) {
            *why = "a key is lower-case letters, digits and '-'";
            return -EINVAL;
        }
    }
    if (k == ke) {
        *why = "no key before '='";
        return -EINVAL;
    }
    b = eq + 1;
    trim(&b, &e);
    if (e - b >= 2 && *b == '"' && e[-1] == '"') {
        b++;
        e--;
    } else if (memchr(b, '"', (size_t)(e - b)) != NULL) {
        *why = "a quoted value must start and end with '\"'";
        return -EINVAL;
    }
    if (copy(s->key, WARD_CONF_KEY_MAX, k, ke) != 0) {
        *why = "key too long";
        return -E2BIG;
    }
    if (copy(s->value, WARD_CONF_VALUE_MAX, b, e) != 0) {
        *why = "value too long";
        return -E2BIG;
    }
    return 1;
}

int ward_conf_next(struct ward_conf *c, struct ward_conf_setting *s, const char **why)
{
    static const char *unused;

    why = why != NULL ? why : &unused;
    while (c->pos < c->len) {
        const char *b = c->text + c->pos;
        const char *nl = memchr(b, '\n', c->len - c->pos);
        const char *e = nl != NULL ? nl : c->text + c->len;

        c->line++;
        c->pos = (size_t)(e - c->text) + (nl != NULL ? 1 : 0);
        for (const char *p = b; p < e; p++) {
            if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\r') {
                *why = "control character in the line";
                return -EILSEQ;
            }
        }
        trim(&b, &e);
        if (b == e || *b == '#') {
            continue;
        }
        s->line = c->line;
        return parse_line(b, e, s, why);
    }
    return 0;
}

int ward_conf_bool(const char *value, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(value, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(value, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}
