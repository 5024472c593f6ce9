/*
 * Private to the MIB views (mib.c, mib_disk.c): a table is its entry's OID, its columns, the
 * number of sub-identifiers in its index (1, or 2 for (disk, attribute) encoded as
 * disk << 8 | attribute) and two functions: the next row after a given one and the value
 * of (column, row) or -ENOENT.
 */
#ifndef WARD_NMS_MIB_INTERNAL_H_
#define WARD_NMS_MIB_INTERNAL_H_

#include <stdint.h>

#include "ward/nms/mib.h"

#define MIB_ATTR_BITS 8u /* a two-part row index: disk << 8 | attribute id */

struct mib_table {
    uint32_t entry[12];
    uint8_t len;
    uint8_t col_min;
    uint8_t col_max;
    uint8_t n_index; /* sub-identifiers of a row index: 1 or 2 */
    /* The smallest row index > after (after < 0: the first row). @return it, or -1. */
    int64_t (*next_row)(const struct ward_mib *m, int64_t after);
    /* @return 0 with v filled, -ENOENT when the row has no value in this column. */
    int (*get)(const struct ward_mib *m, unsigned col, uint32_t row, int64_t now,
               struct ward_agentx_value *v);
};

void mib_v_int(struct ward_agentx_value *v, int64_t x);
void mib_v_u32(struct ward_agentx_value *v, uint16_t type, uint64_t x);

/** sysUpTime (centiseconds) at agent time t_ms, by the master's clock (ward/nms/mib.h). */
uint32_t mib_timestamp(const struct ward_mib *m, int64_t t_ms);

/* wardDiskTable, wardSmartAttrTable, wardNvmeTable (mib_disk.c). */
int64_t mib_disk_next(const struct ward_mib *m, int64_t after);
int mib_disk_get(const struct ward_mib *m, unsigned col, uint32_t row, int64_t now,
                 struct ward_agentx_value *v);
int64_t mib_attr_next(const struct ward_mib *m, int64_t after);
int mib_attr_get(const struct ward_mib *m, unsigned col, uint32_t row, int64_t now,
                 struct ward_agentx_value *v);
int64_t mib_nvme_next(const struct ward_mib *m, int64_t after);
int mib_nvme_get(const struct ward_mib *m, unsigned col, uint32_t row, int64_t now,
                 struct ward_agentx_value *v);

#endif /* WARD_NMS_MIB_INTERNAL_H_ */
