/* probe on the Linux backend: hwmon, thermal, NICs, host load, and disks (SMART). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "probe.h"
#include "ward/hal/linux.h"
#include "ward/hal/linux_impl.h"

static struct ward_linux_hal s_linux; /* the backend's tables: static, never the heap */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct probe_left_out *)a)->name,
                  ((const struct probe_left_out *)b)->name);
}

/* The whole disks of root/sys/block the disk backend does not read, each with its reason.
 * Loop and RAM disks are no disks at all: left out of this list as of block_devices. */
static void list_left_out(const char *root, struct probe_report *rep)
{
    char path[4096];
    struct dirent *e;
    DIR *dir;

    (void)snprintf(path, sizeof(path), "%s/sys/block", root != NULL ? root : "");
    dir = opendir(path);
    while (dir != NULL && (e = readdir(dir)) != NULL) {
        struct probe_left_out *lo = &rep->left_out[rep->n_left_out];
        char why[sizeof(lo->why)];

        if (e->d_name[0] == '.' || strncmp(e->d_name, "loop", 4) == 0 ||
            strncmp(e->d_name, "ram", 3) == 0 || strncmp(e->d_name, "zram", 4) == 0 ||
            strlen(e->d_name) >= sizeof(lo->name) ||
            !ward_linux_disk_left_out(root, e->d_name, why, sizeof(why))) {
            continue;
        }
        if (rep->n_left_out == PROBE_MAX_LEFT_OUT) {
            rep->n_left_out_more++;
            continue;
        }
        memcpy(lo->name, e->d_name, strlen(e->d_name) + 1);
        memcpy(lo->why, why, sizeof(why));
        rep->n_left_out++;
    }
    if (dir != NULL) {
        closedir(dir);
    }
    qsort(rep->left_out, rep->n_left_out, sizeof(rep->left_out[0]), by_name);
}

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
    list_left_out(a->root, rep);
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
