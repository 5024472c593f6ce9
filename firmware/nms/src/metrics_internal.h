/* Families of devices (metrics_dev.c), below the whole exposition (metrics.c). */
#ifndef WARD_NMS_SRC_METRICS_INTERNAL_H_
#define WARD_NMS_SRC_METRICS_INTERNAL_H_

#include "ward/nms/cache.h"
#include "ward/nms/prom.h"

#define L(n, v) ((struct ward_prom_label){ (n), (v) })

void ward_nms_disks(struct ward_prom *w, const struct ward_nms_cache *c);
void ward_nms_nics(struct ward_prom *w, const struct ward_nms_cache *c);
void ward_nms_host(struct ward_prom *w, const struct ward_nms_cache *c);

#endif /* WARD_NMS_SRC_METRICS_INTERNAL_H_ */
