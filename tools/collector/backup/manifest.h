/*
 * The backup's manifest (manifest.json, docs/operations.md): what was copied, when, by which
 * collector, and per database what a restore must find again: size, SHA-256, schema
 * versions, row counts per table, the audit head.
 */
#ifndef WCOL_BACKUP_MANIFEST_H_
#define WCOL_BACKUP_MANIFEST_H_

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "backup/backup.h"

#define WBK_MANIFEST_MAX (1u << 20)

/** A manifest without files. @return NULL when out of memory. */
cJSON *wbk_manifest_new(const char *state_dir, bool encrypted);

/** Describe the database copy at path as file `name`. @return 0, -EIO (err set). */
int wbk_manifest_add(cJSON *man, const char *name, const char *path, char *err, size_t cap);

/**
 * Check the unpacked dir against its manifest.json: the same set of files, and for each its
 * size, SHA-256, PRAGMA integrity_check, schema versions, row counts, audit head and
 * backup_verify_audit(). @return 0, -EBADMSG (err names the file and what differs).
 */
int wbk_manifest_check(const char *dir, struct wcol_backup_summary *sum, char *err, size_t cap);

#endif /* WCOL_BACKUP_MANIFEST_H_ */
