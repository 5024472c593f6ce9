/* probe on the Linux backend: hwmon, thermal, NICs, host load, and disks (SMART). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "probe.h"
#include "ward/hal/linux.h"
#include "ward/hal/linux_impl.h"

static struct ward_linux_hal s_linux; /* the backend's tables: static, never the heap */

int probe_linux_open(const struct probe_args *a, struct probe_report *rep)
{
    const struct ward_linux_problem *p;
    struct stat st;
    int rc;

    if (a->root != NULL && stat(a->root, &st) != 0) {
        rc = -errno;
        fprintf(stderr, "probe: --root %s: %s\n", a->root, strerror(-rc));
        return rc;
    }
    if (a->root != NULL && !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "probe: --root %s: not a directory\n", a->root);
        return -ENOTDIR;
    }
    rc = ward_linux_hal_init(&s_linux, &rep->hal, a->root);
    if (rc != 0) {
        fprintf(stderr, "probe: cannot start the Linux backend on %s: %s\n",
                a->root != NULL ? a->root : "/", strerror(-rc));
        return rc;
    }
    rc = ward_linux_disk_attach(&rep->hal, a->root);
    if (rc != 0) {
        fprintf(stderr, "probe: disks not listed: %s\n", strerror(-rc));
    }
    rep->backend = "linux";
    rep->root = a->root != NULL ? a->root : "/";
    for (unsigned i = 0; i < ward_linux_problem_count(&s_linux); i++) {
        struct probe_problem *pp;

        if (rep->n_problems >= PROBE_MAX_PROBLEMS) {
            break;
        }
        p = ward_linux_problem_get(&s_linux, i);
        pp = &rep->problem[rep->n_problems++];
        snprintf(pp->path, sizeof(pp->path), "%s", p->path);
        ward_linux_problem_format(&s_linux, i, pp->message, sizeof(pp->message));
        pp->err = p->err;
        pp->count = p->count;
    }
    return 0;
}
