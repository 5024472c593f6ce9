#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/sha256.h>

#include "ward/base/hex.h"

#include "common/log.h"
#include "api/tokens.h"

static int parse_line(char *line, struct wcol_token_entry *e)
{
    char name[WCOL_TOKEN_NAME_MAX + 2];
    char hash[80];

    if (sscanf(line, "%65s sha256:%79s", name, hash) != 2 || strlen(name) > WCOL_TOKEN_NAME_MAX ||
        strlen(hash) != 64) {
        return -EBADMSG;
    }
    /* lower-case only, as ward-pki writes it */
    if (strspn(hash, "0123456789abcdef") != 64 || ward_hex_decode(hash, e->sha256, 32) != 0) {
        return -EBADMSG;
    }
    memcpy(e->name, name, strlen(name) + 1); /* length checked above */
    return 0;
}

int wcol_tokens_load(struct wcol_tokens *t, const char *path)
{
    static struct wcol_tokens fresh;
    struct stat st;
    char line[256];
    unsigned lineno = 0;
    FILE *f = fopen(path, "re");

    if (f == NULL) {
        int err = errno;

        wcol_log_error("cannot read operator tokens %s: %s; create one with: ward-pki token NAME",
                       path, strerror(err));
        return -err;
    }
    if (fstat(fileno(f), &st) != 0 || (st.st_mode & 077) != 0) {
        wcol_log_error(
            "operator tokens file %s is accessible to group or others; run: chmod 600 %s", path,
            path);
        fclose(f);
        return -EPERM;
    }
    memset(&fresh, 0, sizeof(fresh));
    snprintf(fresh.path, sizeof(fresh.path), "%s", path);
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        if (fresh.n >= WCOL_TOKENS_MAX) {
            wcol_log_error("%s: more than %d tokens", path, WCOL_TOKENS_MAX);
            fclose(f);
            return -ENOSPC;
        }
        if (parse_line(line, &fresh.entry[fresh.n]) != 0) {
            wcol_log_error("%s:%u: expected 'NAME sha256:HEX' (64 hex digits)", path, lineno);
            fclose(f);
            return -EBADMSG;
        }
        fresh.n++;
    }
    fclose(f);
    *t = fresh;
    return (int)t->n;
}

const char *wcol_tokens_check(const struct wcol_tokens *t, const char *header, size_t len)
{
    uint8_t digest[32];
    const char *match = NULL;

    if (header == NULL || len < 8 || strncasecmp(header, "Bearer ", 7) != 0) {
        return NULL;
    }
    header += 7;
    len -= 7;
    while (len > 0 && *header == ' ') {
        header++;
        len--;
    }
    if (len == 0 || len > 512) {
        return NULL;
    }
    if (mbedtls_sha256((const unsigned char *)header, len, digest, 0) != 0) {
        return NULL;
    }
    /* Compare against every entry without an early exit. */
    for (unsigned i = 0; i < t->n; i++) {
        uint8_t diff = 0;

        for (int k = 0; k < 32; k++) {
            diff |= (uint8_t)(digest[k] ^ t->entry[i].sha256[k]);
        }
        if (diff == 0 && match == NULL) {
            match = t->entry[i].name;
        }
    }
    return match;
}
