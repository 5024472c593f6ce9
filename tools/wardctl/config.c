/*
 * wardctl's defaults (wardctl.h): where the URL, the CA and the token come from when the
 * command line does not say. In order: the option, the environment (WARD_URL, WARD_TOKEN (the
 * token itself), WARD_CA; the older WARDCTL_* names too), the configuration file (--config FILE,
 * else $XDG_CONFIG_HOME/ward/wardctl.conf or ~/.config/ward/wardctl.conf, else
 * /etc/ward/wardctl.conf, the first that exists; keys are the global options without '--'),
 * then the PKI directory (its ca.crt, and its one token).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conffile.h"
#include "wardctl.h"

/* The settings a file may hold: wardctl's global options. */
static const struct {
    const char *key;
    size_t off;
} s_keys[] = {
    { "url", offsetof(struct opts, url) },
    { "ca", offsetof(struct opts, ca) },
    { "token-file", offsetof(struct opts, token_file) },
    { "pki", offsetof(struct opts, pki) },
    { "timeout", offsetof(struct opts, timeout_ms) },
};

#define N_KEYS (sizeof(s_keys) / sizeof(s_keys[0]))

struct file_ctx {
    struct opts *f;
    unsigned seen[N_KEYS];
};

static int on_setting(void *ctx, const char *path, const struct ward_conf_setting *s)
{
    struct file_ctx *fc = ctx;
    size_t k = 0;

    while (k < N_KEYS && strcmp(s_keys[k].key, s->key) != 0) {
        k++;
    }
    if (k == N_KEYS) {
        fprintf(stderr,
                "wardctl: %s:%u: unknown key '%s' (keys: url, ca, token-file, pki, "
                "timeout)\n",
                path, s->line, s->key);
        return -EINVAL;
    }
    if (fc->seen[k] != 0) {
        fprintf(stderr, "wardctl: %s:%u: '%s' is already set on line %u\n", path, s->line, s->key,
                fc->seen[k]);
        return -EINVAL;
    }
    fc->seen[k] = s->line;
    if (s_keys[k].off == offsetof(struct opts, timeout_ms)) {
        char *end;
        double v = strtod(s->value, &end);

        /* at most what fits in an int of milliseconds (24.8 days) */
        if (s->value[0] == '\0' || *end != '\0' || v <= 0 || v > INT_MAX / 1000) {
            fprintf(stderr,
                    "wardctl: %s:%u: timeout wants a positive number of seconds up to %d, "
                    "not '%s'\n",
                    path, s->line, INT_MAX / 1000, s->value);
            return -EINVAL;
        }
        fc->f->timeout_ms = (int)(v * 1000);
        return 0;
    }
    static char *kept[N_KEYS]; /* lives until exit, reachable (no leak report) */
    char *v = strdup(s->value);

    if (v == NULL) {
        return -ENOMEM;
    }
    free(kept[k]);
    kept[k] = v;
    *(const char **)(void *)((char *)fc->f + s_keys[k].off) = v;
    return 0;
}

/* --config, else the first default that exists, else NULL. */
static const char *config_path(const char *given)
{
    static char user[4096];
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");

    if (given != NULL) {
        return given;
    }
    if (xdg != NULL && xdg[0] == '/') {
        snprintf(user, sizeof(user), "%s/ward/wardctl.conf", xdg);
    } else if (home != NULL && home[0] == '/') {
        snprintf(user, sizeof(user), "%s/.config/ward/wardctl.conf", home);
    }
    if (user[0] != '\0' && access(user, F_OK) == 0) {
        return user;
    }
    return access(WARDCTL_CONFIG_SYSTEM, F_OK) == 0 ? WARDCTL_CONFIG_SYSTEM : NULL;
}

/* The names of PKI/tokens/NAME.token, for the choice when there is not exactly one. */
static void say_token_choice(const char *pki)
{
    char dir[4096], names[512] = "";
    struct dirent *e;
    unsigned n = 0;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/tokens", pki);
    d = opendir(dir);
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name), used = strlen(names);

        if (l > 6 && strcmp(e->d_name + l - 6, ".token") == 0) {
            if (used + l + 3 < sizeof(names)) {
                snprintf(names + used, sizeof(names) - used, "%s%.*s", n > 0 ? ", " : "",
                         (int)(l - 6), e->d_name);
            }
            n++;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    if (n == 0) {
        fprintf(stderr,
                "wardctl: no token: wardctl login USER, or give --token-file FILE or "
                "WARD_TOKEN (ward-pki token NAME makes one in %s/tokens)\n",
                pki);
    } else {
        fprintf(stderr,
                "wardctl: %u tokens in %s (%s): choose one with --token-file %s/NAME.token "
                "or WARD_TOKEN\n",
                n, dir, names, dir);
    }
}

/* The session of wardctl login (access.c), when there is one. */
static const char *session_file(void)
{
    const char *path = session_path();

    return path != NULL && access(path, R_OK) == 0 ? path : NULL;
}

int resolve_defaults(struct opts *o, char *token, size_t token_cap)
{
    static char ca_buf[4096], token_buf[4096];
    struct opts f = { .timeout_ms = 0 };
    struct file_ctx fc = { .f = &f };
    const char *path = config_path(o->config);
    const char *env_token = getenv("WARD_TOKEN");

    if (path != NULL && wcol_conffile_read("wardctl", path, on_setting, &fc) != 0) {
        return 2;
    }
    o->url = o->url ?: getenv("WARD_URL") ?: getenv("WARDCTL_URL") ?: f.url ?: DEFAULT_URL;
    o->pki = o->pki ?: getenv("WARD_PKI_DIR") ?: f.pki ?: "var/pki";
    o->timeout_ms = o->timeout_ms ?: f.timeout_ms ?: DEFAULT_TIMEOUT;
    o->ca = o->ca ?: getenv("WARD_CA") ?: getenv("WARDCTL_CA") ?: f.ca;
    if (o->ca == NULL) {
        snprintf(ca_buf, sizeof(ca_buf), "%s/ca.crt", o->pki);
        o->ca = ca_buf;
    }
    token[0] = '\0';
    if (o->anonymous && o->token_file == NULL) {
        return 0; /* login: no credential yet */
    }
    if (o->token_file == NULL && env_token != NULL) {
        if (env_token[0] == '\0' || strlen(env_token) >= token_cap ||
            strpbrk(env_token, " \t\r\n") != NULL) {
            fprintf(stderr,
                    "wardctl: WARD_TOKEN is not a token (one word, at most %zu "
                    "characters)\n",
                    token_cap - 1);
            return 2;
        }
        snprintf(token, token_cap, "%s", env_token);
        return 0;
    }
    o->token_file = o->token_file ?: getenv("WARDCTL_TOKEN_FILE") ?: session_file() ?: f.token_file;
    if (o->token_file == NULL) {
        if (find_token_file(o->pki, token_buf, sizeof(token_buf)) != 0) {
            say_token_choice(o->pki);
            return 2;
        }
        o->token_file = token_buf;
    }
    return 0;
}
