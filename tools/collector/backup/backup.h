/*
 * Backups of the collector's state and their verified restore (docs/operations.md, "Backups").
 *
 * A backup is one file: every SQLite database of the state directory copied online with
 * SQLite's backup API (the collector keeps ingesting), and a manifest (time, collector
 * version, per database its SHA-256, schema versions and row counts per table, the audit
 * head when an audit table exists), packed in the container of container.h, optionally
 * encrypted with AES-256-GCM under a 32-byte key file. Verifying and restoring unpack into a
 * temporary directory, check every file against the manifest, run PRAGMA integrity_check and
 * the audit hook, and only then (restore) rename the directory into place.
 */
#ifndef WCOL_BACKUP_BACKUP_H_
#define WCOL_BACKUP_BACKUP_H_

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define WCOL_BACKUP_KEY_BYTES 32
#define WCOL_BACKUP_ERR_MAX   512

struct wcol_backup_key {
    bool set;
    unsigned char k[WCOL_BACKUP_KEY_BYTES];
};

/* What a verified backup holds (for the caller's summary line). */
struct wcol_backup_summary {
    unsigned files;
    int64_t created_ms;
    int64_t rows; /* over every table of every database */
    bool encrypted;
};

/**
 * Read a key file: exactly 32 bytes, a regular file not readable or writable by group or
 * others (mode 0600 or 0400).
 * @return 0, -EPERM (mode), -EINVAL (size), -errno; err says which and what to do.
 */
int wcol_backup_key_load(const char *path, struct wcol_backup_key *key, char *err, size_t cap);

/**
 * Copy every SQLite database of state_dir (consistently, while a collector writes them) into
 * the backup file out, written under a temporary name beside it and renamed when complete.
 * @return 0, -ENOENT (no database), -EIO, -errno; err holds one line.
 */
int wcol_backup_create(const char *state_dir, const char *out, const struct wcol_backup_key *key,
                       char *err, size_t cap);

/**
 * wcol_backup_create(), stopped between two bounded steps (a few MB copied, hashed or packed)
 * once *stop is set: then nothing is renamed to out, the temporary files are removed, and err
 * says "backup interrupted by stop". stop NULL: never stopped.
 * @return as wcol_backup_create(), -ECANCELED (stopped).
 */
int wcol_backup_create_until(const char *state_dir, const char *out,
                             const struct wcol_backup_key *key, const atomic_bool *stop, char *err,
                             size_t cap);

/**
 * Check a backup without restoring it: container checksum or authentication tag, manifest,
 * each file's hash, integrity_check, row counts, schema versions, the audit hook.
 * @return 0, -EBADMSG (corrupt, foreign, wrong key), -EIO, -errno; err holds one line.
 */
int wcol_backup_verify(const char *file, const struct wcol_backup_key *key,
                       struct wcol_backup_summary *sum, char *err, size_t cap);

/**
 * Verify and restore into new_dir, which must be absent or empty: nothing appears at new_dir
 * until every check passed (the files are checked in a temporary directory beside it, which
 * is then renamed).
 * @return 0, -EEXIST (new_dir not empty), as wcol_backup_verify.
 */
int wcol_backup_restore(const char *file, const char *new_dir, const struct wcol_backup_key *key,
                        struct wcol_backup_summary *sum, char *err, size_t cap);

/**
 * The audit chain of a restored database. Returns 0 when db has no `audit` table. The audit
 * module (issue 13, s13-access) plugs its chain verifier in here: until then a present table
 * is checked only against the manifest's audit head (entries and last hash).
 * @return 0, -EBADMSG (chain broken; err names the entry).
 */
int backup_verify_audit(sqlite3 *db, const char *path, char *err, size_t cap);

/** `ward-collector backup ...` and `ward-collector restore ...`: argv[0] is the command.
 *  @return the process's exit status (0 ok, 1 failed, 2 usage). */
int wcol_backup_main(int argc, char **argv);

#endif /* WCOL_BACKUP_BACKUP_H_ */
