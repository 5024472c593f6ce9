/* The read commands: devices, device ID, events, health (GET, then print or --json). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/asn1.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "safe.h"
#include "table.h"

#include "wardctl.h"

/* ---- commands ---- */

int fail_status(struct client *c, int status, const char *body, const char *what)
{
    if (status < 0) {
        fprintf(stderr, "wardctl: %s: %s\n", what, c->err);
        return 1;
    }
    cJSON *doc = cJSON_Parse(body);
    const char *msg = jstr(doc, "error");

    if (status == 401) {
        fprintf(stderr,
                "wardctl: the collector refused the credential (401): %s; wardctl login, or "
                "check --token-file\n",
                shown(msg, "no reason given"));
    } else {
        fprintf(stderr, "wardctl: %s: HTTP %d: %s\n", what, status, shown(msg, "no reason given"));
    }
    cJSON_Delete(doc);
    return 1;
}

static int get_doc(struct client *c, const char *path, const char *post, const char *what,
                   bool json, char **raw, cJSON **doc)
{
    size_t len;
    int status = client_request(c, path, post, raw, &len);

    if (status != 200) {
        int rc = fail_status(c, status, status > 0 ? *raw : NULL, what);

        if (status > 0) {
            free(*raw);
        }
        return rc;
    }
    *doc = json ? NULL : cJSON_Parse(*raw);
    if (!json && *doc == NULL) {
        fprintf(stderr, "wardctl: %s: the collector sent malformed JSON\n", what);
        free(*raw);
        return 1;
    }
    return 0;
}

int cmd_show(struct client *c, const struct opts *o, const char *path, const char *post,
             const char *what, void (*print)(const cJSON *, FILE *))
{
    char *raw = NULL;
    cJSON *doc = NULL;

    if (get_doc(c, path, post, what, o->json, &raw, &doc) != 0) {
        return 1;
    }
    if (o->json) {
        print_json_safe(stdout, raw);
        putchar('\n');
    } else {
        print(doc, stdout);
    }
    cJSON_Delete(doc);
    free(raw);
    return 0;
}

static void print_events(const cJSON *doc, FILE *out)
{
    double next = 0;

    print_events_table(cJSON_GetObjectItemCaseSensitive(doc, "events"), out, true);
    if (jnum(doc, "next", &next)) {
        fprintf(out, "(next: --since %.0f)\n", next);
    }
}

bool id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > 63 || id[0] == '.' || id[0] == '-') {
        return false;
    }
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int events_path(const struct opts *o, char *path, size_t cap)
{
    int n = snprintf(path, cap, "/v1/events?");

    if (o->device != NULL) {
        if (!id_valid(o->device)) {
            die_usage("--device must be a device id");
        }
        n += snprintf(path + n, cap - (size_t)n, "device=%s&", o->device);
    }
    if (o->since != NULL) {
        if (strspn(o->since, "0123456789") != strlen(o->since) || o->since[0] == '\0') {
            die_usage("--since must be an event id");
        }
        n += snprintf(path + n, cap - (size_t)n, "since=%s&", o->since);
    }
    if (o->severity != NULL) {
        if (strspn(o->severity, "abcdefghijklmnopqrstuvwxyz") != strlen(o->severity)) {
            die_usage("--severity is none, low, medium or high");
        }
        n += snprintf(path + n, cap - (size_t)n, "severity=%s&", o->severity);
    }
    if (o->limit != NULL) {
        if (strspn(o->limit, "0123456789") != strlen(o->limit) || o->limit[0] == '\0') {
            die_usage("--limit must be a number");
        }
        n += snprintf(path + n, cap - (size_t)n, "limit=%s&", o->limit);
    }
    path[n - 1] = '\0'; /* the trailing '&' or '?' */
    return 0;
}

int cmd_devices(struct client *c, const struct opts *o, const char *arg)
{
    (void)arg;
    if (o->outdated) {
        return cmd_outdated(c, o);
    }
    return cmd_show(c, o, "/v1/devices", NULL, "devices", print_devices);
}

int cmd_device(struct client *c, const struct opts *o, const char *arg)
{
    char path[128];

    if (device_verb(arg)) {
        return cmd_device_lifecycle(c, o, arg, o->arg2);
    }
    if (!id_valid(arg)) {
        die_usage("a device id is 1-63 of [A-Za-z0-9._-]");
    }
    snprintf(path, sizeof(path), "/v1/devices/%s", arg);
    return cmd_show(c, o, path, NULL, arg, print_device);
}

int cmd_events(struct client *c, const struct opts *o, const char *arg)
{
    char path[512];

    (void)arg;
    events_path(o, path, sizeof(path));
    return cmd_show(c, o, path, NULL, "events", print_events);
}

int cmd_health(struct client *c, const struct opts *o, const char *arg)
{
    (void)arg;
    return cmd_show(c, o, "/v1/health", NULL, "health", print_health);
}
