/* Configuration files of the tools (conffile.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conffile.h"

static int slurp(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "re");
    size_t n;

    if (f == NULL) {
        return -errno;
    }
    *text = malloc(WCOL_CONFFILE_MAX + 1);
    if (*text == NULL) {
        fclose(f);
        return -ENOMEM;
    }
    n = fread(*text, 1, WCOL_CONFFILE_MAX + 1, f);
    if (ferror(f) || n > WCOL_CONFFILE_MAX) {
        int err = ferror(f) ? -EIO : -EFBIG;

        fclose(f);
        free(*text);
        return err;
    }
    fclose(f);
    *len = n;
    return 0;
}

int wcol_conffile_read(const char *prog, const char *path, wcol_conffile_fn on, void *ctx)
{
    struct ward_conf c;
    struct ward_conf_setting *s = malloc(sizeof(*s));
    const char *why = "";
    char *text = NULL;
    size_t len = 0;
    int rc = s == NULL ? -ENOMEM : slurp(path, &text, &len);

    if (rc != 0) {
        fprintf(stderr, "%s: cannot read configuration %s: %s\n", prog, path,
                rc == -EFBIG ? "larger than 64 KiB" : strerror(-rc));
        free(s);
        return rc;
    }
    ward_conf_init(&c, text, len);
    while ((rc = ward_conf_next(&c, s, &why)) > 0) {
        if (on(ctx, path, s) != 0) {
            rc = -ECANCELED; /* on() said why */
            break;
        }
    }
    if (rc < 0 && rc != -ECANCELED) {
        fprintf(stderr, "%s: %s:%u: %s\n", prog, path, c.line, why);
    }
    free(text);
    free(s);
    return rc < 0 ? -EINVAL : 0;
}
