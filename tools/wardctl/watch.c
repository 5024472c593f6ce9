/* wardctl watch: the fleet table and the latest events, refreshed until Ctrl-C or --for. */
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

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keep the last WATCH_EVENTS events seen, as their JSON text. */
struct recent {
    char *ev[WATCH_EVENTS];
    unsigned n;
};

static void recent_add(struct recent *r, const cJSON *e)
{
    char *txt = cJSON_PrintUnformatted(e);

    if (txt == NULL) {
        return;
    }
    if (r->n == WATCH_EVENTS) {
        free(r->ev[0]);
        memmove(r->ev, r->ev + 1, (WATCH_EVENTS - 1) * sizeof(r->ev[0]));
        r->n--;
    }
    r->ev[r->n++] = txt;
}

static void watch_frame(const cJSON *devices, const struct recent *r, const char *error, bool tty)
{
    char now[40];
    struct timeval tv;

    gettimeofday(&tv, NULL);
    fmt_time((double)tv.tv_sec * 1000.0, now, sizeof(now));
    if (tty) {
        fputs("\033[H\033[2J", stdout);
    }
    printf("ward fleet  %s  (Ctrl-C to stop)\n\n", now);
    if (error != NULL) {
        printf("collector unreachable: %s\n", shown(error, "?"));
    } else {
        print_devices(devices, stdout);
    }
    cJSON *arr = cJSON_CreateArray();

    for (unsigned i = 0; i < r->n; i++) {
        cJSON_AddItemToArray(arr, cJSON_Parse(r->ev[i]));
    }
    printf("\nlatest events:\n");
    print_events_table(arr, stdout, true);
    cJSON_Delete(arr);
    if (!tty) {
        putchar('\n');
    }
    fflush(stdout);
}

/* One refresh: devices, then the events after the cursor. */
static int watch_once(struct client *c, const struct opts *o, long long *cursor, struct recent *r,
                      bool tty)
{
    char path[128];
    char *raw = NULL, *eraw = NULL;
    size_t len;
    int status = client_get(c, "/v1/devices", &raw, &len);
    cJSON *devices = status == 200 ? cJSON_Parse(raw) : NULL;

    if (status == 401) {
        free(raw);
        return fail_status(c, status, NULL, "watch");
    }
    if (*cursor < 0) {
        snprintf(path, sizeof(path), "/v1/events?limit=%d", WATCH_EVENTS);
    } else {
        snprintf(path, sizeof(path), "/v1/events?since=%lld&limit=1000", *cursor);
    }
    if (devices != NULL) {
        status = client_get(c, path, &eraw, &len);
    }
    cJSON *events = status == 200 && eraw != NULL ? cJSON_Parse(eraw) : NULL;
    const cJSON *e;
    double next;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(events, "events"))
    {
        recent_add(r, e);
    }
    if (events != NULL && jnum(events, "next", &next)) {
        *cursor = (long long)next;
    }
    if (o->json) {
        if (devices != NULL && events != NULL) {
            fputs("{\"devices\":", stdout);
            print_json_safe(stdout, raw);
            fputs(",\"events\":", stdout);
            print_json_safe(stdout, eraw);
            fputs("}\n", stdout);
        } else {
            printf("{\"error\":\"collector unreachable\"}\n");
        }
        fflush(stdout);
    } else {
        watch_frame(devices, r, devices != NULL && events != NULL ? NULL : c->err, tty);
    }
    cJSON_Delete(devices);
    cJSON_Delete(events);
    free(raw);
    free(eraw);
    return 0;
}

int cmd_watch(struct client *c, const struct opts *o, const char *arg)
{
    (void)arg;
    struct recent r = { .n = 0 };
    long long cursor = -1;
    bool tty = isatty(STDOUT_FILENO) && !o->json;
    double start = mono_s();
    int rc = 0;

    while (!g_wardctl_stop) {
        double t0 = mono_s();

        if (o->for_s > 0 && t0 - start >= o->for_s) {
            break;
        }
        c->err[0] = '\0';
        rc = watch_once(c, o, &cursor, &r, tty);
        if (rc != 0) {
            break;
        }
        /* Sleep to the next refresh, waking for Ctrl-C; never past --for. */
        double until = t0 + o->interval_s;

        if (o->for_s > 0 && until > start + o->for_s) {
            until = start + o->for_s;
        }
        while (!g_wardctl_stop && mono_s() < until) {
            poll(NULL, 0, (int)((until - mono_s()) * 1000) + 1);
        }
    }
    for (unsigned i = 0; i < r.n; i++) {
        free(r.ev[i]);
    }
    return rc;
}
