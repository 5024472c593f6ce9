/*
 * ward-collector: receives agents' reports over mutual TLS, stores them, tracks the fleet,
 * and answers operators. Run `ward-collector --help` for the options (options.c).
 */
#include "common/log.h"
#include "options.h"
#include "server/collector.h"

static int reload_options(struct wcol_collector *c, void *user)
{
    (void)c;
    (void)user;
    return wcol_options_reload();
}

int main(int argc, char **argv)
{
    static struct wcol_collector c;
    struct wcol_collector_config cfg;
    int rc = wcol_options_parse(argc, argv, &cfg);

    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    rc = wcol_collector_open(&c, &cfg);
    if (rc != 0) {
        wcol_log_error("not started (see above)");
        wcol_collector_close(&c);
        return 1;
    }
    (void)wcol_collector_on_reload(&c, reload_options, NULL);
    rc = wcol_collector_run(&c);
    wcol_collector_close(&c);
    return rc == 0 ? 0 : 1;
}
