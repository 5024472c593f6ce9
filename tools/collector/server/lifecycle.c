/*
 * One collector per state directory, and what a clean stop leaves behind (collector.h):
 * STATE/lock is held with flock() for the collector's life, so a second collector on the same
 * --state is refused before it opens the database or touches STATE/ports; the kernel drops the
 * lock when the process dies, however it dies, so a crash never leaves a stale lock. A clean
 * stop removes STATE/ports: a ports file present means a collector is (or was, until it
 * crashed) listening there. Also the SIGHUP hooks other parts of the collector add.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/log.h"
#include "server/collector.h"

/* The pid line of STATE/ports, for the refusal (0 when there is none). */
static long ports_pid(const char *state_dir)
{
    char path[4200], text[256];
    const char *p;
    long pid = 0;
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/ports", state_dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    p = strstr(text, "pid ");
    if (p != NULL) {
        pid = strtol(p + 4, NULL, 10);
    }
    return pid;
}

int wcol_state_lock(struct wcol_collector *c)
{
    char path[4200];
    int fd;

    snprintf(path, sizeof(path), "%s/lock", c->cfg.state_dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int err = errno;

        wcol_log_error("cannot open %s: %s", path, strerror(err));
        return -err;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        long pid = ports_pid(c->cfg.state_dir);

        close(fd);
        if (err == EWOULDBLOCK) {
            char who[48] = "";

            if (pid > 0) {
                snprintf(who, sizeof(who), " (pid %ld)", pid);
            }
            wcol_log_error("state directory %s is in use by another ward-collector%s: stop it, "
                           "or give this one another --state",
                           c->cfg.state_dir, who);
            return -EBUSY;
        }
        wcol_log_error("cannot lock %s: %s", path, strerror(err));
        return -err;
    }
    c->lock_fd = fd;
    return 0;
}

void wcol_state_remove_ports(struct wcol_collector *c)
{
    char path[4200];

    if (!c->ports_written) {
        return;
    }
    snprintf(path, sizeof(path), "%s/ports", c->cfg.state_dir);
    if (unlink(path) != 0 && errno != ENOENT) {
        wcol_log_warn("cannot remove %s: %s", path, strerror(errno));
    }
    c->ports_written = false;
}

int wcol_collector_on_reload(struct wcol_collector *c, wcol_reload_fn fn, void *user)
{
    if (c->n_reload_hooks >= WCOL_RELOAD_HOOKS_MAX) {
        return -ENOSPC;
    }
    c->reload_hooks[c->n_reload_hooks].fn = fn;
    c->reload_hooks[c->n_reload_hooks].user = user;
    c->n_reload_hooks++;
    return 0;
}
