#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "common/clock.h"
#include "dash/session.h"
#include "dash/session_pg.h"

static bool expired(const struct wcol_session *s, uint64_t now_ms)
{
    return now_ms - s->used_ms >= WCOL_SESSION_IDLE_MS ||
           now_ms - s->created_ms >= WCOL_SESSION_LIFETIME_MS;
}

static void drop(struct wcol_session *s)
{
    explicit_bzero(s, sizeof(*s));
}

static void sweep(struct wcol_sessions *t, uint64_t now_ms)
{
    for (unsigned i = 0; i < WCOL_SESSIONS_MAX; i++) {
        if (t->s[i].live && expired(&t->s[i], now_ms)) {
            drop(&t->s[i]);
            t->stats.expired += t->pg == NULL; /* shared: the database says when one ends */
        }
    }
}

static int random_hex(char *out, size_t hex_len)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[WCOL_SESSION_TOKEN_HEX / 2];
    size_t n = hex_len / 2;

    if (n > sizeof(raw) || getrandom(raw, n, 0) != (ssize_t)n) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[hex_len] = '\0';
    return 0;
}

static bool equal_ct(const char *a, const char *b, size_t n)
{
    unsigned char d = 0;

    for (size_t i = 0; i < n; i++) {
        d |= (unsigned char)(a[i] ^ b[i]);
    }
    return d == 0;
}

/* A free slot, or the least recently used one emptied (evicted, unless the table is only the
 * shared sessions being served). */
static struct wcol_session *take_slot(struct wcol_sessions *t)
{
    struct wcol_session *slot = NULL;

    for (unsigned i = 0; i < WCOL_SESSIONS_MAX; i++) {
        if (!t->s[i].live) {
            slot = &t->s[i];
            break;
        }
        if (slot == NULL || t->s[i].used_ms < slot->used_ms) {
            slot = &t->s[i];
        }
    }
    if (slot->live) {
        t->stats.evicted += t->pg == NULL;
    }
    drop(slot);
    return slot;
}

const struct wcol_session *wcol_session_create(struct wcol_sessions *t, const char *who,
                                               const char *bearer, uint64_t now_ms)
{
    if (strlen(bearer) > WCOL_SESSION_BEARER_MAX) {
        return NULL;
    }
    sweep(t, now_ms);
    struct wcol_session *slot = take_slot(t);

    if (random_hex(slot->id, WCOL_SESSION_TOKEN_HEX) != 0 ||
        random_hex(slot->csrf, WCOL_SESSION_TOKEN_HEX) != 0) {
        drop(slot);
        return NULL;
    }
    snprintf(slot->who, sizeof(slot->who), "%s", who);
    memcpy(slot->bearer, bearer, strlen(bearer) + 1);
    slot->created_ms = slot->used_ms = now_ms;
    if (t->pg != NULL && wcol_sessionpg_insert(t->pg, slot, wcol_now_wall_ms()) != 0) {
        t->stats.store_errors++;
        drop(slot);
        return NULL;
    }
    slot->live = true;
    t->stats.logins++;
    return slot;
}

/* The shared session with id as the database has it, in this table while it is served.
 * @return NULL when it ended, expired or the database cannot say. */
static struct wcol_session *shared(struct wcol_sessions *t, const char *id, bool refresh,
                                   uint64_t now_ms)
{
    struct wcol_session got, *slot = NULL;
    int64_t age_ms = 0;
    int rc = wcol_sessionpg_lookup(t->pg, id, refresh, wcol_now_wall_ms(), &got, &age_ms);

    for (unsigned i = 0; i < WCOL_SESSIONS_MAX; i++) {
        if (t->s[i].live && equal_ct(t->s[i].id, id, WCOL_SESSION_TOKEN_HEX)) {
            slot = &t->s[i];
        }
    }
    if (rc != 1) {
        t->stats.store_errors += rc < 0;
        if (slot != NULL) {
            drop(slot); /* ended elsewhere, or expired */
        }
        explicit_bzero(&got, sizeof(got));
        return NULL;
    }
    if (slot == NULL) {
        slot = take_slot(t);
    }
    uint64_t age = age_ms > 0 && (uint64_t)age_ms < now_ms ? (uint64_t)age_ms : 0;

    *slot = got;
    explicit_bzero(&got, sizeof(got));
    slot->created_ms = now_ms - age;
    slot->used_ms = now_ms;
    slot->live = true;
    return slot;
}

/* The value of our cookie among "a=1; b=2"; @return its length, 0 when absent. */
static size_t cookie_value(const char *h, size_t len, const char **val)
{
    static const char name[] = WCOL_SESSION_COOKIE "=";
    size_t nl = sizeof(name) - 1;
    size_t i = 0;

    while (i < len) {
        while (i < len && (h[i] == ' ' || h[i] == ';')) {
            i++;
        }
        size_t end = i;

        while (end < len && h[end] != ';') {
            end++;
        }
        if (end - i > nl && memcmp(h + i, name, nl) == 0) {
            *val = h + i + nl;
            return end - i - nl;
        }
        i = end;
    }
    return 0;
}

const struct wcol_session *wcol_session_check(struct wcol_sessions *t, const char *cookie,
                                              size_t len, uint64_t now_ms)
{
    const char *v = NULL;
    struct wcol_session *found = NULL;

    if (cookie == NULL || cookie_value(cookie, len, &v) != WCOL_SESSION_TOKEN_HEX) {
        return NULL;
    }
    sweep(t, now_ms);
    if (t->pg != NULL) {
        char id[WCOL_SESSION_TOKEN_HEX + 1];

        memcpy(id, v, WCOL_SESSION_TOKEN_HEX);
        id[WCOL_SESSION_TOKEN_HEX] = '\0';
        return shared(t, id, true, now_ms);
    }
    /* Every live slot is compared, so the time taken says nothing about which one matched. */
    for (unsigned i = 0; i < WCOL_SESSIONS_MAX; i++) {
        if (t->s[i].live && equal_ct(t->s[i].id, v, WCOL_SESSION_TOKEN_HEX)) {
            found = &t->s[i];
        }
    }
    if (found != NULL) {
        found->used_ms = now_ms;
    }
    return found;
}

const struct wcol_session *wcol_session_find(struct wcol_sessions *t, const char *id,
                                             uint64_t now_ms)
{
    const struct wcol_session *found = NULL;

    if (strlen(id) != WCOL_SESSION_TOKEN_HEX) {
        return NULL;
    }
    sweep(t, now_ms);
    if (t->pg != NULL) {
        return shared(t, id, false, now_ms);
    }
    for (unsigned i = 0; i < WCOL_SESSIONS_MAX; i++) {
        if (t->s[i].live && equal_ct(t->s[i].id, id, WCOL_SESSION_TOKEN_HEX)) {
            found = &t->s[i];
        }
    }
    return found;
}

bool wcol_session_csrf_ok(const struct wcol_session *s, const char *hdr, size_t len)
{
    return s != NULL && hdr != NULL && len == WCOL_SESSION_TOKEN_HEX &&
           equal_ct(s->csrf, hdr, WCOL_SESSION_TOKEN_HEX);
}

int wcol_session_destroy(struct wcol_sessions *t, const struct wcol_session *s)
{
    int rc = 0;

    for (unsigned i = 0; i < WCOL_SESSIONS_MAX; i++) {
        if (&t->s[i] == s && s->live) {
            if (t->pg != NULL && (rc = wcol_sessionpg_end(t->pg, s->id)) != 0) {
                t->stats.store_errors++;
            }
            drop(&t->s[i]);
        }
    }
    return rc;
}

unsigned wcol_sessions_active(struct wcol_sessions *t, uint64_t now_ms)
{
    unsigned n = 0;

    sweep(t, now_ms);
    if (t->pg != NULL) {
        int64_t k = wcol_sessionpg_count(t->pg, wcol_now_wall_ms());

        t->stats.store_errors += k < 0;
        return k > 0 ? (unsigned)k : 0;
    }
    for (unsigned i = 0; i < WCOL_SESSIONS_MAX; i++) {
        n += t->s[i].live;
    }
    return n;
}
