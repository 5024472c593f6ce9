/*
 * Device ids: the subject CN of a device certificate, the "device" of every document, a path
 * segment of the operator API and a file name of ward-pki. Both ends check them alike.
 */
#ifndef WARD_WIRE_DEVICE_ID_H_
#define WARD_WIRE_DEVICE_ID_H_

#include <stdbool.h>
#include <stddef.h>

#define WARD_DEVICE_ID_LEN_MAX 63

/** 1-63 of [A-Za-z0-9._-], not starting with '.' or '-' (ward-pki's ID_RE). */
bool ward_device_id_valid(const char *id, size_t len);

#endif /* WARD_WIRE_DEVICE_ID_H_ */
