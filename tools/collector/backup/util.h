/* Small helpers of the backup module: one-line errors, whole reads and writes. */
#ifndef WCOL_BACKUP_UTIL_H_
#define WCOL_BACKUP_UTIL_H_

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/** Format one error line into err and return rc (for `return wbk_say(...)`). */
int wbk_say(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Write all n bytes (EINTR retried). @return 0, -errno. */
int wbk_write_all(int fd, const void *p, size_t n);

/** Read up to n bytes, fewer only at end of file. @return bytes read, -errno. */
ssize_t wbk_read_full(int fd, void *p, size_t n);

/** The stop flag the loops of this thread's backup look at between bounded steps (NULL: none;
 *  wcol_backup_create_until() sets it for its own duration). */
void wbk_cancel_set(const atomic_bool *stop);

/** True once the stop flag of this thread's backup is set. */
bool wbk_cancelled(void);

#endif /* WCOL_BACKUP_UTIL_H_ */
