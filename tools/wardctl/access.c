/*
 * Accounts, tokens and the audit log (docs/security.md): login, logout, user, token, audit.
 * A login's session token is kept in the session file (session_path(): $WARD_SESSION_FILE,
 * else ~/.config/ward/session), mode 0600, which later commands use when no --token-file or
 * WARD_TOKEN says otherwise. Secrets are read from files or the terminal, never argv.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/secret.h"
#include "safe.h"
#include "table.h"

#include "wardctl.h"

const char *session_path(void)
{
    static char buf[4096];
    const char *env = getenv("WARD_SESSION_FILE");
    const char *home = getenv("HOME");

    if (env != NULL && env[0] != '\0') {
        return env;
    }
    if (home == NULL || home[0] == '\0') {
        return NULL;
    }
    snprintf(buf, sizeof(buf), "%s/.config/ward/session", home);
    return buf;
}

static int secret(const char *file, const char *what, char *out, size_t cap)
{
    return wcol_read_secret("wardctl", file, what, out, cap);
}

/* An actor or action of the audit log: it goes into a query string unescaped. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:") == n;
}

/* POST body (or GET when NULL) and return the parsed answer, or NULL after one error line. */
static cJSON *call(struct client *c, const char *path, cJSON *body, const char *what)
{
    char *post = body != NULL ? cJSON_PrintUnformatted(body) : NULL;
    char *raw = NULL;
    size_t len;
    int status = client_request(c, path, body != NULL ? (post ? post : "{}") : NULL, &raw, &len);

    if (post != NULL) {
        explicit_bzero(post, strlen(post));
        free(post);
    }
    cJSON_Delete(body);
    if (status != 200) {
        fail_status(c, status, status > 0 ? raw : NULL, what);
        free(raw);
        return NULL;
    }
    cJSON *doc = cJSON_Parse(raw);

    free(raw);
    if (doc == NULL) {
        fprintf(stderr, "wardctl: %s: the answer is not JSON\n", what);
    }
    return doc;
}

static int save_session(const char *token)
{
    const char *path = session_path();
    char dir[4096];

    if (path == NULL) {
        fprintf(stderr, "wardctl: no session file: set WARD_SESSION_FILE or HOME\n");
        return -ENOENT;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');

    if (getenv("WARD_SESSION_FILE") == NULL && slash != NULL) { /* ~/.config/ward */
        *slash = '\0';
        char *cfg = strrchr(dir, '/');

        if (cfg != NULL) {
            *cfg = '\0';
            (void)mkdir(dir, 0700);
            *cfg = '/';
        }
        (void)mkdir(dir, 0700);
    }
    (void)unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd < 0 || dprintf(fd, "%s\n", token) < 0 || fsync(fd) != 0) {
        fprintf(stderr, "wardctl: cannot write the session file %s: %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -EIO;
    }
    close(fd);
    return 0;
}

int cmd_login(struct client *c, const struct opts *o, const char *arg)
{
    char pw[160], code[16];
    double exp = 0;

    if (arg == NULL) {
        die_usage("login USER");
    }
    if (secret(o->password_file, "password", pw, sizeof(pw)) != 0) {
        return 1;
    }
    if (o->totp != NULL) {
        snprintf(code, sizeof(code), "%s", o->totp);
    } else if (secret(NULL, "TOTP code", code, sizeof(code)) != 0) {
        return 1;
    }
    cJSON *b = cJSON_CreateObject();

    cJSON_AddStringToObject(b, "user", arg);
    cJSON_AddStringToObject(b, "password", pw);
    cJSON_AddStringToObject(b, "totp", code);
    explicit_bzero(pw, sizeof(pw));
    cJSON *doc = call(c, "/v1/login", b, "login");
    const char *token = jstr(doc, "token");

    if (token == NULL || save_session(token) != 0) {
        cJSON_Delete(doc);
        return 1;
    }
    jnum(doc, "expires_ms", &exp);
    char when[40];

    fmt_time(exp, when, sizeof(when));
    printf("logged in as %s (%s) until %s; session in %s\n", shown(arg, ""),
           shown(jstr(doc, "role"), "?"), when, session_path());
    cJSON_Delete(doc);
    return 0;
}

int cmd_logout(struct client *c, const struct opts *o, const char *arg)
{
    (void)o;
    (void)arg;
    cJSON *doc = call(c, "/v1/logout", cJSON_CreateObject(), "logout");
    const char *path = session_path();

    cJSON_Delete(doc);
    if (doc != NULL && path != NULL) {
        (void)unlink(path);
        printf("logged out\n");
    }
    return doc != NULL ? 0 : 1;
}

static void print_otpauth(const cJSON *doc, const char *name)
{
    printf("TOTP enrolment for %s (shown once; scan it or type the secret into an "
           "authenticator app):\n%s\n",
           shown(name, ""), shown(jstr(doc, "otpauth"), "?"));
}

static void print_users(const cJSON *doc, FILE *out)
{
    static const char *const h[] = { "NAME", "ROLE", "TOTP", "FAILURES", "LOCKED", NULL };
    struct ward_table t;
    const cJSON *u;

    if (ward_table_init(&t, h) != 0) {
        return;
    }
    cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(doc, "users"))
    {
        double f = 0;
        char fs[16];

        jnum(u, "failures", &f);
        snprintf(fs, sizeof(fs), "%.0f", f);
        ward_table_row(
            &t, (const char *[]){
                    shown(jstr(u, "name"), "?"),
                    shown(jstr(u, "role"), "?"),
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "totp")) ? "yes" : "no",
                    fs,
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "locked")) ? "yes" : "no",
                });
    }
    ward_table_print(&t, out);
    ward_table_free(&t);
}

static int user_change(struct client *c, const struct opts *o, const char *verb, const char *name)
{
    char path[128], pw[160];
    cJSON *b = cJSON_CreateObject();

    if (!id_valid(name)) {
        cJSON_Delete(b);
        die_usage("a user name is a-z first, then a-z 0-9 . _ -");
    }
    if (strcmp(verb, "add") == 0 || strcmp(verb, "passwd") == 0) {
        if (secret(o->password_file, "new password", pw, sizeof(pw)) != 0) {
            cJSON_Delete(b);
            return 1;
        }
        cJSON_AddStringToObject(b, "password", pw);
        explicit_bzero(pw, sizeof(pw));
    }
    if (strcmp(verb, "add") == 0) {
        if (o->role == NULL) {
            cJSON_Delete(b);
            die_usage("user add NAME --role viewer|operator|admin");
        }
        cJSON_AddStringToObject(b, "name", name);
        cJSON_AddStringToObject(b, "role", o->role);
        snprintf(path, sizeof(path), "/v1/users");
    } else if (strcmp(verb, "passwd") == 0 || strcmp(verb, "totp-reset") == 0 ||
               strcmp(verb, "remove") == 0) {
        snprintf(path, sizeof(path), "/v1/users/%s/%s", name,
                 strcmp(verb, "passwd") == 0 ? "password" : verb);
    } else {
        cJSON_Delete(b);
        die_usage("user add|list|passwd|remove|totp-reset");
    }
    cJSON *doc = call(c, path, b, "user");

    if (doc == NULL) {
        return 1;
    }
    if (jstr(doc, "otpauth") != NULL) {
        print_otpauth(doc, name);
    } else {
        printf("user %s: %s done\n", shown(name, ""), verb);
    }
    cJSON_Delete(doc);
    return 0;
}

int cmd_user(struct client *c, const struct opts *o, const char *arg)
{
    if (arg == NULL || strcmp(arg, "list") == 0) {
        return cmd_show(c, o, "/v1/users", NULL, "users", print_users);
    }
    if (o->arg2 == NULL) {
        die_usage("user add|passwd|remove|totp-reset NAME");
    }
    return user_change(c, o, arg, o->arg2);
}

static void print_tokens(const cJSON *doc, FILE *out)
{
    static const char *const h[] = { "NAME",    "STATE", "ROLE",      "DEVICES", "FROM",
                                     "EXPIRES", "USES",  "LAST USED", NULL };
    struct ward_table t;
    const cJSON *x;

    if (ward_table_init(&t, h) != 0) {
        return;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(doc, "tokens"))
    {
        double v = 0;
        char exp[40], last[40] = "-", uses[24];
        const char *from = jstr(x, "from");

        jnum(x, "expires_ms", &v);
        fmt_time(v, exp, sizeof(exp));
        if (jnum(x, "last_used_ms", &v) && v > 0) {
            fmt_time(v, last, sizeof(last));
        }
        jnum(x, "uses", &v);
        snprintf(uses, sizeof(uses), "%.0f", v);
        ward_table_row(
            &t, (const char *[]){ shown(jstr(x, "name"), "?"), shown(jstr(x, "state"), "?"),
                                  shown(jstr(x, "role"), "?"), shown(jstr(x, "devices"), "*"),
                                  from && from[0] ? shown(from, "") : "any", exp, uses, last });
    }
    ward_table_print(&t, out);
    ward_table_free(&t);
}

long long duration_s(const char *s)
{
    char *end;
    long long v = s != NULL ? strtoll(s, &end, 10) : -1;

    if (s == NULL || end == s || v <= 0) {
        return -1;
    }
    if (*end != '\0' && end[1] != '\0') {
        return -1;
    }
    switch (*end) {
    case '\0':
    case 's':
        return v;
    case 'm':
        return v * 60;
    case 'h':
        return v * 3600;
    case 'd':
        return v * 86400;
    default:
        return -1;
    }
}

int cmd_token(struct client *c, const struct opts *o, const char *arg)
{
    char path[128];

    if (arg == NULL || strcmp(arg, "list") == 0) {
        return cmd_show(c, o, "/v1/tokens", NULL, "tokens", print_tokens);
    }
    if (o->arg2 == NULL || !id_valid(o->arg2)) {
        die_usage("token create|revoke NAME (a-z first, then a-z 0-9 . _ -)");
    }
    if (strcmp(arg, "revoke") == 0) {
        snprintf(path, sizeof(path), "/v1/tokens/%s/revoke", o->arg2);
        cJSON *doc = call(c, path, cJSON_CreateObject(), "token revoke");

        cJSON_Delete(doc);
        if (doc != NULL) {
            printf("token %s revoked\n", o->arg2);
        }
        return doc != NULL ? 0 : 1;
    }
    long long exp = duration_s(o->expires);

    if (strcmp(arg, "create") != 0 || o->role == NULL || exp <= 0) {
        die_usage("token create NAME --role ROLE --expires DURATION [--devices GLOB] [--from "
                  "CIDR]");
    }
    cJSON *b = cJSON_CreateObject();

    cJSON_AddStringToObject(b, "name", o->arg2);
    cJSON_AddStringToObject(b, "role", o->role);
    cJSON_AddStringToObject(b, "devices", o->devices != NULL ? o->devices : "*");
    cJSON_AddStringToObject(b, "from", o->from != NULL ? o->from : "");
    cJSON_AddNumberToObject(b, "expires_s", (double)exp);
    cJSON *doc = call(c, "/v1/tokens", b, "token create");

    if (doc == NULL) {
        return 1;
    }
    if (o->json) {
        printf("{\"name\":\"%s\",\"token\":\"%s\"}\n", o->arg2, shown(jstr(doc, "token"), ""));
    } else {
        fprintf(stderr, "token %s (shown once; the collector keeps only its hash):\n", o->arg2);
        printf("%s\n", shown(jstr(doc, "token"), "?"));
    }
    cJSON_Delete(doc);
    return 0;
}

static void print_audit(const cJSON *doc, FILE *out)
{
    static const char *const h[] = { "SEQ",    "TIME",   "ACTOR",  "SOURCE", "ACTION",
                                     "TARGET", "RESULT", "DETAIL", NULL };
    struct ward_table t;
    const cJSON *x;

    if (ward_table_init(&t, h) != 0) {
        return;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(doc, "entries"))
    {
        double v = 0;
        char seq[24], when[40];

        jnum(x, "seq", &v);
        snprintf(seq, sizeof(seq), "%.0f", v);
        jnum(x, "at_ms", &v);
        fmt_time(v, when, sizeof(when));
        ward_table_row(&t, (const char *[]){
                               seq, when, shown(jstr(x, "actor"), ""), shown(jstr(x, "source"), ""),
                               shown(jstr(x, "action"), ""), shown(jstr(x, "target"), ""),
                               shown(jstr(x, "outcome"), ""), shown(jstr(x, "detail"), "") });
    }
    ward_table_print(&t, out);
    ward_table_free(&t);
}

static int audit_verify(struct client *c, const struct opts *o)
{
    cJSON *doc = call(c, "/v1/audit/verify", NULL, "audit verify");

    if (doc == NULL) {
        return 1;
    }
    bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "ok"));
    double n = 0, k = 0;

    jnum(doc, "entries", &n);
    jnum(doc, "checkpoints", &k);
    if (o->json) {
        char *s = cJSON_PrintUnformatted(doc);

        print_json_safe(stdout, s ? s : "{}");
        putchar('\n');
        free(s);
    } else if (ok) {
        printf("audit log ok: %.0f entries, %.0f checkpoints verified\n", n, k);
    } else {
        printf("audit log TAMPERED: %s\n", shown(jstr(doc, "problem"), "?"));
    }
    cJSON_Delete(doc);
    return ok ? 0 : 1;
}

int cmd_audit(struct client *c, const struct opts *o, const char *arg)
{
    char path[512];
    int n;

    if (arg != NULL && strcmp(arg, "verify") == 0) {
        return audit_verify(c, o);
    }
    if (arg != NULL) {
        die_usage("audit [verify] [--since DURATION] [--actor NAME] [--action NOUN.VERB]");
    }
    if ((o->actor && !name_ok(o->actor)) || (o->action && !name_ok(o->action))) {
        die_usage("--actor and --action are names: letters, digits, . _ - :");
    }
    if (o->limit != NULL &&
        (strlen(o->limit) > 4 || strspn(o->limit, "0123456789") != strlen(o->limit))) {
        die_usage("--limit is a number, 1 to 1000");
    }
    n = snprintf(path, sizeof(path), "/v1/audit?limit=%s", o->limit ? o->limit : "1000");
    if (o->since != NULL) {
        long long s = duration_s(o->since);

        if (s <= 0) {
            die_usage("--since is a duration: 90s, 30m, 12h, 7d");
        }
        n += snprintf(path + n, sizeof(path) - (size_t)n, "&since_ms=%lld",
                      (long long)time(NULL) * 1000 - s * 1000);
    }
    if (o->actor != NULL) {
        n += snprintf(path + n, sizeof(path) - (size_t)n, "&actor=%s", o->actor);
    }
    if (o->action != NULL) {
        snprintf(path + n, sizeof(path) - (size_t)n, "&action=%s", o->action);
    }
    return cmd_show(c, o, path, NULL, "audit", print_audit);
}
