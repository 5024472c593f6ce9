/*
 * Operator bearer tokens. The collector never holds a token in clear: the tokens file lists
 * one "NAME sha256:HEX" per line (ward-pki token writes it, mode 0600) and a presented token
 * is hashed and compared in constant time against every entry.
 */
#ifndef WCOL_API_TOKENS_H_
#define WCOL_API_TOKENS_H_

#include <stddef.h>
#include <stdint.h>

#define WCOL_TOKENS_MAX     256
#define WCOL_TOKEN_NAME_MAX 64

struct wcol_token_entry {
    char name[WCOL_TOKEN_NAME_MAX + 1];
    uint8_t sha256[32];
};

struct wcol_tokens {
    char path[4096];
    struct wcol_token_entry entry[WCOL_TOKENS_MAX];
    unsigned n;
};

/**
 * (Re)load the tokens file. On any error the previous list stays in force.
 * @return number of tokens (>= 0), -ENOENT, -EPERM (readable by others), -EBADMSG (a bad
 *         line; the log names it), -ENOSPC (more than WCOL_TOKENS_MAX).
 */
int wcol_tokens_load(struct wcol_tokens *t, const char *path);

/**
 * Check an Authorization header value ("Bearer TOKEN").
 * @return the operator's name, or NULL when the header is malformed or no token matches.
 */
const char *wcol_tokens_check(const struct wcol_tokens *t, const char *header, size_t len);

#endif /* WCOL_API_TOKENS_H_ */
