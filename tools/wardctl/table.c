#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "safe.h"
#include "table.h"

int ward_table_init(struct ward_table *t, const char *const *headers)
{
    memset(t, 0, sizeof(*t));
    while (headers[t->ncols] != NULL && t->ncols < WARD_TABLE_MAX_COLS) {
        t->head[t->ncols] = headers[t->ncols];
        t->ncols++;
    }
    return 0;
}

int ward_table_row(struct ward_table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        unsigned cap = t->cap ? t->cap * 2 : 16;
        void *n = realloc(t->cells, cap * sizeof(*t->cells));

        if (n == NULL) {
            return -ENOMEM;
        }
        t->cells = n;
        t->cap = cap;
    }
    for (unsigned c = 0; c < t->ncols; c++) {
        const char *s = cells[c] != NULL && cells[c][0] != '\0' ? cells[c] : "-";

        /* No control character reaches the terminal (safe.h). */
        safe_copy(t->cells[t->rows][c], WARD_TABLE_CELL_MAX + 1, s);
    }
    t->rows++;
    return 0;
}

/* Columns on a terminal: UTF-8 characters, not bytes ("°C" is two of each). */
static size_t columns(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}

void ward_table_print(const struct ward_table *t, FILE *out)
{
    size_t w[WARD_TABLE_MAX_COLS];

    for (unsigned c = 0; c < t->ncols; c++) {
        w[c] = columns(t->head[c]);
        for (unsigned r = 0; r < t->rows; r++) {
            size_t n = columns(t->cells[r][c]);

            w[c] = n > w[c] ? n : w[c];
        }
    }
    for (unsigned r = 0; r <= t->rows; r++) {
        for (unsigned c = 0; c < t->ncols; c++) {
            const char *s = r == 0 ? t->head[c] : t->cells[r - 1][c];

            if (c + 1 < t->ncols) {
                fprintf(out, "%s%*s  ", s, (int)(w[c] - columns(s)), "");
            } else {
                fprintf(out, "%s\n", s);
            }
        }
    }
}

void ward_table_free(struct ward_table *t)
{
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
