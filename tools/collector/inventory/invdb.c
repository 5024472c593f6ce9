/* The rows of an inventory statement (invdb.h), the same for both backends. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/invdb.h"

const char *wcol_inv_cell(const struct inv_rows *r, unsigned row, unsigned col)
{
    return row < r->n && col < r->cols ? r->cell[row * r->cols + col] : NULL;
}

int64_t wcol_inv_cell_int(const struct inv_rows *r, unsigned row, unsigned col)
{
    const char *s = wcol_inv_cell(r, row, col);

    return s != NULL ? strtoll(s, NULL, 10) : 0;
}

void wcol_inv_rows_free(struct inv_rows *r)
{
    for (size_t i = 0; r->cell != NULL && i < (size_t)r->n * r->cols; i++) {
        free(r->cell[i]);
    }
    free(r->cell);
    r->cell = NULL;
    r->n = 0;
}

int wcol_inv_rows_add(struct inv_rows *r, unsigned cols, const char *const *cells)
{
    size_t at = (size_t)r->n * cols;
    char **p = realloc(r->cell, (at + cols) * sizeof(*p));

    if (p == NULL) {
        return -ENOMEM;
    }
    r->cell = p;
    r->cols = cols;
    for (unsigned c = 0; c < cols; c++) {
        p[at + c] = cells[c] != NULL ? strdup(cells[c]) : NULL;
        if (cells[c] != NULL && p[at + c] == NULL) {
            for (unsigned k = 0; k < c; k++) {
                free(p[at + k]);
            }
            return -ENOMEM;
        }
    }
    r->n++;
    return 0;
}
