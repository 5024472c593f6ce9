/*
 * wardctl's parts (one file per concern): client.c, the operator API's TLS/HTTP client;
 * format.c, the text output (tables, times, documents); commands.c, the read commands;
 * watch.c, the live view; wardctl.c, options and the command table.
 */
#ifndef WARD_TOOLS_WARDCTL_WARDCTL_H_
#define WARD_TOOLS_WARDCTL_WARDCTL_H_

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#define RESPONSE_MAX    (32u * 1024u * 1024u)
#define HEAD_MAX        8192u
#define WATCH_EVENTS    12
#define DEFAULT_URL     "https://localhost:8444"
#define DEFAULT_TIMEOUT 10000

struct opts {
    const char *config;
    const char *url;
    const char *ca;
    const char *token_file;
    const char *pki;
    bool json;
    int timeout_ms;
    /* command options */
    const char *device;
    const char *since;
    const char *severity;
    const char *limit;
    double interval_s;
    double for_s;
    /* incident commands (incidents.c) */
    const char *state;
    const char *cause;
    const char *format;
    const char *reason;
    const char *arg2; /* the second operand: assign ID WHO, note ID TEXT, device revoke ID */
    /* history.c */
    const char *step;
    const char *within;
    bool csv;
    /* accounts, tokens, audit (access.c) */
    const char *password_file;
    const char *totp;
    const char *role;
    const char *devices;
    const char *expires;
    const char *from;
    const char *actor;
    const char *action;
    bool anonymous; /* the command needs no credential (login) */
    bool outdated;  /* devices --outdated (inventory.c) */
    /* device enroll (devices.c) */
    const char *csr;
    const char *out;
};

struct client {
    char host[300];
    char port[8];
    int fd;
    bool up;
    int timeout_ms;
    char token[600];
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    char err[1024]; /* why the last request failed */
    uint8_t ip[16]; /* the URL's host when it is an address literal */
    size_t ip_len;  /* 4 or 16; 0 for a name */
};

/* Set by SIGINT/SIGTERM: blocking waits and the watch loop end. */
extern volatile sig_atomic_t g_wardctl_stop;

/** Print "wardctl: msg (run 'wardctl --help')" and exit 2. */
void die_usage(const char *msg) __attribute__((noreturn));

/* client.c */
int find_token_file(const char *pki, char *out, size_t cap);
int parse_url(const char *url, struct client *c);
/* token_file NULL: c->token is already set (WARD_TOKEN). */
int client_init(struct client *c, const char *ca, const char *token_file);
void client_drop(struct client *c);
/** GET path. @return the HTTP status (body in *body, heap) or -1 (c->err says why). */
int client_get(struct client *c, const char *path, char **body, size_t *len);
/** POST a JSON body (post NULL: GET). @return as client_get. */
int client_request(struct client *c, const char *path, const char *post, char **body, size_t *len);

/* format.c */
const char *jstr(const cJSON *o, const char *key);
bool jnum(const cJSON *o, const char *key, double *out);
void fmt_time(double ms, char *out, size_t cap);
void print_devices(const cJSON *doc, FILE *out);
void print_events_table(const cJSON *events, FILE *out, bool with_device);
void print_device(const cJSON *d, FILE *out);
void print_health(const cJSON *h, FILE *out);

/* commands.c: each command, given the client and the parsed options (arg: device ID). */
int fail_status(struct client *c, int status, const char *body, const char *what);
/** GET path (or POST the JSON post), then print the document (or with --json, the raw
 *  answer). @return 0, or 1 after one error line. */
int cmd_show(struct client *c, const struct opts *o, const char *path, const char *post,
             const char *what, void (*print)(const cJSON *, FILE *));
int cmd_devices(struct client *c, const struct opts *o, const char *arg);
int cmd_device(struct client *c, const struct opts *o, const char *arg);
int cmd_events(struct client *c, const struct opts *o, const char *arg);
int cmd_health(struct client *c, const struct opts *o, const char *arg);
bool id_valid(const char *id);

/* config.c */
#define WARDCTL_CONFIG_SYSTEM "/etc/ward/wardctl.conf"
/**
 * Fill what the command line left open: the environment, the configuration file, the PKI
 * directory (config.c says the order). A token from WARD_TOKEN goes to token[cap] (else
 * token[0] is NUL and o->token_file is set). @return 0, or 2 (said on stderr).
 */
int resolve_defaults(struct opts *o, char *token, size_t cap);

/* units.c */
/** A reading as VALUE shows it, in the unit its sensor id implies ("103.0 °C", "2100 RPM"). */
void format_value(const char *sensor, double v, char *out, size_t cap);

/* history.c: history ID SENSOR, trends */
int cmd_history(struct client *c, const struct opts *o, const char *arg);
int cmd_trends(struct client *c, const struct opts *o, const char *arg);

/* incidents.c */
int cmd_incidents(struct client *c, const struct opts *o, const char *arg);
int cmd_incident(struct client *c, const struct opts *o, const char *arg);
int cmd_ack(struct client *c, const struct opts *o, const char *arg);
int cmd_assign(struct client *c, const struct opts *o, const char *arg);
int cmd_note(struct client *c, const struct opts *o, const char *arg);
int cmd_resolve(struct client *c, const struct opts *o, const char *arg);
int cmd_close(struct client *c, const struct opts *o, const char *arg);
int cmd_report(struct client *c, const struct opts *o, const char *arg);
int cmd_silence(struct client *c, const struct opts *o, const char *arg);
/** The time of member key (ms) as a table cell, "-" when absent or 0. */

/* inventory.c */
int cmd_inventory(struct client *c, const struct opts *o, const char *arg);
int cmd_changes(struct client *c, const struct opts *o, const char *arg);
int cmd_change(struct client *c, const struct opts *o, const char *arg);
int cmd_outdated(struct client *c, const struct opts *o);
int cmd_backups(struct client *c, const struct opts *o, const char *arg);

/* access.c */
/** The session file: $WARD_SESSION_FILE, else ~/.config/ward/session (NULL: no HOME). */
const char *session_path(void);
int cmd_login(struct client *c, const struct opts *o, const char *arg);
int cmd_logout(struct client *c, const struct opts *o, const char *arg);
int cmd_user(struct client *c, const struct opts *o, const char *arg);
int cmd_token(struct client *c, const struct opts *o, const char *arg);
int cmd_audit(struct client *c, const struct opts *o, const char *arg);

/** incidents.c: the time of o's key (ms), or "-" when absent or 0. */
/* "30d", "12h", "90m", "3600s" or seconds (access.c). @return seconds, -1 when malformed. */
long long duration_s(const char *s);
void fmt_ms_or_dash(const cJSON *o, const char *key, char *out, size_t cap);

/* drills.c: arg is the subcommand, o->arg2 its operand */
int cmd_drill(struct client *c, const struct opts *o, const char *arg);

/* devices.c */
/** revoke, remove or enroll: `wardctl device VERB ID`. */
bool device_verb(const char *arg);
int cmd_device_lifecycle(struct client *c, const struct opts *o, const char *verb, const char *id);

/* watch.c */
int cmd_watch(struct client *c, const struct opts *o, const char *arg);

#endif /* WARD_TOOLS_WARDCTL_WARDCTL_H_ */
