/*
 * The outbox sender: a thread with its own database connection that posts pending
 * notifications to their receivers (HTTP/1.1 over TLS with the receiver's certificate verified
 * (recv_tls.c), or plain on loopback with insecure-http; one connection per attempt, every step
 * bounded by the policy's timeout), oldest first and in order per (receiver, incident), marks
 * them delivered on a 2xx and otherwise retries with doubling backoff. Nothing here runs on
 * the event loop, so a slow or hanging receiver never slows ingest.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/md.h>

#include "common/log.h"
#include "incidents/model.h"
#include "incidents/prune.h"
#include "incidents/recv_tls.h"

#define BATCH    32
#define IDLE_MS  250
#define HEAD_CAP 1024

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
    struct pollfd p = { .fd = fd, .events = ev };
    int64_t left = deadline - mono_ms();

    if (left <= 0) {
        return -ETIMEDOUT;
    }
    int n = poll(&p, 1, (int)left);

    return n > 0 ? 0 : n == 0 ? -ETIMEDOUT : -errno;
}

static int connect_to(const struct wcol_receiver *r, int64_t deadline, char *err, size_t cap)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
    int fd = -1, e = 0;
    socklen_t el = sizeof(e);

    if (getaddrinfo(r->host, r->port, &hints, &ai) != 0 || ai == NULL) {
        snprintf(err, cap, "cannot resolve %s", r->host);
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        e = errno == EINPROGRESS ? 0 : errno;
        /* In progress: wait for it, then ask how it ended. */
        if (e == 0 && wait_fd(fd, POLLOUT, deadline) != 0) {
            e = ETIMEDOUT;
        }
        if (e == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) {
            e = EIO;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0 || e != 0) {
        snprintf(err, cap, "connect %s:%s: %s", r->host, r->port, strerror(fd < 0 ? errno : e));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

/* One attempt's connection: plain, or TLS over the same socket (tls != NULL). */
struct link {
    int fd;
    struct wcol_recv_tls *tls;
};

static int send_all(const struct link *k, const char *p, size_t n, int64_t deadline)
{
    if (k->tls != NULL) {
        return wcol_recv_tls_send(k->tls, p, n) == 0 ? 0 : -ETIMEDOUT;
    }
    while (n > 0) {
        ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL);

        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            return -errno;
        } else if (wait_fd(k->fd, POLLOUT, deadline) != 0) {
            return -ETIMEDOUT;
        }
    }
    return 0;
}

/* The status of the answer's first line. */
static int read_status(const struct link *k, int64_t deadline, char *err, size_t cap)
{
    char buf[256] = "";
    size_t len = 0;
    int status = 0;

    while (len < sizeof(buf) - 1 && memchr(buf, '\n', len) == NULL) {
        ssize_t r = k->tls != NULL ? wcol_recv_tls_recv(k->tls, buf + len, sizeof(buf) - 1 - len)
                                   : recv(k->fd, buf + len, sizeof(buf) - 1 - len, 0);

        if (r > 0) {
            len += (size_t)r;
        } else if (r == 0 || k->tls != NULL || (errno != EAGAIN && errno != EINTR)) {
            break;
        } else if (wait_fd(k->fd, POLLIN, deadline) != 0) {
            snprintf(err, cap, "no answer within the timeout");
            return -1;
        }
    }
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
        snprintf(err, cap, "not an HTTP answer");
        return -1;
    }
    return status;
}

static void signature(const struct wcol_receiver *r, const char *body, size_t len, char *hex)
{
    unsigned char mac[32];

    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), r->secret, r->secret_len,
                    (const unsigned char *)body, len, mac);
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    }
}

/* One attempt. @return the HTTP status, or -1 with err set. */
static int post(struct wcol_recv_tls *tls, const struct wcol_receiver *r, const char *key,
                const char *body, size_t len, uint64_t timeout_ms, char *err, size_t cap)
{
    int64_t deadline = mono_ms() + (int64_t)timeout_ms;
    char head[HEAD_CAP], sig[112] = "";
    struct link k = { connect_to(r, deadline, err, cap), NULL };
    int status = -1;

    if (k.fd < 0) {
        return -1;
    }
    if (r->tls) {
        k.tls = tls;
        if (wcol_recv_tls_open(tls, r, k.fd, deadline, err, cap) != 0) {
            wcol_recv_tls_close(tls);
            close(k.fd);
            return -1;
        }
    }
    if (r->kind == WCOL_RECV_WEBHOOK) {
        char hex[65];

        signature(r, body, len, hex);
        snprintf(sig, sizeof(sig), "X-Ward-Signature: sha256=%s\r\n", hex);
    }
    int n = snprintf(head, sizeof(head),
                     "POST %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: ward-collector\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Idempotency-Key: %s\r\nX-Ward-Idempotency-Key: %s\r\n%s"
                     "Connection: close\r\n\r\n",
                     r->path, r->host, r->port, len, key, key, sig);

    if (n >= (int)sizeof(head) || send_all(&k, head, (size_t)n, deadline) != 0 ||
        send_all(&k, body, len, deadline) != 0) {
        snprintf(err, cap, "sending to %s:%s failed or timed out", r->host, r->port);
    } else {
        status = read_status(&k, deadline, err, cap);
    }
    if (k.tls != NULL) {
        wcol_recv_tls_close(k.tls);
    }
    close(k.fd);
    return status;
}

static void mark(struct wcol_idb *db, int64_t id, bool ok, int attempts, const char *err,
                 const struct wcol_policy *p)
{
    struct wcol_idb_stmt *st = NULL;
    int64_t now = wcol_inc_now_ms();
    uint64_t backoff = 1000;

    for (int i = 0; i < attempts && backoff < p->retry_max_ms; i++) {
        backoff *= 2;
    }
    backoff = backoff > p->retry_max_ms ? p->retry_max_ms : backoff;
    if (wcol_idb_prepare_v2(db,
                            ok ? "UPDATE outbox SET state = 'delivered', delivered_ms = ?2, "
                                 "attempts = attempts + 1, last_error = NULL WHERE id = ?1"
                               : "UPDATE outbox SET attempts = attempts + 1, next_ms = ?2, "
                                 "last_error = ?3 WHERE id = ?1",
                            -1, &st, NULL) != SQLITE_OK) {
        return;
    }
    wcol_idb_bind_int64(st, 1, id);
    wcol_idb_bind_int64(st, 2, ok ? now : now + (int64_t)backoff);
    if (!ok) {
        wcol_idb_bind_text(st, 3, err, -1, SQLITE_TRANSIENT);
    }
    if (wcol_idb_step(st) != SQLITE_DONE) {
        wcol_log_warn("incidents: cannot record a delivery: %s (it is sent again)",
                      wcol_idb_errmsg(db));
    }
    wcol_idb_finalize(st);
}

struct row {
    int64_t id;
    char receiver[WCOL_POL_NAME_MAX];
    char key[64];
    char *body;
    size_t len;
    int attempts;
};

/* Due rows, each the oldest pending of its (receiver, incident). */
static int due(struct wcol_idb *db, struct row *rows)
{
    struct wcol_idb_stmt *st = NULL;
    int n = 0;

    if (wcol_idb_prepare_v2(db,
                            "SELECT o.id, o.receiver, o.key, o.body, o.attempts FROM outbox AS o "
                            "WHERE o.state = 'pending' AND o.next_ms <= ?1 AND NOT EXISTS "
                            "(SELECT 1 FROM outbox AS e WHERE e.state = 'pending' AND e.receiver "
                            "= o.receiver AND e.incident = o.incident AND e.id < o.id) ORDER BY "
                            "o.id LIMIT ?2",
                            -1, &st, NULL) != SQLITE_OK) {
        return 0;
    }
    wcol_idb_bind_int64(st, 1, wcol_inc_now_ms());
    wcol_idb_bind_int(st, 2, BATCH);
    while (n < BATCH && wcol_idb_step(st) == SQLITE_ROW) {
        struct row *r = &rows[n];
        const void *b = wcol_idb_column_text(st, 3);

        r->id = wcol_idb_column_int64(st, 0);
        snprintf(r->receiver, sizeof(r->receiver), "%s", wcol_idb_column_text(st, 1));
        snprintf(r->key, sizeof(r->key), "%s", wcol_idb_column_text(st, 2));
        r->len = (size_t)wcol_idb_column_bytes(st, 3);
        r->body = malloc(r->len + 1);
        r->attempts = wcol_idb_column_int(st, 4);
        if (r->body == NULL || b == NULL) {
            free(r->body);
            break;
        }
        memcpy(r->body, b, r->len + 1);
        n++;
    }
    wcol_idb_finalize(st);
    return n;
}

static void deliver(struct wcol_incidents *in, struct wcol_idb *db, struct wcol_recv_tls *tls,
                    struct row *r)
{
    int ri = wcol_policy_receiver(&in->pol, r->receiver);
    char err[160] = "";

    if (ri < 0) {
        mark(db, r->id, false, r->attempts, "receiver not in the alerting file", &in->pol);
        return;
    }
    int status = post(tls, &in->pol.receivers[ri], r->key, r->body, r->len, in->pol.send_timeout_ms,
                      err, sizeof(err));
    bool ok = status >= 200 && status < 300;

    if (!ok && status > 0) {
        snprintf(err, sizeof(err), "HTTP %d", status);
    }
    if (!ok) {
        atomic_fetch_add(&in->send_failures, 1);
        if (r->attempts == 0 || r->attempts % 10 == 9) {
            wcol_log_warn("incidents: notification %s to %s not delivered (%s); retried", r->key,
                          r->receiver, err);
        }
    } else {
        atomic_fetch_add(&in->sent, 1);
    }
    mark(db, r->id, ok, r->attempts, err, &in->pol);
}

void *wcol_inc_sender_main(void *arg)
{
    struct wcol_incidents *in = arg;
    struct wcol_idb *db = NULL;
    struct row rows[BATCH];
    int64_t prune_at = 0;
    static struct wcol_recv_tls tls; /* one sender thread per collector */

    pthread_setname_np(pthread_self(), "wcol-sender");
    if (wcol_recv_tls_init(&tls) != 0) {
        wcol_log_warn("incidents: no random generator: https receivers will fail");
    }
    while (!in->stop && wcol_inc_db_open(&db, in, 5000, "notifications") != 0) {
        wcol_idb_close(db);
        db = NULL;
        if (in->pg_conninfo == NULL) {
            wcol_recv_tls_free(&tls);
            return NULL;
        }
        wcol_inc_wait(in, &in->wake_sender, 2000); /* PostgreSQL away: again later */
    }
    wcol_idb_own_thread(db); /* this thread's connection */
    while (!in->stop) {
        if (!atomic_load(&in->leader)) {
            /* The leader delivers the shared outbox; a new one takes over the rows not yet
             * marked delivered (at least once, keyed for the receivers' deduplication). */
            wcol_inc_wait(in, &in->wake_sender, IDLE_MS);
            continue;
        }
        wcol_inc_pol_enter(in, true);
        int n = in->pol.n_receivers > 0 ? due(db, rows) : 0;

        for (int i = 0; i < n; i++) {
            if (!in->stop) {
                deliver(in, db, &tls, &rows[i]);
            }
            free(rows[i].body);
        }
        if (n == 0) {
            wcol_inc_prune(in, db, &prune_at); /* only while nothing is due */
        }
        wcol_inc_pol_leave(in);
        if (n == 0) {
            wcol_inc_wait(in, &in->wake_sender, IDLE_MS);
        }
    }
    wcol_idb_close(db);
    wcol_recv_tls_free(&tls);
    return NULL;
}
