/*
 * ward-agent run: pick up a renewed certificate without a restart. `ward-agent cert-renew`
 * (or an operator) replaces the --cert and --key files; the running agent notices (the
 * files' inode, size and mtime, looked at with stat() at most once a second and before every
 * reconnect; then their SHA-256, so a touch or a clock that moves file times, as libfaketime
 * does, changes nothing), parses and checks the new pair in the TLS pool (ward_tls_reload)
 * and, only when both are good, uses it from the next handshake. The idle keep-alive connection is
 * then closed so the next report opens one with the new certificate; nothing in flight is
 * dropped (a connection waiting for an answer is left to finish first). Any error keeps the
 * old pair and says why in one line; the files are looked at again when they change again.
 */
#ifndef WARD_APPS_LINUX_RUN_CERTWATCH_H_
#define WARD_APPS_LINUX_RUN_CERTWATCH_H_

#include <stdbool.h>
#include <stdint.h>

#include "ward/digest.h"

/* What stat() said of one file: a change of any of these is a new file. */
struct run_file_id {
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    unsigned mode;
    bool present;
};

struct run_certwatch {
    const char *cert_path, *key_path;
    struct run_file_id cert, key; /* the pair last loaded, or last tried */
    uint8_t cert_sha[WARD_DIGEST_LEN], key_sha[WARD_DIGEST_LEN]; /* of their contents */
    int64_t next_check_ms;
    bool reconnect; /* a new pair is loaded: close the idle connection */
    uint32_t reloads, failures;
};

struct run;

/** Remember the files the agent started with (after TLS is set up; reads them again). */
void run_certwatch_init(struct run *r, const char *cert_path, const char *key_path, int64_t now);

/** Look at the files (rate-limited; always when the link is down) and switch to a new pair.
 *  Call before the reporting loop's step. */
void run_certwatch_step(struct run *r, int64_t now);

#endif /* WARD_APPS_LINUX_RUN_CERTWATCH_H_ */
