/*
 * The collector's accounts and audit log as one part of its life (server/server.c calls
 * these): opened after the database (whose migrations made their tables), ticked by the
 * check timer, closed with a last checkpoint. Also the place device refusals are audited.
 */
#ifndef WCOL_AUTH_ACCESS_H_
#define WCOL_AUTH_ACCESS_H_

#include <stdint.h>

struct wcol_collector;
struct wcol_prom;

/** @return 0, -EIO (logged). */
int wcol_access_open(struct wcol_collector *c);
void wcol_access_close(struct wcol_collector *c);
void wcol_access_tick(struct wcol_collector *c, int64_t now_ms);

/** A device connection refused (TLS handshake, identity): audited, rate-limited. */
void wcol_access_device_refused(struct wcol_collector *c, const char *source, const char *cn,
                                const char *reason);

/** The access and audit families of GET /metrics. */
void wcol_access_metrics(struct wcol_collector *c, struct wcol_prom *w, int64_t now_ms);

#endif /* WCOL_AUTH_ACCESS_H_ */
