/* Names of the HAL's enums as `ward-agent probe` prints them ("unknown" out of range). */
#ifndef WARD_APPS_LINUX_PROBE_NAMES_H_
#define WARD_APPS_LINUX_PROBE_NAMES_H_

#include "ward/hal/hal.h"

const char *probe_status_name(enum ward_status s);
const char *probe_oper_name(enum ward_nic_oper o);
const char *probe_duplex_name(enum ward_nic_duplex d);
const char *probe_threshold_name(enum ward_threshold_kind k);
const char *probe_cpu_state_name(enum ward_cpu_state s);

#endif /* WARD_APPS_LINUX_PROBE_NAMES_H_ */
