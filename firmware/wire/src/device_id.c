#include "ward/wire/device_id.h"

bool ward_device_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > WARD_DEVICE_ID_LEN_MAX || id[0] == '.' || id[0] == '-') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = id[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}
