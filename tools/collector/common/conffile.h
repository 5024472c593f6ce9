/*
 * Reading a configuration file of ward-collector or wardctl (ward.conf(5)): the whole file
 * (bounded), scanned by the base tier's ward/base/conf.h, each setting handed to the program,
 * which looks its key up in its own option table. Errors are one line on stderr that names
 * FILE:LINE.
 */
#ifndef WCOL_COMMON_CONFFILE_H_
#define WCOL_COMMON_CONFFILE_H_

#include "ward/base/conf.h"

#define WCOL_CONFFILE_MAX (64u * 1024u) /* bytes */

/* One setting; return 0 to go on, non-zero (having said why, with path and s->line) to stop. */
typedef int (*wcol_conffile_fn)(void *ctx, const char *path, const struct ward_conf_setting *s);

/**
 * Call on() for every setting of path, in file order.
 * @return 0; the file's -errno (said: "PROG: cannot read configuration PATH: why"); -EINVAL
 *         for a line that is not a setting or a setting on() refused.
 */
int wcol_conffile_read(const char *prog, const char *path, wcol_conffile_fn on, void *ctx);

#endif /* WCOL_COMMON_CONFFILE_H_ */
