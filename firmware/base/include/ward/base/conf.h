/*
 * Configuration files of ward-agent, ward-collector and wardctl (ward.conf(5)): one setting per
 * line, `key = value`, where key is a long option's name without its dashes. Blank lines and
 * lines whose first non-blank character is '#' are ignored; the value runs to the end of the
 * line, blanks around it dropped, and may be written in double quotes to keep them.
 *
 * This is only the scanner: it walks a buffer the caller read and owns, and hands out each
 * setting with its line number. Which keys exist, and what a value means, is each program's
 * option table, so every flag has a key and a new option gets one for free.
 */
#ifndef WARD_BASE_CONF_H_
#define WARD_BASE_CONF_H_

#include <stdbool.h>
#include <stddef.h>

#define WARD_CONF_KEY_MAX   64u   /* longest key, without the NUL */
#define WARD_CONF_VALUE_MAX 4096u /* longest value, without the NUL */

struct ward_conf {
    const char *text; /* the file's bytes (need not be NUL-terminated) */
    size_t len;
    size_t pos;
    unsigned line; /* of the setting last returned, or of the error */
};

struct ward_conf_setting {
    char key[WARD_CONF_KEY_MAX + 1];
    char value[WARD_CONF_VALUE_MAX + 1];
    unsigned line;
};

void ward_conf_init(struct ward_conf *c, const char *text, size_t len);

/**
 * The next setting, NUL-terminated copies in s.
 * @return 1 with s filled; 0 at the end of the text; -EINVAL for a line that is not
 *         `key = value` (c->line says which; *why one short reason), -E2BIG for a key or value
 *         past its maximum, -EILSEQ for a NUL or other control character in a line.
 */
int ward_conf_next(struct ward_conf *c, struct ward_conf_setting *s, const char **why);

/**
 * A boolean value: true, yes, on, 1 / false, no, off, 0.
 * @return 0 with *out set, -EINVAL for anything else.
 */
int ward_conf_bool(const char *value, bool *out);

#endif /* WARD_BASE_CONF_H_ */
