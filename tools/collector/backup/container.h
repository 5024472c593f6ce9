/*
 * The backup file's container (docs/operations.md, "Backup file format"):
 *
 *   header  24 bytes: magic "WARDBKP1", version 1, flags (bit 0: AES-256-GCM), 2 zero bytes,
 *           a 12-byte nonce (zero when not encrypted)
 *   payload records, each: name length (2 bytes, big-endian), name, size (8 bytes,
 *           big-endian), that many bytes; the first is "manifest.json", a record with an
 *           empty name ends the payload
 *   trailer plain: SHA-256 of header and payload (32 bytes); encrypted: the GCM tag (16
 *           bytes) of the payload, with the header as additional authenticated data
 *
 * Encrypted, the payload is the ciphertext of the records. Nothing is used before the
 * trailer checked: the reader writes the payload to a file first, then parses it.
 */
#ifndef WCOL_BACKUP_CONTAINER_H_
#define WCOL_BACKUP_CONTAINER_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "backup/backup.h"

#define WBK_MAGIC    "WARDBKP1"
#define WBK_HEADER   24
#define WBK_NAME_MAX 64

struct wbk_writer;

/** Start the file at path (created 0600, must not exist) with the header. @return 0, -errno (err
 * set). */
int wbk_open(struct wbk_writer **out, const char *path, const struct wcol_backup_key *key,
             char *err, size_t cap);
/** One record from a file on disk. @return 0, -errno. */
int wbk_add_file(struct wbk_writer *w, const char *name, const char *path, char *err, size_t cap);
/** One record from memory. @return 0, -errno. */
int wbk_add_mem(struct wbk_writer *w, const char *name, const void *data, size_t len, char *err,
                size_t cap);
/** The end record and the trailer, fsync, close. @return 0, -errno. Frees w either way. */
int wbk_close(struct wbk_writer *w, char *err, size_t cap);
/** Abandon: close and free (the caller removes the file). */
void wbk_abort(struct wbk_writer *w);

/**
 * Check file's trailer and unpack its records into dir (which exists and is empty): each
 * record becomes dir/NAME. Names are checked ([A-Za-z0-9._-], no leading dot, at most
 * WBK_NAME_MAX bytes, unique).
 * @return 0; -EBADMSG with err "not a ward backup", "truncated", "checksum mismatch" or
 * "authentication failed (wrong key or corrupted)"; -ENOKEY (encrypted, no key); -errno.
 */
int wbk_unpack(const char *file, const struct wcol_backup_key *key, const char *dir,
               bool *encrypted, char *err, size_t cap);

#endif /* WCOL_BACKUP_CONTAINER_H_ */
