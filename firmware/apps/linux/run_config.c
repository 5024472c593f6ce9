/* ward-agent run's configuration file and its reload (run_config.h). */
#include "ward/base/config.h"

#if IS_ENABLED(CONFIG_WARD_TRANSPORT)

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ward/base/conf.h"
#include "ward/rules.h"

#include "run_config.h"
#include "run_log.h"
#include "run_stderr.h"

#define MAX_KEYS 64 /* options in run's table */

/* One configuration as read: the file's values, NUL-separated, that struct opts points into. */
struct conf_slot {
    char text[RUN_CONFIG_MAX + 1];
    char values[RUN_CONFIG_MAX + 1];
    size_t used;
};

static struct conf_slot s_slot[2];
static int s_live; /* the slot the running opts point into */
static struct opts s_cli;
static struct opts s_running;
static const struct opt_spec *s_table;
static size_t s_n;
static char s_rules_text[RUN_RULES_RELOAD_MAX + 1];

/* err.msg without its own "line N: ", since the caller prints path:line first. */
static const char *rules_msg(const struct ward_rules_error *err)
{
    const char *m = err->msg;

    if (strncmp(m, "line ", 5) == 0 && strstr(m, ": ") != NULL) {
        m = strstr(m, ": ") + 2;
    }
    return m;
}

static const char *const k_levels[] = { "error", "warn", "info", "debug" };

int run_config_log_level(const char *name, enum run_log_level *out)
{
    for (size_t i = 0; i < sizeof(k_levels) / sizeof(k_levels[0]); i++) {
        if (strcmp(name, k_levels[i]) == 0) {
            *out = (enum run_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* Read path into buf[cap + 1], NUL-terminated. @return bytes, or a negative errno. */
static long read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;

    if (fd < 0) {
        return -errno;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, cap + 1 - len);

        if (n < 0) {
            int err = errno;

            close(fd);
            return -err;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (len > cap) {
            close(fd);
            return -EFBIG;
        }
    }
    close(fd);
    buf[len] = '\0';
    return (long)len;
}

/* Store one value of the file in the field of opt. @return 0 or -EINVAL (why set). */
static int set_field(struct opts *o, const struct opt_spec *opt, const char *v, const char **why)
{
    void *field = (char *)o + opt->off;
    char *end;

    switch (opt->kind) {
    case OPT_TEXT:
        *(const char **)field = v;
        return 0;
    case OPT_FLAG:
        *why = "wants true or false";
        return ward_conf_bool(v, (bool *)field);
    case OPT_SECONDS:
        *(long *)field = strtol(v, &end, 10);
        *why = "wants a positive number of seconds";
        return (*v == '\0' || *end != '\0' || *(long *)field <= 0) ? -EINVAL : 0;
    case OPT_MS:
        *(uint64_t *)field = strtoull(v, &end, 10);
        *why = "wants a number of milliseconds";
        return (*v == '\0' || *v == '-' || *end != '\0') ? -EINVAL : 0;
    }
    return -EINVAL;
}

/* Whether cli gave opt (every field starts zeroed, so set means not zero). */
static bool given(const struct opts *o, const struct opt_spec *opt)
{
    const char *p = (const char *)o + opt->off;

    switch (opt->kind) {
    case OPT_TEXT:
        return *(const char *const *)(const void *)p != NULL;
    case OPT_FLAG:
        return *(const bool *)(const void *)p;
    case OPT_SECONDS:
        return *(const long *)(const void *)p != 0;
    case OPT_MS:
        return *(const uint64_t *)(const void *)p != 0;
    }
    return false;
}

static size_t field_size(enum opt_kind kind)
{
    switch (kind) {
    case OPT_FLAG:
        return sizeof(bool);
    case OPT_TEXT:
        return sizeof(const char *);
    case OPT_SECONDS:
        return sizeof(long);
    case OPT_MS:
        return sizeof(uint64_t);
    }
    return 0;
}

static void copy_field(struct opts *dst, const struct opts *src, const struct opt_spec *opt)
{
    memcpy((char *)dst + opt->off, (const char *)src + opt->off, field_size(opt->kind));
}

static bool same_field(const struct opts *a, const struct opts *b, const struct opt_spec *opt)
{
    const void *pa = (const char *)a + opt->off;
    const void *pb = (const char *)b + opt->off;

    if (opt->kind == OPT_TEXT) {
        const char *sa = *(const char *const *)pa;
        const char *sb = *(const char *const *)pb;

        return sa == NULL || sb == NULL ? sa == sb : strcmp(sa, sb) == 0;
    }
    return memcmp(pa, pb, field_size(opt->kind)) == 0;
}

/* Options that only the command line can give. */
static bool cli_only(const char *key)
{
    return strcmp(key, "config") == 0 || strcmp(key, "check-config") == 0;
}

static const struct opt_spec *lookup(const char *key)
{
    char name[WARD_CONF_KEY_MAX + 3];

    snprintf(name, sizeof(name), "--%s", key);
    return opt_find(s_table, s_n, name);
}

/* One setting of path into o, its value kept in slot. @return 0 or -EINVAL (said). */
static int apply_setting(const char *path, struct conf_slot *slot,
                         const struct ward_conf_setting *s, unsigned *seen, struct opts *o)
{
    const struct opt_spec *opt = lookup(s->key);
    size_t vlen = strlen(s->value);
    const char *why = NULL;

    if (opt == NULL || cli_only(s->key)) {
        fprintf(stderr,
                "ward-agent: %s:%u: %s key '%s' (keys are run's options without '--', "
                "see ward-agent run --help)\n",
                path, s->line, opt == NULL ? "unknown" : "command-line only", s->key);
        return -EINVAL;
    }
    if (seen[opt - s_table] != 0) {
        fprintf(stderr, "ward-agent: %s:%u: '%s' is already set on line %u\n", path, s->line,
                s->key, seen[opt - s_table]);
        return -EINVAL;
    }
    seen[opt - s_table] = s->line;
    memcpy(slot->values + slot->used, s->value, vlen + 1);
    if (set_field(o, opt, slot->values + slot->used, &why) != 0) {
        fprintf(stderr, "ward-agent: %s:%u: %s %s, not '%s'\n", path, s->line, s->key, why,
                s->value);
        return -EINVAL;
    }
    slot->used += vlen + 1;
    return 0;
}

/* The file's settings into o (zeroed first). @return 0, -ENOENT (no file), other -errno (said). */
static int read_config(const char *path, struct conf_slot *slot, struct opts *o)
{
    struct ward_conf c;
    struct ward_conf_setting s;
    unsigned seen[MAX_KEYS] = { 0 };
    const char *why = "";
    long len = read_file(path, slot->text, RUN_CONFIG_MAX);
    int rc;

    memset(o, 0, sizeof(*o));
    slot->used = 0;
    if (len < 0) {
        fprintf(stderr, "ward-agent: cannot read configuration %s: %s\n", path,
                len == -EFBIG ? "larger than 32 KiB" : strerror((int)-len));
        return (int)len;
    }
    ward_conf_init(&c, slot->text, (size_t)len);
    while ((rc = ward_conf_next(&c, &s, &why)) > 0) {
        if ((rc = apply_setting(path, slot, &s, seen, o)) != 0) {
            return rc;
        }
    }
    if (rc < 0) {
        fprintf(stderr, "ward-agent: %s:%u: %s\n", path, c.line, why);
    }
    return rc;
}

/* File (if any) under the command line into o. @return 0 or a negative errno (said). */
static int build(struct conf_slot *slot, struct opts *o)
{
    const char *path = s_cli.config;
    int rc;

    if (path == NULL && access(RUN_CONFIG_DEFAULT, F_OK) == 0) {
        path = RUN_CONFIG_DEFAULT;
    }
    memset(o, 0, sizeof(*o));
    if (path != NULL && (rc = read_config(path, slot, o)) != 0) {
        return rc;
    }
    for (size_t i = 0; i < s_n; i++) {
        if (given(&s_cli, &s_table[i])) {
            copy_field(o, &s_cli, &s_table[i]);
        }
    }
    o->config = path;
    if (o->log_level != NULL) {
        enum run_log_level lvl;

        if (run_config_log_level(o->log_level, &lvl) != 0) {
            fprintf(stderr, "ward-agent: log-level is error, warn, info or debug, not '%s'\n",
                    o->log_level);
            return -EINVAL;
        }
    }
    return 0;
}

int run_config_load(struct opts *o, const struct opts *cli, const struct opt_spec *table, size_t n)
{
    if (n > MAX_KEYS) {
        fprintf(stderr, "ward-agent: run has more than %d options\n", MAX_KEYS);
        return 2;
    }
    s_cli = *cli;
    s_table = table;
    s_n = n;
    s_live = 0;
    if (build(&s_slot[0], o) != 0) {
        return 2;
    }
    if (o->root != NULL && access(o->root, R_OK | X_OK) != 0) {
        fprintf(stderr, "ward-agent: --root %s: %s (a directory holding sys/ and proc/)\n", o->root,
                strerror(errno));
        return 2;
    }
    s_running = *o;
    if (o->log_level != NULL) {
        enum run_log_level lvl = RUN_LOG_INFO;

        (void)run_config_log_level(o->log_level, &lvl);
        run_log_set_level(lvl);
    }
    return 0;
}

static int check_readable(const char *what, const char *path)
{
    if (path != NULL && access(path, R_OK) != 0) {
        fprintf(stderr, "ward-agent: %s %s: %s\n", what, path, strerror(errno));
        return 1;
    }
    return 0;
}

static int check_rules(const char *path)
{
    struct ward_rules_error err;
    long len;
    int rc;

    if (path == NULL) {
        return 0;
    }
    len = read_file(path, s_rules_text, RUN_RULES_RELOAD_MAX);
    if (len < 0) {
        fprintf(stderr, "ward-agent: cannot read rules %s: %s\n", path,
                len == -EFBIG ? "larger than 64 KiB" : strerror((int)-len));
        return (int)len;
    }
    memset(&err, 0, sizeof(err));
    rc = ward_rules_parse(s_rules_text, (size_t)len, NULL, WARD_HEALTH_MAX_RULES, NULL, &err);
    if (rc < 0) {
        fprintf(stderr, "ward-agent: %s:%u: %s\n", path, err.line, rules_msg(&err));
        return rc;
    }
    return 0;
}

int run_config_check(const struct opts *o)
{
    int bad = check_readable("--ca", o->ca) + check_readable("--cert", o->cert) +
              check_readable("--key", o->key) + check_readable("--scenario", o->scenario);

    bad += check_rules(o->rules) != 0;
    if (bad == 0) {
        printf("ward-agent: configuration ok (%s)\n",
               o->config != NULL ? o->config : "command line only");
    }
    return bad == 0 ? 0 : 1;
}

/* Name each option whose value differs; those that cannot change now, as such. */
static unsigned log_changes(const struct opts *now, const struct opts *next, bool *restart)
{
    unsigned changed = 0;

    for (size_t i = 0; i < s_n; i++) {
        const struct opt_spec *opt = &s_table[i];
        bool live = opt->off == offsetof(struct opts, rules) ||
                    opt->off == offsetof(struct opts, log_level);

        if (!same_field(now, next, opt)) {
            fprintf(stderr, "ward-agent: SIGHUP: %s changed%s\n", opt->name + 2,
                    live ? "" : " (takes effect at the next start)");
            changed++;
            *restart = *restart || !live;
        }
    }
    return changed;
}

static int reload_rules(struct run *r, const char *path, int64_t now)
{
    struct ward_rules_error err;
    int rc = check_rules(path);

    if (rc != 0 || path == NULL) {
        return rc;
    }
    memset(&err, 0, sizeof(err));
    rc = ward_agent_load_rules(&r->agent, s_rules_text, strlen(s_rules_text), &err, now);
    if (rc < 0) {
        fprintf(stderr, "ward-agent: %s:%u: %s\n", path, err.line, rules_msg(&err));
        return rc;
    }
    run_stderr_mark(RUN_LOG_INFO);
    fprintf(stderr, "ward-agent: SIGHUP: rules %s loaded: %d rules\n", path, rc);
    return 0;
}

int run_config_reload(struct run *r, int64_t now)
{
    int next = 1 - s_live;
    struct opts o;
    bool restart = false;
    enum run_log_level lvl = RUN_LOG_INFO;
    int rc;

    run_stderr_mark(RUN_LOG_ERROR); /* what fails below is an error line */
    rc = build(&s_slot[next], &o);

    if (rc == 0 && o.rules == NULL && s_running.rules != NULL) {
        fprintf(stderr, "ward-agent: rules cannot be removed while running (restart without "
                        "them)\n");
        rc = -EINVAL;
    }
    rc = rc ?: reload_rules(r, o.rules, now);
    if (rc != 0) {
        fprintf(stderr, "ward-agent: SIGHUP: reload failed (see above); the running "
                        "configuration is kept\n");
        run_stderr_unmark();
        return rc;
    }
    run_stderr_mark(RUN_LOG_INFO);
    unsigned changed = log_changes(&s_running, &o, &restart);

    if (o.log_level != NULL && run_config_log_level(o.log_level, &lvl) == 0) {
        run_log_set_level(lvl);
    }
    fprintf(stderr, "ward-agent: SIGHUP: configuration %s reloaded, %u option%s changed%s\n",
            o.config != NULL ? o.config : "(command line)", changed, changed == 1 ? "" : "s",
            restart ? "; restart for the rest" : "");
    s_running = o;
    s_live = next;
    run_stderr_unmark();
    return 0;
}

#endif /* CONFIG_WARD_TRANSPORT */
