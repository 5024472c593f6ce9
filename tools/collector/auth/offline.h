/*
 * ward-collector's offline commands, on a state directory (docs/security.md):
 *   ward-collector user add NAME --role ROLE --state DIR [--password-file F]
 *   ward-collector user passwd|totp-reset|remove NAME --state DIR [--password-file F]
 *   ward-collector user list --state DIR
 *   ward-collector audit-verify --state DIR [--db FILE] [--key PUB.pem]
 * The first admin account is made this way (or through the API with a `ward-pki token`).
 * They work beside a running collector (SQLite locking), each change audited as actor
 * "local".
 */
#ifndef WCOL_AUTH_OFFLINE_H_
#define WCOL_AUTH_OFFLINE_H_

/** @return the process's exit status, or -1 when argv[1] is not an offline command. */
int wcol_offline_main(int argc, char **argv);

#endif /* WCOL_AUTH_OFFLINE_H_ */
