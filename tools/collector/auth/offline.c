#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "auth/offline.h"
#include "auth/pwhash.h"
#include "common/jw.h"
#include "common/secret.h"
#include "common/log.h"
#include "store/store.h"

static const char s_usage[] =
    "usage: ward-collector user add NAME --role viewer|operator|admin --state DIR\n"
    "                           [--password-file FILE]\n"
    "       ward-collector user passwd NAME --state DIR [--password-file FILE]\n"
    "       ward-collector user totp-reset|remove NAME --state DIR\n"
    "       ward-collector user list --state DIR\n"
    "       (--storage postgresql:CONNINFO for a collector with that storage: the\n"
    "       accounts and audit log are in PostgreSQL, shared by its collectors)\n"
    "       ward-collector audit-verify --state DIR [--db FILE] [--key FILE]\n"
    "Accounts and the audit log of a state directory, with or without a running\n"
    "collector (docs/security.md). A new password is read from FILE, else asked for\n"
    "twice on the terminal, else read from standard input (one line).\n";

struct offline {
    const char *state, *db, *key, *role, *password_file;
    const char *pg; /* --storage postgresql:CONNINFO: the accounts there */
    char db_buf[4200];
};

static int parse(int argc, char **argv, struct offline *o)
{
    static const struct option lo[] = {
        { "state", required_argument, NULL, 's' },
        { "db", required_argument, NULL, 'd' },
        { "key", required_argument, NULL, 'k' },
        { "role", required_argument, NULL, 'r' },
        { "password-file", required_argument, NULL, 'p' },
        { "storage", required_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 's':
            o->state = optarg;
            break;
        case 'd':
            o->db = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'r':
            o->role = optarg;
            break;
        case 'p':
            o->password_file = optarg;
            break;
        case 'S':
            if (strncmp(optarg, "postgresql:", 11) != 0) {
                fprintf(stderr, "ward-collector: --storage must be postgresql:CONNINFO here\n");
                return 2;
            }
            o->pg = optarg + 11;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 1;
        default:
            fputs(s_usage, stderr);
            return 2;
        }
    }
    if (o->state == NULL) {
        fprintf(stderr, "ward-collector: --state DIR is required\n");
        return 2;
    }
    if (o->db == NULL) {
        snprintf(o->db_buf, sizeof(o->db_buf), "%s/ward.db", o->state);
        o->db = o->db_buf;
    }
    return 0;
}

static int get_password(const struct offline *o, char *pw, size_t cap)
{
    char again[WCOL_PW_MAX + 2];
    int rc;

    rc = wcol_read_secret("ward-collector", o->password_file, "new password", pw, cap);
    if (rc == 0 && o->password_file == NULL && isatty(STDIN_FILENO)) {
        rc = wcol_read_secret("ward-collector", NULL, "again", again, sizeof(again));
        if (rc == 0 && strcmp(pw, again) != 0) {
            fprintf(stderr, "ward-collector: the passwords differ\n");
            return -EINVAL;
        }
    }
    if (rc != 0) {
        return -EIO;
    }
    const char *weak = wcol_pw_weak(pw);

    if (weak != NULL) {
        fprintf(stderr, "ward-collector: %s\n", weak);
        return -EINVAL;
    }
    return 0;
}

/* Migrations first (the store's), then the audit log and the accounts on the same file. */
static int open_all(const struct offline *o, struct wcol_audit **au, struct wcol_auth **a)
{
    struct wcol_store st = { 0 };
    struct wcol_store_sqlite_opts so = { .path = o->db, .busy_timeout_ms = 5000 };
    struct wcol_store_pg_opts po = { .conninfo = o->pg };
    struct wcol_auth_config ac = { .session_ms = 3600000, .pg_conninfo = o->pg };

    if (mkdir(o->state, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "ward-collector: cannot create %s: %s\n", o->state, strerror(errno));
        return -EIO;
    }
    if (wcol_store_sqlite_open(&st, &so) != 0) {
        return -EIO;
    }
    st.ops->close(st.impl);
    if (o->pg != NULL && wcol_store_pg_open(&st, &po) != 0) { /* its migrations: the tables */
        return -EIO;
    }
    if (o->pg != NULL) {
        st.ops->close(st.impl);
    }
    if ((o->pg != NULL ? wcol_audit_open_pg(au, o->pg, o->state, 0)
                       : wcol_audit_open(au, o->db, o->state, 0)) != 0) {
        return -EIO;
    }
    return wcol_auth_open(a, o->db, &ac, *au);
}

static int print_users(struct wcol_auth *a)
{
    struct wcol_jw w;
    size_t len;

    wcol_jw_init(&w, 1u << 24);
    wcol_jw_obj_begin(&w);
    int rc = wcol_auth_users_json(a, &w, 0);

    wcol_jw_obj_end(&w);
    char *s = wcol_jw_take(&w, &len);

    if (s != NULL) {
        printf("%.*s\n", (int)len, s);
    }
    free(s);
    return rc == 0 ? 0 : 1;
}

static int user_cmd(const char *verb, const char *name, const struct offline *o,
                    struct wcol_auth *a)
{
    char pw[WCOL_PW_MAX + 2] = "", otp[WCOL_OTPAUTH_MAX] = "";
    int rc;

    if (strcmp(verb, "add") == 0) {
        enum wcol_role role = wcol_role_parse(o->role);

        if (role == WCOL_ROLE_NONE) {
            fprintf(stderr, "ward-collector: user add needs --role viewer, operator or admin\n");
            return 2;
        }
        rc = get_password(o, pw, sizeof(pw));
        rc = rc ?: wcol_auth_user_add(a, name, role, pw, "local", "local", otp);
    } else if (strcmp(verb, "passwd") == 0) {
        rc = get_password(o, pw, sizeof(pw));
        rc = rc ?: wcol_auth_user_passwd(a, name, pw, "local", "local");
    } else if (strcmp(verb, "totp-reset") == 0) {
        rc = wcol_auth_user_totp_reset(a, name, "local", "local", otp);
    } else if (strcmp(verb, "remove") == 0) {
        rc = wcol_auth_user_remove(a, name, "local", "local");
    } else {
        fputs(s_usage, stderr);
        return 2;
    }
    explicit_bzero(pw, sizeof(pw));
    if (rc != 0) {
        fprintf(stderr, "ward-collector: user %s %s failed: %s\n", verb, name,
                rc == -EEXIST   ? "the name is taken"
                : rc == -ENOENT ? "no such user"
                : rc == -EINVAL ? "invalid name, role or password"
                                : "storage failed (see above)");
        return 1;
    }
    if (otp[0] != '\0') {
        printf("TOTP enrolment for %s (shown once; scan it or type the secret into an "
               "authenticator app):\n%s\n",
               name, otp);
    } else {
        printf("user %s: %s done\n", name, verb);
    }
    return 0;
}

static int audit_verify(const struct offline *o)
{
    char ck[4200], pub[4200];
    struct wcol_audit_verdict v;

    snprintf(ck, sizeof(ck), "%s/audit-checkpoints", o->state);
    snprintf(pub, sizeof(pub), "%s/audit-key.pub.pem", o->state);
    /* PostgreSQL: every node's chain, this state directory's against its checkpoints */
    if ((o->pg != NULL ? wcol_audit_verify_pg(o->pg, o->state, &v)
                       : wcol_audit_verify(o->db, ck, o->key != NULL ? o->key : pub, &v)) != 0) {
        fprintf(stderr, "ward-collector: audit-verify: %s\n", v.problem);
        return 2;
    }
    if (!v.ok) {
        printf("audit log TAMPERED: %s\n", v.problem);
        return 1;
    }
    printf("audit log ok: %lld entries, %u checkpoints verified\n", (long long)v.entries,
           v.checkpoints);
    return 0;
}

int wcol_offline_main(int argc, char **argv)
{
    struct offline o = { 0 };
    struct wcol_audit *au = NULL;
    struct wcol_auth *a = NULL;
    int rc;

    if (argc < 2 || (strcmp(argv[1], "user") != 0 && strcmp(argv[1], "audit-verify") != 0)) {
        return -1;
    }
    bool verify = strcmp(argv[1], "audit-verify") == 0;

    rc = parse(argc - 1, argv + 1, &o);
    if (rc != 0) {
        return rc == 1 ? 0 : rc;
    }
    int left = argc - 1 - optind;
    char **ops = argv + 1 + optind;

    if (verify) {
        return left == 0 ? audit_verify(&o) : (fputs(s_usage, stderr), 2);
    }
    if (left < 1 || (strcmp(ops[0], "list") != 0 && left != 2) ||
        (strcmp(ops[0], "list") == 0 && left != 1)) {
        fputs(s_usage, stderr);
        return 2;
    }
    if (open_all(&o, &au, &a) != 0) {
        wcol_auth_close(a);
        wcol_audit_close(au);
        return 1;
    }
    rc = strcmp(ops[0], "list") == 0 ? print_users(a) : user_cmd(ops[0], ops[1], &o, a);
    wcol_auth_close(a);
    wcol_audit_close(au);
    return rc;
}
