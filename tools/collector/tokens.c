#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/sha256.h>

#include "log.h"
#include "tokens.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

static int parse_line(char *line, struct ward_token_entry *e)
{
    char name[WARD_TOKEN_NAME_MAX + 2];
    char hash[80];

    if (sscanf(line, "%65s sha256:%79s", name, hash) != 2 || strlen(name) > WARD_TOKEN_NAME_MAX ||
        strlen(hash) != 64) {
        return -EBADMSG;
    }
    for (int i = 0; i < 32; i++) {
        int hi = hexval(hash[2 * i]);
        int lo = hexval(hash[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return -EBADMSG;
        }
        e->sha256[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(e->name, name, strlen(name) + 1); /* length checked above */
    return 0;
}

int ward_tokens_load(struct ward_tokens *t, const char *path)
{
    static struct ward_tokens fresh;
    struct stat st;
    char line[256];
    unsigned lineno = 0;
    FILE *f = fopen(path, "re");

    if (f == NULL) {
        int err = errno;

        ward_log_error("cannot read operator tokens %s: %s; create one with: ward-pki token NAME",
                       path, strerror(err));
        return -err;
    }
    if (fstat(fileno(f), &st) != 0 || (st.st_mode & 077) != 0) {
        ward_log_error(
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
        if (fresh.n >= WARD_TOKENS_MAX) {
            ward_log_error("%s: more than %d tokens", path, WARD_TOKENS_MAX);
            fclose(f);
            return -ENOSPC;
        }
        if (parse_line(line, &fresh.entry[fresh.n]) != 0) {
            ward_log_error("%s:%u: expected 'NAME sha256:HEX' (64 hex digits)", path, lineno);
            fclose(f);
            return -EBADMSG;
        }
        fresh.n++;
    }
    fclose(f);
    *t = fresh;
    return (int)t->n;
}

const char *ward_tokens_check(const struct ward_tokens *t, const char *header, size_t len)
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
