/* Counters of the TLS layer for the operator API (apart from tls.c, which holds the setup). */
#include "tls/tls.h"

uint64_t wcol_tls_tickets_issued(const struct wcol_tls *t)
{
    return t->device_tickets.issued + t->api_tickets.issued;
}

uint64_t wcol_tls_tickets_refused(const struct wcol_tls *t)
{
    return t->device_tickets.refused + t->api_tickets.refused;
}
