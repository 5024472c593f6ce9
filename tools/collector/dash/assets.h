/*
 * The dashboard's static files, embedded at build time by dash/embed.py (HTML, CSS and JS
 * under dash/assets/, and Debian's libjs-dygraphs): a table generated into the build tree.
 */
#ifndef WCOL_DASH_ASSETS_H_
#define WCOL_DASH_ASSETS_H_

#include <stddef.h>

struct wcol_dash_asset {
    const char *path; /* "/ui/index.html" */
    const char *type; /* Content-Type */
    const char *etag; /* quoted, from the content's SHA-256 */
    const unsigned char *data;
    size_t len;
};

extern const struct wcol_dash_asset wcol_dash_assets[];
extern const size_t wcol_dash_assets_count;

#endif /* WCOL_DASH_ASSETS_H_ */
