/*
 * tls_probe: drives the agent's TLS channel (firmware/transport/src/tls.c) over the POSIX
 * socket port against a real server, for tests/integration/tls/tls_test.sh.
 *
 *   tls_probe --port P --ca CA --cert CRT --key KEY --name NAME [--host H] [--count N]
 *             [--request] [--pause-file PATH]
 *
 * Makes N connections in a row (reusing the saved session), each: TCP connect, handshake,
 * and with --request one HTTP request written and the first response bytes read (without it,
 * a short read takes a TLS 1.3 ticket or the server's late alert). Prints one line per
 * connection ("conn 1: ok full TLS1-3-CHACHA20-... (ms) tx=.. rx=..", bytes of that
 * connection) or the failure ("conn 1: fail -13 ..."), then a summary line with the handshake
 * counts, the pool's high-water mark, the bytes on the wire, and the heap calls made after start-up
 * (malloc is wrapped: the number must be 0).
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "heap_count.h"

#include <mbedtls/ssl.h>

#include "net_posix.h"
#include "ward/transport/config.h"
#include "ward/transport/mempool.h"
#include "ward/transport/tls.h"

static uint8_t s_pool_mem[WARD_TLS_POOL_SIZE];

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        fprintf(stderr, "tls_probe: cannot read %s\n", path);
        exit(2);
    }
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "tls_probe: cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n + 1; /* PEM parsing wants the NUL counted */
    return buf;
}

/* The start-up buffers slurp() made (LeakSanitizer in the sanitizer build counts them). */
static void free_creds(struct ward_tls_creds *c)
{
    free((void *)c->ca);
    free((void *)c->cert);
    free((void *)c->key);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait (bounded) until the socket is ready for what the channel wants. */
static int wait_for(struct ward_net_posix *p, unsigned wants, uint64_t deadline)
{
    struct pollfd pfd = { .fd = ward_net_posix_fd(p) };
    uint64_t now = now_ms();

    if (now >= deadline) {
        return -ETIMEDOUT;
    }
    pfd.events = (short)(((wants & WARD_CHAN_WANT_WRITE) ? POLLOUT : 0) |
                         ((wants & WARD_CHAN_WANT_READ) || wants == 0 ? POLLIN : 0));
    return poll(&pfd, 1, (int)(deadline - now)) < 0 ? -errno : 0;
}

/*
 * TLS 1.3 sends the session ticket after the handshake, and a server refuses a client
 * certificate only after it: without a request, read briefly (bounded) so that the ticket is
 * taken, or the server's alert seen, before closing. @return 0, or the error read.
 */
static int take_ticket(struct ward_chan *ch, struct ward_net_posix *p)
{
    const struct ward_tls *t = ch->ctx;
    uint64_t deadline = now_ms() + 300;
    uint8_t buf[16];
    int rc;

    while ((rc = ch->ops->read(ch->ctx, buf, sizeof(buf))) == -EAGAIN && !t->ticket_taken) {
        if (wait_for(p, ch->ops->wants(ch->ctx), deadline) != 0 || now_ms() >= deadline) {
            break;
        }
    }
    return rc < 0 && rc != -EAGAIN ? rc : 0;
}

static int connect_tcp(struct ward_net *n, struct ward_net_posix *p, const char *host,
                       uint16_t port, uint64_t deadline)
{
    int rc = ward_net_connect(n, host, port);

    while (rc == -EINPROGRESS) {
        if (wait_for(p, WARD_CHAN_WANT_WRITE, deadline) != 0) {
            return -ETIMEDOUT;
        }
        rc = ward_net_connect_result(n);
    }
    return rc;
}

static int one_connection(struct ward_tls *tls, struct ward_net *n, struct ward_net_posix *p,
                          const char *host, uint16_t port, bool request)
{
    struct ward_chan ch = ward_tls_chan(tls);
    uint64_t deadline = now_ms() + 10000;
    int rc = connect_tcp(n, p, host, port, deadline);

    if (rc == 0) {
        rc = ch.ops->start(ch.ctx);
    }
    while (rc == 0 && (rc = ch.ops->handshake(ch.ctx)) == -EAGAIN) {
        rc = wait_for(p, ch.ops->wants(ch.ctx), deadline);
    }
    if (rc == 0 && request) {
        static const char req[] = "GET / HTTP/1.0\r\n\r\n";
        uint8_t buf[64];

        while ((rc = ch.ops->write(ch.ctx, (const uint8_t *)req, sizeof(req) - 1)) == -EAGAIN) {
            if (wait_for(p, ch.ops->wants(ch.ctx), deadline) != 0) {
                break;
            }
        }
        while (rc > 0 && (rc = ch.ops->read(ch.ctx, buf, sizeof(buf))) == -EAGAIN) {
            rc = wait_for(p, ch.ops->wants(ch.ctx), deadline);
            rc = rc == 0 ? 1 : rc;
        }
        rc = rc > 0 ? 0 : (rc == 0 ? -ECONNRESET : rc);
    } else if (rc == 0) {
        rc = take_ticket(&ch, p);
    }
    ch.ops->finish(ch.ctx, rc == 0);
    ward_net_close(n);
    return rc;
}

/* --pause-file: before each connection after the first, wait (30 s at most) until the test
 * creates the file, so it can change the server's state between two connections. */
static int wait_file(const char *path)
{
    for (int i = 0; i < 300; i++) {
        FILE *f = fopen(path, "r");

        if (f != NULL) {
            fclose(f);
            remove(path);
            return 0;
        }
        nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
    }
    return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    const char *ca = NULL;
    const char *cert = NULL;
    const char *key = NULL;
    const char *name = NULL;
    unsigned port = 0;
    unsigned count = 1;
    bool request = false;
    const char *pause_file = NULL;
    const char *reload_cert = NULL, *reload_key = NULL; /* ward_tls_reload before conn 2 */
    struct ward_tls_creds creds, again;
    static struct ward_tls tls;
    static struct ward_mempool pool;
    struct ward_net_posix np;
    struct ward_net net;
    unsigned ok = 0;
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(argv[i], "--request") == 0) {
            request = true;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "tls_probe: %s needs a value\n", argv[i]);
            return 2;
        }
        i++;
        if (strcmp(argv[i - 1], "--host") == 0) {
            host = v;
        } else if (strcmp(argv[i - 1], "--port") == 0) {
            port = (unsigned)atoi(v);
        } else if (strcmp(argv[i - 1], "--ca") == 0) {
            ca = v;
        } else if (strcmp(argv[i - 1], "--cert") == 0) {
            cert = v;
        } else if (strcmp(argv[i - 1], "--key") == 0) {
            key = v;
        } else if (strcmp(argv[i - 1], "--name") == 0) {
            name = v;
        } else if (strcmp(argv[i - 1], "--count") == 0) {
            count = (unsigned)atoi(v);
        } else if (strcmp(argv[i - 1], "--pause-file") == 0) {
            pause_file = v;
        } else if (strcmp(argv[i - 1], "--reload-cert") == 0) {
            reload_cert = v;
        } else if (strcmp(argv[i - 1], "--reload-key") == 0) {
            reload_key = v;
        } else {
            fprintf(stderr, "tls_probe: unknown option %s\n", argv[i - 1]);
            return 2;
        }
    }
    if (ca == NULL || cert == NULL || key == NULL || name == NULL || port == 0 || port > 65535) {
        fprintf(stderr, "tls_probe: --port, --ca, --cert, --key and --name are required\n");
        return 2;
    }
    memset(&creds, 0, sizeof(creds));
    creds.ca = slurp(ca, &creds.ca_len);
    creds.cert = slurp(cert, &creds.cert_len);
    creds.key = slurp(key, &creds.key_len);
    creds.server_name = name;
    memset(&again, 0, sizeof(again));
    if (reload_cert != NULL && reload_key != NULL) {
        again.cert = slurp(reload_cert, &again.cert_len);
        again.key = slurp(reload_key, &again.key_len);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("tls_probe: pool %u bytes\n", (unsigned)sizeof(s_pool_mem));

    /* Certificate validity checks call gmtime_r(), which loads the time zone once, with
     * malloc, the first time: do that during start-up. */
    tzset();
    /* Start-up ends here: from now on, no heap. */
    heap_count_start();
    if (ward_mempool_init(&pool, s_pool_mem, sizeof(s_pool_mem)) != 0 ||
        ward_mempool_install_mbedtls(&pool) != 0) {
        fprintf(stderr, "tls_probe: cannot install the mbedTLS pool\n");
        return 1;
    }
    ward_net_posix_init(&np);
    net = ward_net_posix(&np);
    rc = ward_tls_init(&tls, &creds, &net, "tls_probe");
    if (rc != 0) {
        printf("init: fail %d\n", rc);
        free_creds(&creds);
        return 1;
    }
    printf("init: pool in use %u after loading credentials\n", (unsigned)pool.stats.used);
    for (unsigned c = 1; c <= count; c++) {
        uint32_t full = tls.stats.full_handshakes;
        uint64_t t0 = now_ms();
        uint64_t tx0 = net.stats.tx_bytes;
        uint64_t rx0 = net.stats.rx_bytes;

        if (c > 1 && pause_file != NULL && wait_file(pause_file) != 0) {
            printf("conn %u: fail: %s did not appear within 30 s\n", c, pause_file);
            break;
        }
        if (c == 2 && again.cert != NULL) {
            unsigned before = (unsigned)pool.stats.used;

            rc = ward_tls_reload(&tls, again.cert, again.cert_len, again.key, again.key_len);
            printf("reload: %s %d pool in use %u -> %u\n", rc == 0 ? "ok" : "fail", rc, before,
                   (unsigned)pool.stats.used);
        }
        rc = one_connection(&tls, &net, &np, host, (uint16_t)port, request);
        if (rc == 0) {
            ok++;
            printf("conn %u: ok %s %s (%u ms) tx=%llu rx=%llu\n", c,
                   tls.stats.full_handshakes > full ? "full" : "resumed",
                   mbedtls_ssl_get_ciphersuite(&tls.ssl), (unsigned)(now_ms() - t0),
                   (unsigned long long)(net.stats.tx_bytes - tx0),
                   (unsigned long long)(net.stats.rx_bytes - rx0));
        } else {
            char err[32];

            printf("conn %u: fail %d %s verify=0x%x\n", c, rc,
                   ward_tls_strerror(&tls, err, sizeof(err)), (unsigned)tls.verify_flags);
        }
    }
    (void)heap_count_stop();
    printf("summary: ok=%u full=%u resumed=%u failed=%u pool_peak=%u pool_in_use=%u "
           "pool_failures=%u tx=%llu rx=%llu heap_calls=%u\n",
           ok, (unsigned)tls.stats.full_handshakes, (unsigned)tls.stats.resumed_handshakes,
           (unsigned)tls.stats.failed_handshakes, (unsigned)pool.stats.peak,
           (unsigned)pool.stats.used, (unsigned)pool.stats.failures,
           (unsigned long long)net.stats.tx_bytes, (unsigned long long)net.stats.rx_bytes,
           heap_count_calls());
    ward_tls_free(&tls);
    printf("freed: pool_in_use=%u bad_frees=%u\n", (unsigned)pool.stats.used,
           (unsigned)pool.stats.bad_frees);
    free_creds(&creds);
    free_creds(&again);
    return ok == count ? 0 : 1;
}
