/* Reading a secret (a password, a code) for ward-collector's offline commands and wardctl:
 * from a file, else the terminal without echo, else standard input; never argv. */
#ifndef WCOL_COMMON_SECRET_H_
#define WCOL_COMMON_SECRET_H_

#include <stddef.h>

/**
 * The first line of file (when not NULL), else a line typed on the terminal after the
 * prompt "what: " with echo off, else a line of standard input. Line end removed.
 * @return 0, -EIO (nothing read; one line on stderr says so, prefixed with prog).
 */
int wcol_read_secret(const char *prog, const char *file, const char *what, char *out, size_t cap);

#endif /* WCOL_COMMON_SECRET_H_ */
