/*
 * ward-collector backup | restore: the command lines (docs/operations.md, "Backups").
 *
 *   ward-collector backup --state DIR --out FILE [--key FILE]
 *   ward-collector backup --verify FILE [--key FILE]
 *   ward-collector restore --verify FILE --state NEWDIR [--key FILE]
 *
 * Each prints one line: what it did, or what failed and why; exit 0, 1 (failed) or 2 (usage).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/audit_hook.h"
#include "backup/backup.h"

static const char s_usage[] =
    "usage: ward-collector backup --state DIR --out FILE [--key FILE]\n"
    "       ward-collector backup --verify FILE [--key FILE]\n"
    "       ward-collector restore --verify FILE --state NEWDIR [--key FILE]\n"
    "\n"
    "backup copies every database of the state directory while a collector runs on it\n"
    "(SQLite online backup) into one file with a manifest; --verify checks a backup\n"
    "without restoring it. restore checks the backup and puts its databases into NEWDIR\n"
    "(absent or empty) only when every check passed; start a collector with --state NEWDIR.\n"
    "\n"
    "  --state DIR    the collector's state directory (restore: the new one)\n"
    "  --out FILE     the backup file to write (must not exist)\n"
    "  --verify FILE  the backup to check (and restore)\n"
    "  --key FILE     32-byte AES-256-GCM key, mode 0600 (head -c 32 /dev/urandom)\n"
    "  --help         this text\n";

struct cli {
    const char *state, *out, *verify, *key;
};

static int parse(int argc, char **argv, struct cli *a)
{
    static const struct option longopts[] = {
        { "state", required_argument, NULL, 's' },  { "out", required_argument, NULL, 'o' },
        { "verify", required_argument, NULL, 'v' }, { "key", required_argument, NULL, 'k' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    int opt;

    memset(a, 0, sizeof(*a));
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 's':
            a->state = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'v':
            a->verify = optarg;
            break;
        case 'k':
            a->key = optarg;
            break;
        case 'h':
            fputs(s_usage, stdout);
            return 1;
        default:
            fprintf(stderr, "ward-collector: run 'ward-collector %s --help'\n", argv[0]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ward-collector: %s: unexpected argument '%s'\n", argv[0], argv[optind]);
        return 2;
    }
    return 0;
}

static int fail(const char *cmd, const char *err)
{
    fprintf(stderr, "ward-collector: %s: %s\n", cmd, err);
    return 1;
}

static void actor(char *out, size_t cap)
{
    const char *u = getenv("USER");

    snprintf(out, cap, "%s(uid %u)", u != NULL ? u : "", (unsigned)getuid());
}

/*
 * An offline backup or restore goes into the audit log of the state it read or wrote, under
 * the log's own rules (audit.h): each entry its own IMMEDIATE transaction that reads the head,
 * waiting out a running collector's write lock (busy timeout), so it may append beside a
 * running collector as `ward-collector user add` does. Without an audit log (no ward.db) it
 * is a log line.
 */
static void audit_local(const char *state, const char *who, const char *action, const char *target,
                        const char *detail)
{
    char db[4200];
    struct wcol_audit *au = NULL;
    const struct wcol_audit_entry e = {
        .actor = who,
        .source = "local",
        .action = action,
        .target = target,
        .outcome = "ok",
        .detail = detail,
    };

    snprintf(db, sizeof(db), "%s/ward.db", state);
    if (access(db, F_OK) != 0 || wcol_audit_open(&au, db, state, 0) != 0) {
        WCOL_AUDIT_OR_LOG(NULL, who, action, target, detail);
        return;
    }
    if (wcol_audit_record(au, &e) < 0) {
        WCOL_AUDIT_OR_LOG(NULL, who, action, target, detail);
    }
    wcol_audit_close(au);
}

static int do_backup(const struct cli *a, const struct wcol_backup_key *key, char *err)
{
    char who[96], detail[128];
    int rc = wcol_backup_create(a->state, a->out, key, err, WCOL_BACKUP_ERR_MAX);

    actor(who, sizeof(who));
    snprintf(detail, sizeof(detail), "state=%s encrypted=%s result=%s", a->state,
             key->set ? "yes" : "no", rc == 0 ? "ok" : "failed");
    audit_local(a->state, who, "backup.create", a->out, detail);
    if (rc != 0) {
        return fail("backup", err);
    }
    printf("ward-collector: backup %s written from %s%s\n", a->out, a->state,
           key->set ? " (AES-256-GCM)" : "");
    return 0;
}

static int do_verify(const char *cmd, const struct cli *a, const struct wcol_backup_key *key,
                     char *err)
{
    struct wcol_backup_summary s;
    bool restore = strcmp(cmd, "restore") == 0;
    int rc = restore ? wcol_backup_restore(a->verify, a->state, key, &s, err, WCOL_BACKUP_ERR_MAX)
                     : wcol_backup_verify(a->verify, key, &s, err, WCOL_BACKUP_ERR_MAX);

    if (restore) {
        char who[96], detail[160];

        actor(who, sizeof(who));
        snprintf(detail, sizeof(detail), "from=%s result=%s", a->verify,
                 rc == 0 ? "ok" : "refused");
        if (rc == 0) {
            audit_local(a->state, who, "backup.restore", a->state, detail);
        } else {
            WCOL_AUDIT_OR_LOG(NULL, who, "backup.restore", a->state, detail);
        }
    }
    if (rc != 0) {
        return fail(cmd, err);
    }
    printf("ward-collector: %s %s: %u database%s, %lld rows, %sverified%s%s\n", cmd, a->verify,
           s.files, s.files == 1 ? "" : "s", (long long)s.rows, s.encrypted ? "encrypted, " : "",
           restore ? ", restored into " : "", restore ? a->state : "");
    return 0;
}

int wcol_backup_main(int argc, char **argv)
{
    struct cli a;
    struct wcol_backup_key key = { 0 };
    char err[WCOL_BACKUP_ERR_MAX] = "";
    const char *cmd = argv[0];
    int rc = parse(argc, argv, &a);

    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    bool is_backup = strcmp(cmd, "backup") == 0;
    bool make = is_backup && a.verify == NULL;

    if ((make && (a.state == NULL || a.out == NULL)) ||
        (is_backup && !make && (a.state != NULL || a.out != NULL)) ||
        (!is_backup && (a.verify == NULL || a.state == NULL || a.out != NULL))) {
        fprintf(stderr, "ward-collector: %s: %s (run 'ward-collector %s --help')\n", cmd,
                make        ? "give --state DIR and --out FILE"
                : is_backup ? "--verify FILE takes no --state or --out"
                            : "give --verify FILE and --state NEWDIR",
                cmd);
        return 2;
    }
    if (a.key != NULL && wcol_backup_key_load(a.key, &key, err, sizeof(err)) != 0) {
        return fail(cmd, err);
    }
    rc = make ? do_backup(&a, &key, err) : do_verify(cmd, &a, &key, err);
    memset(&key, 0, sizeof(key));
    return rc;
}
