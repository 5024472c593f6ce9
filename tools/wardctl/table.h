/*
 * Column-aligned text tables for wardctl: add rows of strings, print them with every column
 * as wide as its widest cell (bounded), headers in the first line.
 */
#ifndef WARD_TOOLS_WARDCTL_TABLE_H_
#define WARD_TOOLS_WARDCTL_TABLE_H_

#include <stdio.h>

#define WARD_TABLE_MAX_COLS 8
#define WARD_TABLE_CELL_MAX 63 /* a whole sensor id (WARD_SENSOR_ID_MAX - 1) */

struct ward_table {
    unsigned ncols;
    const char *head[WARD_TABLE_MAX_COLS];
    char (*cells)[WARD_TABLE_MAX_COLS][WARD_TABLE_CELL_MAX + 1];
    unsigned rows;
    unsigned cap;
};

/** Start a table with the given headers (NULL-terminated list). @return 0 or -ENOMEM. */
int ward_table_init(struct ward_table *t, const char *const *headers);

/** Add a row of ncols strings (NULL prints "-"); longer cells are cut. @return 0, -ENOMEM. */
int ward_table_row(struct ward_table *t, const char *const *cells);

void ward_table_print(const struct ward_table *t, FILE *out);

void ward_table_free(struct ward_table *t);

#endif /* WARD_TOOLS_WARDCTL_TABLE_H_ */
