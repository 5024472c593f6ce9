/* What every backend shares: the interface's helpers, no storage of its own. */
#include "store/store.h"
#include "ward/wire/state.h"

int wcol_store_severity_rank(const char *name)
{
    int sev = ward_severity_parse(name);

    return sev >= 0 ? sev : -1;
}
