/*
 * The journal's storage on Linux: DIR/journal, an append-only file.
 *
 * - Appends are one write() each on an O_APPEND descriptor; a failed write is cut back so a
 *   full disk never leaves half a record behind. sync() is fdatasync().
 * - The file and, when this call creates them, the directory are fsync'd at creation so the
 *   journal itself survives a power cut.
 * - Compaction writes DIR/journal.tmp, fdatasyncs it, renames it over DIR/journal and
 *   fsyncs DIR: after a crash there is either the old or the new journal, never a mix. A
 *   journal.tmp left by a crash is deleted at open.
 * - DIR is locked (flock) while open: a second agent on the same state directory is refused
 *   instead of interleaving records.
 */
#ifndef WARD_PORTS_POSIX_JOURNAL_POSIX_H_
#define WARD_PORTS_POSIX_JOURNAL_POSIX_H_

#include <stdint.h>

#include "ward/transport/store.h"

struct ward_store_posix {
    int dirfd;
    int fd;
    uint64_t size;
    uint32_t fsyncs;
    uint32_t rewrites;
};

/**
 * Open (creating with mode 0700/0600 when missing) DIR and DIR/journal.
 * @return 0; -EBUSY when another process holds DIR; -ENOTDIR; -EACCES; another -errno.
 */
int ward_store_posix_open(struct ward_store_posix *s, const char *dir);

/** Close the files and release the lock (does not sync: call ward_journal_sync first). */
void ward_store_posix_close(struct ward_store_posix *s);

struct ward_store ward_store_posix(struct ward_store_posix *s);

#endif /* WARD_PORTS_POSIX_JOURNAL_POSIX_H_ */
